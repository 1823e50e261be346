package tickets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// all is what a desk lead holds: tickets and customers, company-wide.
var allPerms = []string{tickets.PermRead, tickets.PermWrite, tickets.PermManage, profiles.PermRead, profiles.PermWrite}

func actorCtx(id uuid.UUID, scope authz.Scope, teams []uuid.UUID, mates []uuid.UUID, perms ...string) context.Context {
	p := map[string]bool{}
	for _, k := range perms {
		p[k] = true
	}
	return authz.WithActor(context.Background(), authz.Actor{ID: id, Kind: authz.ActorUser, Permissions: p, Scope: scope, TeamIDs: teams, Teammates: mates})
}

var lead = actorCtx(uuid.New(), authz.ScopeAll, nil, nil, allPerms...)

// directory is a fake member and team directory of one company per test.
type directory struct {
	mu      sync.Mutex
	members map[uuid.UUID]bool
	teams   map[uuid.UUID]bool
	roster  map[uuid.UUID][]uuid.UUID // team members
}

func (d *directory) TeamMembers(_ context.Context, _, team uuid.UUID) ([]uuid.UUID, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := append([]uuid.UUID(nil), d.roster[team]...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func (d *directory) IsMember(_ context.Context, _, id uuid.UUID) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.members[id], nil
}

func (d *directory) IsTeam(_ context.Context, _, id uuid.UUID) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.teams[id], nil
}

// sentMail keeps what a reply's job sent.
type sentMail struct {
	mu   sync.Mutex
	mail []identity.Mail
}

func (s *sentMail) Send(_ context.Context, m identity.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mail = append(s.mail, m)
	return nil
}

func (s *sentMail) all() []identity.Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]identity.Mail(nil), s.mail...)
}

type rigT struct {
	m     *tickets.Module
	cust  *profiles.Module
	reg   *records.Registry
	dir   *directory
	mail  *sentMail
	jobs  *jobs.Client
	blobs *blob.Bucket
	env   *testkit.Env
	a     testkit.Tenant
	first *profiles.Customer // a customer of a, with an email
}

// rig wires tickets to the real customers module, as cmd does, with fake
// directories; withJobs adds a jobs client and worker for reply mail.
func rig(t *testing.T, withJobs bool) *rigT {
	env := testkit.Get(t)
	r := &rigT{env: env, reg: records.NewRegistry(), dir: &directory{members: map[uuid.UUID]bool{}, teams: map[uuid.UUID]bool{}, roster: map[uuid.UUID][]uuid.UUID{}}, mail: &sentMail{}}
	r.cust = profiles.New(profiles.Deps{DB: env.App, Records: r.reg})
	bucket, err := blob.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bucket.Close() })
	r.blobs = bucket
	d := tickets.Deps{DB: env.App, Members: r.dir, Teams: r.dir, Records: r.reg, People: r.cust, Mail: r.mail, Notify: notify.New(notify.Deps{DB: env.App}), Blobs: bucket}
	if withJobs {
		r.jobs = jobstest.Client(t, env.App)
		d.Jobs = r.jobs
	}
	r.m = tickets.New(d)
	if err := records.Collect(r.reg, []any{r.cust, r.m}); err != nil {
		t.Fatal(err)
	}
	if withJobs {
		r.jobs.Register(r.m.Jobs()...)
		jobstest.Worker(t, jobs.ServerOptions{Handlers: r.m.Jobs(), SweepInterval: -1, NoScheduler: true})
	}
	r.a = env.NewTenant(t)
	c, err := r.cust.CreateCustomer(lead, r.a.ID, profiles.CustomerInput{Name: "Wang Fang 王芳", Emails: []string{"wang.fang@example.com"}, Phones: []string{"+86 138 0013 8000"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	r.first = c
	return r
}

func (r *rigT) ticket(t *testing.T, ctx context.Context, in tickets.TicketInput) *tickets.Ticket {
	t.Helper()
	if in.Subject == "" {
		in.Subject = "Printer on fire"
	}
	if in.Channel == "" {
		in.Channel = "phone"
	}
	if in.RequesterID == nil && in.RequesterEmail == "" && in.RequesterPhone == "" {
		in.RequesterID = &r.first.ID
	}
	tk, err := r.m.CreateTicket(ctx, r.a.ID, in)
	if err != nil {
		t.Fatalf("create ticket: %v", err)
	}
	return tk
}

// wantField asserts err is a 4xx of code naming loc.
func wantField(t *testing.T, what string, err error, code errs.Code, loc string) {
	t.Helper()
	var e *errs.Error
	if !errs.Is(err, code) || !errors.As(err, &e) {
		t.Errorf("%s: %v, want %s naming %s", what, err, code, loc)
		return
	}
	for _, f := range e.Errors {
		if f.Location == loc {
			return
		}
	}
	t.Errorf("%s: %v names %+v, want %s", what, err, e.Errors, loc)
}

// 1,000 tickets created at once in one company get #1001 to #2000, each once,
// while a neighbour company's numbers start at #1001 of their own.
func TestConcurrentCreationNumbersWithoutGapsOrRepeats(t *testing.T) {
	r := rig(t, false)
	b := r.env.NewTenant(t)
	other, err := r.cust.CreateCustomer(lead, b.ID, profiles.CustomerInput{Name: "Li Lei"}, false)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	var mu sync.Mutex
	got := make([]int64, 0, n)
	var failures []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			tk, err := r.m.CreateTicket(lead, r.a.ID, tickets.TicketInput{Subject: fmt.Sprintf("Request %d", i), Channel: "email", RequesterID: &r.first.ID})
			if i%100 == 0 {
				// The neighbour creates too, in between; and one creation
				// that fails (an unknown requester) must not use a number.
				if _, err := r.m.CreateTicket(lead, b.ID, tickets.TicketInput{Subject: "Neighbour", Channel: "chat", RequesterID: &other.ID}); err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
				bogus := uuid.New()
				if _, err := r.m.CreateTicket(lead, r.a.ID, tickets.TicketInput{Subject: "x", Channel: "chat", RequesterID: &bogus}); !errs.Is(err, errs.Invalid) {
					mu.Lock()
					failures = append(failures, fmt.Errorf("unknown requester: %v", err))
					mu.Unlock()
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, err)
				return
			}
			got = append(got, tk.Number)
		}(i)
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d creations failed, first: %v", len(failures), failures[0])
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	for i, num := range got {
		if num != int64(1001+i) {
			t.Fatalf("numbers are not #1001..#%d each once: position %d holds #%d", 1000+n, i, num)
		}
	}
	var stored []int64
	r.env.InTenant(t, b.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT number FROM tickets WHERE tenant_id = ? ORDER BY number", b.ID).Scan(ctx, &stored)
	})
	if len(stored) != n/100 || stored[0] != 1001 || stored[len(stored)-1] != int64(1000+n/100) {
		t.Fatalf("the neighbour's numbers: %v", stored)
	}
}

