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
// Targets run around the clock, or in business hours (BusinessHours): the
// ticket's team's calendar, else the company's default calendar.
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
	NextResponseMinutes  *int      `bun:"next_response_minutes" json:"next_response_minutes,omitempty" doc:"the time to answer the requester each time they come back (the ticket goes from pending or solved to open)"`
	ResolutionMinutes    *int      `bun:"resolution_minutes" json:"resolution_minutes,omitempty"`
	WarnPercent          int       `bun:"warn_percent" json:"warn_percent" doc:"the assignee is warned when this share of a target has passed"`
	BusinessHours        bool      `bun:"business_hours" json:"business_hours" doc:"targets count the working hours of the ticket's team's calendar, else the company's default calendar; false: around the clock"`
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
	NextResponseMinutes  *int     `json:"next_response_minutes,omitempty" minimum:"1" maximum:"525600"`
	ResolutionMinutes    *int     `json:"resolution_minutes,omitempty" minimum:"1" maximum:"525600"`
	WarnPercent          int      `json:"warn_percent,omitempty" minimum:"0" maximum:"99" doc:"warn the assignee when this share of a target has passed; default 80"`
	BusinessHours        bool     `json:"business_hours,omitempty" doc:"count business hours (the team's or the company's calendar) instead of the clock"`
}

// SchemaName implements httpx.SchemaNamer.
func (PolicyInput) SchemaName() string { return "SLAPolicyInput" }

