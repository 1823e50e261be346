package funnel_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// lifecycles records what the funnel asks of the customers' lifecycle.
type lifecycles struct {
	mu  sync.Mutex
	got []string
}

func (l *lifecycles) AdvanceLifecycle(_ context.Context, _ bun.Tx, _, id uuid.UUID, from []string, to string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, id.String()[:4]+":"+strings.Join(from, "|")+">"+to)
	return nil
}

func (l *lifecycles) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.got
	l.got = nil
	return out
}

// Every way a deal comes to a customer or is won moves the customer on: a
// new deal (or a deal given to another customer) makes a lead a prospect;
// a win, by a move, by a creation in a won stage or by a deleted stage's
// deals moving into a won one, makes it a customer.
func TestDealsAdvanceTheirCustomers(t *testing.T) {
	lc := &lifecycles{}
	m := funnel.New(funnel.Deps{DB: testkit.Get(t).App, Records: records.NewRegistry(), Lifecycle: lc, Log: testkit.Quiet})
	c := newCompany(t, m)
	k := c.customer.String()[:4]
	other := newCustomer(t, c.id, "Other 其他")
	o := other.String()[:4]
	toProspect, toCustomer := k+":lead>prospect", k+":lead|prospect|at_risk|churned>customer"
	d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "d", CustomerID: c.customer})
	if err != nil {
		t.Fatal(err)
	}
	if got := lc.take(); !equal(got, toProspect) {
		t.Fatalf("create: %v", got)
	}
	if _, err := m.MoveDeal(seller, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Qualified"), Version: 1}); err != nil {
		t.Fatal(err)
	}
	if got := lc.take(); len(got) != 0 {
		t.Fatalf("an open move: %v", got)
	}
	if _, err := m.MoveDeal(seller, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Won"), Version: 2}); err != nil {
		t.Fatal(err)
	}
	if got := lc.take(); !equal(got, toCustomer) {
		t.Fatalf("won: %v", got)
	}
	won := c.stage("Won")
	if _, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "w", CustomerID: c.customer, StageID: &won}); err != nil {
		t.Fatal(err)
	}
	if got := lc.take(); !equal(got, toCustomer) {
		t.Fatalf("created won: %v", got)
	}
	if _, err := m.UpdateDeal(seller, c.id, d.ID, funnel.DealUpdate{Version: 3, CustomerID: &other}); err != nil {
		t.Fatal(err)
	}
	if got := lc.take(); !equal(got, o+":lead|prospect|at_risk|churned>customer") {
		t.Fatalf("a won deal given to another customer: %v", got)
	}
	p, err := m.AddStage(admin, c.id, c.pipeline.ID, funnel.StageInput{Names: funnel.Names{NameEN: "Parked"}})
	if err != nil {
		t.Fatal(err)
	}
	parked := p.Stages[len(p.Stages)-1].ID
	for _, cu := range []uuid.UUID{c.customer, c.customer, other} {
		if _, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "p", CustomerID: cu, StageID: &parked}); err != nil {
			t.Fatal(err)
		}
	}
	lc.take()
	if _, err := m.DeleteStage(admin, c.id, c.pipeline.ID, parked, &won); err != nil {
		t.Fatal(err)
	}
	got := lc.take()
	if len(got) != 2 || !strings.HasSuffix(got[0], ">customer") || !strings.HasSuffix(got[1], ">customer") || got[0][:4] == got[1][:4] {
		t.Fatalf("a stage's deals moved into won: %v", got)
	}
}