// The requester is a customer by id, or an email or phone matched to one, or
// a lead made of it once even when two tickets from the new address arrive
// together; everything else is refused naming the field.
func TestRequesterIsMatchedOrBecomesOneLead(t *testing.T) {
	r := rig(t, false)
	byEmail := r.ticket(t, lead, tickets.TicketInput{RequesterEmail: "Wang.Fang@example.com"})
	byPhone := r.ticket(t, lead, tickets.TicketInput{RequesterPhone: "138-0013-8000"})
	if byEmail.RequesterID != r.first.ID || byPhone.RequesterID != r.first.ID || byEmail.RequesterCreated || byPhone.RequesterCreated {
		t.Fatalf("matched requesters: %v %v, want %v", byEmail.RequesterID, byPhone.RequesterID, r.first.ID)
	}
	var wg sync.WaitGroup
	ids := make([]*tickets.Ticket, 4)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tk, err := r.m.CreateTicket(lead, r.a.ID, tickets.TicketInput{Subject: "Refund", Channel: "web_form", RequesterEmail: "new.person@example.com", RequesterName: "New Person"})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = tk
		}(i)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	created := 0
	for _, tk := range ids {
		if tk.RequesterID != ids[0].RequesterID {
			t.Fatalf("one new address became several customers: %v and %v", tk.RequesterID, ids[0].RequesterID)
		}
		if tk.RequesterCreated {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d tickets say they created the lead, want 1", created)
	}
	c, err := r.cust.GetCustomer(lead, r.a.ID, ids[0].RequesterID)
	if err != nil || c.Lifecycle != "lead" || c.Name != "New Person" || c.Source != "tickets" {
		t.Fatalf("the lead: %+v, %v", c, err)
	}

	b := r.env.NewTenant(t)
	theirs, err := r.cust.CreateCustomer(lead, b.ID, profiles.CustomerInput{Name: "Not yours"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		in  tickets.TicketInput
		loc string
	}{
		"another company's customer": {tickets.TicketInput{RequesterID: &theirs.ID}, "body.requester_id"},
		"no requester":               {tickets.TicketInput{}, "body.requester_id"},
		"id and email":               {tickets.TicketInput{RequesterID: &r.first.ID, RequesterEmail: "a@example.com"}, "body.requester_id"},
		"bad email":                  {tickets.TicketInput{RequesterEmail: "not-an-address"}, "body.requester_email"},
		"bad phone":                  {tickets.TicketInput{RequesterPhone: "call me"}, "body.requester_phone"},
		"bad channel":                {tickets.TicketInput{RequesterID: &r.first.ID, Channel: "pigeon"}, "body.channel"},
		"bad priority":               {tickets.TicketInput{RequesterID: &r.first.ID, Channel: "email", Priority: "whenever"}, "body.priority"},
		"blank subject":              {tickets.TicketInput{RequesterID: &r.first.ID, Channel: "email", Subject: "   "}, "body.subject"},
	} {
		in := tc.in
		if in.Subject == "" {
			in.Subject = "x"
		}
		if in.Channel == "" {
			in.Channel = "email"
		}
		_, err := r.m.CreateTicket(lead, r.a.ID, in)
		wantField(t, name, err, errs.Invalid, tc.loc)
	}
	// A member without profiles.write may match a customer but not make a lead.
	desk := actorCtx(uuid.New(), authz.ScopeAll, nil, nil, tickets.PermRead, tickets.PermWrite, profiles.PermRead)
	if _, err := r.m.CreateTicket(desk, r.a.ID, tickets.TicketInput{Subject: "x", Channel: "email", RequesterEmail: "wang.fang@example.com"}); err != nil {
		t.Errorf("matching without profiles.write: %v", err)
	}
	if _, err := r.m.CreateTicket(desk, r.a.ID, tickets.TicketInput{Subject: "x", Channel: "email", RequesterEmail: "third@example.com"}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a lead made without profiles.write: %v", err)
	}
}

// An update names the version it read: a stale one is refused with 409 and
// changes nothing; assignees and teams must be the company's.
func TestUpdatesCheckTheVersion(t *testing.T) {
	r := rig(t, false)
	agent, team := uuid.New(), uuid.New()
	r.dir.members[agent], r.dir.teams[team] = true, true
	tk := r.ticket(t, lead, tickets.TicketInput{Tags: []string{"VIP", "vip", "billing"}})
	if tk.Version != 1 || tk.Status != "new" || len(tk.Tags) != 2 || tk.Number != 1001 {
		t.Fatalf("new ticket %+v", tk)
	}
	high := "high"
	up, err := r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: 1, Priority: &high, AssigneeID: &agent, TeamID: &team})
	if err != nil || up.Version != 2 || up.Priority != "high" || up.Status != "open" || *up.AssigneeID != agent || *up.TeamID != team {
		t.Fatalf("update: %+v, %v", up, err)
	}
	low := "low"
	_, err = r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: 1, Priority: &low})
	wantField(t, "stale version", err, errs.Conflict, "body.version")
	if got, _ := r.m.GetTicket(lead, r.a.ID, tk.ID); got.Priority != "high" || got.Version != 2 {
		t.Fatalf("a stale update changed the ticket: %+v", got)
	}
	stranger := uuid.New()
	_, err = r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: 2, AssigneeID: &stranger})
	wantField(t, "assignee of no company", err, errs.Invalid, "body.assignee_id")
	_, err = r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: 2, TeamID: &stranger})
	wantField(t, "unknown team", err, errs.Invalid, "body.team_id")
	_, err = r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: 2, Tags: &[]string{""}})
	wantField(t, "empty tag", err, errs.Invalid, "body.tags[0]")
	cleared, err := r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: 2, ClearAssignee: true, ClearTeam: true})
	if err != nil || cleared.AssigneeID != nil || cleared.TeamID != nil || cleared.Version != 3 {
		t.Fatalf("clearing assignee and team: %+v, %v", cleared, err)
	}
	// Concurrent updates of one version: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := fmt.Sprintf("Subject %d", i)
			_, err := r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: 3, Subject: &s})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errs.Is(err, errs.Conflict):
				conflicts++
			default:
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 || conflicts != 5 {
		t.Fatalf("six updates of version 3: %d won, %d refused", wins, conflicts)
	}
}

