package tasks_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/tasks"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// 10,000 tasks due to remind within the next minute produce exactly 10,000
// notifications, although Redis loses everything halfway through.
func TestRemindersAreDeliveredExactlyOnceAcrossRedisLoss(t *testing.T) {
	const n = 10_000
	env := testkit.Get(t)
	ctx := context.Background()
	client := jobstest.Client(t, env.App)
	m := tasks.New(tasks.Deps{DB: env.App, Jobs: client, Notify: notify.New(notify.Deps{DB: env.App, Jobs: client})})
	client.Register(m.Jobs()...)
	a := env.NewTenant(t)
	assignee := uuid.New()

	start := time.Now()
	for batch := 0; batch < n/1000; batch++ {
		err := db.InTenant(writer, env.App, a.ID, func(ctx context.Context, _ bun.Tx) error {
			for i := 0; i < 1000; i++ {
				at := start.Add(3*time.Second + time.Duration((batch*1000+i)%40)*time.Second)
				if _, err := m.CreateTask(ctx, a.ID, tasks.TaskInput{Title: "Call back 回电", AssigneeID: &assignee, RemindAt: &at}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("created %d tasks in %s", n, time.Since(start).Round(time.Millisecond))

	srv := jobstest.Worker(t, jobs.ServerOptions{Concurrency: 16, Handlers: m.Jobs(),
		SweepInterval: -1, NoScheduler: true, PollInterval: 200 * time.Millisecond, ShutdownTimeout: 5 * time.Second})

	count := func() int {
		var c int
		if err := env.Owner.NewRaw("SELECT count(*) FROM notifications WHERE tenant_id = ?", a.ID).Scan(ctx, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	flushed := false
	deadline := time.Now().Add(3 * time.Minute)
	for {
		c := count()
		if !flushed && c >= n/2 {
			if err := env.Redis.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			flushed = true
			t.Logf("Redis flushed with %d of %d notifications delivered", c, n)
		}
		if flushed {
			if _, err := srv.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if c >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d notifications after 3 minutes", c, n)
		}
		time.Sleep(time.Second)
	}
	time.Sleep(2 * time.Second) // give any duplicate delivery a chance to show
	if !flushed {
		t.Fatal("Redis was never flushed; the test proves nothing about losing it")
	}
	if c := count(); c != n {
		t.Fatalf("%d notifications, want exactly %d", c, n)
	}
	var perTask int
	_ = env.Owner.NewRaw("SELECT coalesce(max(k), 0) FROM (SELECT count(*) AS k FROM notifications WHERE tenant_id = ? GROUP BY source_key) s", a.ID).Scan(ctx, &perTask)
	if perTask != 1 {
		t.Fatalf("a reminder was delivered %d times", perTask)
	}
	// Deliveries Redis lost after their reminders went out with another batch
	// are still recorded; once the sweeper hands them back (after its grace),
	// they run and add nothing. This also leaves no job for the next test.
	open := func() (k int) {
		_ = env.Owner.NewRaw("SELECT count(*) FROM jobs WHERE tenant_id = ? AND status NOT IN ('succeeded', 'failed', 'canceled')", a.ID).Scan(ctx, &k)
		return k
	}
	for deadline := time.Now().Add(45 * time.Second); open() > 0; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("%d reminder jobs still not done", open())
		}
		if _, err := srv.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if c := count(); c != n {
		t.Fatalf("%d notifications once every job ran, want exactly %d", c, n)
	}
}

// A completed task's reminder does nothing; a snoozed one fires at the new time only.
func TestStaleRemindersDoNothing(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	client := jobstest.Client(t, env.App)
	mails := &mailRecorder{}
	notices := notify.New(notify.Deps{DB: env.App, Jobs: client, Mail: mails})
	m := tasks.New(tasks.Deps{DB: env.App, Jobs: client, Notify: notices})
	client.Register(append(m.Jobs(), notices.Jobs()...)...)
	a := env.NewTenant(t)
	me := uuid.New()
	at := time.Now().Add(time.Second)
	done, err := m.CreateTask(writer, a.ID, tasks.TaskInput{Title: "done soon", AssigneeID: &me, RemindAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	snoozed, err := m.CreateTask(writer, a.ID, tasks.TaskInput{Title: "later", AssigneeID: &me, RemindAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ChangeTask(writer, a.ID, done.ID, func(t *tasks.Task) error { t.Status = "done"; return nil }); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Second)
	if _, err := m.ChangeTask(writer, a.ID, snoozed.ID, func(t *tasks.Task) error { t.RemindAt = &later; return nil }); err != nil {
		t.Fatal(err)
	}
	jobstest.Worker(t, jobs.ServerOptions{Concurrency: 4, Handlers: append(m.Jobs(), notices.Jobs()...),
		SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond})
	time.Sleep(5 * time.Second)
	// Mail goes out when its member's few-second batching window closes.
	for deadline := time.Now().Add(15 * time.Second); len(mails.subjects()) == 0 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for a second mail to show
	var titles []string
	_ = env.Owner.NewRaw("SELECT title FROM notifications WHERE tenant_id = ? ORDER BY title", a.ID).Scan(ctx, &titles)
	if len(titles) != 1 || titles[0] != "later" {
		t.Fatalf("notifications %v, want only the snoozed task's, once", titles)
	}
	if got := mails.subjects(); len(got) != 1 || got[0] != "Reminder: later" {
		t.Fatalf("reminder mails %v, want one for the snoozed task", got)
	}
}

type mailRecorder struct {
	mu   sync.Mutex
	sent []string
}

func (r *mailRecorder) MailMember(_ context.Context, _, _ uuid.UUID, subject, _ string) error {
	r.mu.Lock()
	r.sent = append(r.sent, subject)
	r.mu.Unlock()
	return nil
}

func (r *mailRecorder) subjects() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sent...)
}

// A worker killed while delivering a reminder leaves its job row running with
// a heartbeat that stops; with Redis flushed too, nothing but the row is left.
// The sweeper hands it to the next worker, and the reminder arrives once.
func TestReminderSurvivesAWorkerKilledMidDelivery(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	client := jobstest.Client(t, env.App)
	m := tasks.New(tasks.Deps{DB: env.App, Jobs: client, Notify: notify.New(notify.Deps{DB: env.App})})
	client.Register(m.Jobs()...)
	a := env.NewTenant(t)
	me := uuid.New()
	at := time.Now().Add(-time.Minute)
	task, err := m.CreateTask(writer, a.ID, tasks.TaskInput{Title: "killed mid-delivery", AssigneeID: &me, RemindAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	// What the killed worker left: the row taken (attempt 1), no heartbeat for
	// minutes, and Redis without the task.
	if _, err := env.Owner.ExecContext(ctx, `UPDATE jobs SET status = 'running', attempts = 1, started_at = now() - interval '5 minutes',
		heartbeat_at = now() - interval '5 minutes' WHERE tenant_id = ? AND task_type = ?`, a.ID, tasks.TypeRemind); err != nil {
		t.Fatal(err)
	}
	if err := env.Redis.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	srv := jobstest.Worker(t, jobs.ServerOptions{Concurrency: 2, Handlers: m.Jobs(),
		SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond})
	if n, err := srv.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep handed back %d jobs (%v), want the killed one", n, err)
	}
	count := func() (n int) {
		_ = env.Owner.NewRaw("SELECT count(*) FROM notifications WHERE tenant_id = ? AND link = ?", a.ID, "/tasks/"+task.ID.String()).Scan(ctx, &n)
		return n
	}
	deadline := time.Now().Add(15 * time.Second)
	for count() == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	// A second sweep, and the same job delivered again, add nothing.
	_, _ = srv.Sweep(ctx)
	time.Sleep(time.Second)
	if n := count(); n != 1 {
		t.Fatalf("%d notifications for the killed worker's reminder, want exactly 1", n)
	}
}
