package funnel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A company created after the last ANALYZE of deals is not in its
// statistics: the planner takes it for one row, and then every index of
// deals that starts with tenant_id (created, updated, owner, close: the
// partial ones spare the deleted_at filter) costs it the same as the
// primary key for the walk's probe "d.id = pw.id". The walk must still find
// each walked deal by the primary key (or the tuple id it gives), and check
// its tags through the index that starts with the deal, so a page stays a
// page of work however large the unknown company is (issue 23, as for
// customers: docs/reliability.md).
func TestDealWalkProbesByPrimaryKeyInACompanyTheStatisticsNeverSaw(t *testing.T) {
	env := testkit.Get(t)
	m, _ := plannedDeals(t)
	rec := walkPlans(t, m)
	// Analysed neighbours, each among the statistics' most common values.
	for range 10 {
		manyDeals(t, m, newCompany(t, m), 1000, "t0", "t1", "t2")
	}
	db.RefreshStats(context.Background(), env.App, testkit.Quiet, "deals", "deal_tags")
	c := newCompany(t, m)
	manyDeals(t, m, c, 2000, "t0", "t1", "t2")

	// Deal tags are walkable in time order (deal_tags_recent_idx): each walk
	// reads a tag's rows newest first, and checks the deal and its other
	// tags (one tag, or several; a saved view's tag stays a condition of the
	// probe).
	for _, tags := range [][]string{{"t0"}, {"t0", "t1"}, {"t0", "t1", "t2"}, {"t0", "view:t1"}} {
		rec.Plans = nil
		f := funnel.Filter{Tags: tags, Limit: 20}
		if v, ok := strings.CutPrefix(tags[len(tags)-1], "view:"); ok {
			f.Tags, f.View = tags[:len(tags)-1], &funnel.Filter{Tags: []string{v}}
		}
		page, _, err := m.ListDeals(seller, c.id, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 20 {
			t.Fatalf("tags %v: the page: %d deals, want 20", tags, len(page))
		}
		if len(rec.Plans) == 0 {
			t.Fatalf("tags %v: the list did not walk", tags)
		}
		p := rec.Plans[len(rec.Plans)-1]
		rows, pages := p.Work()
		t.Logf("tags %v: the walk's statement handled %.0f rows, %.0f pages, in %.2f ms", tags, rows, pages, p.MS)
		if rows > 2000 || pages > 400 {
			t.Errorf("tags %v: the walk handled %.0f rows and %.0f pages for a page of 20 (want at most 2,000 and 400):\n%s", tags, rows, pages, p)
		}
		// Each walked deal is found through the primary key, or by the tuple
		// id it gives; its tags through an index that starts with the deal
		// (or the primary key, the tag then fixed).
		for _, s := range p.RepeatedScans("deals", "deals_pkey") {
			t.Errorf("tags %v: deals probed by %s", tags, s)
		}
		for _, s := range p.RepeatedScans("deal_tags", "deal_tags_deal_idx", "deal_tags_pkey") {
			t.Errorf("tags %v: deal tags probed by %s", tags, s)
		}
	}
}

// A tag that only the company's oldest deals carry is walked off its own
// index, newest first: a page of it reads about a page of rows, not every
// deal made since (before deal tags carried the deal's creation time, the
// walk read all 2,000 newer deals to find 20). The page is the newest deals
// with the tag, in order.
func TestDealTagOfTheOldestDealsIsWalkedOffItsIndex(t *testing.T) {
	env := testkit.Get(t)
	m, _ := plannedDeals(t)
	rec := walkPlans(t, m)
	c := newCompany(t, m)
	manyDeals(t, m, c, 30, "rare")
	manyDeals(t, m, c, 2000, "common")
	db.RefreshStats(context.Background(), env.App, testkit.Quiet, "deals", "deal_tags")

	page, _, err := m.ListDeals(seller, c.id, funnel.Filter{Tags: []string{"rare"}, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	env.InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT d.id::text FROM deals d WHERE d.tenant_id = ? AND d.deleted_at IS NULL
			AND EXISTS (SELECT 1 FROM deal_tags x WHERE x.tenant_id = d.tenant_id AND x.deal_id = d.id AND x.tag = 'rare')
			ORDER BY d.created_at DESC, d.id DESC LIMIT 20`, c.id).Scan(ctx, &want)
	})
	got := make([]string, len(page))
	for i, d := range page {
		got[i] = d.ID.String()
	}
	// A tag that 30 of 2,030 deals carry: a page of 20 reads about a page.
	rec.CheckWalkedPage(got, want, 400)
	// Tags written again later still carry the deal's creation time, not the
	// time of the edit.
	old := page[len(page)-1]
	tags := []string{"rare", "edited"}
	if _, err := m.UpdateDeal(seller, c.id, old.ID, funnel.DealUpdate{Version: old.Version, Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	var off int
	env.InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT count(*) FROM deal_tags x JOIN deals d ON d.tenant_id = x.tenant_id AND d.id = x.deal_id
			WHERE x.tenant_id = ? AND (x.created_at <> d.created_at OR x.deal_id = ? AND x.tag = 'edited' AND x.created_at <> ?)`, c.id, old.ID, old.CreatedAt).Scan(ctx, &off)
	})
	if off != 0 {
		t.Fatalf("%d tag rows do not carry their deal's creation time", off)
	}
}