// Status changes follow the rules; a closed ticket takes no change at all.
func TestStatusChangesFollowTheRules(t *testing.T) {
	r := rig(t, false)
	tk := r.ticket(t, lead, tickets.TicketInput{})
	_, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "closed", 0)
	wantField(t, "new to closed", err, errs.Invalid, "body.status")
	_, err = r.m.ChangeStatus(lead, r.a.ID, tk.ID, "new", 0)
	wantField(t, "back to new", err, errs.Conflict, "body.status")
	_, err = r.m.ChangeStatus(lead, r.a.ID, tk.ID, "solved", 7)
	wantField(t, "stale version", err, errs.Conflict, "body.version")
	s, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "solved", 1)
	if err != nil || s.Status != "solved" || s.SolvedAt == nil || s.Version != 2 {
		t.Fatalf("solve: %+v, %v", s, err)
	}
	o, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "open", 0)
	if err != nil || o.SolvedAt != nil {
		t.Fatalf("reopen: %+v, %v", o, err)
	}
	if _, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "solved", 0); err != nil {
		t.Fatal(err)
	}
	c, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "closed", 0)
	if err != nil || c.ClosedAt == nil {
		t.Fatalf("close: %+v, %v", c, err)
	}
	_, err = r.m.ChangeStatus(lead, r.a.ID, tk.ID, "open", 0)
	wantField(t, "reopen closed", err, errs.Conflict, "body.status")
	subj := "changed"
	if _, err := r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: c.Version, Subject: &subj}); !errs.Is(err, errs.Conflict) {
		t.Errorf("update of a closed ticket: %v", err)
	}
	if _, _, err := r.m.AddMessage(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "note", Body: "x"}); !errs.Is(err, errs.Conflict) {
		t.Errorf("note on a closed ticket: %v", err)
	}
}

