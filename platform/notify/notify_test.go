package notify_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

type mails struct {
	mu   sync.Mutex
	sent map[uuid.UUID][]string
}

func (r *mails) MailMember(_ context.Context, _, member uuid.UUID, subject, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[member] = append(r.sent[member], subject)
	return nil
}

func (r *mails) of(member uuid.UUID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sent[member]...)
}

// mailingService is a notification service that mails into the returned box,
// with its jobs on the test's own Redis database, and a fresh tenant.
func mailingService(t *testing.T) (*notify.Service, *mails, testkit.Tenant) {
	env := testkit.Get(t)
	client := jobstest.Client(t, env.App)
	box := &mails{sent: map[uuid.UUID][]string{}}
	s := notify.New(notify.Deps{DB: env.App, Jobs: client, Mail: box, Log: testkit.Quiet})
	client.Register(s.Jobs()...)
	return s, box, env.NewTenant(t)
}

// twoMembers are a member of the tenant who wants email (the default) and one
// who turned it off.
func twoMembers(t *testing.T, s *notify.Service, tenant uuid.UUID) (wants, quietOne uuid.UUID) {
	t.Helper()
	wants, quietOne = uuid.New(), uuid.New()
	if err := s.SetPreference(context.Background(), tenant, quietOne, notify.Preference{Email: false}); err != nil {
		t.Fatal(err)
	}
	return wants, quietOne
}

