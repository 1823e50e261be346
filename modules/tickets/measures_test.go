package tickets_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
)

// measureRow is what the brute force reads of a ticket.
type measureRow struct {
	CreatedAt          time.Time  `bun:"created_at"`
	FirstRespondedAt   *time.Time `bun:"first_responded_at"`
	FirstResponseDueAt *time.Time `bun:"first_response_due_at"`
	SolvedAt           *time.Time `bun:"solved_at"`
	ResolutionDueAt    *time.Time `bun:"resolution_due_at"`
	PolicyID           *uuid.UUID `bun:"sla_policy_id"`
	TeamID             *uuid.UUID `bun:"team_id"`
	AssigneeID         *uuid.UUID `bun:"assignee_id"`
	Rating             *int       `bun:"csat_rating"`
	Merged             *uuid.UUID `bun:"merged_into_id"`
}

// percentile is percentile_cont: linear between the closest ranks.
func percentile(v []float64, p float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	sort.Float64s(v)
	pos := p * float64(len(v)-1)
	lo := math.Floor(pos)
	hi := math.Ceil(pos)
	out := v[int(lo)] + (pos-lo)*(v[int(hi)]-v[int(lo)])
	return &out
}

// bruteMeasures computes the measures of rows one by one, the slow way.
func bruteMeasures(rows []measureRow, key func(measureRow) string, at time.Time) map[string]tickets.Measure {
	type acc struct {
		m          tickets.Measure
		fr, res    []float64
		ratings    int
		hasRatings bool
	}
	groups := map[string]*acc{}
	for _, r := range rows {
		if r.Merged != nil {
			continue
		}
		k := key(r)
		g := groups[k]
		if g == nil {
			g = &acc{m: tickets.Measure{Key: k}}
			groups[k] = g
		}
		g.m.Tickets++
		if d := r.FirstResponseDueAt; d != nil {
			switch {
			case r.FirstRespondedAt != nil && !r.FirstRespondedAt.After(*d):
				g.m.FirstResponseMet++
			case r.FirstRespondedAt != nil || d.Before(at):
				g.m.FirstResponseBreached++
			}
		}
		if d := r.ResolutionDueAt; d != nil {
			switch {
			case r.SolvedAt != nil && !r.SolvedAt.After(*d):
				g.m.ResolutionMet++
			case r.SolvedAt != nil || d.Before(at):
				g.m.ResolutionBreached++
			}
		}
		if r.FirstRespondedAt != nil {
			g.fr = append(g.fr, r.FirstRespondedAt.Sub(r.CreatedAt).Seconds())
		}
		if r.SolvedAt != nil {
			g.res = append(g.res, r.SolvedAt.Sub(r.CreatedAt).Seconds())
		}
		if r.Rating != nil {
			g.m.CSATCount++
			g.ratings += *r.Rating
		}
	}
	out := map[string]tickets.Measure{}
	for k, g := range groups {
		m := g.m
		if d := m.FirstResponseMet + m.FirstResponseBreached + m.ResolutionMet + m.ResolutionBreached; d > 0 {
			c := float64(m.FirstResponseMet+m.ResolutionMet) / float64(d)
			m.Compliance = &c
		}
		m.FirstResponseP50, m.FirstResponseP90 = percentile(g.fr, 0.5), percentile(g.fr, 0.9)
		m.ResolutionP50, m.ResolutionP90 = percentile(g.res, 0.5), percentile(g.res, 0.9)
		if m.CSATCount > 0 {
			avg := float64(g.ratings) / float64(m.CSATCount)
			m.CSATAverage = &avg
		}
		out[k] = m
	}
	return out
}

func sameFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-6
}

func idKey(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}

