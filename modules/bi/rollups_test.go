package bi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// notRolled are the metrics whose value is not made of parts kept per day:
// the repeat rate (a customer's purchases across the days of a bucket). The
// records answer it.
var notRolled = map[string]bool{"purchases.repeat_rate": true}

// fromRecords answers req from the records, whatever rollups there are.
func fromRecords(t *testing.T, m *bi.Module, ctx context.Context, req measures.Request) *measures.Result {
	t.Helper()
	var res *measures.Result
	err := tenancy.Tx(ctx, testkit.Get(t).App, bi.PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		e, ok := m.Metrics().Find(req.Metric)
		if !ok {
			return fmt.Errorf("no metric %s", req.Metric)
		}
		mt := measures.Tenant{ID: tn.ID}
		if err := tx.NewRaw("SELECT time_zone, currency, week_start FROM tenants WHERE id = ?", tn.ID).Scan(ctx, &mt.TimeZone, &mt.Currency, &mt.WeekStart); err != nil {
			return err
		}
		var err error
		res, err = measures.Run(ctx, tx, mt, e, req, "body")
		return err
	})
	if err != nil {
		t.Fatalf("%s from records: %v", req.Metric, err)
	}
	return res
}

// questions are what a dashboard asks of every metric: a total, a series in
// each bucket size, each dimension alone and beside time, and filters on a
// single-valued dimension (eq, in, ne), alone and with that dimension.
func questions(t *testing.T, m *bi.Module, ctx context.Context, from, to string) []measures.Request {
	t.Helper()
	infos, err := m.ListMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []measures.Request
	for _, info := range infos {
		add := func(dims []string, bucket string, fs ...measures.Filter) {
			out = append(out, measures.Request{Metric: info.Key, Dimensions: dims, Bucket: bucket, From: from, To: to, Compare: true, Filters: fs})
		}
		add(nil, "")
		for _, b := range []string{"day", "week", "month", "quarter", "year"} {
			add([]string{"time"}, b)
		}
		for _, d := range info.Dimensions {
			if d.Key == "time" {
				continue
			}
			add([]string{d.Key}, "")
			add([]string{"time", d.Key}, "month")
			if d.Key == "tag" || d.Key == "team" {
				continue
			}
			// A value the dimension has, read from the records.
			res := fromRecords(t, m, ctx, measures.Request{Metric: info.Key, Dimensions: []string{d.Key}, From: from, To: to})
			if len(res.Rows) == 0 {
				continue
			}
			v := res.Rows[0].Keys[0]
			add([]string{"time"}, "week", measures.Filter{Dimension: d.Key, Op: measures.OpEq, Values: []string{v}})
			add(nil, "", measures.Filter{Dimension: d.Key, Op: measures.OpNe, Values: []string{v}})
			add([]string{d.Key}, "", measures.Filter{Dimension: d.Key, Op: measures.OpIn, Values: []string{v, "none-such"}})
		}
	}
	return out
}

func sameResult(a, b *measures.Result) string {
	if len(a.Rows) != len(b.Rows) {
		return fmt.Sprintf("%d rows against %d", len(a.Rows), len(b.Rows))
	}
	for i := range a.Rows {
		x, y := a.Rows[i], b.Rows[i]
		if fmt.Sprint(x.Keys) != fmt.Sprint(y.Keys) || show(x.Value) != show(y.Value) || show(x.Previous) != show(y.Previous) {
			return fmt.Sprintf("row %d: %v = %s (previous %s) against %v = %s (previous %s)", i, x.Keys, show(x.Value), show(x.Previous), y.Keys, show(y.Value), show(y.Previous))
		}
	}
	return ""
}

// ask puts every question to the module and to the records, and fails on any
// answer that differs; it returns how many came from rollups, by metric.
func ask(t *testing.T, m *bi.Module, ctx context.Context, qs []measures.Request) map[string]int {
	t.Helper()
	rolled := map[string]int{}
	bad := 0
	for _, q := range qs {
		res, err := m.RunQuery(ctx, q, "body")
		if err != nil {
			t.Fatalf("%s %v %v: %v", q.Metric, q.Dimensions, q.Filters, err)
		}
		if res.Source == measures.SourceRollup {
			rolled[q.Metric]++
			if notRolled[q.Metric] {
				t.Errorf("%s was answered from rollups", q.Metric)
			}
		}
		if diff := sameResult(res, fromRecords(t, m, ctx, q)); diff != "" {
			t.Errorf("%s %v by %q, filters %v, from %s: %s", q.Metric, q.Dimensions, q.Bucket, q.Filters, res.Source, diff)
			if bad++; bad > 8 {
				t.FailNow()
			}
		}
	}
	return rolled
}