// notices counts the tenant's stored notifications.
func notices(t *testing.T, tenant uuid.UUID) (n int) {
	t.Helper()
	err := testkit.Get(t).Owner.NewRaw("SELECT count(*) FROM notifications WHERE tenant_id = ?", tenant).Scan(context.Background(), &n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mailAll runs a worker for s with the given concurrency until no notice of
// the tenant is unmailed (a condition on its row) or 20 s passed, gives a
// straggler a second more, and fails the test if one is left.
func mailAll(t *testing.T, s *notify.Service, concurrency int, tenant uuid.UUID, unmailed string) {
	t.Helper()
	env := testkit.Get(t)
	jobstest.Worker(t, jobs.ServerOptions{Concurrency: concurrency, Handlers: s.Jobs(),
		SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond})
	pending := func() (n int) {
		_ = env.Owner.NewRaw("SELECT count(*) FROM notifications WHERE tenant_id = ? AND "+unmailed, tenant).Scan(context.Background(), &n)
		return n
	}
	for deadline := time.Now().Add(20 * time.Second); pending() > 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n := pending(); n != 0 {
		t.Fatalf("%d notices not mailed", n)
	}
}

// A notice is stored once per source key, in the caller's transaction; it is
// mailed once to members who want email (the default) and never to those who
// turned it off.
func TestNotifyIsIdempotentAndMailsByPreference(t *testing.T) {
	ctx := context.Background()
	s, box, a := mailingService(t)
	wants, quietOne := twoMembers(t, s, a.ID)
	if p, err := s.GetPreference(ctx, a.ID, wants); err != nil || p != notify.DefaultPreference {
		t.Fatalf("default preference %+v, %v", p, err)
	}
	for _, who := range []uuid.UUID{wants, quietOne} {
		for i := 0; i < 3; i++ {
			created, err := s.Notify(ctx, a.ID, who, notify.Notice{Kind: "deal.won", Title: "Deal won 赢单", SourceKey: "deal:1:" + who.String()})
			if err != nil || created != (i == 0) {
				t.Fatalf("notify %d: created %v, %v", i, created, err)
			}
		}
	}
	// A notice made in a transaction that rolls back does not exist.
	_ = db.InTenant(ctx, testkit.Get(t).App, a.ID, func(ctx context.Context, _ bun.Tx) error {
		if _, err := s.Notify(ctx, a.ID, wants, notify.Notice{Kind: "x", Title: "rolled back", SourceKey: "rb"}); err != nil {
			t.Fatal(err)
		}
		return context.Canceled
	})
	if rows := notices(t, a.ID); rows != 2 {
		t.Fatalf("%d notifications, want one per member", rows)
	}
	if _, err := s.Notify(ctx, a.ID, uuid.Nil, notify.Notice{Kind: "x", Title: "y", SourceKey: "z"}); err == nil {
		t.Fatal("a notice without a recipient was accepted")
	}
	jobstest.Worker(t, jobs.ServerOptions{Concurrency: 2, Handlers: s.Jobs(),
		SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond})
	deadline := time.Now().Add(20 * time.Second)
	for len(box.of(wants)) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for a duplicate to show
	if got := box.of(wants); len(got) != 1 || got[0] != "Deal won 赢单" {
		t.Fatalf("mails to the member who wants email: %v", got)
	}
	if got := box.of(quietOne); len(got) != 0 {
		t.Fatalf("mails to the member who turned email off: %v", got)
	}
}

// Notices that fall due together share a mail; every one is marked sent.
func TestNoticesFallingDueTogetherShareAMail(t *testing.T) {
	ctx := context.Background()
	s, box, a := mailingService(t)
	who := uuid.New()
	for i := 0; i < 6; i++ {
		if _, err := s.Notify(ctx, a.ID, who, notify.Notice{Kind: "task.reminder", Title: "Call " + string(rune('A'+i)), SourceKey: "batch:" + string(rune('A'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	mailAll(t, s, 4, a.ID, "email_state IS DISTINCT FROM 'sent'")
	// Six notices made in well under a second span at most two windows.
	if got := box.of(who); len(got) == 0 || len(got) > 2 {
		t.Fatalf("mails %v, want the six notices in one or two", got)
	}
}

// NotifyMany stores each new notice once (a repeated source key, in the batch
// or from before, adds nothing), leaves members who turned email off unmailed,
// and mails each member who wants email all of their new notices.
func TestNotifyManyIsIdempotentAndMailsEachMemberTheirNotices(t *testing.T) {
	ctx := context.Background()
	s, box, a := mailingService(t)
	wants, quietOne := twoMembers(t, s, a.ID)
	if _, err := s.Notify(ctx, a.ID, wants, notify.Notice{Kind: "task.reminder", Title: "Before", SourceKey: "k:0"}); err != nil {
		t.Fatal(err)
	}
	var batch []notify.Addressed
	for i, who := range []uuid.UUID{wants, wants, quietOne, wants} {
		batch = append(batch, notify.Addressed{Recipient: who, Notice: notify.Notice{Kind: "task.reminder", Title: "Call " + string(rune('A'+i)), SourceKey: "k:" + string(rune('0'+i))}})
	}
	batch = append(batch, batch[1]) // the same key twice in one batch
	created, err := s.NotifyMany(ctx, a.ID, batch)
	if err != nil || created != 3 {
		t.Fatalf("NotifyMany created %d (%v), want 3: k:0 existed and k:1 came twice", created, err)
	}
	if again, err := s.NotifyMany(ctx, a.ID, batch); err != nil || again != 0 {
		t.Fatalf("a repeated NotifyMany created %d (%v)", again, err)
	}
	if _, err := s.NotifyMany(ctx, a.ID, []notify.Addressed{{Recipient: wants, Notice: notify.Notice{Kind: "x", Title: "no key"}}}); err == nil {
		t.Fatal("a notice without a source key was accepted")
	}
	if rows := notices(t, a.ID); rows != 4 {
		t.Fatalf("%d notifications, want 4", rows)
	}
	mailAll(t, s, 2, a.ID, "email_state = 'pending'")
	if got := box.of(quietOne); len(got) != 0 {
		t.Fatalf("mails to the member who turned email off: %v", got)
	}
	if got := box.of(wants); len(got) == 0 || len(got) > 2 {
		t.Fatalf("mails %v, want the member's four notices in one or two", got)
	}
}
