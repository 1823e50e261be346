package profiles_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A page of one province or city (or a few) can be read from the address
// indexes, in the list's order, whatever the company's mix: the condition the
// list sends matches the indexes' partial predicate. Only the customers that
// have the part are in an index. The pages are what a brute-force filter of
// the company's customers gives.
func TestAddressFiltersReadTheirIndex(t *testing.T) {
	env := testkit.Get(t)
	m, _ := setup(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	addrs := []string{`{"province":"广东","city":"广州"}`, `{"province":"广东","city":"深圳"}`, `{"province":"浙江","city":"杭州"}`, `{"street":"1 Main St"}`, `{}`, `{"province":""}`}
	for _, tn := range []uuid.UUID{a.ID, b.ID} {
		for i := 0; i < 30; i++ {
			addr := addrs[i%len(addrs)]
			if _, err := m.CreateCustomer(writer, tn, profiles.CustomerInput{Name: fmt.Sprintf("C%d", i), Address: json.RawMessage(addr)}, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Newer than all of them, 3,000 customers with an address and neither
	// part (written behind the API): the newest-first walk to a page of one
	// province passes them all, and the statistics say so.
	ctx := context.Background()
	if _, err := env.Owner.ExecContext(ctx, `INSERT INTO customers (tenant_id, id, kind, name, address, created_at, updated_at)
		SELECT ?, gen_random_uuid(), 'person', 'Bulk ' || g, '{"street":"2 Side St"}', now() + g * interval '1 second', now()
		  FROM generate_series(1, 3000) AS g`, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Owner.ExecContext(ctx, "ANALYZE customers"); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ field, op, value, index string }{
		{"province", "eq", "广东", "customers_province_idx"},
		{"province", "in", "浙江,广东", "customers_province_idx"},
		{"city", "eq", "深圳", "customers_city_idx"},
		{"city", "in", "杭州,广州", "customers_city_idx"},
	}
	for _, c := range cases {
		q, err := profiles.AddressFilterSQL(env.App, a.ID, c.field, c.op, c.value)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		var got, want []string
		err = db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
			// A few thousand rows are a sequential scan's size; the
			// question is which index serves the list when the table is
			// too large for one.
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
			var lines []string
			if err := tx.NewRaw("EXPLAIN (FORMAT TEXT) "+q).Scan(ctx, &lines); err != nil {
				return err
			}
			plan = strings.Join(lines, "\n")
			if err := tx.NewRaw(q).Scan(ctx, &got); err != nil {
				return err
			}
			vals := strings.Split(c.value, ",")
			return tx.NewRaw("SELECT id FROM customers WHERE tenant_id = ? AND deleted_at IS NULL AND address ->> ? IN (?) ORDER BY created_at DESC, id DESC LIMIT 51",
				a.ID, c.field, bun.In(vals)).Scan(ctx, &want)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, c.index) {
			t.Errorf("%s[%s]=%s is not read from %s:\n%s", c.field, c.op, c.value, c.index, plan)
		}
		if len(want) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s[%s]=%s: %d customers %v, want %d %v", c.field, c.op, c.value, len(got), got, len(want), want)
		}
	}
}
