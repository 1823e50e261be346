package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
)

// Policy is an SLA policy: conditions on a ticket, and targets in minutes.
// Targets run around the clock (business-hour calendars are to come).
type Policy struct {
	bun.BaseModel        `bun:"table:sla_policies,alias:p"`
	TenantID             uuid.UUID `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID                   uuid.UUID `bun:"id,pk,type:uuid" json:"id"`
	Name                 string    `bun:"name" json:"name"`
	Position             int       `bun:"position" json:"position" doc:"policies are tried in this order; the first whose conditions hold applies"`
	Active               bool      `bun:"active" json:"active"`
	Priorities           []string  `bun:"priorities,array" json:"priorities" doc:"applies to these priorities; empty: any"`
	Types                []string  `bun:"types,array" json:"types" doc:"applies to these types; empty: any"`
	Channels             []string  `bun:"channels,array" json:"channels" doc:"applies to these channels; empty: any"`
	Tags                 []string  `bun:"tags,array" json:"tags" doc:"applies to tickets with any of these tags; empty: any"`
	FirstResponseMinutes *int      `bun:"first_response_minutes" json:"first_response_minutes,omitempty"`
	ResolutionMinutes    *int      `bun:"resolution_minutes" json:"resolution_minutes,omitempty"`
	CreatedAt            time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt            time.Time `bun:"updated_at" json:"updated_at"`
}

// SchemaName implements httpx.SchemaNamer.
func (Policy) SchemaName() string { return "SLAPolicy" }

// PolicyInput creates or replaces a policy.
type PolicyInput struct {
	Name                 string   `json:"name" minLength:"1" maxLength:"100"`
	Position             int      `json:"position,omitempty" minimum:"0" maximum:"10000"`
	Active               *bool    `json:"active,omitempty" doc:"default true"`
	Priorities           []string `json:"priorities,omitempty" maxItems:"4"`
	Types                []string `json:"types,omitempty" maxItems:"5"`
	Channels             []string `json:"channels,omitempty" maxItems:"5"`
	Tags                 []string `json:"tags,omitempty" maxItems:"50"`
	FirstResponseMinutes *int     `json:"first_response_minutes,omitempty" minimum:"1" maximum:"525600"`
	ResolutionMinutes    *int     `json:"resolution_minutes,omitempty" minimum:"1" maximum:"525600"`
}

// SchemaName implements httpx.SchemaNamer.
func (PolicyInput) SchemaName() string { return "SLAPolicyInput" }

// policyFrom checks an input and makes the policy it describes.
func policyFrom(in PolicyInput) (Policy, error) {
	p := Policy{Name: strings.TrimSpace(in.Name), Position: in.Position, Active: in.Active == nil || *in.Active,
		Priorities: []string{}, Types: []string{}, Channels: []string{}, Tags: []string{},
		FirstResponseMinutes: in.FirstResponseMinutes, ResolutionMinutes: in.ResolutionMinutes}
	var fe []errs.FieldError
	if p.Name == "" || len([]rune(p.Name)) > 100 {
		fe = append(fe, errs.FieldError{Location: "body.name", Message: "is required, 1 to 100 characters"})
	}
	for _, c := range []struct {
		loc string
		in  []string
		set []string
		dst *[]string
	}{{"body.priorities", in.Priorities, priorities, &p.Priorities}, {"body.types", in.Types, types, &p.Types}, {"body.channels", in.Channels, channels, &p.Channels}} {
		for i, v := range splitList(c.in) {
			if !oneOf(v, c.set) {
				fe = append(fe, errs.FieldError{Location: fmt.Sprintf("%s[%d]", c.loc, i), Message: "must be " + listed(c.set), Value: v})
				continue
			}
			*c.dst = append(*c.dst, v)
		}
	}
	for i, tag := range in.Tags {
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" || len([]rune(tag)) > 50 {
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.tags[%d]", i), Message: "tags are 1 to 50 characters"})
			continue
		}
		p.Tags = append(p.Tags, tag)
	}
	if p.Tags = splitList(p.Tags); p.Tags == nil {
		p.Tags = []string{}
	}
	for loc, v := range map[string]*int{"body.first_response_minutes": p.FirstResponseMinutes, "body.resolution_minutes": p.ResolutionMinutes} {
		if v != nil && (*v < 1 || *v > 525600) {
			fe = append(fe, errs.FieldError{Location: loc, Message: "must be 1 to 525600 minutes (a year)"})
		}
	}
	if p.FirstResponseMinutes == nil && p.ResolutionMinutes == nil {
		fe = append(fe, errs.FieldError{Location: "body.resolution_minutes", Message: "give a first response or a resolution target, or both"})
	}
	if len(fe) > 0 {
		return p, errs.E(errs.Invalid, "The SLA policy could not be saved: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	return p, nil
}

// matches says whether the policy's conditions all hold for t.
func (p *Policy) matches(t *Ticket) bool {
	if (len(p.Priorities) > 0 && !oneOf(t.Priority, p.Priorities)) || (len(p.Types) > 0 && !oneOf(t.Type, p.Types)) ||
		(len(p.Channels) > 0 && !oneOf(t.Channel, p.Channels)) {
		return false
	}
	if len(p.Tags) == 0 {
		return true
	}
	for _, k := range tagKeys(t.Tags) {
		if oneOf(k, p.Tags) {
			return true
		}
	}
	return false
}

// applySLA chooses t's policy among the company's active ones and sets its
// due times: created_at + target + the seconds its clock stood still.
func applySLA(ctx context.Context, tx bun.Tx, t *Ticket) error {
	var ps []Policy
	if err := tx.NewSelect().Model(&ps).Where("p.tenant_id = ? AND p.active", t.TenantID).OrderExpr("p.position, p.id").Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	t.SLAPolicyID, t.FirstResponseDueAt, t.ResolutionDueAt = nil, nil, nil
	for i := range ps {
		if !ps[i].matches(t) {
			continue
		}
		p := &ps[i]
		t.SLAPolicyID = &p.ID
		due := func(min *int) *time.Time {
			if min == nil {
				return nil
			}
			d := t.CreatedAt.Add(time.Duration(*min)*time.Minute + time.Duration(t.SLAPausedSeconds)*time.Second)
			return &d
		}
		t.FirstResponseDueAt, t.ResolutionDueAt = due(p.FirstResponseMinutes), due(p.ResolutionMinutes)
		return nil
	}
	return nil
}

// slaStopped are the statuses in which a ticket's SLA clock stands still.
func slaStopped(status string) bool {
	return status == "pending" || status == "on_hold" || status == "solved" || status == "closed"
}

// moveSLAClock stops t's clock when it enters a status that stops it, and
// starts it again when it leaves one: the whole seconds it stood still are
// added to its paused time and to its due times.
func moveSLAClock(t *Ticket, from string, now time.Time) {
	switch {
	case !slaStopped(from) && slaStopped(t.Status):
		t.SLAPausedAt = &now
	case slaStopped(from) && !slaStopped(t.Status) && t.SLAPausedAt != nil:
		secs := int64(now.Sub(*t.SLAPausedAt) / time.Second)
		if secs < 0 {
			secs = 0
		}
		shift := time.Duration(secs) * time.Second
		t.SLAPausedSeconds += secs
		t.SLAPausedAt = nil
		for _, d := range []**time.Time{&t.FirstResponseDueAt, &t.ResolutionDueAt} {
			if *d != nil {
				v := (*d).Add(shift)
				*d = &v
			}
		}
	}
}

// ListPolicies lists the company's SLA policies in the order they are tried.
func (m *Module) ListPolicies(ctx context.Context, tenant uuid.UUID) ([]Policy, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	out := []Policy{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&out).Where("p.tenant_id = ?", tenant).OrderExpr("p.position, p.id").Scan(ctx)
	})
	return out, db.Classify(err, "SLA policy")
}

// SavePolicy creates a policy (id nil) or replaces one. It applies to tickets
// created or changed afterwards; tickets keep the due times they have.
func (m *Module) SavePolicy(ctx context.Context, tenant uuid.UUID, id *uuid.UUID, in PolicyInput) (*Policy, error) {
	if err := authz.Require(ctx, PermManage); err != nil {
		return nil, err
	}
	p, err := policyFrom(in)
	if err != nil {
		return nil, err
	}
	p.TenantID = tenant
	err = db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if id == nil {
			p.ID = uuid.New()
			if _, err := tx.NewInsert().Model(&p).ExcludeColumn("created_at", "updated_at").Returning("created_at, updated_at").Exec(ctx); err != nil {
				return err
			}
			return audit.Record(ctx, tx, audit.Entry{Action: "sla_policy.create", Entity: "sla_policy", EntityID: p.ID.String(), After: p})
		}
		before := Policy{}
		if err := tx.NewSelect().Model(&before).Where("p.tenant_id = ? AND p.id = ?", tenant, *id).For("UPDATE").Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "SLA policy not found")
			}
			return err
		}
		p.ID, p.CreatedAt = *id, before.CreatedAt
		if _, err := tx.NewUpdate().Model(&p).ExcludeColumn("tenant_id", "id", "created_at", "updated_at").Set("updated_at = now()").WherePK().Returning("updated_at").Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "sla_policy.update", Entity: "sla_policy", EntityID: p.ID.String(), Before: before, After: p})
	})
	if db.IsUniqueViolation(err, "sla_policies_name_key") {
		return nil, errs.E(errs.Conflict, "Another SLA policy has this name.").WithFields(errs.FieldError{Location: "body.name", Message: "is taken by another policy", Value: p.Name})
	}
	if err != nil {
		return nil, db.Classify(err, "SLA policy")
	}
	return &p, nil
}