// Replies and notes keep their order; the first reply is the first response
// and opens a new ticket; a public reply is emailed to the requester once,
// and a note never.
func TestConversationAndReplyMail(t *testing.T) {
	r := rig(t, true)
	tk := r.ticket(t, lead, tickets.TicketInput{Subject: "Invoice wrong"})
	note, after, err := r.m.AddMessage(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "note", Body: "checking with finance"})
	if err != nil || note.Seq != 1 || after.Status != "new" || after.FirstRespondedAt != nil || note.EmailState != nil {
		t.Fatalf("note: %+v %+v %v", note, after, err)
	}
	reply, after, err := r.m.AddMessage(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "reply", Body: "We corrected the invoice. 发票已更正。"})
	if err != nil || reply.Seq != 2 || after.Status != "open" || after.FirstRespondedAt == nil || *reply.EmailState != "pending" {
		t.Fatalf("reply: %+v %+v %v", reply, after, err)
	}
	_, after, err = r.m.AddMessage(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "reply", Body: "Anything else?", Status: "pending"})
	if err != nil || after.Status != "pending" || after.MessageCount != 3 {
		t.Fatalf("reply with status: %+v %v", after, err)
	}
	_, _, err = r.m.AddMessage(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "shout", Body: "x"})
	wantField(t, "unknown kind", err, errs.Invalid, "body.kind")
	_, _, err = r.m.AddMessage(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "note", Body: "  "})
	wantField(t, "empty body", err, errs.Invalid, "body.body")

	page1, next, err := r.m.ListMessages(lead, r.a.ID, tk.ID, tickets.MessageFilter{Limit: 2})
	if err != nil || len(page1) != 2 || page1[0].Seq != 1 || page1[1].Seq != 2 || next == "" {
		t.Fatalf("first page: %+v %q %v", page1, next, err)
	}
	page2, next, err := r.m.ListMessages(lead, r.a.ID, tk.ID, tickets.MessageFilter{Limit: 2, Cursor: next})
	if err != nil || len(page2) != 1 || page2[0].Seq != 3 || next != "" {
		t.Fatalf("second page: %+v %q %v", page2, next, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(r.mail.all()) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a repeated send would show up now
	sent := r.mail.all()
	if len(sent) != 2 {
		t.Fatalf("%d mails for two replies: %+v", len(sent), sent)
	}
	for _, m := range sent {
		if m.To != "wang.fang@example.com" || m.Subject != "[#1001] Invoice wrong" {
			t.Errorf("mail %+v", m)
		}
	}
	if sent[0].Text == "" || (sent[0].Text+sent[1].Text) == "" {
		t.Error("empty mail")
	}
	msgs, _, _ := r.m.ListMessages(lead, r.a.ID, tk.ID, tickets.MessageFilter{Kind: "reply"})
	for _, m := range msgs {
		if m.EmailState == nil || *m.EmailState != "sent" || m.EmailedAt == nil {
			t.Errorf("reply %d email state %v", m.Seq, m.EmailState)
		}
	}
}

// An own-scope agent reaches only the tickets assigned to them or that they
// created; a team-scope member also reaches their team's; nothing of another
// company is reachable.
func TestScopeAndCompaniesHold(t *testing.T) {
	r := rig(t, false)
	me, colleague, team := uuid.New(), uuid.New(), uuid.New()
	r.dir.members[me], r.dir.members[colleague], r.dir.teams[team] = true, true, true
	theirs := r.ticket(t, lead, tickets.TicketInput{AssigneeID: &colleague, TeamID: &team})
	mine := r.ticket(t, lead, tickets.TicketInput{AssigneeID: &me})
	own := actorCtx(me, authz.ScopeOwn, nil, nil, allPerms...)
	// The customer is a colleague's: by id it is out of reach, by its email
	// it is matched company-wide.
	if _, err := r.m.CreateTicket(own, r.a.ID, tickets.TicketInput{Subject: "x", Channel: "phone", RequesterID: &r.first.ID}); !errs.Is(err, errs.Invalid) {
		t.Errorf("own scope named a colleague's customer: %v", err)
	}
	logged := r.ticket(t, own, tickets.TicketInput{Subject: "logged by me", RequesterEmail: "wang.fang@example.com"})

	s := "x"
	for name, err := range map[string]error{
		"get": func() error { _, err := r.m.GetTicket(own, r.a.ID, theirs.ID); return err }(),
		"update": func() error {
			_, err := r.m.UpdateTicket(own, r.a.ID, theirs.ID, tickets.TicketUpdate{Version: 1, Subject: &s})
			return err
		}(),
		"status": func() error { _, err := r.m.ChangeStatus(own, r.a.ID, theirs.ID, "solved", 0); return err }(),
		"reply": func() error {
			_, _, err := r.m.AddMessage(own, r.a.ID, theirs.ID, tickets.MessageInput{Kind: "reply", Body: "x"})
			return err
		}(),
		"messages": func() error {
			_, _, err := r.m.ListMessages(own, r.a.ID, theirs.ID, tickets.MessageFilter{})
			return err
		}(),
		"link a task": func() error {
			var err error
			r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
				err = r.reg.Check(authz.WithActor(ctx, authz.ActorFrom(own)), tx, r.a.ID, tickets.EntityTickets, theirs.ID, "body.entity")
				return nil
			})
			return err
		}(),
	} {
		if !errs.Is(err, errs.NotFound) {
			t.Errorf("own scope %s on a colleague's ticket: %v, want not found", name, err)
		}
	}
	list, _, err := r.m.ListTickets(own, r.a.ID, tickets.Filter{})
	if err != nil || len(list) != 2 || !has(list, mine.ID) || !has(list, logged.ID) {
		t.Fatalf("own scope lists %d tickets: %v", len(list), err)
	}
	teamScope := actorCtx(me, authz.ScopeTeam, []uuid.UUID{team}, []uuid.UUID{me}, allPerms...)
	if _, err := r.m.GetTicket(teamScope, r.a.ID, theirs.ID); err != nil {
		t.Errorf("team scope on the team's ticket: %v", err)
	}
	reader := actorCtx(uuid.New(), authz.ScopeAll, nil, nil, tickets.PermRead)
	if _, err := r.m.CreateTicket(reader, r.a.ID, tickets.TicketInput{Subject: "x", Channel: "email", RequesterID: &r.first.ID}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("created without tickets.write: %v", err)
	}
	if _, err := r.m.ChangeStatus(reader, r.a.ID, mine.ID, "solved", 0); !errs.Is(err, errs.Forbidden) {
		t.Errorf("status changed without tickets.write: %v", err)
	}
	if _, _, err := r.m.ListTickets(context.Background(), r.a.ID, tickets.Filter{}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("nobody listed tickets: %v", err)
	}
	b := r.env.NewTenant(t)
	if _, err := r.m.GetTicket(lead, b.ID, mine.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("another company read the ticket: %v", err)
	}
	if _, err := r.m.ChangeStatus(lead, b.ID, mine.ID, "solved", 0); !errs.Is(err, errs.NotFound) {
		t.Errorf("another company changed the ticket: %v", err)
	}
	if list, _, _ := r.m.ListTickets(lead, b.ID, tickets.Filter{}); len(list) != 0 {
		t.Errorf("another company lists %d tickets", len(list))
	}
}

func has(ts []tickets.Ticket, id uuid.UUID) bool {
	for _, t := range ts {
		if t.ID == id {
			return true
		}
	}
	return false
}

// Erasing a customer removes their tickets in the same transaction (the
// deferred foreign key lets it), and merging customers moves them.
func TestTicketsFollowTheirRequester(t *testing.T) {
	r := rig(t, false)
	tk := r.ticket(t, lead, tickets.TicketInput{})
	other, err := r.cust.CreateCustomer(lead, r.a.ID, profiles.CustomerInput{Name: "Zhang Wei"}, false)
	if err != nil {
		t.Fatal(err)
	}
	moved := r.ticket(t, lead, tickets.TicketInput{RequesterID: &other.ID})
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		return r.reg.Merged(ctx, tx, r.a.ID, "customers", []uuid.UUID{other.ID}, r.first.ID)
	})
	if got, err := r.m.GetTicket(lead, r.a.ID, moved.ID); err != nil || got.RequesterID != r.first.ID {
		t.Fatalf("after the merge: %+v, %v", got, err)
	}
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = ? AND id = ?", r.a.ID, r.first.ID); err != nil {
			return err
		}
		return r.reg.Removed(ctx, tx, r.a.ID, "customers", []uuid.UUID{r.first.ID})
	})
	for _, id := range []uuid.UUID{tk.ID, moved.ID} {
		if _, err := r.m.GetTicket(lead, r.a.ID, id); !errs.Is(err, errs.NotFound) {
			t.Errorf("ticket of an erased customer: %v", err)
		}
	}
}