// plannedDeals is the deals module on the package's database with its own
// custom fields service, as the tests of planned lists use it.
func plannedDeals(t *testing.T) (*funnel.Module, *fields.Service) {
	t.Helper()
	env := testkit.Get(t)
	fs, err := fields.New(fields.Deps{DB: env.App, MasterKey: make([]byte, 32), Entities: []string{funnel.EntityDeals}, Log: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	m := funnel.New(funnel.Deps{DB: env.App, Fields: fs, Records: records.NewRegistry(), Log: testkit.Quiet})
	fs.SetEntities(m.Entities())
	return m, fs
}

// walkPlans makes m's lists walk wherever they can and records the plan of
// each statement, until the test ends.
func walkPlans(t *testing.T, m *funnel.Module) *testkit.PlanRecorder {
	rec := testkit.NewPlanRecorder(t)
	funnel.SetPlan(m, fields.Limits{Prefer: fields.Walk, Statement: func(ctx context.Context, tx bun.IDB, _ fields.Step, q string) {
		rec.Record(ctx, tx, q)
	}}, nil)
	t.Cleanup(func() { funnel.SetPlan(m, fields.Limits{}, nil) })
	return rec
}

// manyDeals gives company c n deals with tags, newer than any it had: one
// made by the module, the rest copies of it made in one statement (as an
// import writes them, without refreshing the statistics).
func manyDeals(t *testing.T, m *funnel.Module, c company, n int, tags ...string) {
	t.Helper()
	d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "Walked deal", CustomerID: c.customer, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	// Each INSERT ... SELECT returns its rows: on Citus one that does not is
	// sent to the shards as COPY, which row-level security refuses.
	testkit.Get(t).InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `WITH tpl AS (SELECT * FROM deals WHERE tenant_id = ? AND id = ?),
			made AS (INSERT INTO deals SELECT (jsonb_populate_record(NULL::deals, to_jsonb(tpl) || jsonb_build_object(
				'id', gen_random_uuid(), 'title', 'Walked deal ' || g, 'position', tpl.position + g,
				'created_at', tpl.created_at + g * interval '1 millisecond'))).* FROM tpl, generate_series(1, ?) g RETURNING id, tags, created_at)
			INSERT INTO deal_tags (tenant_id, tag, deal_id, created_at) SELECT ?, unnest(tags), id, created_at FROM made RETURNING NULL`, c.id, d.ID, n-1, c.id)
		if err != nil {
			return fmt.Errorf("copy deals: %w", err)
		}
		return nil
	})
}
