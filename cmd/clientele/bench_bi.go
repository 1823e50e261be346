package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// biBench is `clientele bench -bi` (issue 18): a company holding customers,
// purchases, deals and tickets beside a neighbour holding a tenth as many.
// It times, in this process and as a member who sees every record:
//   - the full build (the nightly reconcile) of the company's rollups, per
//     module;
//   - each provisioned dashboard loaded from the rollups, and the same
//     dashboard computed from the records (the floor it is measured against);
//     every widget's numbers from both must be the same;
//   - a refresh after one changed record, per module.
//
// The data is generated once with INSERT ... SELECT generate_series and kept
// for later runs.
type biBench struct {
	on                                   *bool
	customers, purchases, deals, tickets *int
	loads                                *int
	skipBuild, refreshOnly               *bool
	dashboards                           *string
}

func biBenchFlags(fs *flag.FlagSet) *biBench {
	return &biBench{
		on:          fs.Bool("bi", false, "run only the BI benchmark: rollup build, dashboards from rollups against the records, a refresh after one change"),
		customers:   fs.Int("bi-customers", 1_000_000, "customers in the bench company (the neighbour gets a tenth of each)"),
		purchases:   fs.Int("bi-purchases", 5_000_000, "purchases in the bench company"),
		deals:       fs.Int("bi-deals", 500_000, "deals in the bench company"),
		tickets:     fs.Int("bi-tickets", 500_000, "tickets in the bench company"),
		loads:       fs.Int("bi-loads", 30, "measured loads of each dashboard from rollups (a dashboard whose loads pass a minute in all stops at 3)"),
		skipBuild:   fs.Bool("bi-skip-build", false, "keep the rollups a previous run built (no full build timed)"),
		refreshOnly: fs.Bool("bi-refresh-only", false, "time only the refresh after one changed record (with -bi-skip-build: rollups built before)"),
		dashboards:  fs.String("bi-dashboards", "", "the provisioned dashboards to time, comma-separated (sales_overview, customer_insights, service); empty: all"),
	}
}

// biTarget is the bound on a provisioned dashboard's p95 from rollups.
const biTarget = 150 * time.Millisecond

