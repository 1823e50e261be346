package profiles_test

import (
	"context"
	"encoding/json"
	"fmt"
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
		var out string
		if err := tx.NewRaw("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT count(*) FROM (SELECT 1 FROM ("+sets[0].IDs+") s LIMIT ?) c",
			append(append([]any{}, sets[0].Args...), 83)...).Scan(ctx, &out); err != nil {
			return err
		}
		var plan []map[string]any
		if err := json.Unmarshal([]byte(out), &plan); err != nil {
			return err
		}
		var rows func(n map[string]any) float64
		rows = func(n map[string]any) float64 {
			num := func(k string) float64 { v, _ := n[k].(float64); return v }
			r := 0.0
			if _, ok := n["Relation Name"]; ok || n["Node Type"] == "Bitmap Index Scan" {
				r = (num("Actual Rows") + num("Rows Removed by Filter") + num("Rows Removed by Index Recheck")) * max(1, num("Actual Loops"))
			}
			kids, _ := n["Plans"].([]any)
			for _, k := range kids {
				r += rows(k.(map[string]any))
			}
			return r
		}
		root := plan[0]["Plan"].(map[string]any)
		got := rows(root)
		t.Logf("the count read %v index rows, %v pages: %s", got, root["Shared Hit Blocks"].(float64)+root["Shared Read Blocks"].(float64), fmt.Sprint(nodeTypes(root)))
		if got > 400 {
			t.Errorf("a count capped at 83 read %v rows of a search that matches 4,000 customers", got)
		}
		return nil
	})
}

func nodeTypes(n map[string]any) []string {
	out := []string{fmt.Sprint(n["Node Type"], " ", n["Index Name"])}
	kids, _ := n["Plans"].([]any)
	for _, k := range kids {
		out = append(out, nodeTypes(k.(map[string]any))...)
	}
	return out
}
