package profiles_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// The demo company gets its sample data once: customers in Chinese and
// English with tags and custom values, a timeline, numbered purchases over two
// years, and tasks overdue and due soon. A second run adds nothing.
func TestSeedDemoFillsTheDemoCompanyOnce(t *testing.T) {
	env := testkit.Get(t)
	ctx := authz.AsSystem(context.Background()) // seeding is nobody's request
	fs := customerFields(t, nil)
	var seeder module.DemoSeeder = profiles.New(profiles.Deps{DB: env.App, Fields: fs, Tasks: sqlFollowUps{}})
	a := env.NewTenant(t)
	demo := module.Demo{Tenant: a.ID, Owner: uuid.New(), DatabaseURL: env.Config.AppDatabaseURL, Seed: 1}
	start := time.Now()
	seeded, err := seeder.SeedDemo(ctx, demo)
	if err != nil || !seeded {
		t.Fatalf("first run: seeded %v, %v", seeded, err)
	}
	elapsed := time.Since(start)
	t.Logf("demo data seeded in %s", elapsed.Round(time.Millisecond))
	if elapsed > 30*time.Second {
		t.Errorf("seeding took %s, want under 30s", elapsed)
	}
	counts := func() map[string]int {
		out := map[string]int{}
		env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
			for k, q := range map[string]string{
				"customers":      "SELECT count(*) FROM customers WHERE tenant_id = ?",
				"chinese":        "SELECT count(*) FROM customers WHERE tenant_id = ? AND name ~ '[一-龥]'",
				"tagged":         "SELECT count(DISTINCT customer_id) FROM customer_tags WHERE tenant_id = ?",
				"fields":         "SELECT count(*) FROM field_definitions WHERE tenant_id = ?",
				"custom":         "SELECT count(*) FROM customers WHERE tenant_id = ? AND custom ? 'tier'",
				"notes_calls":    "SELECT count(*) FROM interactions WHERE tenant_id = ? AND kind IN ('note', 'call')",
				"orders":         "SELECT count(*) FROM purchase_orders WHERE tenant_id = ?",
				"other_currency": "SELECT count(*) FROM interactions i JOIN tenants t ON t.id = i.tenant_id WHERE i.tenant_id = ? AND i.kind = 'purchase' AND i.currency IS DISTINCT FROM t.currency",
				"orders_old":     "SELECT count(*) FROM purchase_orders WHERE tenant_id = ? AND occurred_at < now() - interval '1 year'",
				"orders_too_old": "SELECT count(*) FROM purchase_orders WHERE tenant_id = ? AND occurred_at < now() - interval '731 days'",
				"overdue":        "SELECT count(*) FROM tasks WHERE tenant_id = ? AND status = 'open' AND due_at < now()",
				"due_soon":       "SELECT count(*) FROM tasks WHERE tenant_id = ? AND status = 'open' AND due_at BETWEEN now() AND now() + interval '8 days'",
			} {
				var n int
				if err := tx.NewRaw(q, a.ID).Scan(ctx, &n); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				out[k] = n
			}
			return nil
		})
		return out
	}
	c := counts()
	t.Logf("demo counts: %v", c)
	if c["customers"] != profiles.DemoCustomers {
		t.Errorf("customers: %d, want %d", c["customers"], profiles.DemoCustomers)
	}
	if c["chinese"] < 800 || c["chinese"] > 1600 {
		t.Errorf("customers with Chinese names: %d of 2000, want a mix", c["chinese"])
	}
	for _, k := range []string{"tagged", "custom", "notes_calls", "orders_old", "overdue", "due_soon"} {
		if c[k] == 0 {
			t.Errorf("%s: none", k)
		}
	}
	// The revenue figures sum purchases in the company's currency: the
	// demo's purchases are in it, or its dashboards would show no revenue.
	if c["other_currency"] != 0 {
		t.Errorf("%d demo purchases in a currency other than the company's", c["other_currency"])
	}
	if c["fields"] != 5 {
		t.Errorf("custom field definitions: %d, want 5", c["fields"])
	}
	if c["orders"] < 2000 || c["orders_too_old"] != 0 {
		t.Errorf("purchases: %d, %d older than two years", c["orders"], c["orders_too_old"])
	}
	seeded, err = seeder.SeedDemo(ctx, demo)
	if err != nil || seeded {
		t.Fatalf("second run: seeded %v, %v", seeded, err)
	}
	// The same seed gives the same company: names, emails and order totals.
	b := env.NewTenant(t)
	if _, err := seeder.SeedDemo(ctx, module.Demo{Tenant: b.ID, Owner: uuid.New(), DatabaseURL: env.Config.AppDatabaseURL, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	digest := func(tenant uuid.UUID) (out string) {
		env.InTenant(t, tenant, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw(`SELECT md5(string_agg(name || emails[1], ',' ORDER BY name, emails[1])) || ':' ||
				(SELECT sum(amount)::text FROM interactions WHERE tenant_id = ?0 AND order_no IS NOT NULL)
				FROM customers WHERE tenant_id = ?0`, tenant).Scan(ctx, &out)
		})
		return out
	}
	if da, db := digest(a.ID), digest(b.ID); da != db {
		t.Errorf("the same seed gave different companies: %s, %s", da, db)
	}
	if again := counts(); again["customers"] != c["customers"] || again["orders"] != c["orders"] || again["overdue"] != c["overdue"] || again["fields"] != c["fields"] {
		t.Errorf("second run changed the counts: %v, then %v", c, again)
	}
}

// sqlFollowUps stores the demo's follow-ups as rows of the tasks table, as the
// tasks module does (modules cannot import each other, even in tests; cmd's
// demo test runs the real one).
type sqlFollowUps struct{}

func (sqlFollowUps) AddFollowUps(ctx context.Context, tx bun.Tx, tenant uuid.UUID, fs []records.FollowUp) error {
	for _, f := range fs {
		status := "open"
		if f.Done {
			status = "done"
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tasks (tenant_id, id, title, entity, record_id, assignee_id, status, due_at, completed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tenant, uuid.New(), f.Title, f.Entity, f.RecordID, f.Assignee, status, f.DueAt, f.CompletedAt); err != nil {
			return err
		}
	}
	return nil
}

func (sqlFollowUps) CountOpenFollowUps(context.Context, bun.Tx, uuid.UUID, *uuid.UUID) (int64, int64, error) {
	return 0, 0, nil
}
