package funnel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// dailyFigures is a company's analytics figures, each key's rows summed,
// keys summing to nothing left out, in key order.
func dailyFigures(t *testing.T, tenant uuid.UUID) []string {
	t.Helper()
	var rows []string
	err := testkit.Get(t).Owner.NewRaw(`SELECT concat_ws('|', pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day,
			sum(n), trim_scale(sum(seconds)), trim_scale(sum(amount)))
		FROM funnel_daily WHERE tenant_id = ?
		GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
		HAVING sum(n) <> 0 OR sum(seconds) <> 0 OR sum(amount) <> 0
		ORDER BY 1`, tenant).Scan(context.Background(), &rows)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// sameAsRebuilt fails unless the figures the changes kept are those a
// rebuild from the history computes, and a compaction keeps them.
func sameAsRebuilt(t *testing.T, m *funnel.Module, tenant uuid.UUID, what string) {
	t.Helper()
	kept := dailyFigures(t, tenant)
	if len(kept) == 0 {
		t.Fatalf("%s: no figures at all", what)
	}
	testkit.Get(t).InTenant(t, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "SELECT funnel_daily_rebuild(?, NULL, NULL)", tenant)
		return err
	})
	rebuilt := dailyFigures(t, tenant)
	if strings.Join(kept, "\n") != strings.Join(rebuilt, "\n") {
		t.Fatalf("%s: the figures kept by the changes differ from a rebuild:\nkept:\n%s\nrebuilt:\n%s", what, strings.Join(kept, "\n"), strings.Join(rebuilt, "\n"))
	}
	if err := m.CompactAnalytics(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := dailyFigures(t, tenant); strings.Join(got, "\n") != strings.Join(rebuilt, "\n") {
		t.Fatalf("%s: compaction changed the figures", what)
	}
}

