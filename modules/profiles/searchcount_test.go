package profiles_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A capped count of a broad search reads about as many index entries as
// its cap, not every customer the search matches: the plan decides narrow
// or walk from it (fields.countCap) and the soak's searches, which every
// customer matches, counted the whole company once per list.
func TestACappedCountOfABroadSearchStopsAtItsCap(t *testing.T) {
	env := testkit.Get(t)
	m, _ := setup(t)
	profiles.KeepStats(m)
	for range 5 {
		upsertNumbered(t, m, env.NewTenant(t).ID, 0, 1000, "Soak customer")
	}
	db.RefreshStats(context.Background(), env.App, testkit.Quiet, "customers", "customer_terms")
	a := env.NewTenant(t)
	for i := range 4 {
		upsertNumbered(t, m, a.ID, i*1000, 1000, "Soak customer")
	}
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		sets, err := m.ListSets(ctx, tx, a.ID, profiles.Filter{Q: "Soak"})
		if err != nil || len(sets) != 1 {
			t.Fatalf("sets %v: %v", sets, err)
		}
		q := tx.NewRaw("SELECT count(*) FROM (SELECT 1 FROM ("+sets[0].IDs+") s LIMIT 83) c", sets[0].Args...).String()
		p, err := testkit.Explain(ctx, tx, q)
		if err != nil {
			return err
		}
		rows, pages := p.Work()
		t.Logf("the count handled %v rows, %v pages, in %.2f ms", rows, pages, p.MS)
		if rows > 1000 || pages > 200 {
			t.Errorf("a count capped at 83 of a search that matches 4,000 customers handled %v rows and %v pages (want at most 1,000 and 200)", rows, pages)
		}
		return nil
	})
}
