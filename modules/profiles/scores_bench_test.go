package profiles_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// TestScoreBench times the scoring job against its floor at volume:
//
//	CLIENTELE_BENCH_SCORES=100000 go test -p 1 -count=1 -run TestScoreBench -v ./modules/profiles/
//
// It makes that many customers with five purchases each on average, beside a
// neighbour company, and prints, in one run: the floor (the statement any
// scoring must run: one pass aggregating the purchases per customer, writing
// a row per customer into a scratch table), the first scoring run (every
// score written), a rerun (nothing changed), and a classification rule's dry
// run and run over the whole company.
func TestScoreBench(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CLIENTELE_BENCH_SCORES"))
	if n <= 0 {
		t.Skip("set CLIENTELE_BENCH_SCORES to the number of customers")
	}
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	now := time.Now().UTC()
	for _, tn := range []testkit.Tenant{a, b} {
		size := n
		if tn.ID == b.ID {
			size = n / 10
		}
		env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO customers (tenant_id, id, kind, name, lifecycle, created_at, updated_at)
				SELECT ?, gen_random_uuid(), 'person', 'C' || g, 'customer', ?::timestamptz - (g % 900) * interval '1 day', ?::timestamptz - interval '900 days'
				FROM generate_series(1, ?) AS g`, tn.ID, now, now, size); err != nil {
				return err
			}
			// Purchases: 0 to 10 per customer, spread over two years.
			_, err := tx.ExecContext(ctx, `INSERT INTO interactions (tenant_id, id, occurred_at, customer_id, kind, summary, amount, currency)
				SELECT c.tenant_id, gen_random_uuid(), ?::timestamptz - ((hashtext(c.id::text || k) & 1023) % 730) * interval '1 day',
					c.id, 'purchase', 'order', ((hashtext(k || c.id::text) & 1023) % 50) * 20, t.currency
				FROM customers AS c JOIN tenants AS t ON t.id = c.tenant_id
				CROSS JOIN LATERAL generate_series(1, (hashtext(c.id::text) & 1023) % 11) AS k
				WHERE c.tenant_id = ?`, now, tn.ID)
			return err
		})
	}
	// No ANALYZE: the statistics stay as stale as right after an import,
	// which the job must survive.
	var purchases int
	_ = env.Owner.NewRaw("SELECT count(*) FROM interactions WHERE tenant_id = ?", a.ID).Scan(context.Background(), &purchases)

	m, _ := setupWith(t, func(d *profiles.Deps) { d.Records = records.NewRegistry() })
	timed := func(name string, fn func(ctx context.Context, tx bun.Tx) error) time.Duration {
		start := time.Now()
		env.InTenant(t, a.ID, fn)
		d := time.Since(start)
		fmt.Printf("%-44s %10.0f ms\n", name, float64(d.Microseconds())/1000)
		return d
	}
	fmt.Printf("scores: %d customers, %d purchases (neighbour: %d customers)\n", n, purchases, n/10)
	floor := timed("floor: aggregate purchases, write a row each", func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TEMP TABLE score_floor ON COMMIT DROP AS
			SELECT customer_id, max(occurred_at) AS last_at, count(*) AS n, sum(amount) AS revenue
			FROM interactions WHERE tenant_id = ? AND kind = 'purchase' GROUP BY customer_id`, a.ID)
		return err
	})
	if os.Getenv("CLIENTELE_BENCH_EXPLAIN") != "" {
		_ = db.InTenant(authz.AsSystem(context.Background()), env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
			var currency string
			_ = tx.NewRaw("SELECT currency FROM tenants WHERE id = ?", a.ID).Scan(ctx, &currency)
			q, args := m.ScoreSQL(tx, a.ID, now, currency)
			var plan []string
			_, _ = tx.ExecContext(ctx, "SET LOCAL enable_nestloop = off")
			if err := tx.NewRaw("EXPLAIN (ANALYZE, BUFFERS) "+q, args...).Scan(ctx, &plan); err != nil {
				return err
			}
			fmt.Println(strings.Join(plan, "\n"))
			return errors.New("roll back")
		})
	}
	var run *profiles.ScoreRun
	first := timed("scoring run, every score written", func(ctx context.Context, tx bun.Tx) error {
		var err error
		run, err = m.ScoreCustomers(ctx, tx, a.ID, now)
		return err
	})
	if run.Changed != n {
		t.Errorf("first run wrote %d of %d", run.Changed, n)
	}
	again := timed("scoring rerun, nothing changed", func(ctx context.Context, tx bun.Tx) error {
		var err error
		run, err = m.ScoreCustomers(ctx, tx, a.ID, now)
		return err
	})
	if run.Changed != 0 {
		t.Errorf("rerun wrote %d", run.Changed)
	}
	classifier := actor(profiles.PermClassify)
	rule, err := m.CreateRule(classifier, a.ID, profiles.RuleInput{Name: "VIP", Condition: "rfm.segment=champions", Action: profiles.ActionAddTag, Value: "vip"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	dry, err := m.DryRunRule(classifier, a.ID, rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	dryT := time.Since(start)
	start = time.Now()
	done, err := m.RunRule(classifier, a.ID, rule.ID)
	if err != nil {
		t.Fatal(err)
	}
	runT := time.Since(start)
	fmt.Printf("%-44s %10.0f ms (%d customers)\n", "rule dry run: champions -> tag vip", float64(dryT.Microseconds())/1000, dry.Changed)
	fmt.Printf("%-44s %10.0f ms (%d customers, audited)\n", "rule run", float64(runT.Microseconds())/1000, done.Changed)
	fmt.Printf("ratios to the floor: first run %.1fx, rerun %.1fx\n", float64(first)/float64(floor), float64(again)/float64(floor))
	if dry.Changed != done.Changed {
		t.Errorf("dry run %d, run %d", dry.Changed, done.Changed)
	}
}
