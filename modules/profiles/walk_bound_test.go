package profiles_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A search that matches every customer reads its page by walking the newest
// customers, and the walk's statement does about a page's work however large
// the company has grown since the tables were last analysed. The soak (issue
// 23) grew companies from 200 customers to thousands: the planner, which
// still took each company for its size at the last ANALYZE and a set's match
// with the company's records for a sliver of it, joined the walk to the
// company's customers, or to the whole matching set, in nested loops (joins
// by hash or merge are off in planned lists) and read the company once for
// each walked customer: 15-50 ms a page at 1,000 to 6,000 customers, growing
// with the company, where the page needs under 1 ms.
func TestBroadSearchWalkStaysAPageOfWorkAsTheCompanyGrows(t *testing.T) {
	env := testkit.Get(t)
	m, _ := setup(t)
	// Each walk's statement, explained where it runs: in the list's
	// transaction, with the plan's settings.
	var plans [][]map[string]any
	profiles.SetPlan(m, fields.Limits{Prefer: fields.Walk, Statement: func(ctx context.Context, tx bun.IDB, st fields.Step, q string) {
		var out string
		if err := tx.NewRaw("EXPLAIN (ANALYZE, FORMAT JSON) "+q).Scan(ctx, &out); err != nil {
			t.Error(err)
			return
		}
		var plan []map[string]any
		if err := json.Unmarshal([]byte(out), &plan); err != nil {
			t.Error(err)
			return
		}
		plans = append(plans, plan)
	}}, nil)
	defer profiles.SetPlan(m, fields.Limits{}, nil)
	batch := func(tenant uuid.UUID, from, n int, name string) {
		in := profiles.BatchInput{}
		for i := from; i < from+n; i++ {
			in.Records = append(in.Records, profiles.BatchRecord{Name: fmt.Sprintf("%s %d", name, i), Emails: []string{fmt.Sprintf("s%d@walk.example", i)}})
		}
		if _, err := m.UpsertCustomers(writer, tenant, in); err != nil {
			t.Fatal(err)
		}
	}
	// Companies of about the same size, analysed: each is a tenth of the
	// table, as each of the soak's was a twentieth. Ours then grows to three
	// times the size the statistics know.
	a := env.NewTenant(t)
	batch(a.ID, 0, 1000, "Soak customer")
	for range 9 {
		batch(env.NewTenant(t).ID, 0, 1000, "Soak customer")
	}
	db.RefreshStats(context.Background(), env.App, testkit.Quiet, "customers", "customer_terms")
	batch(a.ID, 1000, 1000, "Soak new")
	batch(a.ID, 2000, 1000, "Soak new")

	page, _, err := m.ListCustomers(writer, a.ID, profiles.Filter{Q: "Soak", Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 20 {
		t.Fatalf("the page: %d customers, want 20", len(page))
	}
	if len(plans) == 0 {
		t.Fatal("the search did not walk")
	}
	plan := plans[len(plans)-1]
	// The rows every node read or threw away, times its loops: about the
	// page and the few term rows of each customer on it. Reading the company
	// (3,000 customers) once per walked customer is millions.
	var work func(n map[string]any) float64
	work = func(n map[string]any) float64 {
		num := func(k string) float64 { v, _ := n[k].(float64); return v }
		w := (num("Actual Rows") + num("Rows Removed by Filter") + num("Rows Removed by Join Filter") + num("Rows Removed by Index Recheck")) * max(1, num("Actual Loops"))
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			w += work(k.(map[string]any))
		}
		return w
	}
	root := plan[0]["Plan"].(map[string]any)
	if w := work(root); w > 2000 {
		b, _ := json.MarshalIndent(root, "", " ")
		t.Fatalf("the walk's statement handled %.0f rows for a page of 20 (want at most 2,000):\n%s", w, b)
	} else {
		t.Logf("the walk's statement handled %.0f rows", w)
	}
}
