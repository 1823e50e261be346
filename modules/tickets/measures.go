package tickets

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
)

// MeasureBy is what measures are grouped by.
type MeasureBy string

// The groupings of Measures.
const (
	ByAll    MeasureBy = ""       // one group: every ticket selected
	ByPolicy MeasureBy = "policy" // the SLA policy (empty key: none)
	ByTeam   MeasureBy = "team"   // the team (empty key: none)
	ByAgent  MeasureBy = "agent"  // the assignee (empty key: nobody)
	ByDay    MeasureBy = "day"    // the local day of creation, YYYY-MM-DD
	ByWeek   MeasureBy = "week"   // the local ISO week of creation, by its Monday
	ByMonth  MeasureBy = "month"  // the local month of creation, by its first day
)

// MeasureFilter selects the tickets measured: created in [From, To), of a
// policy, team or agent when given. Merged tickets (shells closed into
// another) are never measured.
type MeasureFilter struct {
	From, To time.Time
	PolicyID *uuid.UUID
	TeamID   *uuid.UUID
	AgentID  *uuid.UUID
	// TimeZone places periods (day, week, month); empty: UTC.
	TimeZone string
	// At is the moment a target still unmet counts as breached after its due
	// time; zero: now.
	At time.Time
}

// Measure is one group's service figures. A target is met when its answer
// came by its due time, breached when it came later or is still missing
// after it; a target still running is neither. Times run from creation, in
// seconds of the clock; percentiles interpolate between neighbours (as
// PostgreSQL's percentile_cont). Nil when no ticket of the group has one.
type Measure struct {
	Key                   string   `bun:"key" json:"key" doc:"the policy, team or agent id, or the period's first day; empty: none"`
	Tickets               int      `bun:"tickets" json:"tickets"`
	FirstResponseMet      int      `bun:"first_response_met" json:"first_response_met"`
	FirstResponseBreached int      `bun:"first_response_breached" json:"first_response_breached"`
	ResolutionMet         int      `bun:"resolution_met" json:"resolution_met"`
	ResolutionBreached    int      `bun:"resolution_breached" json:"resolution_breached"`
	Compliance            *float64 `bun:"-" json:"compliance,omitempty" doc:"targets met over targets decided, 0 to 1"`
	FirstResponseP50      *float64 `bun:"first_response_p50" json:"first_response_p50,omitempty" doc:"seconds"`
	FirstResponseP90      *float64 `bun:"first_response_p90" json:"first_response_p90,omitempty" doc:"seconds"`
	ResolutionP50         *float64 `bun:"resolution_p50" json:"resolution_p50,omitempty" doc:"seconds"`
	ResolutionP90         *float64 `bun:"resolution_p90" json:"resolution_p90,omitempty" doc:"seconds"`
	CSATCount             int      `bun:"csat_count" json:"csat_count"`
	CSATAverage           *float64 `bun:"csat_average" json:"csat_average,omitempty" doc:"the mean rating, 1 to 5"`
}

// measureKeys are the group expressions of each grouping (? is the zone).
var measureKeys = map[MeasureBy]string{
	ByAll:    "''",
	ByPolicy: "coalesce(t.sla_policy_id::text, '')",
	ByTeam:   "coalesce(t.team_id::text, '')",
	ByAgent:  "coalesce(t.assignee_id::text, '')",
	ByDay:    "to_char(date_trunc('day', t.created_at AT TIME ZONE ?), 'YYYY-MM-DD')",
	ByWeek:   "to_char(date_trunc('week', t.created_at AT TIME ZONE ?), 'YYYY-MM-DD')",
	ByMonth:  "to_char(date_trunc('month', t.created_at AT TIME ZONE ?), 'YYYY-MM-DD')",
}

// SLAMeasures computes compliance, first-response and resolution times (p50 and
// p90) and satisfaction of the tickets f selects within the actor's scope,
// grouped by by, in key order. It is the figures the BI module reads.
func (m *Module) SLAMeasures(ctx context.Context, tenant uuid.UUID, f MeasureFilter, by MeasureBy) ([]Measure, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	key, ok := measureKeys[by]
	if !ok {
		return nil, errs.Field("query.by", "must be policy, team, agent, day, week or month")
	}
	if f.TimeZone == "" {
		f.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(f.TimeZone); err != nil {
		return nil, errs.Field("query.time_zone", "is not a known time zone")
	}
	if f.At.IsZero() {
		f.At = time.Now()
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return nil, errs.Field("query.to", "must be after from")
	}
	var keyArgs []any
	if by == ByDay || by == ByWeek || by == ByMonth {
		keyArgs = []any{f.TimeZone}
	}
	out := []Measure{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().TableExpr("tickets AS t").
			ColumnExpr(key+" AS key", keyArgs...).
			ColumnExpr("count(*) AS tickets").
			ColumnExpr("count(*) FILTER (WHERE t.first_responded_at <= t.first_response_due_at) AS first_response_met").
			ColumnExpr("count(*) FILTER (WHERE t.first_responded_at > t.first_response_due_at OR (t.first_responded_at IS NULL AND t.first_response_due_at < ?)) AS first_response_breached", f.At).
			ColumnExpr("count(*) FILTER (WHERE t.solved_at <= t.resolution_due_at) AS resolution_met").
			ColumnExpr("count(*) FILTER (WHERE t.solved_at > t.resolution_due_at OR (t.solved_at IS NULL AND t.resolution_due_at < ?)) AS resolution_breached", f.At).
			ColumnExpr("percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_responded_at - t.created_at)) FILTER (WHERE t.first_responded_at IS NOT NULL) AS first_response_p50").
			ColumnExpr("percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_responded_at - t.created_at)) FILTER (WHERE t.first_responded_at IS NOT NULL) AS first_response_p90").
			ColumnExpr("percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.solved_at - t.created_at)) FILTER (WHERE t.solved_at IS NOT NULL) AS resolution_p50").
			ColumnExpr("percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.solved_at - t.created_at)) FILTER (WHERE t.solved_at IS NOT NULL) AS resolution_p90").
			ColumnExpr("count(t.csat_rating) AS csat_count").
			ColumnExpr("avg(t.csat_rating)::float8 AS csat_average").
			Where("t.tenant_id = ? AND t.merged_into_id IS NULL", tenant)
		if !f.From.IsZero() {
			q = q.Where("t.created_at >= ?", f.From)
		}
		if !f.To.IsZero() {
			q = q.Where("t.created_at < ?", f.To)
		}
		if f.PolicyID != nil {
			q = q.Where("t.sla_policy_id = ?", *f.PolicyID)
		}
		if f.TeamID != nil {
			q = q.Where("t.team_id = ?", *f.TeamID)
		}
		if f.AgentID != nil {
			q = q.Where("t.assignee_id = ?", *f.AgentID)
		}
		err := visibleTickets(ctx, q).GroupExpr("1").OrderExpr("1").Scan(ctx, &out)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "ticket")
	}
	for i := range out {
		g := &out[i]
		if decided := g.FirstResponseMet + g.FirstResponseBreached + g.ResolutionMet + g.ResolutionBreached; decided > 0 {
			c := float64(g.FirstResponseMet+g.ResolutionMet) / float64(decided)
			g.Compliance = &c
		}
	}
	return out, nil
}
