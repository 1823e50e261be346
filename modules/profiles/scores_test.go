package profiles_test

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// sale is one purchase or won deal in a generated company.
type sale struct {
	customer uuid.UUID
	at       time.Time
	amount   int64
	currency string
}

// valuesSignal is a signal of other modules made from rows in Go, through the
// same SQL composition the real ones take.
func valuesSignal(kind records.SignalKind, rows []sale) records.Signal {
	return records.Signal{Kind: kind, Query: func(tx bun.IDB, tenant uuid.UUID, asOf time.Time) *bun.SelectQuery {
		if len(rows) == 0 {
			return tx.NewSelect().ColumnExpr("NULL::uuid AS customer_id, NULL::timestamptz AS at, NULL::numeric AS amount, NULL::text AS currency").Where("false")
		}
		var vals []string
		var args []any
		for _, r := range rows {
			vals = append(vals, "(?::uuid, ?::timestamptz, ?::numeric, ?::text)")
			args = append(args, r.customer, r.at, r.amount, r.currency)
		}
		return tx.NewSelect().TableExpr("(VALUES "+strings.Join(vals, ", ")+") AS v (customer_id, at, amount, currency)", args...).
			ColumnExpr("v.customer_id, v.at, v.amount, v.currency").Where("v.at <= ?", asOf)
	}}
}

// insertCustomers writes n customers straight into the tenant, owned in turn by owners.
func insertCustomers(t *testing.T, tenant uuid.UUID, n int, created time.Time, owners ...uuid.UUID) []uuid.UUID {
	t.Helper()
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	testkit.Get(t).InTenant(t, tenant, func(ctx context.Context, tx bun.Tx) error {
		for i, id := range ids {
			var owner *uuid.UUID
			if len(owners) > 0 {
				owner = &owners[i%len(owners)]
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO customers (tenant_id, id, kind, name, owner_id, created_at, updated_at) VALUES (?, ?, 'person', ?, ?, ?, ?)",
				tenant, id, fmt.Sprintf("C%05d", i), owner, created, created); err != nil {
				return err
			}
		}
		return nil
	})
	return ids
}

func insertPurchases(t *testing.T, tenant uuid.UUID, ss []sale) {
	t.Helper()
	testkit.Get(t).InTenant(t, tenant, func(ctx context.Context, tx bun.Tx) error {
		for _, s := range ss {
			if _, err := tx.ExecContext(ctx, `INSERT INTO interactions (tenant_id, id, occurred_at, customer_id, kind, summary, amount, currency)
				VALUES (?, ?, ?, ?, 'purchase', 'order', ?, ?)`, tenant, uuid.New(), s.at, s.customer, s.amount, s.currency); err != nil {
				return err
			}
		}
		return nil
	})
}

// quintile is the brute-force score of v among all: one plus five times the
// values below it, over how many there are.
func quintile[T any](v T, all []T, less func(a, b T) bool) int {
	below := 0
	for _, x := range all {
		if less(x, v) {
			below++
		}
	}
	return 1 + 5*below/len(all)
}

func segmentOf(r, f, m int) string {
	switch {
	case r >= 4 && f >= 4 && m >= 4:
		return "champions"
	case r >= 3 && f >= 4:
		return "loyal"
	case r >= 4 && f == 1:
		return "new"
	case r >= 3:
		return "potential"
	case f >= 3:
		return "at_risk"
	case r == 2:
		return "hibernating"
	}
	return "lost"
}