func refreshAll(t *testing.T, m *bi.Module, tenant uuid.UUID) {
	t.Helper()
	for _, mod := range []string{"profiles", "funnel", "tickets"} {
		if _, err := m.RefreshRollups(context.Background(), tenant, mod); err != nil {
			t.Fatalf("rollups of %s: %v", mod, err)
		}
	}
}

// Every metric that adds up over days is answered from the rollups once
// they are built, on every dimension, bucket and filter a dashboard uses,
// with the previous period, and each answer equals the records' to the
// last digit: for a company in Asia/Shanghai and one in New York across
// both daylight-saving changes. From the rollups too, every metric equals
// the brute force.
func TestRollupsAnswerAsTheRecordsDo(t *testing.T) {
	m := newBI(t)
	lo := time.Date(2025, 9, 20, 0, 0, 0, 0, time.UTC)
	hi := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
	for i, tz := range []string{"Asia/Shanghai", "America/New_York"} {
		t.Run(tz, func(t *testing.T) {
			w := newWorld(t, tz, []string{"CNY", "USD"}[i], uint64(60+i), lo, hi)
			ctx := w.as(uuid.New(), authz.ScopeAll, allPerms...)
			qs := questions(t, m, ctx, "2025-11-01", "2026-03-31")
			// A declared pair: by one dimension, filtered on the other.
			band := measures.Filter{Dimension: "churn_risk_band", Op: measures.OpIn, Values: []string{"medium", "high"}}
			pairs := []measures.Request{
				{Metric: "profiles.customers", Dimensions: []string{"owner"}, From: "2025-11-01", To: "2026-03-31", Compare: true, Filters: []measures.Filter{band}},
				{Metric: "profiles.customers", Dimensions: []string{"time"}, Bucket: "month", From: "2025-11-01", To: "2026-03-31",
					Filters: []measures.Filter{band, {Dimension: "owner", Op: measures.OpNe, Values: []string{""}}}},
				{Metric: "purchases.revenue", Dimensions: []string{"churn_risk_band"}, From: "2025-11-01", To: "2026-03-31", Compare: true,
					Filters: []measures.Filter{{Dimension: "owner", Op: measures.OpEq, Values: []string{w.members[0].String()}}}},
			}
			// Before any rollup, the records answer, and the question asks
			// for the rollups to be built.
			res, err := m.RunQuery(ctx, qs[0], "body")
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != measures.SourceRecords {
				t.Fatalf("answered from %s before any rollup", res.Source)
			}
			var waiting int
			testkit.Get(t).InTenant(t, w.tenant, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewRaw("SELECT count(*) FROM bi_rollup_dirty WHERE subject = ?", uuid.Nil).Scan(ctx, &waiting)
			})
			if waiting == 0 {
				t.Fatal("a question without rollups did not ask for them")
			}
			if err := m.SweepRollups(context.Background()); err != nil {
				t.Fatal(err)
			}
			refreshAll(t, m, w.tenant)
			rolled := ask(t, m, ctx, qs)
			for _, info := range mustMetrics(t, m, ctx) {
				if !notRolled[info] && rolled[info] == 0 {
					t.Errorf("%s never came from rollups", info)
				}
			}
			t.Logf("%d questions, %d metrics answered from rollups", len(qs), len(rolled))
			ranges := []span2{{"2026-02-01", "2026-04-30", "2025-11-01", "2026-01-31"}}
			w.check(t, m, ctx, nil, ranges, time.Monday)

			// Churn risk on most customers, so the bands are not all none.
			testkit.Get(t).InTenant(t, w.tenant, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO customer_scores (tenant_id, customer_id, churn_risk)
					SELECT tenant_id, id, (abs(hashtext(id::text)) % 101)::smallint FROM customers WHERE tenant_id = ? AND abs(hashtext(id::text)) % 7 <> 0`, w.tenant)
				return err
			})
			// No event names a scoring run: the nightly reconcile brings
			// the bands in.
			if drift, err := m.ReconcileRollups(context.Background(), w.tenant, "profiles"); err != nil || drift == 0 {
				t.Fatalf("the reconcile after scoring found %d rows wrong (%v); the bands changed", drift, err)
			}
			ask(t, m, ctx, pairs)
			for _, q := range pairs {
				res, err := m.RunQuery(ctx, q, "body")
				if err != nil || res.Source != measures.SourceRollup {
					t.Fatalf("%s %v filtered %v: %v, not from the pair's rollups", q.Metric, q.Dimensions, q.Filters, err)
				}
				if len(res.Rows) < 2 {
					t.Fatalf("%s %v filtered %v: %d rows; the check needs some", q.Metric, q.Dimensions, q.Filters, len(res.Rows))
				}
			}
		})
	}
}

func mustMetrics(t *testing.T, m *bi.Module, ctx context.Context) []string {
	infos, err := m.ListMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range infos {
		out = append(out, i.Key)
	}
	return out
}

// A change marks its record in its own transaction; the refresh then
// computes again only the days that record's facts fell on and fall on,
// and the answers equal the records'. A scoped member's numbers come from
// the records; the nightly reconcile finds a wrong row and mends it; a new
// time zone is not answered from rollups built in the old one.
func TestRollupsFollowChanges(t *testing.T) {
	env := testkit.Get(t)
	bus := events.New(testkit.Quiet)
	m := bi.New(bi.Deps{DB: env.App, Modules: newBIModules(t), Log: testkit.Quiet, Events: bus})
	lo := time.Date(2025, 9, 20, 0, 0, 0, 0, time.UTC)
	hi := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
	w := newWorld(t, "America/New_York", "USD", 70, lo, hi)
	ctx := w.as(uuid.New(), authz.ScopeAll, allPerms...)
	refreshAll(t, m, w.tenant)
	qs := []measures.Request{
		{Metric: "purchases.revenue", Dimensions: []string{"time"}, Bucket: "day", From: "2025-10-01", To: "2026-04-30", Compare: true},
		{Metric: "purchases.orders", Dimensions: []string{"owner"}, From: "2025-10-01", To: "2026-04-30"},
		{Metric: "purchases.aov", Dimensions: []string{"lifecycle"}, From: "2025-10-01", To: "2026-04-30"},
		{Metric: "profiles.customers", Dimensions: []string{"time", "owner"}, Bucket: "month", From: "2025-10-01", To: "2026-04-30"},
		{Metric: "profiles.active_customers", Dimensions: []string{"time"}, Bucket: "week", From: "2025-10-01", To: "2026-04-30"},
		{Metric: "profiles.active_customers", Dimensions: []string{"lifecycle"}, From: "2025-10-01", To: "2026-04-30"},
		{Metric: "funnel.pipeline_value", Dimensions: []string{"time", "stage"}, Bucket: "week", From: "2025-10-01", To: "2026-04-30"},
		{Metric: "funnel.won_revenue", Dimensions: []string{"time"}, Bucket: "day", From: "2025-10-01", To: "2026-04-30"},
		{Metric: "profiles.churned_customers", Dimensions: []string{"time"}, Bucket: "week", From: "2025-10-01", To: "2026-04-30", Compare: true},
		{Metric: "profiles.churn_rate", Dimensions: []string{"time"}, Bucket: "month", From: "2025-10-01", To: "2026-04-30", Compare: true},
		{Metric: "profiles.churn_rate", Dimensions: []string{"time", "owner"}, Bucket: "week", From: "2025-10-01", To: "2026-04-30"},
	}
	ask(t, m, ctx, qs)

	// A purchase moves to another day and its customer to another owner,
	// as a module would do it: the change and its event in one transaction.
	c := w.buys[0].cust
	newOwner := w.members[3]
	env.InTenant(t, w.tenant, func(ctx context.Context, tx bun.Tx) error {
		// 40 days back in UTC: timestamp minus interval is immutable, which
		// Citus requires of an UPDATE's expression over a column.
		if _, err := tx.ExecContext(ctx, "UPDATE interactions SET occurred_at = (occurred_at AT TIME ZONE 'UTC' - interval '40 days') AT TIME ZONE 'UTC' WHERE tenant_id = ? AND customer_id = ? AND kind = 'purchase'", w.tenant, c.id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE customers SET owner_id = ? WHERE tenant_id = ? AND id = ?", newOwner, w.tenant, c.id); err != nil {
			return err
		}
		bus.Publish(ctx, events.Event{Topic: "customer.updated", EntityID: c.id.String()})
		// An active customer churns on a day in the range: an active stay
		// ends there (found from the end's side).
		var active uuid.UUID
		if err := tx.NewRaw(`SELECT c.id FROM customers AS c WHERE c.tenant_id = ? AND c.deleted_at IS NULL AND c.lifecycle IN ('customer', 'at_risk')
			AND NOT EXISTS (SELECT 1 FROM customer_lifecycle_history AS h WHERE h.tenant_id = c.tenant_id AND h.customer_id = c.id AND h.changed_at >= '2026-02-01')
			ORDER BY c.id LIMIT 1`, w.tenant).Scan(ctx, &active); err != nil {
			return err
		}
		// db.ExecStaged: Citus would COPY the INSERT ... SELECT's row into the
		// shard, which RLS refuses.
		if _, err := db.ExecStaged(ctx, tx, `INSERT INTO customer_lifecycle_history (tenant_id, customer_id, from_stage, to_stage, changed_at)
			SELECT ?, ?, lifecycle, 'churned', '2026-02-10 15:00+00' FROM customers WHERE tenant_id = ? AND id = ?`, w.tenant, active, w.tenant, active); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE customers SET lifecycle = 'churned' WHERE tenant_id = ? AND id = ?", w.tenant, active); err != nil {
			return err
		}
		bus.Publish(ctx, events.Event{Topic: "customer.updated", EntityID: active.String()})
		// An open deal is won on a day in the range.
		var deal uuid.UUID
		if err := tx.NewRaw(`SELECT d.id FROM deals AS d JOIN pipeline_stages AS s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id
			WHERE d.tenant_id = ? AND d.deleted_at IS NULL AND s.kind = 'open' AND d.won_at IS NULL AND d.lost_at IS NULL AND d.created_at < '2026-01-01'
			ORDER BY d.id LIMIT 1`, w.tenant).Scan(ctx, &deal); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE deals SET won_at = '2026-01-20 10:00+00' WHERE tenant_id = ? AND id = ?", w.tenant, deal); err != nil {
			return err
		}
		bus.Publish(ctx, events.Event{Topic: "deal.won", EntityID: deal.String()})
		return nil
	})
	var waiting time.Time
	env.InTenant(t, w.tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT marked_at FROM bi_rollup_dirty WHERE module = 'profiles' AND subject = ?", c.id).Scan(ctx, &waiting)
	})
	res, err := m.RunQuery(ctx, qs[0], "body")
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != measures.SourceRollup || !res.AsOf.Equal(waiting.UTC()) {
		t.Fatalf("with a change waiting: source %s as of %s, want rollup as of the change %s", res.Source, res.AsOf, waiting)
	}
	days, err := m.RefreshRollups(context.Background(), w.tenant, "profiles")
	if err != nil {
		t.Fatal(err)
	}
	if days <= 0 || days > 40 {
		t.Fatalf("the refresh computed %d days again; want the few the customers' facts touch", days)
	}
	if days, err = m.RefreshRollups(context.Background(), w.tenant, "funnel"); err != nil || days <= 0 || days > 10 {
		t.Fatalf("the funnel refresh computed %d days again (%v); want the deal's few", days, err)
	}
	ask(t, m, ctx, qs)

	// A scoped member: the records.
	own := w.as(w.members[1], authz.ScopeOwn, allPerms...)
	if res, err := m.RunQuery(own, qs[0], "body"); err != nil || res.Source != measures.SourceRecords {
		t.Fatalf("scope own: %v, source %v", err, res)
	}

	// A wrong row is found and mended by the reconcile.
	if _, err := env.Owner.ExecContext(context.Background(), `UPDATE bi_rollups SET n = n + 1
		WHERE (tenant_id, metric, dim, day, key) IN (SELECT tenant_id, metric, dim, day, key FROM bi_rollups WHERE tenant_id = ? AND metric = 'purchases.orders' AND dim = 'owner' LIMIT 1)`, w.tenant); err != nil {
		t.Fatal(err)
	}
	drift, err := m.ReconcileRollups(context.Background(), w.tenant, "profiles")
	if err != nil {
		t.Fatal(err)
	}
	if drift != 2 {
		t.Fatalf("reconcile found %d rows wrong, want 2 (the wrong one out, the right one in)", drift)
	}
	ask(t, m, ctx, qs)
	if drift, err = m.ReconcileRollups(context.Background(), w.tenant, "profiles"); err != nil || drift != 0 {
		t.Fatalf("a second reconcile: drift %d, %v", drift, err)
	}

	// Another time zone: the records answer until the rollups are rebuilt.
	if _, err := env.Owner.ExecContext(context.Background(), "UPDATE tenants SET time_zone = 'Asia/Shanghai' WHERE id = ?", w.tenant); err != nil {
		t.Fatal(err)
	}
	if res, err := m.RunQuery(ctx, qs[0], "body"); err != nil || res.Source != measures.SourceRecords {
		t.Fatalf("after a time zone change: %v, source %v", err, res)
	}
	if days, err := m.RefreshRollups(context.Background(), w.tenant, "profiles"); err != nil || days != -1 {
		t.Fatalf("after a time zone change the refresh rebuilt %d days, %v", days, err)
	}
	ask(t, m, ctx, qs)

	// More changed records than a refresh takes one by one (a bulk edit):
	// the module is rebuilt instead.
	env.InTenant(t, w.tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := db.ExecStaged(ctx, tx, `INSERT INTO bi_rollup_dirty (tenant_id, module, subject)
			SELECT ?, 'profiles', gen_random_uuid() FROM generate_series(1, 2001)`, w.tenant)
		return err
	})
	if days, err := m.RefreshRollups(context.Background(), w.tenant, "profiles"); err != nil || days != -1 {
		t.Fatalf("2,001 changed records: the refresh computed %d days (%v), want a rebuild", days, err)
	}
	ask(t, m, ctx, qs)
}

// A writer marking a record while a refresh runs does not wait for the
// refresh, and its mark outlives it: the refresh takes only the marks it
// read, untouched since. (The refresh is held at its last statements by a
// lock on its state row.)
func TestAMarkDuringARefreshNeitherWaitsNorIsLost(t *testing.T) {
	env := testkit.Get(t)
	bus := events.New(testkit.Quiet)
	m := bi.New(bi.Deps{DB: env.App, Modules: newBIModules(t), Log: testkit.Quiet, Events: bus})
	lo := time.Date(2025, 9, 20, 0, 0, 0, 0, time.UTC)
	w := newWorld(t, "Asia/Shanghai", "CNY", 71, lo, lo.AddDate(0, 3, 0))
	refreshAll(t, m, w.tenant)
	c := w.cust[0].id
	mark := func(ctx context.Context) error {
		return db.InTenant(ctx, env.App, w.tenant, func(ctx context.Context, tx bun.Tx) error {
			bus.Publish(ctx, events.Event{Topic: "customer.updated", EntityID: c.String()})
			return nil
		})
	}
	if err := mark(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Hold the refresh at its update of the state row.
	hold, err := env.Owner.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.ExecContext(context.Background(), "SELECT 1 FROM bi_rollup_state WHERE tenant_id = ? AND module = 'profiles' FOR UPDATE", w.tenant); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := m.RefreshRollups(context.Background(), w.tenant, "profiles")
		done <- err
	}()
	// The refresh has read the marks once it waits for the lock. On Citus
	// the row is locked on a worker, where the coordinator's pg_stat_activity
	// does not show the wait; citus_lock_waits does, across the cluster.
	waits := `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE bi_rollup_state%'`
	if env.Citus {
		waits = `SELECT count(*) FROM citus_lock_waits WHERE blocked_statement LIKE 'UPDATE bi_rollup_state%'`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var waiting int
		if err := env.Owner.NewRaw(waits).Scan(context.Background(), &waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refresh never reached its state update")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The record changes again: its mark does not wait for the refresh.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := mark(ctx); err != nil {
		t.Fatalf("a mark during a refresh: %v (it waited for the refresh)", err)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var left int
	env.InTenant(t, w.tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM bi_rollup_dirty WHERE module = 'profiles' AND subject = ?", c).Scan(ctx, &left)
	})
	if left != 1 {
		t.Fatalf("the mark made during the refresh: %d left, want 1 for the next refresh", left)
	}
	if _, err := m.RefreshRollups(context.Background(), w.tenant, "profiles"); err != nil {
		t.Fatal(err)
	}
	env.InTenant(t, w.tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM bi_rollup_dirty WHERE module = 'profiles'").Scan(ctx, &left)
	})
	if left != 0 {
		t.Fatalf("%d marks left after the next refresh", left)
	}
}

// sampleReads counts the statements that read a percentile sample's
// rollups.
type sampleReads struct{ n atomic.Int64 }

func (h *sampleReads) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if strings.Contains(e.Query, "bi_rollups") && strings.Contains(e.Query, "percentile_cont") {
		h.n.Add(1)
	}
	return ctx
}

func (h *sampleReads) AfterQuery(context.Context, *bun.QueryEvent) {}

// A dashboard with the median and the 90th percentile of the same durations
// sorts those values once per period, not once per widget, and each widget
// still says what it says alone (and what the records say).
func TestADashboardReadsASampleOnce(t *testing.T) {
	env := testkit.Get(t)
	reads := &sampleReads{}
	bdb := bun.NewDB(env.App.DB, pgdialect.New())
	bdb.AddQueryHook(reads)
	m := bi.New(bi.Deps{DB: bdb, Modules: newBIModules(t), Log: testkit.Quiet})
	w := newWorld(t, "America/New_York", "USD", 77, time.Date(2025, 9, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC))
	ctx := w.as(w.members[0], authz.ScopeAll, allPerms...)
	refreshAll(t, m, w.tenant)
	rng := bi.Range{Preset: "custom", From: "2025-11-01", To: "2026-03-31"}
	var widgets []bi.Widget
	var qs []measures.Request
	for i, k := range []string{"tickets.first_response_p50", "tickets.first_response_p90", "tickets.resolution_p50", "tickets.resolution_p90"} {
		for j, dims := range [][]string{nil, {"priority"}} {
			q := bi.SavedQuery{Metric: k, Dimensions: dims, Compare: true, Range: rng}
			rep, err := m.CreateReport(ctx, bi.ReportInput{Name: fmt.Sprint(k, dims), Chart: "table", Query: q})
			if err != nil {
				t.Fatal(err)
			}
			widgets = append(widgets, bi.Widget{ReportID: rep.ID, X: 6 * j, Y: 4 * i, W: 6, H: 4})
			qs = append(qs, measures.Request{Metric: k, Dimensions: dims, Compare: true, From: rng.From, To: rng.To})
		}
	}
	d, err := m.CreateDashboard(ctx, bi.DashboardInput{Name: "Response times", Widgets: widgets})
	if err != nil {
		t.Fatal(err)
	}
	reads.n.Store(0)
	res, err := m.RunDashboard(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Two samples, two dimensions (none and priority), two periods.
	if n := reads.n.Load(); n != 8 {
		t.Errorf("the dashboard read the samples %d times, want 8 (16: once per widget and period)", n)
	}
	values := 0
	for i, wr := range res.Widgets {
		if wr.Result == nil || wr.Result.Source != measures.SourceRollup {
			t.Fatalf("widget %d (%s): %+v %s, not from rollups", i, qs[i].Metric, wr.Result, wr.Error)
		}
		alone, err := m.RunQuery(ctx, qs[i], "body")
		if err != nil {
			t.Fatal(err)
		}
		if diff := sameResult(wr.Result, alone); diff != "" {
			t.Errorf("widget %d (%s by %v) on the dashboard and alone: %s", i, qs[i].Metric, qs[i].Dimensions, diff)
		}
		if diff := sameResult(wr.Result, fromRecords(t, m, ctx, qs[i])); diff != "" {
			t.Errorf("widget %d (%s by %v) and the records: %s", i, qs[i].Metric, qs[i].Dimensions, diff)
		}
		for _, r := range wr.Result.Rows {
			if r.Value != nil && r.Previous != nil {
				values++
			}
		}
	}
	if values < 8 {
		t.Fatalf("only %d rows with a value and a previous one: the check needs durations in both periods", values)
	}
}

// kicks records the jobs a module kicks.
type kicks struct {
	mu  sync.Mutex
	ids []string
	in  []time.Duration
}

func (k *kicks) Enqueue(context.Context, uuid.UUID, jobs.Spec) (*jobs.Job, error) { return nil, nil }

func (k *kicks) Kick(_ context.Context, _, _, id string, _ any, in time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ids, k.in = append(k.ids, id), append(k.in, in)
}

// A sweep asked for within twice the last refresh's length after it is put
// off to that time, or while another runs, and its marks wait; one asked
// for later runs.
func TestRollupSweepsArePacedByTheirLength(t *testing.T) {
	env := testkit.Get(t)
	k := &kicks{}
	m := bi.New(bi.Deps{DB: env.App, Modules: newBIModules(t), Log: testkit.Quiet, Jobs: k})
	tn := env.NewTenant(t)
	if _, err := env.Owner.ExecContext(context.Background(), "INSERT INTO bi_rollup_dirty (tenant_id, module, subject) VALUES (?, 'profiles', ?)", tn.ID, uuid.Nil); err != nil {
		t.Fatal(err)
	}
	marks := func() (n int) {
		t.Helper()
		if err := env.Owner.NewRaw("SELECT count(*) FROM bi_rollup_dirty WHERE tenant_id = ?", tn.ID).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	bi.SetLastSweep(m, time.Now(), 10*time.Second)
	if err := m.SweepRollups(context.Background()); err != nil {
		t.Fatal(err)
	}
	if marks() != 1 || len(k.ids) != 1 || k.ids[0] != "bi-rollup-sweep-paced" || k.in[0] < 19*time.Second || k.in[0] > 20*time.Second {
		t.Fatalf("a sweep right after a refresh of 10 s: %d marks left, kicks %v in %v (want one, in about 20 s)", marks(), k.ids, k.in)
	}
	// Another sweep of the process running: this one waits a rollupDelay.
	bi.SetLastSweep(m, time.Now().Add(-30*time.Second), 10*time.Second)
	bi.SetSweeping(m, true)
	if err := m.SweepRollups(context.Background()); err != nil {
		t.Fatal(err)
	}
	if marks() != 1 || len(k.ids) != 2 || k.ids[1] != "bi-rollup-sweep-paced" || k.in[1] != 2*time.Second {
		t.Fatalf("a sweep while another runs: %d marks left, kicks %v in %v (want a second, in 2 s)", marks(), k.ids, k.in)
	}
	bi.SetSweeping(m, false)
	if err := m.SweepRollups(context.Background()); err != nil {
		t.Fatal(err)
	}
	if marks() != 0 || len(k.ids) != 2 {
		t.Fatalf("a sweep 30 s after a refresh of 10 s: %d marks left, kicks %v", marks(), k.ids)
	}
}

// A sweep over several companies waits, after each refresh but the last,
// twice that refresh's length: refreshes hold at most a third of one
// connection's time, not a core for every company in a row.
func TestRollupSweepPacesEachRefresh(t *testing.T) {
	env := testkit.Get(t)
	m := bi.New(bi.Deps{DB: env.App, Modules: newBIModules(t), Log: testkit.Quiet, Jobs: &kicks{}})
	paused := bi.WatchPauses(m)
	var tenants []uuid.UUID
	for range 3 {
		tn := env.NewTenant(t)
		tenants = append(tenants, tn.ID)
		if _, err := env.Owner.ExecContext(context.Background(), "INSERT INTO bi_rollup_dirty (tenant_id, module, subject) VALUES (?, 'profiles', ?)", tn.ID, uuid.Nil); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now()
	if err := m.SweepRollups(context.Background()); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := env.Owner.NewRaw("SELECT count(*) FROM bi_rollup_dirty WHERE tenant_id = ANY(?::uuid[])", pgdialect.Array(tenants)).Scan(context.Background(), &left); err != nil {
		t.Fatal(err)
	}
	// Other tests' companies may have marks too: at least a pause between
	// each two of these three refreshes, none after the sweep's last.
	if left != 0 || len(*paused) < 2 {
		t.Fatalf("a sweep of 3 companies: %d marks left, %d pauses %v (want 0 and at least 2)", left, len(*paused), *paused)
	}
	end, took := bi.LastRefresh(m)
	if end.Before(before) || took <= 0 {
		t.Fatalf("the last refresh: ended %v, took %v (want after the sweep began, and a length)", end, took)
	}
	for i, p := range *paused {
		if p <= 0 || p > time.Minute {
			t.Fatalf("pause %d: %v (want twice the refresh before it: more than 0, at most a minute)", i, p)
		}
	}
}
