package funnel_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
)

// Every entry into a stage and every exit from one is recorded with its time,
// who did it and the deal's amount at that moment: on create, on a move, on
// won and on lost. A change of amount between moves shows in the exit amount.
func TestStageHistoryRecordsEveryEntryAndExit(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	other := actor(authz.ScopeAll, funnel.PermRead, funnel.PermWrite)
	sellerID, otherID := authz.ActorFrom(seller).ID, authz.ActorFrom(other).ID
	start := time.Now().Add(-time.Second)
	d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "h", CustomerID: c.customer, Amount: "100", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.UpdateDeal(other, c.id, d.ID, funnel.DealUpdate{Version: 1, Amount: ptr("150.5")}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.MoveDeal(other, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Qualified"), Version: 2}); err != nil {
		t.Fatal(err)
	}
	rs, _ := m.ListLostReasons(seller, c.id)
	if _, err := m.MoveDeal(seller, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Lost"), Version: 3, LostReasonID: &rs[0].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.MoveDeal(other, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Won"), Version: 4}); err != nil {
		t.Fatal(err)
	}
	// A move within the column is no change of stage: no history row.
	if _, err := m.MoveDeal(other, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Won"), Version: 5}); err != nil {
		t.Fatal(err)
	}
	h, err := m.DealHistory(seller, c.id, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		stage         string
		in, out       uuid.UUID
		inAmt, outAmt string
	}{
		{"Lead", sellerID, otherID, "100.0000", "150.5000"},
		{"Qualified", otherID, sellerID, "150.5000", "150.5000"},
		{"Lost", sellerID, otherID, "150.5000", "150.5000"},
		{"Won", otherID, uuid.Nil, "150.5000", ""},
	}
	if len(h) != len(want) {
		t.Fatalf("history %+v", h)
	}
	prev := start
	for i, w := range want {
		s := h[i]
		if s.StageID != c.stage(w.stage) || s.PipelineID != c.pipeline.ID || s.Currency != "EUR" || s.EntryAmount != w.inAmt ||
			s.EnteredBy == nil || *s.EnteredBy != w.in || s.EnteredAt.Before(prev) {
			t.Errorf("stay %d (%s) entry: %+v", i, w.stage, s)
		}
		if w.out == uuid.Nil {
			if s.ExitedAt != nil || s.ExitedBy != nil || s.ExitAmount != nil {
				t.Errorf("the current stay is closed: %+v", s)
			}
			continue
		}
		if s.ExitedAt == nil || s.ExitedBy == nil || *s.ExitedBy != w.out || s.ExitAmount == nil || *s.ExitAmount != w.outAmt || s.ExitedAt.Before(s.EnteredAt) {
			t.Errorf("stay %d (%s) exit: %+v", i, w.stage, s)
		}
		// Each exit is the next entry, to the instant.
		if !s.ExitedAt.Equal(h[i+1].EnteredAt) {
			t.Errorf("stay %d left at %v, the next began at %v", i, s.ExitedAt, h[i+1].EnteredAt)
		}
		prev = s.EnteredAt
	}
	// Another company, or a colleague's deal under own scope, reads nothing.
	if _, err := m.DealHistory(actor(authz.ScopeOwn, funnel.PermRead), c.id, d.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("own scope read a colleague's history: %v", err)
	}
	if _, err := m.DealHistory(seller, newCompany(t, m).id, d.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("another company read the history: %v", err)
	}
}