func TestRFMEqualsBruteForce(t *testing.T) {
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	asOf := time.Now().UTC().Truncate(time.Second)
	rng := rand.New(rand.NewSource(18))
	ids := insertCustomers(t, a.ID, 400, asOf.AddDate(-3, 0, 0))
	other := insertCustomers(t, b.ID, 50, asOf.AddDate(-3, 0, 0))
	var currency string
	if err := env.Owner.NewRaw("SELECT currency FROM tenants WHERE id = ?", a.ID).Scan(context.Background(), &currency); err != nil {
		t.Fatal(err)
	}
	var purchases, deals []sale
	for i, id := range ids {
		if i%7 == 0 {
			continue // never bought
		}
		for k := rng.Intn(9); k >= 0; k-- {
			// Whole days and round amounts make ties, which share a score.
			s := sale{customer: id, at: asOf.AddDate(0, 0, -rng.Intn(700)).Truncate(24 * time.Hour), amount: int64(rng.Intn(20)) * 50, currency: currency}
			if rng.Intn(10) == 0 {
				s.currency = "XTS" // another currency counts towards frequency, not money
			}
			if rng.Intn(3) == 0 {
				deals = append(deals, s)
			} else {
				purchases = append(purchases, s)
			}
		}
	}
	// A sale after asOf and the other company's purchases count for nothing here.
	purchases = append(purchases, sale{customer: ids[1], at: asOf.Add(time.Hour), amount: 1e6, currency: currency})
	insertPurchases(t, a.ID, purchases)
	insertPurchases(t, b.ID, []sale{{customer: other[0], at: asOf.Add(-time.Hour), amount: 1e6, currency: currency}})
	// A deleted customer with purchases is left out of the quintiles.
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE customers SET deleted_at = now() WHERE tenant_id = ? AND id = ?", a.ID, ids[2])
		return err
	})

	reg := records.NewRegistry()
	reg.AddSignals(valuesSignal(records.SignalSale, deals))
	m, _ := setupWith(t, func(d *profiles.Deps) { d.Records = reg })
	var run *profiles.ScoreRun
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		run, err = m.ScoreCustomers(ctx, tx, a.ID, asOf)
		return err
	})
	if run.Customers != 399 || run.Changed != 399 {
		t.Fatalf("first run %+v", run)
	}

	// Brute force.
	type agg struct {
		last    time.Time
		n       int
		revenue int64
	}
	by := map[uuid.UUID]*agg{}
	for _, s := range append(append([]sale{}, purchases...), deals...) {
		if s.at.After(asOf) || s.customer == ids[2] {
			continue
		}
		g := by[s.customer]
		if g == nil {
			g = &agg{}
			by[s.customer] = g
		}
		if s.at.After(g.last) {
			g.last = s.at
		}
		g.n++
		if s.currency == currency {
			g.revenue += s.amount
		}
	}
	var all []agg
	for _, g := range by {
		all = append(all, *g)
	}
	type want struct {
		r, f, m int
		seg     string
	}
	wants := map[uuid.UUID]want{}
	for id, g := range by {
		r := quintile(*g, all, func(x, y agg) bool { return x.last.Before(y.last) })
		f := quintile(*g, all, func(x, y agg) bool { return x.n < y.n })
		mo := quintile(*g, all, func(x, y agg) bool { return x.revenue < y.revenue })
		wants[id] = want{r, f, mo, segmentOf(r, f, mo)}
	}
	type got struct {
		ID        uuid.UUID `bun:"customer_id"`
		R         *int      `bun:"recency"`
		F         *int      `bun:"frequency"`
		M         *int      `bun:"monetary"`
		Segment   *string   `bun:"segment"`
		Purchases int       `bun:"purchases"`
	}
	var rows []got
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT customer_id, recency, frequency, monetary, segment, purchases FROM customer_scores WHERE tenant_id = ?", a.ID).Scan(ctx, &rows)
	})
	if len(rows) != 399 {
		t.Fatalf("%d score rows, want 399", len(rows))
	}
	segs := map[string]int{}
	for _, r := range rows {
		w, bought := wants[r.ID]
		if !bought {
			if r.R != nil || r.Segment != nil || r.Purchases != 0 {
				t.Errorf("%s never bought but has %+v", r.ID, r)
			}
			continue
		}
		if r.R == nil || *r.R != w.r || *r.F != w.f || *r.M != w.m || *r.Segment != w.seg {
			t.Errorf("%s: got r=%v f=%v m=%v %v, want %+v", r.ID, derefInt(r.R), derefInt(r.F), derefInt(r.M), r.Segment, w)
		}
		segs[w.seg]++
	}
	if len(segs) < 6 {
		t.Errorf("the generated data reaches only segments %v", segs)
	}

	// Idempotent: a second run at the same instant writes nothing.
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		run, err = m.ScoreCustomers(ctx, tx, a.ID, asOf)
		return err
	})
	if run.Changed != 0 || run.Removed != 0 {
		t.Errorf("second run changed %+v", run)
	}
	// The other company was not scored by a's run.
	var n int
	env.InTenant(t, b.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM customer_scores").Scan(ctx, &n)
	})
	if n != 0 {
		t.Errorf("company b has %d scores after a's run", n)
	}
}

func derefInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestChurnRiskReasons(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	asOf := time.Now().UTC().Truncate(time.Second)
	ids := insertCustomers(t, a.ID, 4, asOf.AddDate(-2, 0, 0))
	steady, fading, unhappy, fresh := ids[0], ids[1], ids[2], ids[3]
	var currency string
	_ = env.Owner.NewRaw("SELECT currency FROM tenants WHERE id = ?", a.ID).Scan(context.Background(), &currency)
	var ps []sale
	for d := 10; d < 455; d += 30 { // steady: a purchase a month, the last 10 days ago
		ps = append(ps, sale{steady, asOf.AddDate(0, 0, -d), 100, currency})
	}
	for d := 200; d < 455; d += 20 { // fading: bought every 20 days a year ago, nothing for 200 days
		ps = append(ps, sale{fading, asOf.AddDate(0, 0, -d), 100, currency})
	}
	ps = append(ps, sale{unhappy, asOf.AddDate(0, 0, -5), 100, currency})
	insertPurchases(t, a.ID, ps)
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error { // fresh was created today
		_, err := tx.ExecContext(ctx, "UPDATE customers SET created_at = ? WHERE tenant_id = ? AND id = ?", asOf.Add(-time.Hour), a.ID, fresh)
		return err
	})
	reg := records.NewRegistry()
	reg.AddSignals(
		valuesSignal(records.SignalOpenComplaint, []sale{{unhappy, asOf.AddDate(0, 0, -3), 0, ""}, {unhappy, asOf.AddDate(0, 0, -2), 0, ""}, {unhappy, asOf.AddDate(0, 0, -1), 0, ""}}),
		valuesSignal(records.SignalSLABreach, []sale{{unhappy, asOf.AddDate(0, 0, -4), 0, ""}, {unhappy, asOf.AddDate(0, 0, -200), 0, ""}}),
		valuesSignal(records.SignalActivity, []sale{{fading, asOf.AddDate(0, 0, -100), 0, ""}}),
	)
	m, _ := setupWith(t, func(d *profiles.Deps) { d.Records = reg })
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := m.ScoreCustomers(ctx, tx, a.ID, asOf)
		return err
	})
	reader := actor(profiles.PermRead)
	codes := func(id uuid.UUID) (int, string) {
		s, err := m.CustomerScore(reader, a.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		var cs []string
		for _, r := range s.Reasons {
			if r.LabelEN == "" || r.LabelZH == "" || r.Points <= 0 {
				t.Errorf("reason without labels or points: %+v", r)
			}
			cs = append(cs, fmt.Sprintf("%s:%d", r.Code, r.Points))
		}
		sort.Strings(cs)
		return s.ChurnRisk, strings.Join(cs, " ")
	}
	for _, c := range []struct {
		id   uuid.UUID
		risk int
		why  string
	}{
		{steady, 0, ""},
		// 0 purchases in 90 days against 13 in the year before: 100% down, 30 points;
		// the last activity (a deal, 100 days ago) is silence over 90 days.
		{fading, 50, "purchase_frequency_down:30 silent:20"},
		// three open complaints count 30 at most; one breach within 90 days, 10.
		{unhappy, 40, "open_complaints:30 sla_breached:10"},
		{fresh, 0, ""},
	} {
		risk, why := codes(c.id)
		if risk != c.risk || why != c.why {
			t.Errorf("%s: risk %d (%s), want %d (%s)", c.id, risk, why, c.risk, c.why)
		}
	}
	// A customer outside the reader's scope, or of another company, is 404.
	own := authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Permissions: map[string]bool{profiles.PermRead: true}, Scope: authz.ScopeOwn})
	if _, err := m.CustomerScore(own, a.ID, steady); !errs.Is(err, errs.NotFound) {
		t.Errorf("scope own read another's score: %v", err)
	}
	b := env.NewTenant(t)
	if _, err := m.CustomerScore(reader, b.ID, steady); !errs.Is(err, errs.NotFound) {
		t.Errorf("company b read a's score: %v", err)
	}
}

func TestSegmentsAsBIDimension(t *testing.T) {
	env := testkit.Get(t)
	m, _ := setupWith(t, func(d *profiles.Deps) { d.Records = records.NewRegistry() })
	a, _ := scoredCompany(t, m)
	var metric measures.Metric
	for _, mt := range m.Measures() {
		if mt.Key == "profiles.customers" {
			metric = mt
		}
	}
	today := time.Now().UTC().Format("2006-01-02")
	for _, dim := range []string{"rfm_segment", "churn_risk_band"} {
		var res *measures.Result
		env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
			var err error
			res, err = measures.Run(ctx, tx, measures.Tenant{ID: a.ID, TimeZone: "UTC", Currency: "CNY", WeekStart: 1},
				measures.Entry{Module: "profiles", Metric: metric}, measures.Request{Metric: metric.Key, Dimensions: []string{dim}, From: today, To: today}, "body")
			return err
		})
		expr := "coalesce(segment, '')"
		if dim == "churn_risk_band" {
			expr = "CASE WHEN churn_risk >= 70 THEN 'high' WHEN churn_risk >= 40 THEN 'medium' ELSE 'low' END"
		}
		var want []struct {
			K string `bun:"k"`
			N int    `bun:"n"`
		}
		_ = env.Owner.NewRaw("SELECT "+expr+" AS k, count(*) AS n FROM customer_scores WHERE tenant_id = ? GROUP BY 1", a.ID).Scan(context.Background(), &want)
		got := map[string]string{}
		for _, r := range res.Rows {
			if r.Value != nil {
				got[r.Keys[0]] = *r.Value
			}
		}
		for _, w := range want {
			if got[w.K] != fmt.Sprint(w.N) {
				t.Errorf("%s %q: BI says %s, the scores %d", dim, w.K, got[w.K], w.N)
			}
		}
		if len(want) < 2 {
			t.Errorf("%s: only %v in the generated data", dim, want)
		}
	}
}
