package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The ticket benchmark's two paths, counted in statements once the member's
// access and the company's desk are cached (issue 17, docs/benchmarks.md):
// the inbox is the tenant transaction's messages, and a create with a team
// (round-robin), an SLA policy with three targets (due times and four
// alarms) and its audit row is six, whatever the number of alarms.
func TestRoundTripsOfTicketInboxAndCreate(t *testing.T) {
	a := newApp(t)
	deadline := time.Now().Add(5 * time.Second)
	for !a.d.bus.Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("the invalidation bus did not become healthy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := slug("tktrips")
	tok, owner := a.company(s)
	base := "/api/v1/t/" + s
	team := a.must(201, "POST", base+"/teams", fmt.Sprintf(`{"name":"Desk","members":[%q]}`, owner.IdentityID), tokenHdr(tok)...)["id"].(string)
	a.must(200, "PUT", base+"/ticket-teams/"+team+"/agents/"+owner.IdentityID.String(), `{"available":true}`, tokenHdr(tok)...)
	a.must(201, "POST", base+"/sla-policies", `{"name":"All","first_response_minutes":60,"next_response_minutes":120,"resolution_minutes":480}`, tokenHdr(tok)...)
	cust := a.must(201, "POST", base+"/customers", `{"name":"Requester"}`, tokenHdr(tok)...)["id"].(string)
	create := fmt.Sprintf(`{"subject":"Printer","channel":"email","type":"incident","priority":"high","requester_id":%q,"team_id":%q}`, cust, team)
	inbox := base + "/tickets?team=" + team + "&status=new,open&sort=sla_due_at&limit=50"
	a.must(201, "POST", base+"/tickets", create, tokenHdr(tok)...) // warms the caches
	a.must(200, "GET", inbox, "", tokenHdr(tok)...)
	rec := &statements{}
	a.d.db.AddQueryHook(rec)

	a.must(200, "GET", inbox, "", tokenHdr(tok)...)
	// The page itself is read on the transaction's pgx connection (db.ReadRows),
	// which the hook does not see: BEGIN and COMMIT are what it shows.
	if qs := rec.take(); len(qs) > 2 {
		t.Errorf("the inbox took %d statements through bun, want BEGIN and COMMIT:\n%s", len(qs), strings.Join(qs, "\n"))
	}
	// The first alarm's delivery is the company's job for the whole second
	// the alarm falls due in. A create whose alarm falls in a second no
	// earlier create has queued (the clock crossed a second between the two)
	// enqueues that job: two statements more. The next create, a few
	// milliseconds later, shares the second again, so up to three creates are
	// tried and the first that shares a second must take six.
	var got map[string]any
	for try := 1; ; try++ {
		got = a.must(201, "POST", base+"/tickets", create, tokenHdr(tok)...)
		qs := rec.take()
		if len(qs) <= 6 {
			break
		}
		enqueued := false
		for _, q := range qs {
			enqueued = enqueued || strings.HasPrefix(q, `INSERT INTO "jobs"`)
		}
		if !enqueued || len(qs) > 8 || try == 3 {
			t.Fatalf("a create took %d statements, want 6 (8 when its alarm opens a new second):\n%s", len(qs), strings.Join(qs, "\n"))
		}
		t.Logf("create %d opened a new second for its first alarm (%d statements); trying again", try, len(qs))
	}
	if got["assignee_id"] != owner.IdentityID.String() || got["first_response_due_at"] == nil || got["resolution_due_at"] == nil {
		t.Errorf("the create lost its assignment or due times: %v", got)
	}
}
