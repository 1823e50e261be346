package profiles_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// The generator fills every part of a customer a real tenant would have: values
// for the custom fields (indexed, so filters find them), tags, search terms and
// a timeline with purchases, all written under RLS.
func TestSeedWritesCustomValuesIndexAndTimeline(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	fs := customerFields(t, nil)
	m := profiles.New(profiles.Deps{DB: env.App, Fields: fs})
	a := env.NewTenant(t)
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		for _, d := range []fields.Definition{
			{Key: "tier", LabelEN: "Tier", Type: fields.Select, Options: []fields.Option{{Value: "gold"}, {Value: "silver"}, {Value: "bronze"}}, Filterable: true, Sortable: true},
			{Key: "employees", LabelEN: "Employees", Type: fields.Number, Filterable: true, Sortable: true},
			{Key: "channels", LabelEN: "Channels", Type: fields.MultiSelect, Options: []fields.Option{{Value: "wechat"}, {Value: "email"}}, Filterable: true},
			{Key: "secret", LabelEN: "Secret", Type: fields.Text, Sensitive: true},
		} {
			d.Entity = profiles.EntityCustomers
			if _, err := fs.Create(ctx, tx, a.ID, d); err != nil {
				return err
			}
		}
		return nil
	})
	conn, err := pgx.Connect(ctx, env.Config.AppDatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const n = 3000
	if err := profiles.Seed(ctx, conn, a.ID, n, 7, nil); err != nil {
		t.Fatal(err)
	}
	var customers, withTier, tierIndex, secrets, interactions, purchases, badPurchases int
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		q := func(dst *int, sql string) {
			if err := tx.NewRaw(sql, a.ID).Scan(ctx, dst); err != nil {
				t.Fatal(err)
			}
		}
		q(&customers, "SELECT count(*) FROM customers WHERE tenant_id = ?")
		q(&withTier, "SELECT count(*) FROM customers WHERE tenant_id = ? AND custom->>'tier' IN ('gold', 'silver', 'bronze')")
		q(&tierIndex, "SELECT count(*) FROM field_index WHERE tenant_id = ? AND field_key = 'tier'")
		q(&secrets, "SELECT count(*) FROM customers WHERE tenant_id = ? AND jsonb_exists(custom, 'secret')")
		q(&interactions, "SELECT count(*) FROM interactions WHERE tenant_id = ?")
		q(&purchases, "SELECT count(*) FROM interactions i WHERE tenant_id = ? AND kind = 'purchase' AND amount > 0 AND currency = (SELECT trim(currency) FROM tenants WHERE id = i.tenant_id)")
		q(&badPurchases, "SELECT count(*) FROM interactions i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id WHERE i.tenant_id = ? AND i.occurred_at < c.created_at")
		return nil
	})
	if customers != n || withTier < n*8/10 || withTier != tierIndex || secrets != 0 {
		t.Fatalf("%d customers, %d with a tier, %d tier index rows, %d sensitive values", customers, withTier, tierIndex, secrets)
	}
	if interactions < n || purchases == 0 || badPurchases != 0 {
		t.Fatalf("%d interactions, %d purchases, %d before their customer existed", interactions, purchases, badPurchases)
	}
	// The filters find exactly the seeded values.
	vals, _ := url.ParseQuery("custom.tier=gold&custom.employees[gte]=2500")
	ff, err := profiles.ParseFilters(vals)
	if err != nil {
		t.Fatal(err)
	}
	var brute int
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM customers WHERE tenant_id = ? AND custom->>'tier' = 'gold' AND (custom->>'employees')::numeric >= 2500", a.ID).Scan(ctx, &brute)
	})
	got, err := m.CountCustomers(writer, a.ID, profiles.Filter{Fields: ff})
	if err != nil || got != brute || brute == 0 {
		t.Fatalf("filter found %d, brute force %d (%v)", got, brute, err)
	}
}