// The list filters, sorts and pages like the customers list; a bad filter is
// refused naming its parameter.
func TestListFiltersSortsAndPages(t *testing.T) {
	r := rig(t, false)
	var made []*tickets.Ticket
	for i, p := range []string{"low", "high", "urgent", "high", "normal"} {
		made = append(made, r.ticket(t, lead, tickets.TicketInput{Subject: fmt.Sprintf("T%d", i), Priority: p, Tags: []string{"batch", p}}))
	}
	if _, err := r.m.ChangeStatus(lead, r.a.ID, made[1].ID, "solved", 0); err != nil {
		t.Fatal(err)
	}
	got, _, err := r.m.ListTickets(lead, r.a.ID, tickets.Filter{Priority: []string{"high", "urgent"}, Status: []string{"new"}, Sort: "number"})
	if err != nil || len(got) != 2 || got[0].Number != made[2].Number || got[1].Number != made[3].Number {
		t.Fatalf("high and urgent new tickets: %+v, %v", got, err)
	}
	got, _, err = r.m.ListTickets(lead, r.a.ID, tickets.Filter{Tags: []string{"high", "batch"}})
	if err != nil || len(got) != 2 {
		t.Fatalf("by two tags: %d, %v", len(got), err)
	}
	var seen []int64
	cursor := ""
	for pages := 0; pages < 5; pages++ {
		page, next, err := r.m.ListTickets(lead, r.a.ID, tickets.Filter{Sort: "-number", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range page {
			seen = append(seen, tk.Number)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if fmt.Sprint(seen) != "[1005 1004 1003 1002 1001]" {
		t.Fatalf("pages by -number: %v", seen)
	}
	_, _, err = r.m.ListTickets(lead, r.a.ID, tickets.Filter{Cursor: "forged!"})
	wantField(t, "forged cursor", err, errs.Invalid, "query.cursor")
	_, _, err = r.m.ListTickets(lead, r.a.ID, tickets.Filter{Assignee: "bob"})
	wantField(t, "an assignee that is no id", err, errs.Invalid, "query.assignee")
	got, _, err = r.m.ListTickets(lead, r.a.ID, tickets.Filter{Assignee: "none", Requester: &r.first.ID})
	if err != nil || len(got) != 5 {
		t.Fatalf("unassigned tickets of the requester: %d, %v", len(got), err)
	}
}

// A saved view's filter is the list's query string; each bad part is refused
// naming its parameter, and a good one counts what the list would show.
func TestViewFiltersAreCheckedAndCounted(t *testing.T) {
	r := rig(t, false)
	q := r.m.Entities()[0].Query
	for raw, loc := range map[string]string{
		"status=sleeping":           "body.query.status",
		"assignee=bob":              "body.query.assignee",
		"number[gt]=1&size[eq]=3":   "body.query.size[eq]",
		"created_at[in]=2026-01-01": "body.query.created_at[in]",
		"sort=priority":             "body.query.sort",
		"requester_id=42":           "body.query.requester_id",
		"priority=high,whenever":    "body.query.priority",
		"tag=" + string(make([]byte, 0)) + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": "body.query.tag",
	} {
		wantField(t, raw, q.CheckQuery(raw, "body.query"), errs.Invalid, loc)
	}
	for _, raw := range []string{"", "status=new,open&priority=urgent", "assignee=none&tag=vip&number[gte]=1001&sort=-updated_at", "created_at[between]=2026-01-01,2027-01-01"} {
		if err := q.CheckQuery(raw, "body.query"); err != nil {
			t.Errorf("%q: %v", raw, err)
		}
	}
	r.ticket(t, lead, tickets.TicketInput{Priority: "urgent"})
	r.ticket(t, lead, tickets.TicketInput{Priority: "low"})
	if n, err := q.CountQuery(lead, r.a.ID, "priority=urgent&status=new"); err != nil || n != 1 {
		t.Fatalf("count: %d, %v", n, err)
	}
}

// RLS alone confines every ticket table: inside one company's transaction a
// query without a tenant filter sees only that company's rows, and a row of
// another company cannot be written.
func TestRLSAloneKeepsTicketTablesApart(t *testing.T) {
	r := rig(t, false)
	tk := r.ticket(t, lead, tickets.TicketInput{Tags: []string{"a"}})
	if _, _, err := r.m.AddMessage(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "note", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	b := r.env.NewTenant(t)
	r.env.InTenant(t, b.ID, func(ctx context.Context, tx bun.Tx) error {
		for _, table := range []string{"tickets", "ticket_messages", "ticket_tags", "ticket_counters"} {
			var n int
			if err := tx.NewRaw("SELECT count(*) FROM "+table).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("company B sees %d rows of %s", n, table)
			}
		}
		return nil
	})
	err := db.InTenant(authz.AsSystem(context.Background()), r.env.App, b.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO ticket_counters (tenant_id, last_number) VALUES (?, 5000)", r.a.ID)
		return err
	})
	if err == nil {
		t.Fatal("company B wrote company A's counter")
	}
	var n int
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM tickets").Scan(ctx, &n)
	})
	if n != 1 {
		t.Fatalf("company A sees %d tickets of its own, want 1", n)
	}
}

// Tickets for a team go round its available members in turn, skipping those
// at their cap, even when 60 arrive at once and one member is in two teams.
func TestRoundRobinIsFairAndKeepsCapsUnderConcurrency(t *testing.T) {
	r := rig(t, false)
	team, other := uuid.New(), uuid.New()
	a1, a2, a3, away := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	r.dir.teams[team], r.dir.teams[other] = true, true
	r.dir.roster[team] = []uuid.UUID{a1, a2, a3, away}
	r.dir.roster[other] = []uuid.UUID{a3}
	for _, id := range []uuid.UUID{a1, a2, a3, away} {
		r.dir.members[id] = true
	}
	capped := 12
	for _, c := range []struct {
		team, member uuid.UUID
		in           tickets.AgentInput
	}{
		{team, a1, tickets.AgentInput{Available: true}},
		{team, a2, tickets.AgentInput{Available: true}},
		{team, a3, tickets.AgentInput{Available: true, MaxOpen: &capped}},
		{team, away, tickets.AgentInput{Available: false}},
		{other, a3, tickets.AgentInput{Available: true, MaxOpen: &capped}},
	} {
		if _, err := r.m.SetAgent(lead, r.a.ID, c.team, c.member, c.in); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.m.SetAgent(lead, r.a.ID, team, uuid.New(), tickets.AgentInput{Available: true})
	wantField(t, "a stranger as agent", err, errs.Invalid, "path.member_id")
	if _, err := r.m.SetAgent(actorCtx(uuid.New(), authz.ScopeAll, nil, nil, tickets.PermRead, tickets.PermWrite), r.a.ID, team, a1, tickets.AgentInput{}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("availability set without tickets.manage: %v", err)
	}
	if _, err := r.m.ListAgents(lead, r.a.ID, uuid.New()); !errs.Is(err, errs.NotFound) {
		t.Errorf("agents of an unknown team: %v", err)
	}

	counts := map[uuid.UUID]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tm := team
			if i%6 == 0 {
				tm = other // a3's other team competes for the same cap
			}
			tk, err := r.m.CreateTicket(lead, r.a.ID, tickets.TicketInput{Subject: "x", Channel: "chat", RequesterID: &r.first.ID, TeamID: &tm})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			if tk.AssigneeID == nil {
				counts[uuid.Nil]++
				if tk.Status != "new" {
					t.Errorf("unassigned ticket is %s", tk.Status)
				}
				return
			}
			counts[*tk.AssigneeID]++
		}(i)
	}
	wg.Wait()
	if counts[away] != 0 {
		t.Errorf("the unavailable member got %d tickets", counts[away])
	}
	if counts[a3] != capped {
		t.Errorf("the capped member holds %d open tickets, cap %d", counts[a3], capped)
	}
	// team gets 50: a3 takes some turns until the cap, a1 and a2 share the
	// rest within one of each other; other's 10 beyond a3's cap stay unassigned.
	if d := counts[a1] - counts[a2]; d < -1 || d > 1 || counts[a1]+counts[a2]+counts[a3]+counts[uuid.Nil] != 60 {
		t.Errorf("dealt unevenly: %v", counts)
	}
	agents, err := r.m.ListAgents(lead, r.a.ID, team)
	if err != nil || len(agents) != 4 {
		t.Fatalf("agents %+v, %v", agents, err)
	}
	for _, a := range agents {
		if a.Open != counts[a.MemberID] {
			t.Errorf("agent %v shows %d open, holds %d", a.MemberID, a.Open, counts[a.MemberID])
		}
	}
}

