package funnel_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A deal idle past its stage's rotting limit notifies its owner once per
// rotting period: sweeps repeated in the same period, or run side by side
// as two schedulers would, add nothing; the next period adds one more; new
// activity starts the count again. Deals in stages that do not rot, closed,
// deleted or unowned ones notify nobody, and another company's sweep
// touches nothing here.
func TestRottingDealsNotifyTheirOwnerOncePerPeriod(t *testing.T) {
	env := testkit.Get(t)
	m := funnel.New(funnel.Deps{DB: env.App, Records: records.NewRegistry(), Notify: notify.New(notify.Deps{DB: env.App}), Log: testkit.Quiet})
	c := newCompany(t, m)
	owner := authz.ActorFrom(seller).ID
	mk := func(title, stage string) *funnel.Deal {
		st := c.stage(stage)
		d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: title, CustomerID: c.customer, StageID: &st})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	lead := mk("rotting lead 烂单", "Lead") // Lead rots after 30 days
	prop := mk("fresh proposal", "Proposal")
	won := mk("won", "Won")
	gone := mk("deleted", "Lead")
	if err := m.DeleteDeal(seller, c.id, gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	unowned := mk("unowned", "Lead")
	ctx := context.Background()
	idle := func(id uuid.UUID, days int) time.Time {
		t.Helper()
		var at time.Time
		if err := env.Owner.NewRaw("UPDATE deals SET updated_at = now() - make_interval(days => ?) WHERE tenant_id = ? AND id = ? RETURNING updated_at", days, c.id, id).Scan(ctx, &at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	at := idle(lead.ID, 31)
	idle(prop.ID, 10)
	idle(won.ID, 400)
	idle(gone.ID, 400)
	idle(unowned.ID, 400)
	if _, err := env.Owner.ExecContext(ctx, "UPDATE deals SET owner_id = NULL WHERE tenant_id = ? AND id = ?", c.id, unowned.ID); err != nil {
		t.Fatal(err)
	}
	notices := func() []string {
		t.Helper()
		var keys []string
		if err := env.Owner.NewRaw("SELECT source_key FROM notifications WHERE tenant_id = ? AND recipient_id = ? AND kind = 'deal.rotting' AND source_key LIKE ? ORDER BY created_at, source_key", c.id, owner, "deal.rotting:"+lead.ID.String()+":%").Scan(ctx, &keys); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	now := time.Now()
	// Two schedulers' sweeps at once, then again in the same period.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.NotifyRottingIn(ctx, c.id, now); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, err := m.NotifyRotting(ctx, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := notices()
	if len(got) != 1 || got[0] != funnel.RottingSourceKey(lead.ID, at, 1) {
		t.Fatalf("after the first period: %v", got)
	}
	if n := count(t, c.id, "SELECT count(*) FROM notifications WHERE tenant_id = ? AND kind = 'deal.rotting'"); n != 1 {
		t.Fatalf("%d rotting notices in the company, want 1 (the lead's)", n)
	}
	var body string
	if err := env.Owner.NewRaw("SELECT body FROM notifications WHERE tenant_id = ? AND kind = 'deal.rotting'", c.id).Scan(ctx, &body); err != nil || !strings.Contains(body, "Lead") || !strings.Contains(body, "线索") {
		t.Fatalf("notice body %q, %v", body, err)
	}
	// A second period of the lead's idleness: one more notice, once (the
	// proposal, idle 40 days by then, rots too).
	later := now.Add(30 * 24 * time.Hour)
	for i := 0; i < 2; i++ {
		if _, err := m.NotifyRottingIn(ctx, c.id, later); err != nil {
			t.Fatal(err)
		}
	}
	if got := notices(); len(got) != 2 || got[1] != funnel.RottingSourceKey(lead.ID, at, 2) {
		t.Fatalf("after the second period: %v", got)
	}
	// Activity starts the count again: nothing until a full period passes.
	if _, err := m.UpdateDeal(seller, c.id, lead.ID, funnel.DealUpdate{Version: 1, Amount: ptr("5")}); err != nil {
		t.Fatal(err)
	}
	if n, err := m.NotifyRottingIn(ctx, c.id, time.Now().Add(29*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("a fresh deal rotted: %d, %v", n, err)
	}
	if n, err := m.NotifyRottingIn(ctx, c.id, time.Now().Add(31*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("after new activity went stale: %d, %v", n, err)
	}
	// The sweep and the rollup builder are global jobs on fixed-minute
	// schedules, whose task ids are the same in every scheduler replica.
	sc := m.Schedules()
	if len(sc) != 2 || sc[0].Type != funnel.TypeRotting || sc[1].Type != funnel.TypeRollup {
		t.Fatalf("schedules %+v", sc)
	}
	for _, s := range sc {
		if strings.HasPrefix(s.Cron, "@") || s.Name == "" {
			t.Fatalf("schedule %+v", s)
		}
	}
	hs := m.Jobs()
	if len(hs) != 2 {
		t.Fatalf("jobs %+v", hs)
	}
	for _, h := range hs {
		if (h.Type != funnel.TypeRotting && h.Type != funnel.TypeRollup) || !h.Global() {
			t.Fatalf("job %+v", h)
		}
	}
}
