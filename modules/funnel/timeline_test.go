package funnel_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A customer's timeline gets its deals' stage entries only for those who may
// read deals, within their scope: an own-scope member sees their own deal,
// not a colleague's; a member without deals.read sees none.
func TestCustomerTimelineKeepsToTheReadersScope(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	me := uuid.New()
	mine := authz.WithActor(context.Background(), authz.Actor{ID: me, Kind: authz.ActorUser, Scope: authz.ScopeOwn,
		Permissions: map[string]bool{funnel.PermRead: true, funnel.PermWrite: true}})
	if _, err := m.CreateDeal(mine, c.id, funnel.DealInput{Title: "mine", CustomerID: c.customer}); err != nil {
		t.Fatal(err)
	}
	theirs, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "theirs", CustomerID: c.customer, OwnerID: ptr(uuid.New())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.MoveDeal(seller, c.id, theirs.ID, funnel.MoveInput{StageID: c.stage("Qualified"), Version: theirs.Version}); err != nil {
		t.Fatal(err)
	}
	entries := func(ctx context.Context) []records.TimelineEntry {
		t.Helper()
		var out []records.TimelineEntry
		testkit.Get(t).InTenant(t, c.id, func(_ context.Context, tx bun.Tx) error {
			var err error
			out, err = m.CustomerTimeline(ctx, tx, c.id, c.customer, records.TimelineQuery{Limit: 10})
			return err
		})
		return out
	}
	if got := entries(seller); len(got) != 3 || got[0].Summary != "Deal moved to Qualified · 需求确认 商机推进: theirs" {
		t.Fatalf("all scope: %+v", got)
	}
	if got := entries(mine); len(got) != 1 || got[0].Summary != "New deal 新商机: mine (Lead · 线索)" {
		t.Fatalf("own scope: %+v", got)
	}
	if got := entries(actor(authz.ScopeAll, "profiles.read")); len(got) != 0 {
		t.Fatalf("without deals.read: %+v", got)
	}
}
