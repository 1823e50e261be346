package profiles

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// MassEdit changes many customers at once, as the list's bulk actions do.
type MassEdit struct {
	IDs        []uuid.UUID `json:"ids" minItems:"1" maxItems:"1000" doc:"the customers to change"`
	AddTags    []string    `json:"add_tags,omitempty" maxItems:"20"`
	RemoveTags []string    `json:"remove_tags,omitempty" maxItems:"20"`
	OwnerID    *uuid.UUID  `json:"owner_id,omitempty" doc:"assign this member as owner"`
	Lifecycle  string      `json:"lifecycle,omitempty" enum:"lead,prospect,customer,at_risk,churned,"`
}

// MassEditResult says what happened to each id.
type MassEditResult struct {
	Updated   int         `json:"updated"`
	Unchanged int         `json:"unchanged"`
	NotFound  []uuid.UUID `json:"not_found" doc:"ids that are not customers you can see; nothing was done to them"`
}

// MassEditCustomers applies e to every visible customer in one transaction:
// either every change (with its audit row and event) lands, or none does.
func (m *Module) MassEditCustomers(ctx context.Context, tenant uuid.UUID, e MassEdit) (*MassEditResult, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	if len(e.AddTags) == 0 && len(e.RemoveTags) == 0 && e.OwnerID == nil && e.Lifecycle == "" {
		return nil, errs.Field("body", "nothing to change: send add_tags, remove_tags, owner_id or lifecycle")
	}
	if e.Lifecycle != "" && !lifecycles[e.Lifecycle] {
		return nil, errs.Field("body.lifecycle", "must be lead, prospect, customer, at_risk or churned")
	}
	for i, t := range append(append([]string{}, e.AddTags...), e.RemoveTags...) {
		if t = strings.TrimSpace(t); t == "" || len([]rune(t)) > 50 {
			loc := fmt.Sprintf("body.add_tags[%d]", i)
			if i >= len(e.AddTags) {
				loc = fmt.Sprintf("body.remove_tags[%d]", i-len(e.AddTags))
			}
			return nil, errs.Field(loc, "tags are 1 to 50 characters")
		}
	}
	if err := m.checkMember(ctx, tenant, e.OwnerID, "body.owner_id"); err != nil {
		return nil, err
	}
	res := &MassEditResult{NotFound: []uuid.UUID{}}
	var changed []uuid.UUID
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var cs []Customer
		q := tx.NewSelect().Model(&cs).Where("c.tenant_id = ? AND c.id IN (?) AND c.deleted_at IS NULL", tenant, bun.In(e.IDs)).
			OrderExpr("c.id").For("UPDATE")
		if err := visible(ctx, q, "c.").Scan(ctx); err != nil {
			return err
		}
		found := map[uuid.UUID]bool{}
		for _, c := range cs {
			found[c.ID] = true
		}
		seen := map[uuid.UUID]bool{}
		for _, id := range e.IDs {
			if !found[id] && !seen[id] {
				res.NotFound = append(res.NotFound, id)
			}
			seen[id] = true
		}
		remove := map[string]bool{}
		for _, t := range e.RemoveTags {
			remove[strings.ToLower(strings.TrimSpace(t))] = true
		}
		sensitive := m.sensitive(ctx, tx, tenant)
		for i := range cs {
			before, next := cs[i], cs[i]
			next.Tags = nil
			for _, t := range before.Tags {
				if !remove[strings.ToLower(t)] {
					next.Tags = append(next.Tags, t)
				}
			}
			next.Tags = append(next.Tags, e.AddTags...)
			if e.OwnerID != nil {
				next.OwnerID = e.OwnerID
			}
			if e.Lifecycle != "" {
				next.Lifecycle = e.Lifecycle
			}
			if fe := next.normalize(before.Address); len(fe) > 0 {
				return errs.E(errs.Invalid, "Customer %s could not be changed: %s %s.", next.ID, fe[0].Location, fe[0].Message).WithFields(fe...)
			}
			if sameCustomer(before, next) {
				res.Unchanged++
				continue
			}
			if _, err := tx.NewUpdate().Model(&next).Column("tags", "owner_id", "lifecycle").Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
				return err
			}
			if err := writeSideRows(ctx, tx, &next); err != nil {
				return err
			}
			if next.Lifecycle != before.Lifecycle {
				if _, err := tx.ExecContext(ctx, "INSERT INTO customer_lifecycle_history (tenant_id, customer_id, from_stage, to_stage, changed_by) VALUES (?, ?, ?, ?, ?)",
					tenant, next.ID, before.Lifecycle, next.Lifecycle, authz.RequesterID(ctx)); err != nil {
					return err
				}
			}
			if err := audit.Record(ctx, tx, audit.Entry{Action: "customer.update", Entity: "customer", EntityID: next.ID.String(),
				Before: before, After: next, Sensitive: sensitive}); err != nil {
				return err
			}
			changed = append(changed, next.ID)
			res.Updated++
		}
		return nil
	})
	if err != nil {
		return nil, db.Classify(err, "customer")
	}
	for _, id := range changed {
		m.publish(ctx, "customer.updated", id)
	}
	return res, nil
}