// policyFrom checks an input and makes the policy it describes.
func policyFrom(in PolicyInput) (Policy, error) {
	p := Policy{Name: strings.TrimSpace(in.Name), Position: in.Position, Active: in.Active == nil || *in.Active,
		Priorities: []string{}, Types: []string{}, Channels: []string{}, Tags: []string{},
		FirstResponseMinutes: in.FirstResponseMinutes, NextResponseMinutes: in.NextResponseMinutes, ResolutionMinutes: in.ResolutionMinutes,
		WarnPercent: in.WarnPercent, BusinessHours: in.BusinessHours}
	if p.WarnPercent == 0 {
		p.WarnPercent = 80
	}
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
	if p.WarnPercent < 1 || p.WarnPercent > 99 {
		fe = append(fe, errs.FieldError{Location: "body.warn_percent", Message: "must be 1 to 99 (percent of a target)", Value: in.WarnPercent})
	}
	for loc, v := range map[string]*int{"body.first_response_minutes": p.FirstResponseMinutes, "body.next_response_minutes": p.NextResponseMinutes, "body.resolution_minutes": p.ResolutionMinutes} {
		if v != nil && (*v < 1 || *v > 525600) {
			fe = append(fe, errs.FieldError{Location: loc, Message: "must be 1 to 525600 minutes (a year)"})
		}
	}
	if p.FirstResponseMinutes == nil && p.NextResponseMinutes == nil && p.ResolutionMinutes == nil {
		fe = append(fe, errs.FieldError{Location: "body.resolution_minutes", Message: "give a first response, next response or resolution target"})
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

// policyOf loads a ticket's policy; nil when it has none or it is gone.
func policyOf(ctx context.Context, tx bun.Tx, t *Ticket) (*Policy, error) {
	if t.SLAPolicyID == nil {
		return nil, nil
	}
	p := &Policy{}
	if err := tx.NewSelect().Model(p).Where("p.tenant_id = ? AND p.id = ?", t.TenantID, *t.SLAPolicyID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, err
	}
	return p, nil
}

// clockOfPolicy is the clock p's targets count: business hours of the
// ticket's calendar, or around the clock.
func clockOfPolicy(ctx context.Context, tx bun.Tx, p *Policy, t *Ticket) (*clock, error) {
	if p == nil || !p.BusinessHours {
		return nil, nil
	}
	return clockFor(ctx, tx, t.TenantID, t.TeamID)
}

// deadlines sets a target's warning and due time: target minutes of business
// time after start, plus the business time the clock stood still since.
func deadlines(k *clock, start time.Time, minutes *int, warnPercent int, paused time.Duration) (warn, due *time.Time) {
	if minutes == nil {
		return nil, nil
	}
	target := time.Duration(*minutes) * time.Minute
	w := k.add(start, target*time.Duration(warnPercent)/100+paused)
	d := k.add(start, target+paused)
	return &w, &d
}

// applySLA chooses t's policy among the company's active ones and sets its
// deadlines: the targets counted in business time (or around the clock) from
// the ticket's creation, plus the business time its clock stood still. A
// next response under way keeps its start. The policies and calendars come
// from the company's desk (slaDesk), kept in memory while nothing changes.
func (m *Module) applySLA(ctx context.Context, tx bun.Tx, t *Ticket) error {
	desk, err := m.slaDesk(ctx, tx, t.TenantID)
	if err != nil {
		return err
	}
	ps := desk.policies
	t.SLAPolicyID = nil
	t.FirstResponseWarnAt, t.FirstResponseDueAt, t.ResolutionWarnAt, t.ResolutionDueAt, t.NextResponseWarnAt, t.NextResponseDueAt = nil, nil, nil, nil, nil, nil
	for i := range ps {
		if !ps[i].matches(t) {
			continue
		}
		p := &ps[i]
		id := p.ID
		t.SLAPolicyID = &id
		var k *clock
		if p.BusinessHours {
			k = desk.clock(t.TeamID)
		}
		paused := time.Duration(t.SLAPausedBusinessSeconds) * time.Second
		t.FirstResponseWarnAt, t.FirstResponseDueAt = deadlines(k, t.CreatedAt, p.FirstResponseMinutes, p.WarnPercent, paused)
		t.ResolutionWarnAt, t.ResolutionDueAt = deadlines(k, t.CreatedAt, p.ResolutionMinutes, p.WarnPercent, paused)
		if t.NextResponseStartedAt != nil {
			t.NextResponseWarnAt, t.NextResponseDueAt = deadlines(k, *t.NextResponseStartedAt, p.NextResponseMinutes, p.WarnPercent, 0)
		}
		return nil
	}
	return nil
}

// resume starts t's stopped clock again at now: each deadline still ahead
// when it stopped moves on, the business time that was left counted again
// from the restart. The stillness is counted in whole seconds, so stored
// times stay exact.
func resume(k *clock, t *Ticket, now time.Time) {
	if t.SLAPausedAt == nil {
		return
	}
	stopped := *t.SLAPausedAt
	secs := int64(now.Sub(stopped) / time.Second)
	if secs < 0 {
		secs = 0
	}
	resumed := stopped.Add(time.Duration(secs) * time.Second)
	t.SLAPausedSeconds += secs
	t.SLAPausedBusinessSeconds += int64(k.between(stopped, resumed) / time.Second)
	t.SLAPausedAt = nil
	for _, d := range []**time.Time{&t.FirstResponseWarnAt, &t.FirstResponseDueAt, &t.ResolutionWarnAt, &t.ResolutionDueAt, &t.NextResponseWarnAt, &t.NextResponseDueAt} {
		if *d != nil && (*d).After(stopped) {
			v := k.add(resumed, k.between(stopped, **d))
			*d = &v
		}
	}
}

// slaStopped are the statuses in which a ticket's SLA clock stands still.
func slaStopped(status string) bool {
	return status == "pending" || status == "on_hold" || status == "solved" || status == "closed"
}

// moveSLAClock stops t's clock when it enters a status that stops it, and
// starts it again when it leaves one. On the restart each deadline still
// ahead when the clock stopped moves on by the time it stood still, counted
// by the policy's clock: the business time that was left is counted again
// from now (whole seconds of stillness, so stored times stay exact). When the
// requester comes back (pending or solved to open, after a first response)
// the next-response clock starts.
func (m *Module) moveSLAClock(ctx context.Context, tx bun.Tx, t *Ticket, from string, now time.Time) error {
	switch {
	case !slaStopped(from) && slaStopped(t.Status):
		t.SLAPausedAt = &now
		return nil
	case slaStopped(from) && !slaStopped(t.Status):
	default:
		return nil
	}
	p, err := policyOf(ctx, tx, t)
	if err != nil {
		return err
	}
	k, err := clockOfPolicy(ctx, tx, p, t)
	if err != nil {
		return err
	}
	resume(k, t, now)
	if t.Status == "open" && (from == "pending" || from == "solved") && t.FirstRespondedAt != nil && p != nil && p.NextResponseMinutes != nil {
		t.NextResponseCycle++
		t.NextResponseStartedAt = &now
		t.NextResponseWarnAt, t.NextResponseDueAt = deadlines(k, now, p.NextResponseMinutes, p.WarnPercent, 0)
	}
	return nil
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
			m.slaChanged(ctx, tenant)
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
		m.slaChanged(ctx, tenant)
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
