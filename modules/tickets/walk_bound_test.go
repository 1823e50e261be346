package tickets_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A company created after the last ANALYZE of tickets is not in its
// statistics: the planner takes it for one row, and then every index of
// tickets that starts with tenant_id (created, updated, status, assignee,
// requester) costs it the same as the primary key for the walk's probe
// "t.id = pw.id". The walk must still find each walked ticket by the
// primary key (or the tuple id it gives), and check its tags through the
// index that starts with the ticket, so a page stays a page of work however
// large the unknown company is (issue 23, as for customers:
// docs/reliability.md).
func TestTicketWalkProbesByPrimaryKeyInACompanyTheStatisticsNeverSaw(t *testing.T) {
	env := testkit.Get(t)
	m, cust, _ := plannedTickets(t)
	rec := walkPlans(t, m)
	company := func(n int) uuid.UUID {
		tn := env.NewTenant(t)
		// Tickets come from many requesters: an index that starts with the
		// requester is then in no time order of the company's tickets.
		var requesters []uuid.UUID
		for i := range 10 {
			r, err := cust.CreateCustomer(lead, tn.ID, profiles.CustomerInput{Name: fmt.Sprintf("Requester %d", i)}, false)
			if err != nil {
				t.Fatal(err)
			}
			requesters = append(requesters, r.ID)
		}
		manyTickets(t, m, tn.ID, requesters, n, "t0", "t1", "t2")
		return tn.ID
	}
	// Analysed neighbours, each among the statistics' most common values.
	for range 10 {
		company(1000)
	}
	db.RefreshStats(context.Background(), env.App, testkit.Quiet, "tickets", "ticket_tags")
	c := company(2000)

	// Ticket tags are walkable in time order (ticket_tags_recent_idx): each
	// walk reads a tag's rows newest first, and checks the ticket and its
	// other tags (one tag, or several).
	for _, tags := range [][]string{{"t0"}, {"t0", "t1"}, {"t0", "t1", "t2"}} {
		rec.Plans = nil
		page, _, err := m.ListTickets(lead, c, tickets.Filter{Tags: tags, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 20 {
			t.Fatalf("tags %v: the page: %d tickets, want 20", tags, len(page))
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
		// Each walked ticket is found through the primary key, or by the
		// tuple id it gives; its tags through an index that starts with the
		// ticket (or the primary key, the tag then fixed).
		for _, s := range p.RepeatedScans("tickets", "tickets_pkey") {
			t.Errorf("tags %v: tickets probed by %s", tags, s)
		}
		for _, s := range p.RepeatedScans("ticket_tags", "ticket_tags_ticket_idx", "ticket_tags_pkey") {
			t.Errorf("tags %v: ticket tags probed by %s", tags, s)
		}
	}
}

// A tag that only the company's oldest tickets carry is walked off its own
// index, newest first: a page of it reads about a page of rows, not every
// ticket made since. The page is the newest tickets with the tag, in order.
func TestTicketTagOfTheOldestTicketsIsWalkedOffItsIndex(t *testing.T) {
	env := testkit.Get(t)
	m, cust, _ := plannedTickets(t)
	rec := walkPlans(t, m)
	tn := env.NewTenant(t)
	r, err := cust.CreateCustomer(lead, tn.ID, profiles.CustomerInput{Name: "Requester"}, false)
	if err != nil {
		t.Fatal(err)
	}
	manyTickets(t, m, tn.ID, []uuid.UUID{r.ID}, 30, "rare")
	// The copies took numbers past the company's counter: move it on.
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE ticket_counters SET last_number = (SELECT max(number) FROM tickets WHERE tenant_id = ?) WHERE tenant_id = ?", tn.ID, tn.ID)
		return err
	})
	manyTickets(t, m, tn.ID, []uuid.UUID{r.ID}, 2000, "common")
	db.RefreshStats(context.Background(), env.App, testkit.Quiet, "tickets", "ticket_tags")

	page, _, err := m.ListTickets(lead, tn.ID, tickets.Filter{Tags: []string{"rare"}, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT k.id::text FROM tickets k WHERE k.tenant_id = ?
			AND EXISTS (SELECT 1 FROM ticket_tags x WHERE x.tenant_id = k.tenant_id AND x.ticket_id = k.id AND x.tag = 'rare')
			ORDER BY k.created_at DESC, k.id DESC LIMIT 20`, tn.ID).Scan(ctx, &want)
	})
	got := make([]string, len(page))
	for i, k := range page {
		got[i] = k.ID.String()
	}
	// A tag that 30 of 2,030 tickets carry: a page of 20 reads about a page.
	rec.CheckWalkedPage(got, want, 400)
	// Tags written again later still carry the ticket's creation time.
	old := page[len(page)-1]
	tags := []string{"rare", "edited"}
	if _, err := m.UpdateTicket(lead, tn.ID, old.ID, tickets.TicketUpdate{Version: old.Version, Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	var off int
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT count(*) FROM ticket_tags x JOIN tickets k ON k.tenant_id = x.tenant_id AND k.id = x.ticket_id
			WHERE x.tenant_id = ? AND x.created_at <> k.created_at`, tn.ID).Scan(ctx, &off)
	})
	var edited int
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT count(*) FROM ticket_tags WHERE tenant_id = ? AND ticket_id = ? AND tag = 'edited'`, tn.ID, old.ID).Scan(ctx, &edited)
	})
	if off != 0 || edited != 1 {
		t.Fatalf("%d tag rows do not carry their ticket's creation time; the edited tag: %d rows", off, edited)
	}
}

// plannedTickets is the tickets module on the package's database, with the
// customers module for requesters and its own custom fields service, as the
// tests of planned lists use it.
func plannedTickets(t *testing.T) (*tickets.Module, *profiles.Module, *fields.Service) {
	t.Helper()
	env := testkit.Get(t)
	fs, err := fields.New(fields.Deps{DB: env.App, MasterKey: make([]byte, 32), Entities: []string{tickets.EntityTickets}, Log: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	reg := records.NewRegistry()
	cust := profiles.New(profiles.Deps{DB: env.App, Records: reg})
	m := tickets.New(tickets.Deps{DB: env.App, Records: reg, People: cust, Fields: fs})
	if err := records.Collect(reg, []any{cust, m}); err != nil {
		t.Fatal(err)
	}
	fs.SetEntities(m.Entities())
	return m, cust, fs
}

// walkPlans makes m's lists walk wherever they can and records the plan of
// each statement, until the test ends.
func walkPlans(t *testing.T, m *tickets.Module) *testkit.PlanRecorder {
	rec := testkit.NewPlanRecorder(t)
	tickets.SetPlan(m, fields.Limits{Prefer: fields.Walk, Statement: func(ctx context.Context, tx bun.IDB, _ fields.Step, q string) {
		rec.Record(ctx, tx, q)
	}}, nil)
	t.Cleanup(func() { tickets.SetPlan(m, fields.Limits{}, nil) })
	return rec
}

// manyTickets gives tenant n tickets with tags, newer than any it had, from
// the requesters in turn: one made by the module, the rest copies of it made
// in one statement (as an import writes them, without refreshing the
// statistics).
func manyTickets(t *testing.T, m *tickets.Module, tenant uuid.UUID, requesters []uuid.UUID, n int, tags ...string) {
	t.Helper()
	tk, err := m.CreateTicket(lead, tenant, tickets.TicketInput{Subject: "Walked ticket", Channel: "email", RequesterID: &requesters[0], Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	// Each INSERT ... SELECT returns its rows: on Citus one that does not is
	// sent to the shards as COPY, which row-level security refuses.
	testkit.Get(t).InTenant(t, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `WITH tpl AS (SELECT * FROM tickets WHERE tenant_id = ? AND id = ?),
			made AS (INSERT INTO tickets SELECT (jsonb_populate_record(NULL::tickets, to_jsonb(tpl) || jsonb_build_object(
				'id', gen_random_uuid(), 'subject', 'Walked ticket ' || g, 'number', tpl.number + g,
				'requester_id', (?::uuid[])[1 + g % ?],
				'created_at', tpl.created_at + g * interval '1 millisecond'))).* FROM tpl, generate_series(1, ?) g RETURNING id, tags, created_at)
			INSERT INTO ticket_tags (tenant_id, tag, ticket_id, created_at) SELECT ?, unnest(tags), id, created_at FROM made RETURNING NULL`,
			tenant, tk.ID, pgdialect.Array(requesters), len(requesters), n-1, tenant)
		if err != nil {
			return fmt.Errorf("copy tickets: %w", err)
		}
		return nil
	})
}