// The first matching active policy sets the due times: created_at plus the
// target; the clock stands still while a ticket is pending or on hold and
// the due times move by exactly the whole seconds it stood; a change of
// priority picks the policy again, counting the time already paused.
func TestSLADueTimesPauseAndResume(t *testing.T) {
	r := rig(t, false)
	ten, sixty, day := 10, 60, 1440
	urgent, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Urgent", Position: 1, Priorities: []string{"urgent"}, FirstResponseMinutes: &ten, ResolutionMinutes: &sixty})
	if err != nil {
		t.Fatal(err)
	}
	std, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Standard", Position: 2, ResolutionMinutes: &day})
	if err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Switched off", Position: 0, Active: &off, ResolutionMinutes: &ten}); err != nil {
		t.Fatal(err)
	}
	_, err = r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Urgent", ResolutionMinutes: &ten})
	wantField(t, "a taken name", err, errs.Conflict, "body.name")
	_, err = r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "No target"})
	wantField(t, "no target", err, errs.Invalid, "body.resolution_minutes")
	_, err = r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Bad", Priorities: []string{"asap"}, ResolutionMinutes: &ten})
	wantField(t, "an unknown priority", err, errs.Invalid, "body.priorities[0]")
	if _, err := r.m.SavePolicy(actorCtx(uuid.New(), authz.ScopeAll, nil, nil, tickets.PermRead, tickets.PermWrite), r.a.ID, nil, tickets.PolicyInput{Name: "x", ResolutionMinutes: &ten}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a policy saved without tickets.manage: %v", err)
	}

	tk := r.ticket(t, lead, tickets.TicketInput{Priority: "urgent"})
	if tk.SLAPolicyID == nil || *tk.SLAPolicyID != urgent.ID ||
		!tk.FirstResponseDueAt.Equal(tk.CreatedAt.Add(10*time.Minute)) || !tk.ResolutionDueAt.Equal(tk.CreatedAt.Add(time.Hour)) {
		t.Fatalf("urgent ticket's SLA: policy %v, created %v, first response due %v, resolution due %v", tk.SLAPolicyID, tk.CreatedAt, tk.FirstResponseDueAt, tk.ResolutionDueAt)
	}
	if _, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "pending", 0); err != nil {
		t.Fatal(err)
	}
	// Two hours and 30.4 seconds on pending: the clock stood 7,230 whole seconds.
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE tickets SET sla_paused_at = now() - interval '2 hours 30.4 seconds' WHERE tenant_id = ? AND id = ?", r.a.ID, tk.ID)
		return err
	})
	back, err := r.m.ChangeStatus(lead, r.a.ID, tk.ID, "open", 0)
	if err != nil {
		t.Fatal(err)
	}
	paused := 2*time.Hour + 30*time.Second
	if back.SLAPausedAt != nil || back.SLAPausedSeconds != int64(paused/time.Second) ||
		!back.ResolutionDueAt.Equal(tk.CreatedAt.Add(time.Hour+paused)) || !back.FirstResponseDueAt.Equal(tk.CreatedAt.Add(10*time.Minute+paused)) {
		t.Fatalf("after the pause: paused %ds (at %v), resolution due %v, want %v", back.SLAPausedSeconds, back.SLAPausedAt, back.ResolutionDueAt, tk.CreatedAt.Add(time.Hour+paused))
	}
	normal := "normal"
	changed, err := r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: back.Version, Priority: &normal})
	if err != nil || changed.SLAPolicyID == nil || *changed.SLAPolicyID != std.ID || changed.FirstResponseDueAt != nil ||
		!changed.ResolutionDueAt.Equal(tk.CreatedAt.Add(24*time.Hour+paused)) {
		t.Fatalf("after the priority change: %+v, %v", changed, err)
	}
	got, err := r.m.GetTicket(lead, r.a.ID, tk.ID)
	if err != nil || !got.ResolutionDueAt.Equal(*changed.ResolutionDueAt) || got.SLAPausedSeconds != changed.SLAPausedSeconds {
		t.Fatalf("stored SLA %+v, %v", got, err)
	}
	// A reply that puts the ticket on hold stops the clock too.
	_, onHold, err := r.m.AddMessage(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "reply", Body: "We wait for the courier.", Status: "on_hold"})
	if err != nil || onHold.SLAPausedAt == nil {
		t.Fatalf("on hold by reply: %+v, %v", onHold, err)
	}
	// A ticket no policy matches has no due times.
	if _, err := r.m.SavePolicy(lead, r.a.ID, &std.ID, tickets.PolicyInput{Name: "Standard", Position: 2, Channels: []string{"email"}, ResolutionMinutes: &day}); err != nil {
		t.Fatal(err)
	}
	none := r.ticket(t, lead, tickets.TicketInput{Channel: "phone"})
	if none.SLAPolicyID != nil || none.ResolutionDueAt != nil {
		t.Fatalf("ticket without a policy: %v %v", none.SLAPolicyID, none.ResolutionDueAt)
	}
	if list, err := r.m.ListPolicies(lead, r.a.ID); err != nil || len(list) != 3 || list[0].Name != "Switched off" {
		t.Fatalf("policies %+v, %v", list, err)
	}
}

