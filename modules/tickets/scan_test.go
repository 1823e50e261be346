package tickets_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/tickets"
)

// The list reads its rows by hand; every field it reads is the one the
// ticket's own read (bun's scan) gives, NULLs, times, arrays and all.
func TestListReadsEveryFieldAsTheTicketHasIt(t *testing.T) {
	r := rig(t, false)
	me, team := uuid.New(), uuid.New()
	r.dir.members[me], r.dir.teams[team] = true, true
	f, n := 60, 480
	if _, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "All", FirstResponseMinutes: &f, NextResponseMinutes: &f, ResolutionMinutes: &n}); err != nil {
		t.Fatal(err)
	}
	bare := r.ticket(t, lead, tickets.TicketInput{Subject: "Bare"})
	full := r.ticket(t, lead, tickets.TicketInput{Subject: "Full 全部", Description: "line\n\"quoted\", {braces}", AssigneeID: &me, TeamID: &team,
		Tags: []string{"vip", "a b", "逗,号"}, Priority: "urgent", Type: "complaint"})
	if _, _, err := r.m.AddMessage(lead, r.a.ID, full.ID, tickets.MessageInput{Kind: "reply", Body: "x", Status: "pending"}); err != nil {
		t.Fatal(err)
	}
	r.env.Owner.ExecContext(context.Background(), "UPDATE tickets SET csat_rating = 4, csat_comment = 'ok', csat_rated_at = now(), sla_paused_seconds = 9000000000 WHERE tenant_id = ? AND id = ?", r.a.ID, full.ID)
	for _, sort := range []string{"", "number", "sla_due_at"} {
		list, _, err := r.m.ListTickets(lead, r.a.ID, tickets.Filter{Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range list {
			want, err := r.m.GetTicket(lead, r.a.ID, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("sort %q: the list reads\n%s\nthe ticket is\n%s", sort, g, w)
			}
		}
		if sort == "" && len(list) != 2 {
			t.Errorf("%d tickets listed, want %s and %s", len(list), bare.Subject, full.Subject)
		}
	}
}