func sameCustomer(a, b Customer) bool {
	ta, tb := append([]string{}, a.Tags...), append([]string{}, b.Tags...)
	sort.Strings(ta)
	sort.Strings(tb)
	sameOwner := (a.OwnerID == nil) == (b.OwnerID == nil) && (a.OwnerID == nil || *a.OwnerID == *b.OwnerID)
	return strings.Join(ta, "\x00") == strings.Join(tb, "\x00") && sameOwner && a.Lifecycle == b.Lifecycle
}

// Stats is the overview of a tenant's customers and follow-ups.
type Stats struct {
	Total         int64            `json:"total"`
	ByLifecycle   []LifecycleCount `json:"by_lifecycle"`
	CreatedByWeek []WeekCount      `json:"created_by_week" doc:"the last 12 weeks, Monday-based, oldest first"`
	OpenTasks     int64            `json:"open_tasks"`
	OverdueTasks  int64            `json:"overdue_tasks"`
}

// LifecycleCount is one bar of the lifecycle chart.
type LifecycleCount struct {
	Lifecycle string `json:"lifecycle" bun:"lifecycle" enum:"lead,prospect,customer,at_risk,churned"`
	Count     int64  `json:"count" bun:"count"`
}

// WeekCount is one point of the new-customers chart.
type WeekCount struct {
	Week  string `json:"week" bun:"week"`
	Count int64  `json:"count" bun:"count"`
}

// CustomerStats counts what the actor may see.
func (m *Module) CustomerStats(ctx context.Context, tenant uuid.UUID) (*Stats, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	s := &Stats{ByLifecycle: []LifecycleCount{}, CreatedByWeek: []WeekCount{}}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().TableExpr("customers AS c").ColumnExpr("c.lifecycle, count(*) AS count").
			Where("c.tenant_id = ? AND c.deleted_at IS NULL", tenant).GroupExpr("c.lifecycle")
		if err := visible(ctx, q, "c.").Scan(ctx, &s.ByLifecycle); err != nil {
			return err
		}
		order := map[string]int{"lead": 0, "prospect": 1, "customer": 2, "at_risk": 3, "churned": 4}
		sort.Slice(s.ByLifecycle, func(i, j int) bool { return order[s.ByLifecycle[i].Lifecycle] < order[s.ByLifecycle[j].Lifecycle] })
		for _, l := range s.ByLifecycle {
			s.Total += l.Count
		}
		since := time.Now().UTC().AddDate(0, 0, -7*12)
		var weeks []WeekCount
		q = tx.NewSelect().TableExpr("customers AS c").
			ColumnExpr("to_char(date_trunc('week', c.created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week, count(*) AS count").
			Where("c.tenant_id = ? AND c.deleted_at IS NULL AND c.created_at >= ?", tenant, since).GroupExpr("1").OrderExpr("1")
		if err := visible(ctx, q, "c.").Scan(ctx, &weeks); err != nil {
			return err
		}
		got := map[string]int64{}
		for _, w := range weeks {
			got[w.Week] = w.Count
		}
		monday := time.Now().UTC().Truncate(24 * time.Hour)
		for monday.Weekday() != time.Monday {
			monday = monday.AddDate(0, 0, -1)
		}
		for i := 11; i >= 0; i-- {
			w := monday.AddDate(0, 0, -7*i).Format("2006-01-02")
			s.CreatedByWeek = append(s.CreatedByWeek, WeekCount{Week: w, Count: got[w]})
		}
		if m.d.Tasks == nil {
			return nil
		}
		var err error
		s.OpenTasks, s.OverdueTasks, err = m.d.Tasks.CountOpenFollowUps(ctx, tx, tenant, authz.RequesterID(ctx))
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "customer")
	}
	return s, nil
}

func (m *Module) massRoutes(api huma.API) {
	type massIn struct{ Body MassEdit }
	type massOut struct{ Body *MassEditResult }
	huma.Register(api, huma.Operation{OperationID: "mass-edit-customers", Method: http.MethodPost, Path: "/customers/bulk",
		Summary:     "Tag, untag, reassign or move many customers at once",
		Description: "One transaction: every change lands with its audit row, or none does. Ids you cannot see are listed in not_found and left alone."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *massIn) (*massOut, error) {
			r, err := m.MassEditCustomers(ctx, t.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &massOut{Body: r}, nil
		}))
	type statsOut struct{ Body *Stats }
	huma.Register(api, huma.Operation{OperationID: "customer-stats", Method: http.MethodGet, Path: "/customers/stats",
		Summary:     "Counts for the overview: customers by lifecycle, new customers per week, open and overdue tasks",
		Description: "Counts for the overview, within what the caller may see: customers by lifecycle, new customers per week, open and overdue tasks. Needs profiles.read."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, _ *struct{}) (*statsOut, error) {
			s, err := m.CustomerStats(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			return &statsOut{Body: s}, nil
		}))
}