// The demo company gets its tickets once: every status, conversations, and
// first responses that met their SLA target and some that missed it.
func TestDemoSeedsEveryStatusOnce(t *testing.T) {
	r := rig(t, false)
	owner := uuid.New()
	r.dir.members[owner] = true
	d := module.Demo{Tenant: r.a.ID, Owner: owner, Seed: 1}
	start := time.Now()
	seeded, err := r.m.SeedDemo(context.Background(), d)
	if err != nil || !seeded {
		t.Fatalf("seed: %v, %v", seeded, err)
	}
	t.Logf("%d demo tickets in %s", tickets.DemoTickets, time.Since(start).Round(time.Millisecond))
	var st struct {
		N, Min, Max, Statuses, Met, Missed, Messages, Future int
	}
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT count(*) AS n, min(number) AS min, max(number) AS max, count(DISTINCT status) AS statuses,
			count(*) FILTER (WHERE first_responded_at <= first_response_due_at) AS met,
			count(*) FILTER (WHERE first_responded_at > first_response_due_at) AS missed,
			(SELECT count(*) FROM ticket_messages WHERE tenant_id = ?0) AS messages,
			count(*) FILTER (WHERE greatest(created_at, first_responded_at, solved_at, closed_at) > now()) AS future
			FROM tickets WHERE tenant_id = ?0`, r.a.ID).Scan(ctx, &st.N, &st.Min, &st.Max, &st.Statuses, &st.Met, &st.Missed, &st.Messages, &st.Future)
	})
	if st.N != tickets.DemoTickets || st.Min != 1001 || st.Max != 1000+tickets.DemoTickets || st.Statuses != 6 || st.Met == 0 || st.Missed == 0 || st.Messages == 0 || st.Future != 0 {
		t.Fatalf("demo tickets: %+v", st)
	}
	var sla struct{ Warned, Breaches, Rated, Form int }
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT (SELECT count(*) FROM ticket_sla_alarms WHERE tenant_id = ?0 AND stage = 'warning' AND fired_at IS NOT NULL),
			(SELECT count(*) FROM ticket_sla_breaches WHERE tenant_id = ?0), (SELECT count(*) FROM tickets WHERE tenant_id = ?0 AND csat_rating IS NOT NULL),
			(SELECT count(*) FROM tickets WHERE tenant_id = ?0 AND channel = 'web_form')`, r.a.ID).Scan(ctx, &sla.Warned, &sla.Breaches, &sla.Rated, &sla.Form)
	})
	if sla.Warned == 0 || sla.Breaches == 0 || sla.Rated == 0 || sla.Form == 0 {
		t.Fatalf("demo SLA states and ratings: %+v", sla)
	}
	if again, err := r.m.SeedDemo(context.Background(), d); err != nil || again {
		t.Fatalf("a second seed: %v, %v", again, err)
	}
}

// follower records what the registry tells dependents (tasks, in the app).
type follower struct {
	mu     sync.Mutex
	merged map[uuid.UUID]uuid.UUID
}

func (f *follower) RecordsRemoved(context.Context, bun.Tx, uuid.UUID, string, []uuid.UUID) error {
	return nil
}

func (f *follower) RecordsMerged(_ context.Context, _ bun.Tx, _ uuid.UUID, entity string, from []uuid.UUID, into uuid.UUID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if entity == tickets.EntityTickets {
		for _, id := range from {
			f.merged[id] = into
		}
	}
	return nil
}