// Every change to a deal keeps the analytics figures (funnel_daily) exactly
// what a rebuild from the stage history gives: creations, moves forward,
// back, to won and lost and out again, a change of owner and of expected
// close, a deletion, a removed customer's deals; and the changes to the
// pipeline that rebuild it (kind, order, a deleted stage) leave it right
// for the moves after them.
func TestAnalyticsFiguresFollowEveryChange(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	setMoney(t, c.id, "CNY", "Asia/Shanghai")
	if _, err := m.Analytics(seller, c.id, funnel.AnalyticsQuery{Pipeline: c.pipeline.ID}); err != nil {
		t.Fatal(err)
	}
	reasons, err := m.ListLostReasons(seller, c.id)
	if err != nil || len(reasons) == 0 {
		t.Fatal(reasons, err)
	}
	owners := []*uuid.UUID{ptr(uuid.New()), ptr(uuid.New()), nil}
	type live struct {
		id      uuid.UUID
		version int
	}
	var deals []*live
	day := funnel.Date(time.Now().AddDate(0, 1, 0).Format("2006-01-02"))
	for i := 0; i < 9; i++ {
		in := funnel.DealInput{Title: "d", CustomerID: c.customer, Amount: "1000.50", OwnerID: owners[i%3]}
		if i%2 == 0 {
			in.ExpectedClose = &day
		}
		if i%4 == 3 {
			in.Currency = "USD"
			if i == 3 {
				if _, err := m.SetRate(admin, c.id, funnel.RateInput{Currency: "USD", ValidFrom: "2020-01-01", Rate: "7.1"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		d, err := m.CreateDeal(seller, c.id, in)
		if err != nil {
			t.Fatal(err)
		}
		deals = append(deals, &live{d.ID, d.Version})
	}
	move := func(d *live, stage string) {
		t.Helper()
		in := funnel.MoveInput{StageID: c.stage(stage), Version: d.version}
		if stage == "Lost" {
			in.LostReasonID = &reasons[0].ID
		}
		out, err := m.MoveDeal(seller, c.id, d.id, in)
		if err != nil {
			t.Fatalf("move to %s: %v", stage, err)
		}
		d.version = out.Version
	}
	for i, path := range [][]string{
		{"Qualified", "Proposal", "Won"},
		{"Proposal", "Qualified", "Negotiation"},
		{"Lost", "Lead", "Qualified"},
		{"Qualified", "Won", "Proposal", "Won"},
		{"Negotiation", "Lost"},
		{"Qualified", "Lead", "Qualified", "Lead", "Proposal"},
		{"Won"},
	} {
		for _, s := range path {
			move(deals[i], s)
		}
	}
	sameAsRebuilt(t, m, c.id, "after moves")

	// Owner and expected close are part of a deal's figures; a title is not.
	for i, u := range []funnel.DealUpdate{
		{OwnerID: owners[1]},
		{ExpectedClose: ptr(funnel.Date(""))},
		{ExpectedClose: ptr(funnel.Date("2026-02-03")), OwnerID: owners[0]},
		{Title: ptr("renamed")},
	} {
		u.Version = deals[i].version
		d, err := m.UpdateDeal(seller, c.id, deals[i].id, u)
		if err != nil {
			t.Fatal(err)
		}
		deals[i].version = d.Version
	}
	if err := m.DeleteDeal(seller, c.id, deals[4].id, nil); err != nil {
		t.Fatal(err)
	}
	sameAsRebuilt(t, m, c.id, "after updates and a deletion")

	// Kind, order and a deleted stage ask for a rebuild of the pipeline,
	// which the analytics serve from the history until it is built; moves
	// go on meanwhile and after.
	if _, err := m.UpdateStage(admin, c.id, c.pipeline.ID, c.stage("Negotiation"), funnel.StageUpdate{Kind: ptr("won")}); err != nil {
		t.Fatal(err)
	}
	p, err := m.GetPipeline(seller, c.id, c.pipeline.ID)
	if err != nil {
		t.Fatal(err)
	}
	order := []uuid.UUID{p.Stages[0].ID, p.Stages[2].ID, p.Stages[1].ID}
	for _, s := range p.Stages[3:] {
		order = append(order, s.ID)
	}
	if _, err := m.ReorderStages(admin, c.id, c.pipeline.ID, order); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DeleteStage(admin, c.id, c.pipeline.ID, c.stage("Qualified"), ptr(c.stage("Lead"))); err != nil {
		t.Fatal(err)
	}
	for i, d := range deals[5:8] {
		cur, err := m.GetDeal(seller, c.id, d.id)
		if err != nil {
			t.Fatal(err)
		}
		d.version = cur.Version
		move(d, "Proposal")
		if i == 1 {
			live, err := m.Analytics(seller, c.id, funnel.AnalyticsQuery{Pipeline: c.pipeline.ID})
			if err != nil || !live.Rebuilding {
				t.Fatalf("during the rebuild: %+v, %v", live, err)
			}
			if n, err := m.BuildAnalytics(context.Background(), c.id, 2); err != nil || n == 0 {
				t.Fatalf("build: %d chunks, %v", n, err)
			}
		}
		move(d, "Lost")
	}
	sameAsRebuilt(t, m, c.id, "after stage changes and more moves")
}

// analyticsJSON is a pipeline's analytics, without the flag that says where
// they were read from.
func analyticsJSON(t *testing.T, m *funnel.Module, c company) (string, bool) {
	t.Helper()
	a, err := m.Analytics(seller, c.id, funnel.AnalyticsQuery{Pipeline: c.pipeline.ID})
	if err != nil {
		t.Fatal(err)
	}
	live := a.Rebuilding
	a.Rebuilding = false
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), live
}

// A rebuild stopped half way and resumed gives the figures a full
// recompute gives, with every change made meanwhile (moves of deals in
// chunks built and not yet built, a new deal, an update, a deletion, and a
// move still uncommitted while the last chunks and the swap run); the
// analytics read meanwhile are the same figures.
func TestRebuildStoppedHalfWayAndResumedKeepsEveryChange(t *testing.T) {
	if testkit.Get(t).Citus {
		// The chunks stitch moves to snapshots by transaction id, which a
		// cluster does not share between nodes; there a rebuild is one
		// transaction under the company's lock (buildWhole), which the move
		// in flight below would wait on. docs/operations.md names it.
		t.Skip("on Citus: a requested rebuild is built whole, not in chunks (docs/operations.md, Known limitations); TestAnalyticsFiguresFollowEveryChange covers it there")
	}
	m := newModule(t)
	c := newCompany(t, m)
	setMoney(t, c.id, "CNY", "Asia/Shanghai")
	type live struct {
		id      uuid.UUID
		version int
	}
	var deals []*live
	for i := 0; i < 36; i++ {
		d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "d", CustomerID: c.customer, Amount: "120.25"})
		if err != nil {
			t.Fatal(err)
		}
		deals = append(deals, &live{d.ID, d.Version})
	}
	move := func(ctx context.Context, d *live, stage string) {
		t.Helper()
		out, err := m.MoveDeal(ctx, c.id, d.id, funnel.MoveInput{StageID: c.stage(stage), Version: d.version})
		if err != nil {
			t.Fatalf("move to %s: %v", stage, err)
		}
		d.version = out.Version
	}
	for i, d := range deals {
		move(seller, d, []string{"Qualified", "Proposal", "Won"}[i%3])
	}
	env := testkit.Get(t)
	env.InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error { return funnel.RebuildAnalytics(ctx, tx, c.id) })
	before, isLive := analyticsJSON(t, m, c)
	if !isLive {
		t.Fatal("the analytics do not say the figures are being rebuilt")
	}
	// Half the chunks, then the process "stops".
	chunk := func() int {
		var n int
		env.InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT funnel_daily_chunk(?, ?, 6)", c.id, c.pipeline.ID).Scan(ctx, &n)
		})
		return n
	}
	for i := 0; i < 3; i++ {
		if n := chunk(); n != 6 {
			t.Fatalf("chunk %d built %d deals", i, n)
		}
	}
	// Changes meanwhile, to deals on both sides of the cursor.
	for _, d := range deals[:12] {
		move(seller, d, "Negotiation")
	}
	fresh, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "new", CustomerID: c.customer, Amount: "7"})
	if err != nil {
		t.Fatal(err)
	}
	deals = append(deals, &live{fresh.ID, fresh.Version})
	if _, err := m.UpdateDeal(seller, c.id, deals[3].id, funnel.DealUpdate{Version: deals[3].version, OwnerID: ptr(uuid.New())}); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteDeal(seller, c.id, deals[4].id, nil); err != nil {
		t.Fatal(err)
	}
	if got, isLive := analyticsJSON(t, m, c); !isLive || got == before {
		t.Fatalf("the analytics read during the rebuild missed the changes (live %v)", isLive)
	}
	// A move in flight while the rest is built and swapped: its
	// transaction has written its history and figures, not committed.
	env.InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
		ctx = authz.WithActor(ctx, authz.ActorFrom(seller))
		move(ctx, deals[20], "Lead")
		move(ctx, deals[35], "Lead")
		if err := db.Flush(ctx); err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() {
			n, err := m.BuildAnalytics(context.Background(), c.id, 6)
			if err == nil && n < 3 {
				err = fmt.Errorf("resumed with %d chunks", n)
			}
			done <- err
		}()
		return <-done
	})
	var pending int
	env.InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM funnel_daily_rebuilds WHERE tenant_id = ?", c.id).Scan(ctx, &pending)
	})
	if pending != 0 {
		t.Fatalf("%d rebuilds still pending", pending)
	}
	after, isLive := analyticsJSON(t, m, c)
	if isLive {
		t.Fatal("the analytics still read the history after the rebuild")
	}
	sameAsRebuilt(t, m, c.id, "after a rebuild resumed")
	// What the analytics said from the history is what they say from the
	// figures, and the figures are a full recompute's.
	env.InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error { return funnel.RebuildAnalytics(ctx, tx, c.id) })
	if liveNow, isLive := analyticsJSON(t, m, c); !isLive || liveNow != after {
		t.Fatalf("the analytics from the history differ from the rebuilt figures:\n%s\n%s", liveNow, after)
	}
}