func (b *biBench) run(ctx context.Context, cfg config.Config) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := runMigrate(ctx, cfg, quiet); err != nil {
		return err
	}
	tenant, _, err := ensureTenant(ctx, cfg, "bench-bi", "Bench BI Co.")
	if err != nil {
		return err
	}
	noise, _, err := ensureTenant(ctx, cfg, "bench-bi-noise", "Bench BI Neighbour Co.")
	if err != nil {
		return err
	}
	for _, t := range []struct {
		id uuid.UUID
		k  int
	}{{tenant, 1}, {noise, 10}} {
		if err := b.generate(ctx, cfg, t.id, t.k); err != nil {
			return err
		}
	}
	d, err := openDeps(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer d.Close()
	set := d.modules
	rolled := bi.New(bi.Deps{DB: d.db, Modules: set, Log: quiet})
	records := bi.New(bi.Deps{DB: d.db, Modules: set, Log: quiet, NoRollups: true})

	fmt.Printf("BI bench: company of %d customers, %d purchases, %d deals, %d tickets (a neighbour with a tenth of each)\n",
		*b.customers, *b.purchases, *b.deals, *b.tickets)
	for _, mod := range []string{"profiles", "funnel", "tickets"} {
		if *b.skipBuild {
			break
		}
		start := time.Now()
		if _, err := rolled.ReconcileRollups(ctx, tenant, mod); err != nil {
			return fmt.Errorf("rollups of %s: %w", mod, err)
		}
		fmt.Printf("  full build (nightly reconcile) of %-8s rollups: %s\n", mod, time.Since(start).Round(time.Millisecond))
	}
	var rows int
	if err := db.InTenant(ctx, d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM bi_rollups WHERE tenant_id = ?", tenant).Scan(ctx, &rows)
	}); err != nil {
		return err
	}
	fmt.Printf("  rollup rows: %d\n", rows)

	var slug, zone, currency string
	if err := d.db.NewRaw("SELECT slug, time_zone, currency FROM tenants WHERE id = ?", tenant).Scan(ctx, &slug, &zone, &currency); err != nil {
		return err
	}
	perms := map[string]bool{}
	for _, p := range []string{bi.PermRead, bi.PermManage, profiles.PermRead, funnel.PermRead, tickets.PermRead} {
		perms[p] = true
	}
	actx := authz.WithActor(ctx, authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Role: "admin", Permissions: perms, Scope: authz.ScopeAll})
	actx = tenancy.With(actx, tenancy.Tenant{ID: tenant, Slug: slug, TimeZone: zone, Currency: currency})
	if _, err := rolled.Provision(authz.AsSystem(ctx), tenant); err != nil {
		return err
	}
	fails := 0
	for _, key := range []string{bi.SalesOverview, bi.CustomerInsights, bi.ServiceDesk} {
		if *b.refreshOnly {
			break
		}
		if *b.dashboards != "" && !slices.Contains(strings.Split(*b.dashboards, ","), key) {
			continue
		}
		var id uuid.UUID
		if err := db.InTenant(ctx, d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
			var ok bool
			var err error
			id, ok, err = rolled.ProvisionedDashboard(ctx, tx, tenant, key)
			if err == nil && !ok {
				err = fmt.Errorf("no provisioned dashboard %s", key)
			}
			return err
		}); err != nil {
			return err
		}
		fromRollups, n, failed, err := timeDashboard(actx, rolled, id, *b.loads)
		if err != nil {
			return err
		}
		a, err := rolled.RunDashboard(actx, id)
		if err != nil {
			return err
		}
		fromRecords, _, failedRecords, err := timeDashboard(actx, records, id, 3)
		if err != nil {
			return err
		}
		// Widgets are compared where both answered; one whose records pass
		// the statement timeout cannot be, and is counted apart (it is not
		// a wrong number, nor a slow rollup).
		same, compared := 0, 0
		if r, err := records.RunDashboard(actx, id); err == nil {
			for i := range a.Widgets {
				if a.Widgets[i].Result != nil && r.Widgets[i].Result != nil {
					compared++
					if rowsText(a.Widgets[i].Result.Rows) == rowsText(r.Widgets[i].Result.Rows) {
						same++
					}
				}
			}
		}
		// The slowest widgets, those the records answer.
		var slow []string
		for _, w := range a.Widgets {
			if w.Result != nil && w.Result.Source != measures.SourceRollup {
				slow = append(slow, w.Result.Metric)
			}
		}
		verdict := "meets"
		if fromRollups.p95 > biTarget || len(failed) > 0 {
			verdict, fails = "MISSES", fails+1
		}
		equal := "equal"
		if same != compared {
			equal, fails = "DIFFER", fails+1
		}
		fmt.Printf("  %-18s %2d widgets (%d from rollups; %d of %d compared %s, %d not comparable): rollups p50 %s p95 %s; records p50 %s p95 %s (%.1fx); target p95 <= %s: %s\n",
			key, len(a.Widgets), n, same, compared, equal, len(a.Widgets)-compared, fromRollups.p50, fromRollups.p95, fromRecords.p50, fromRecords.p95,
			float64(fromRecords.p50)/float64(max(fromRollups.p50, time.Microsecond)), biTarget, verdict)
		if len(slow) > 0 {
			fmt.Printf("  %-18s answered from the records (not rolled up): %v\n", "", slow)
		}
		if len(failed) > 0 || len(failedRecords) > 0 {
			fmt.Printf("  %-18s past the %s statement timeout: from rollups %v, from the records %v\n", "", "20s", failed, failedRecords)
		}
	}

	// A refresh after one changed record, per module. For customers, two
	// chosen by the days their purchases fall on (what a refresh computes
	// again): one with the company's median count of days, and the one
	// with the most (ties: the lowest id, so every run changes the same).
	byDays := func(which string) string {
		return `WITH d AS (SELECT customer_id, count(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date) AS n FROM interactions
			WHERE tenant_id = ? AND kind = 'purchase' GROUP BY customer_id)
			SELECT customer_id FROM d WHERE n = (SELECT ` + which + ` FROM d) ORDER BY customer_id LIMIT 1`
	}
	for _, c := range []struct{ mod, what, pick string }{
		{"profiles", "customer, median days", byDays("percentile_disc(0.5) WITHIN GROUP (ORDER BY n)")},
		{"profiles", "customer, most days", byDays("max(n)")},
		{"funnel", "deal", "SELECT id FROM deals WHERE tenant_id = ? LIMIT 1"},
		{"tickets", "ticket", "SELECT id FROM tickets WHERE tenant_id = ? LIMIT 1"},
	} {
		if err := db.InTenant(ctx, d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
			var subject uuid.UUID
			if err := tx.NewRaw(c.pick, tenant).Scan(ctx, &subject); err != nil {
				return err
			}
			if c.mod == "profiles" {
				if _, err := tx.ExecContext(ctx, "UPDATE interactions SET amount = amount + 1 WHERE tenant_id = ? AND customer_id = ? AND kind = 'purchase'", tenant, subject); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO bi_rollup_dirty (tenant_id, module, subject) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", tenant, c.mod, subject)
			return err
		}); err != nil {
			return err
		}
		start := time.Now()
		days, err := rolled.RefreshRollups(ctx, tenant, c.mod)
		if err != nil {
			return err
		}
		took := time.Since(start)
		verdict := "meets"
		if took > time.Second {
			verdict, fails = "MISSES", fails+1
		}
		fmt.Printf("  refresh of %-8s after one changed record (%s): %s (%d days computed again); target <= 1s: %s\n", c.mod, c.what, took.Round(time.Millisecond), days, verdict)
	}
	if fails > 0 {
		fmt.Printf("BI bench: %d figures miss their target\n", fails)
	}
	return nil
}