// The measures the BI module reads agree with a brute-force count over the
// same tickets: per policy, team, agent and period, with filters, and within
// the actor's scope.
func TestMeasuresAgreeWithBruteForce(t *testing.T) {
	r := rig(t, false)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(17, 42))
	thirty, day := 30, 1440
	urgent, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Urgent", Position: 1, Priorities: []string{"urgent"}, FirstResponseMinutes: &thirty, ResolutionMinutes: &day})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Normal", Position: 2, ResolutionMinutes: &day}); err != nil {
		t.Fatal(err)
	}
	teams := []uuid.UUID{uuid.New(), uuid.New()}
	agents := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	for _, id := range teams {
		r.dir.teams[id] = true
	}
	for _, id := range agents {
		r.dir.members[id] = true
	}
	base := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []uuid.UUID
	for i := 0; i < 160; i++ {
		in := tickets.TicketInput{Priority: []string{"urgent", "normal", "low"}[rng.IntN(3)]}
		if rng.IntN(5) > 0 {
			in.TeamID = &teams[rng.IntN(2)]
		}
		if rng.IntN(4) > 0 {
			in.AssigneeID = &agents[rng.IntN(3)]
		}
		tk := r.ticket(t, lead, in)
		ids = append(ids, tk.ID)
		created := base.Add(time.Duration(rng.IntN(60*24*3600)) * time.Second).Add(time.Duration(rng.IntN(1e6)) * time.Microsecond)
		maybe := func(p int, after time.Duration) *time.Time {
			if rng.IntN(100) >= p {
				return nil
			}
			v := created.Add(time.Duration(rng.Int64N(int64(after))))
			return &v
		}
		var rating *int
		if rng.IntN(3) == 0 {
			v := 1 + rng.IntN(5)
			rating = &v
		}
		var frDue *time.Time
		if tk.FirstResponseDueAt != nil {
			frDue = maybe(100, 2*time.Hour)
		}
		if _, err := r.env.Owner.ExecContext(ctx, `UPDATE tickets SET created_at = ?, first_responded_at = ?, first_response_due_at = ?, solved_at = ?, resolution_due_at = ?, csat_rating = ?
			WHERE tenant_id = ? AND id = ?`, created, maybe(80, 3*time.Hour), frDue, maybe(60, 72*time.Hour), maybe(100, 48*time.Hour), rating, r.a.ID, tk.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A merged ticket's shell is not measured.
	if _, err := r.env.Owner.ExecContext(ctx, "UPDATE tickets SET merged_into_id = ?, status = 'closed' WHERE tenant_id = ? AND id = ?", ids[0], r.a.ID, ids[1]); err != nil {
		t.Fatal(err)
	}
	var rows []measureRow
	if err := r.env.Owner.NewRaw(`SELECT created_at, first_responded_at, first_response_due_at, solved_at, resolution_due_at, sla_policy_id, team_id, assignee_id, csat_rating, merged_into_id
		FROM tickets WHERE tenant_id = ?`, r.a.ID).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	at := base.Add(40 * 24 * time.Hour) // some targets still running, some overdue
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	local := func(r measureRow) time.Time {
		l := r.CreatedAt.In(shanghai)
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	}
	from, to := base.Add(10*24*time.Hour), base.Add(50*24*time.Hour)
	within := func(rows []measureRow, keep func(measureRow) bool) []measureRow {
		var out []measureRow
		for _, r := range rows {
			if keep(r) {
				out = append(out, r)
			}
		}
		return out
	}
	for _, c := range []struct {
		name string
		by   tickets.MeasureBy
		f    tickets.MeasureFilter
		rows []measureRow
		key  func(measureRow) string
	}{
		{"all", tickets.ByAll, tickets.MeasureFilter{}, rows, func(measureRow) string { return "" }},
		{"per policy", tickets.ByPolicy, tickets.MeasureFilter{}, rows, func(r measureRow) string { return idKey(r.PolicyID) }},
		{"per team", tickets.ByTeam, tickets.MeasureFilter{}, rows, func(r measureRow) string { return idKey(r.TeamID) }},
		{"per agent", tickets.ByAgent, tickets.MeasureFilter{}, rows, func(r measureRow) string { return idKey(r.AssigneeID) }},
		{"per Shanghai day", tickets.ByDay, tickets.MeasureFilter{TimeZone: "Asia/Shanghai"}, rows, func(r measureRow) string { return local(r).Format("2006-01-02") }},
		{"per week", tickets.ByWeek, tickets.MeasureFilter{TimeZone: "Asia/Shanghai"}, rows, func(r measureRow) string {
			d := local(r)
			return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)).Format("2006-01-02")
		}},
		{"per month", tickets.ByMonth, tickets.MeasureFilter{TimeZone: "Asia/Shanghai"}, rows, func(r measureRow) string { return local(r).Format("2006-01") + "-01" }},
		{"a period of one team, per agent", tickets.ByAgent, tickets.MeasureFilter{From: from, To: to, TeamID: &teams[0]},
			within(rows, func(r measureRow) bool {
				return !r.CreatedAt.Before(from) && r.CreatedAt.Before(to) && r.TeamID != nil && *r.TeamID == teams[0]
			}),
			func(r measureRow) string { return idKey(r.AssigneeID) }},
		{"one policy", tickets.ByAll, tickets.MeasureFilter{PolicyID: &urgent.ID},
			within(rows, func(r measureRow) bool { return r.PolicyID != nil && *r.PolicyID == urgent.ID }), func(measureRow) string { return "" }},
	} {
		c.f.At = at
		got, err := r.m.SLAMeasures(lead, r.a.ID, c.f, c.by)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := bruteMeasures(c.rows, c.key, at)
		if len(got) != len(want) {
			t.Errorf("%s: %d groups, want %d", c.name, len(got), len(want))
		}
		for i, g := range got {
			w, ok := want[g.Key]
			if i > 0 && got[i-1].Key >= g.Key {
				t.Errorf("%s: groups out of order at %q", c.name, g.Key)
			}
			if !ok || g.Tickets != w.Tickets || g.FirstResponseMet != w.FirstResponseMet || g.FirstResponseBreached != w.FirstResponseBreached ||
				g.ResolutionMet != w.ResolutionMet || g.ResolutionBreached != w.ResolutionBreached || g.CSATCount != w.CSATCount ||
				!sameFloat(g.Compliance, w.Compliance) || !sameFloat(g.FirstResponseP50, w.FirstResponseP50) || !sameFloat(g.FirstResponseP90, w.FirstResponseP90) ||
				!sameFloat(g.ResolutionP50, w.ResolutionP50) || !sameFloat(g.ResolutionP90, w.ResolutionP90) || !sameFloat(g.CSATAverage, w.CSATAverage) {
				t.Errorf("%s, group %q:\n got %s\nwant %s", c.name, g.Key, show(g), show(w))
			}
		}
	}
	// An agent who sees their own tickets measures only those.
	own := actorCtx(agents[1], authz.ScopeOwn, nil, nil, tickets.PermRead)
	mine, err := r.m.SLAMeasures(own, r.a.ID, tickets.MeasureFilter{At: at}, tickets.ByAll)
	want := bruteMeasures(within(rows, func(r measureRow) bool { return r.AssigneeID != nil && *r.AssigneeID == agents[1] }), func(measureRow) string { return "" }, at)[""]
	if err != nil || len(mine) != 1 || mine[0].Tickets != want.Tickets || !sameFloat(mine[0].ResolutionP90, want.ResolutionP90) {
		t.Errorf("own scope: %+v, %v; want %s", mine, err, show(want))
	}
	if _, err := r.m.SLAMeasures(lead, r.a.ID, tickets.MeasureFilter{TimeZone: "Nowhere/Else"}, tickets.ByDay); !errs.Is(err, errs.Invalid) {
		t.Errorf("an unknown zone: %v", err)
	}
	if got, err := r.m.SLAMeasures(lead, r.env.NewTenant(t).ID, tickets.MeasureFilter{}, tickets.ByAll); err != nil || len(got) != 0 {
		t.Errorf("another company measures %+v, %v", got, err)
	}
}

func show(m tickets.Measure) string {
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.3f", *p)
	}
	return fmt.Sprintf("n=%d fr %d/%d res %d/%d compliance %s fr p50 %s p90 %s res p50 %s p90 %s csat %d avg %s", m.Tickets, m.FirstResponseMet, m.FirstResponseBreached,
		m.ResolutionMet, m.ResolutionBreached, f(m.Compliance), f(m.FirstResponseP50), f(m.FirstResponseP90), f(m.ResolutionP50), f(m.ResolutionP90), m.CSATCount, f(m.CSATAverage))
}