// Merging moves the conversation after the target's own, notes it, closes
// the merged ticket with a link, and tells the dependents; tickets of two
// requesters, closed tickets and tickets out of scope do not merge.
func TestMergeMovesTheConversationAndClosesWithALink(t *testing.T) {
	r := rig(t, false)
	f := &follower{merged: map[uuid.UUID]uuid.UUID{}}
	r.reg.AddDependent(f)
	keep := r.ticket(t, lead, tickets.TicketInput{Subject: "Refund"})
	dup := r.ticket(t, lead, tickets.TicketInput{Subject: "Refund again"})
	for i, tk := range []*tickets.Ticket{keep, dup, dup} {
		if _, _, err := r.m.AddMessage(lead, r.a.ID, tk.ID, tickets.MessageInput{Kind: "note", Body: fmt.Sprintf("note %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	merged, err := r.m.MergeTicket(lead, r.a.ID, dup.ID, keep.ID)
	if err != nil || merged.ID != keep.ID || merged.MessageCount != 4 {
		t.Fatalf("merge: %+v, %v", merged, err)
	}
	msgs, _, err := r.m.ListMessages(lead, r.a.ID, keep.ID, tickets.MessageFilter{})
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, fmt.Sprintf("%d:%s", m.Seq, m.Body[:6]))
	}
	if err != nil || fmt.Sprint(bodies) != "[1:note 0 2:note 1 3:note 2 4:Ticket]" {
		t.Fatalf("the conversation after the merge: %v, %v", bodies, err)
	}
	closed, err := r.m.GetTicket(lead, r.a.ID, dup.ID)
	if err != nil || closed.Status != "closed" || closed.MergedIntoID == nil || *closed.MergedIntoID != keep.ID || closed.MessageCount != 0 {
		t.Fatalf("the merged ticket: %+v, %v", closed, err)
	}
	if f.merged[dup.ID] != keep.ID {
		t.Errorf("dependents were not told: %v", f.merged)
	}
	_, err = r.m.MergeTicket(lead, r.a.ID, dup.ID, keep.ID)
	if !errs.Is(err, errs.Conflict) {
		t.Errorf("merging a closed ticket: %v", err)
	}
	other, err := r.cust.CreateCustomer(lead, r.a.ID, profiles.CustomerInput{Name: "Zhou Xun"}, false)
	if err != nil {
		t.Fatal(err)
	}
	theirs := r.ticket(t, lead, tickets.TicketInput{RequesterID: &other.ID})
	_, err = r.m.MergeTicket(lead, r.a.ID, theirs.ID, keep.ID)
	wantField(t, "another requester", err, errs.Invalid, "body.into_id")
	_, err = r.m.MergeTicket(lead, r.a.ID, keep.ID, keep.ID)
	wantField(t, "itself", err, errs.Invalid, "body.into_id")
	_, err = r.m.MergeTicket(lead, r.a.ID, keep.ID, uuid.New())
	wantField(t, "an unknown target", err, errs.Invalid, "body.into_id")
	own := actorCtx(uuid.New(), authz.ScopeOwn, nil, nil, allPerms...)
	if _, err := r.m.MergeTicket(own, r.a.ID, theirs.ID, keep.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("own scope merged others' tickets: %v", err)
	}
	// Removing the kept ticket's requester removes the shell merged into it.
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = ? AND id = ?", r.a.ID, r.first.ID); err != nil {
			return err
		}
		return r.reg.Removed(ctx, tx, r.a.ID, "customers", []uuid.UUID{r.first.ID})
	})
	if _, err := r.m.GetTicket(lead, r.a.ID, dup.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("the merged shell outlived its requester: %v", err)
	}
}

// A team none of whose available members has a cap is dealt out in the
// ticket's insert; a member without a cap there may have one in another team,
// whose count must see every ticket they take. Numbers follow the order
// creations commit (the counter is held until commit), so walking the
// tickets by number replays what each creation saw: the free team's tickets
// alternate between its two members, and the limited team's go to its one
// member exactly while they hold fewer open tickets than its cap.
func TestRoundRobinWithoutCapsInTheInsertKeepsAnotherTeamsCap(t *testing.T) {
	r := rig(t, false)
	free, limited := uuid.New(), uuid.New()
	a1, a2 := uuid.New(), uuid.New()
	if bytes.Compare(a1[:], a2[:]) > 0 {
		a1, a2 = a2, a1
	}
	r.dir.teams[free], r.dir.teams[limited] = true, true
	r.dir.roster[free] = []uuid.UUID{a1, a2}
	r.dir.roster[limited] = []uuid.UUID{a2}
	r.dir.members[a1], r.dir.members[a2] = true, true
	capped := 5
	for _, c := range []struct {
		team, member uuid.UUID
		in           tickets.AgentInput
	}{
		{free, a1, tickets.AgentInput{Available: true}},
		{free, a2, tickets.AgentInput{Available: true}},
		{limited, a2, tickets.AgentInput{Available: true, MaxOpen: &capped}},
	} {
		if _, err := r.m.SetAgent(lead, r.a.ID, c.team, c.member, c.in); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var made []*tickets.Ticket
	var wg sync.WaitGroup
	for i := 0; i < 45; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tm := free
			if i%3 == 0 {
				tm = limited
			}
			tk, err := r.m.CreateTicket(lead, r.a.ID, tickets.TicketInput{Subject: "x", Channel: "chat", RequesterID: &r.first.ID, TeamID: &tm})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			made = append(made, tk)
		}(i)
	}
	wg.Wait()
	sort.Slice(made, func(i, j int) bool { return made[i].Number < made[j].Number })
	open, last, assigned := 0, uuid.Nil, 0
	for _, tk := range made {
		switch *tk.TeamID {
		case free:
			if tk.AssigneeID == nil || tk.Status != "open" {
				t.Fatalf("#%d of the free team: assignee %v, %s", tk.Number, tk.AssigneeID, tk.Status)
			}
			if *tk.AssigneeID == last {
				t.Errorf("#%d of the free team went to %v twice in a row", tk.Number, last)
			}
			last = *tk.AssigneeID
		case limited:
			if want := open < capped; (tk.AssigneeID != nil) != want {
				t.Errorf("#%d of the limited team: assignee %v with %d open before it (cap %d)", tk.Number, tk.AssigneeID, open, capped)
			}
			if tk.AssigneeID != nil {
				assigned++
			}
		}
		if tk.AssigneeID != nil && *tk.AssigneeID == a2 {
			open++
		}
	}
	if len(made) != 45 || assigned == 0 && open < capped {
		t.Errorf("made %d tickets, %d of the limited team assigned", len(made), assigned)
	}
}