// rowsText writes an answer's rows with their values, to compare two.
func rowsText(rows []measures.Row) string {
	out := ""
	for _, r := range rows {
		v, p := "null", "null"
		if r.Value != nil {
			v = *r.Value
		}
		if r.Previous != nil {
			p = *r.Previous
		}
		out += fmt.Sprint(r.Keys, "=", v, "/", p, ";")
	}
	return out
}

type spread struct{ p50, p95 time.Duration }

// timeDashboard loads a dashboard n times after a warm-up load (at least 3
// when the loads pass a minute in all) and returns the spread, how many
// widgets came from rollups, and the widgets that ran past the statement
// timeout (their time counts in the load's).
func timeDashboard(ctx context.Context, m *bi.Module, id uuid.UUID, n int) (spread, int, []string, error) {
	var ds []time.Duration
	fromRollups := 0
	var failed []string
	begin := time.Now()
	for i := 0; i < n+1; i++ {
		start := time.Now()
		res, err := m.RunDashboard(ctx, id)
		if err != nil {
			return spread{}, 0, nil, err
		}
		if i >= 1 {
			ds = append(ds, time.Since(start))
		}
		fromRollups, failed = 0, nil
		for _, w := range res.Widgets {
			switch {
			case w.Error != "" && strings.Contains(w.Error, "took longer than"):
				failed = append(failed, w.Name)
			case w.Error != "":
				return spread{}, 0, nil, fmt.Errorf("widget %s: %s", w.Name, w.Error)
			case w.Result != nil && w.Result.Source == measures.SourceRollup:
				fromRollups++
			}
		}
		if len(ds) >= 3 && time.Since(begin) > time.Minute {
			break
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) time.Duration {
		return ds[min(len(ds)-1, int(q*float64(len(ds))))].Round(100 * time.Microsecond)
	}
	return spread{at(0.50), at(0.95)}, fromRollups, failed, nil
}

// generate fills a company (a kth of the flags' volumes) once: customers,
// purchases over three years, deals with their stage history, tickets.
func (b *biBench) generate(ctx context.Context, cfg config.Config, tenant uuid.UUID, k int) error {
	conn, err := pgx.Connect(ctx, cfg.AppDatabaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	inTenant := func(fn func(tx pgx.Tx) error) error {
		return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{BeginQuery: db.BeginTenantSQL(tenant)}, fn)
	}
	var customers, purchases, deals int
	if err := inTenant(func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM customers WHERE tenant_id = $1),
			(SELECT count(*) FROM interactions WHERE tenant_id = $1 AND kind = 'purchase'),
			(SELECT count(*) FROM deals WHERE tenant_id = $1)`, tenant).Scan(&customers, &purchases, &deals)
	}); err != nil {
		return err
	}
	if want := *b.customers / k; customers < want {
		if err := seedCustomers(ctx, cfg, tenant, want-customers, uint64(customers+31)); err != nil {
			return err
		}
	}
	if err := inTenant(func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE tenants SET time_zone = 'Asia/Shanghai' WHERE id = $1", tenant)
		return err
	}); err != nil {
		return err
	}
	start := time.Now()
	for done, want := purchases, *b.purchases/k; done < want; {
		batch := min(250_000, want-done)
		if err := inTenant(func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `WITH c AS (SELECT array_agg(id) AS ids, count(*)::int AS n FROM (SELECT id FROM customers WHERE tenant_id = $1 ORDER BY id LIMIT 300000) x)
				INSERT INTO interactions (tenant_id, id, occurred_at, customer_id, kind, channel, summary, amount, currency)
				SELECT $1, gen_random_uuid(), now() - make_interval(mins => ((g * 7919) % 1576800)::int), c.ids[1 + (g * 31) % c.n],
					'purchase', (ARRAY['web', 'store', 'phone', 'wechat'])[1 + g % 4], 'order', ((g * 37) % 200000) / 100.0,
					(SELECT currency FROM tenants WHERE id = $1)
				FROM generate_series($2::bigint, $3::bigint) g CROSS JOIN c`, tenant, done+1, done+batch)
			return err
		}); err != nil {
			return fmt.Errorf("bench: generating purchases: %w", err)
		}
		done += batch
		fmt.Fprintf(os.Stderr, "bench: %d/%d purchases (%.0f s)\n", done, want, time.Since(start).Seconds())
	}
	if want := *b.deals / k; deals < want {
		now := time.Now().UTC().Truncate(time.Hour)
		owners := make([]uuid.UUID, 20)
		for i := range owners {
			owners[i] = uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("bench-funnel-owner-%d", i)))
		}
		if err := inTenant(func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "SELECT funnel_provision($1)", tenant)
			return err
		}); err != nil {
			return err
		}
		for done := deals; done < want; {
			batch := min(50_000, want-done)
			if err := inTenant(func(tx pgx.Tx) error {
				for _, q := range []string{funnelDealsSQL, funnelHistorySQL} {
					if _, err := tx.Exec(ctx, q, tenant, done+1, done+batch, now, owners); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return fmt.Errorf("bench: generating deals: %w", err)
			}
			done += batch
			fmt.Fprintf(os.Stderr, "bench: %d/%d deals\n", done, want)
		}
	}
	if err := (&ticketBench{}).generate(ctx, cfg, tenant, *b.tickets/k, uuid.New()); err != nil {
		return err
	}
	if customers >= *b.customers/k && purchases >= *b.purchases/k && deals >= *b.deals/k {
		return nil // generated and analysed by an earlier run
	}
	owner, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer owner.Close(ctx)
	for _, t := range []string{"customers", "customer_lifecycle_history", "customer_scores", "interactions", "deals", "deal_stage_history", "pipeline_stages", "tickets"} {
		if _, err := owner.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return err
		}
	}
	return nil
}
