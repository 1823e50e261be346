package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// asSystem is the context of test work nobody asked for: Enqueue refuses a
// context with no actor.
var asSystem = authz.AsSystem(context.Background())

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func redisOpt(t *testing.T) asynq.RedisClientOpt { return testkit.Get(t).AsynqOpt(t) }

var effectsOnce sync.Once

// effects is a tenant table handlers write to, so tests can count effects.
func effects(t *testing.T) {
	env := testkit.Get(t)
	effectsOnce.Do(func() {
		err := env.ExecEach(context.Background(), `
			CREATE TABLE effects (tenant_id uuid NOT NULL, id bigserial, job_id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
			ALTER TABLE effects ENABLE ROW LEVEL SECURITY; ALTER TABLE effects FORCE ROW LEVEL SECURITY;
			CREATE POLICY tenant_isolation ON effects USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
			GRANT SELECT, INSERT, UPDATE, DELETE ON effects TO clientele_app;
			GRANT USAGE ON SEQUENCE effects_id_seq TO clientele_app;`)
		if err != nil {
			t.Fatal(err)
		}
		env.Distribute(t, "effects")
	})
}

func countEffects(t *testing.T, job uuid.UUID) int {
	var n int
	if err := testkit.Get(t).Owner.NewSelect().Table("effects").ColumnExpr("count(*)").Where("job_id = ?", job).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func addEffect(ctx context.Context, tx bun.Tx, j *Job) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO effects (tenant_id, job_id) VALUES (?, ?)", j.TenantID, j.ID)
	return err
}

func newClient(t *testing.T) *Client {
	c := NewClient(redisOpt(t), testkit.Get(t).App, quiet)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newServer(t *testing.T, hs []Handler, tweak func(*ServerOptions)) *Server {
	o := ServerOptions{
		Redis: redisOpt(t), DB: testkit.Get(t).App, Concurrency: 4, Logger: quiet, Handlers: hs,
		SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond, ShutdownTimeout: 2 * time.Second,
		HeartbeatInterval: 200 * time.Millisecond, ThrottleRetry: 200 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&o)
	}
	return NewServer(o)
}

func start(t *testing.T, s *Server) {
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(s.Shutdown) })
}

func waitStatus(t *testing.T, c *Client, tenant, id uuid.UUID, want string, within time.Duration) *Job {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, err := c.Get(context.Background(), tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s (error %q), want %s", id, j.Status, j.Error, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mustEnqueue enqueues spec for the tenant as the system, failing the test on
// error.
func mustEnqueue(t *testing.T, c *Client, tenant uuid.UUID, spec Spec) *Job {
	t.Helper()
	j, err := c.Enqueue(asSystem, tenant, spec)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// taskOf is the Asynq task a worker receives for the job.
func taskOf(j *Job) *asynq.Task {
	b, err := json.Marshal(taskPayload{Tenant: j.TenantID, Job: j.ID})
	if err != nil {
		panic(err)
	}
	return asynq.NewTask(j.Type, b)
}

// ownerExec runs a statement as the owner, past row-level security, failing
// the test on error.
func ownerExec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := testkit.Get(t).Owner.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatal(err)
	}
}

// makeDue moves the job's run time a minute into the past.
func makeDue(t *testing.T, id uuid.UUID) {
	t.Helper()
	ownerExec(t, "UPDATE jobs SET run_at = now() - interval '1 minute' WHERE id = ?", id)
}

// flushRedis makes Redis lose every task, as a Redis restart without
// persistence would.
func flushRedis(t *testing.T) {
	t.Helper()
	if err := testkit.Get(t).Redis.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

// await waits for ch, failing the test with msg after d.
func await[T any](t *testing.T, ch <-chan T, d time.Duration, msg string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
	}
	t.Fatal(msg)
	var zero T
	return zero
}

func uniqueType(verb string) string { return "test:" + verb + "-" + uuid.NewString()[:8] }

// setup gives a test the environment, a fresh tenant, a client and a task type
// of its own (see uniqueType).
func setup(t *testing.T, verb string) (*testkit.Env, testkit.Tenant, *Client, string) {
	env := testkit.Get(t)
	return env, env.NewTenant(t), newClient(t), uniqueType(verb)
}

func TestTaskRunsInsideItsTenant(t *testing.T) {
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	c := newClient(t)
	typ := uniqueType("ctx")
	type seen struct {
		txTenant, ctxTenant uuid.UUID
		visible             []uuid.UUID
	}
	got := make(chan seen, 4)
	s := newServer(t, []Handler{{Type: typ, Run: func(ctx context.Context, tx bun.Tx, j *Job) error {
		var sn seen
		sn.txTenant, _ = db.TenantOf(ctx)
		tn, _ := tenancy.From(ctx)
		sn.ctxTenant = tn.ID
		// No tenant filter on purpose: RLS alone must confine it.
		if err := tx.NewSelect().Table("jobs").ColumnExpr("DISTINCT tenant_id").Scan(ctx, &sn.visible); err != nil {
			return err
		}
		got <- sn
		return nil
	}}}, nil)
	start(t, s)
	mustEnqueue(t, c, b.ID, Spec{Type: "test:other"})
	j := mustEnqueue(t, c, a.ID, Spec{Type: typ})
	sn := await(t, got, 10*time.Second, "task never ran")
	if sn.txTenant != a.ID || sn.ctxTenant != a.ID {
		t.Fatalf("ran in tenant %s / %s, want %s", sn.txTenant, sn.ctxTenant, a.ID)
	}
	if len(sn.visible) != 1 || sn.visible[0] != a.ID {
		t.Fatalf("handler saw tenants %v", sn.visible)
	}
	waitStatus(t, c, a.ID, j.ID, StatusSucceeded, 5*time.Second)
}

func TestSweeperRecoversWorkAfterRedisIsWiped(t *testing.T) {
	_, a, c, typ := setup(t, "sweep")
	effects(t)
	j := mustEnqueue(t, c, a.ID, Spec{Type: typ})
	// Redis loses everything before any worker ran the task.
	flushRedis(t)
	makeDue(t, j.ID)
	s := newServer(t, []Handler{{Type: typ, Run: addEffect}}, nil)
	start(t, s)
	time.Sleep(500 * time.Millisecond)
	if st, _ := c.Get(context.Background(), a.ID, j.ID); st.Status != StatusQueued {
		t.Fatalf("job ran without the sweeper (%s): the test proves nothing", st.Status)
	}
	n, err := s.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("sweeper re-enqueued %d jobs", n)
	}
	waitStatus(t, c, a.ID, j.ID, StatusSucceeded, 10*time.Second)
	if got := countEffects(t, j.ID); got != 1 {
		t.Fatalf("%d effects", got)
	}
	// A second sweep finds nothing to do.
	if n, _ := s.Sweep(context.Background()); n != 0 {
		t.Fatalf("second sweep re-enqueued %d", n)
	}

	// A worker died mid-run and Redis lost the task too: the row says running
	// with a stale heartbeat. The periodic sweeper (not a direct call) hands it on.
	j2 := mustEnqueue(t, c, a.ID, Spec{Type: typ, RunAt: time.Now().Add(time.Hour)})
	flushRedis(t)
	ownerExec(t, `UPDATE jobs SET status = 'running', attempts = 1,
		heartbeat_at = now() - interval '5 minutes', run_at = now() - interval '6 minutes' WHERE id = ?`, j2.ID)
	start(t, newServer(t, []Handler{{Type: typ, Run: addEffect}}, func(o *ServerOptions) { o.SweepInterval = 200 * time.Millisecond }))
	got := waitStatus(t, c, a.ID, j2.ID, StatusSucceeded, 10*time.Second)
	if got.Attempts != 2 || countEffects(t, j2.ID) != 1 {
		t.Fatalf("stale running job finished after %d attempts with %d effects", got.Attempts, countEffects(t, j2.ID))
	}
}

func TestSweeperReplacesATaskAsynqGaveUpOn(t *testing.T) {
	_, a, c, typ := setup(t, "revive")
	effects(t)
	j := mustEnqueue(t, c, a.ID, Spec{Type: typ})
	// Asynq archived the task (its retries ran out on deliveries that never
	// reached the handler) while the row still has attempts left.
	insp := asynq.NewInspector(redisOpt(t))
	defer insp.Close()
	if err := insp.ArchiveTask(QueueDefault, j.ID.String()); err != nil {
		t.Fatal(err)
	}
	makeDue(t, j.ID)
	s := newServer(t, []Handler{{Type: typ, Run: addEffect}}, nil)
	if n, err := s.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want the archived task replaced", n, err)
	}
	start(t, s)
	waitStatus(t, c, a.ID, j.ID, StatusSucceeded, 10*time.Second)
	if got := countEffects(t, j.ID); got != 1 {
		t.Fatalf("%d effects", got)
	}
}

func TestEnqueueWithRedisDownKeepsTheJobForTheSweeper(t *testing.T) {
	env := testkit.Get(t)
	effects(t)
	a := env.NewTenant(t)
	down := NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1"}, env.App, quiet)
	defer down.Close()
	typ := uniqueType("down")
	began := time.Now()
	j, err := down.Enqueue(asSystem, a.ID, Spec{Type: typ})
	if err != nil {
		t.Fatalf("enqueue failed with Redis down: %v", err)
	}
	if took := time.Since(began); took > pushTimeout+time.Second {
		t.Fatalf("enqueue with Redis down took %s", took)
	}
	makeDue(t, j.ID)
	s := newServer(t, []Handler{{Type: typ, Run: addEffect}}, nil)
	start(t, s)
	if n, err := s.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	waitStatus(t, newClient(t), a.ID, j.ID, StatusSucceeded, 10*time.Second)
}

func TestEnqueueFollowsTheCallersTransaction(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	c := newClient(t)
	insp := asynq.NewInspector(redisOpt(t))
	defer insp.Close()
	inRedis := func(id uuid.UUID) bool {
		_, err := insp.GetTaskInfo(QueueDefault, id.String())
		return err == nil
	}
	later := time.Now().Add(time.Hour)
	var rolledBack uuid.UUID
	errRollback := errors.New("rollback")
	err := db.InTenant(asSystem, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		j, err := c.Enqueue(ctx, a.ID, Spec{Type: "test:tx", RunAt: later})
		if err != nil {
			return err
		}
		rolledBack = j.ID
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), a.ID, rolledBack); !errs.Is(err, errs.NotFound) || inRedis(rolledBack) {
		t.Fatalf("a rolled-back enqueue left a row (%v) or a task (%v)", err, inRedis(rolledBack))
	}
	var committed uuid.UUID
	err = db.InTenant(asSystem, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		j, err := c.Enqueue(ctx, a.ID, Spec{Type: "test:tx", RunAt: later})
		if err != nil {
			return err
		}
		committed = j.ID
		if inRedis(j.ID) {
			return errors.New("task handed to Redis before the transaction committed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !inRedis(committed) {
		t.Fatal("committed job was not handed to Redis")
	}
}

func TestLongJobResumesFromItsCheckpoint(t *testing.T) {
	env, a, c, typ := setup(t, "import")
	effects(t)
	var hiccup atomic.Bool
	hiccup.Store(true)
	type mark struct{ Next int }
	h := Handler{Type: typ, Queue: QueueBulk, RunLong: func(ctx context.Context, j *Job) error {
		var cp mark
		if _, err := j.LoadCheckpoint(&cp); err != nil {
			return err
		}
		for i := cp.Next; i < 5; i++ {
			if j.Canceled(ctx) {
				return ErrCanceled
			}
			err := db.InTenant(ctx, env.App, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
				if err := addEffect(ctx, tx, j); err != nil {
					return err
				}
				return j.SaveCheckpoint(ctx, tx, mark{Next: i + 1})
			})
			if err != nil {
				return err
			}
			if err := j.Progress(ctx, int64(i+1), 5); err != nil {
				return err
			}
			if i == 2 && hiccup.CompareAndSwap(true, false) {
				return errs.InternalErr(errors.New("disk hiccup"))
			}
		}
		return j.SetResult(map[string]int{"rows": 5})
	}}
	s := newServer(t, []Handler{h}, nil)
	j := mustEnqueue(t, c, a.ID, Spec{Type: typ, Queue: QueueBulk, RunAt: time.Now().Add(time.Hour)})
	task := taskOf(j)
	if err := s.process(context.Background(), task); err == nil {
		t.Fatal("the failed first run reported success")
	}
	mid, _ := c.Get(context.Background(), a.ID, j.ID)
	var cp mark
	if _, err := mid.LoadCheckpoint(&cp); err != nil || mid.Status != StatusRetrying || cp.Next != 3 || countEffects(t, j.ID) != 3 {
		t.Fatalf("after the first run: %s, checkpoint %s, %d effects", mid.Status, mid.Checkpoint, countEffects(t, j.ID))
	}
	if err := s.process(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	done, _ := c.Get(context.Background(), a.ID, j.ID)
	var res struct{ Rows int }
	_ = json.Unmarshal(done.Result, &res)
	if done.Status != StatusSucceeded || done.ProgressDone != 5 || done.ProgressTotal == nil || *done.ProgressTotal != 5 ||
		res.Rows != 5 || done.Attempts != 2 {
		t.Fatalf("after the rerun: %+v (result %s)", done, done.Result)
	}
	if got := countEffects(t, j.ID); got != 5 {
		t.Fatalf("%d rows imported, want 5: the rerun did not resume from its checkpoint", got)
	}
}

func TestCancelStopsARunningLongJob(t *testing.T) {
	_, a, c, typ := setup(t, "export")
	started, returned := make(chan struct{}), make(chan error, 1)
	h := Handler{Type: typ, RunLong: func(ctx context.Context, j *Job) error {
		close(started)
		for !j.Canceled(ctx) {
			time.Sleep(20 * time.Millisecond)
		}
		returned <- ErrCanceled
		return ErrCanceled
	}}
	start(t, newServer(t, []Handler{h}, nil))
	j := mustEnqueue(t, c, a.ID, Spec{Type: typ})
	await(t, started, 10*time.Second, "job never started")
	if got, err := c.Cancel(context.Background(), a.ID, j.ID); err != nil || got.Status != StatusCanceled {
		t.Fatalf("cancel: %v %+v", err, got)
	}
	await(t, returned, 5*time.Second, "the running job did not notice the cancel")
	time.Sleep(200 * time.Millisecond)
	got, _ := c.Get(context.Background(), a.ID, j.ID)
	if got.Status != StatusCanceled || got.Error != "" || got.FinishedAt == nil {
		t.Fatalf("canceled job recorded as %s (error %q)", got.Status, got.Error)
	}
}

func TestHandlerRateLimitUsesNoAttempt(t *testing.T) {
	_, a, c, typ := setup(t, "webhook")
	s := newServer(t, []Handler{{Type: typ, Run: func(context.Context, bun.Tx, *Job) error {
		return &RateLimitError{RetryIn: time.Minute} // the partner answered 429
	}}}, nil)
	j := mustEnqueue(t, c, a.ID, Spec{Type: typ, MaxAttempts: 1, RunAt: time.Now().Add(time.Hour)})
	if err := s.process(context.Background(), taskOf(j)); !errors.Is(err, ErrThrottled) {
		t.Fatalf("process returned %v", err)
	}
	got, _ := c.Get(context.Background(), a.ID, j.ID)
	if got.Status != StatusQueued || got.Attempts != 0 || got.RunAt.Before(time.Now().Add(50*time.Second)) {
		t.Fatalf("rate-limited job recorded as %s, %d attempts, run_at %s", got.Status, got.Attempts, got.RunAt)
	}
}

func TestStartRefusesBadHandlersAndSchedules(t *testing.T) {
	run := func(context.Context, bun.Tx, *Job) error { return nil }
	global := func(context.Context, json.RawMessage) error { return nil }
	for name, o := range map[string]ServerOptions{
		"type without module":     {Handlers: []Handler{{Type: "import", Run: run}}},
		"two run functions":       {Handlers: []Handler{{Type: "t:x", Run: run, RunGlobal: global}}},
		"no run function":         {Handlers: []Handler{{Type: "t:x"}}},
		"unknown queue":           {Handlers: []Handler{{Type: "t:x", Run: run, Queue: "urgent"}}},
		"duplicate type":          {Handlers: []Handler{{Type: "t:x", Run: run}, {Type: "t:x", Run: run}}},
		"schedule of tenant task": {Handlers: []Handler{{Type: "t:x", Run: run}}, Schedules: []Schedule{{Name: "x", Cron: "@daily", Type: "t:x"}}},
		"schedule without name":   {Handlers: []Handler{{Type: "t:g", RunGlobal: global}}, Schedules: []Schedule{{Cron: "@daily", Type: "t:g"}}},
	} {
		o.Redis, o.DB, o.Logger, o.SweepInterval = redisOpt(t), testkit.Get(t).App, quiet, -1
		s := NewServer(o)
		if err := s.Start(); err == nil {
			t.Errorf("%s: Start accepted it", name)
		}
		s.Shutdown()
	}
}

func TestRedeliveryHasOneEffect(t *testing.T) {
	_, a, c, typ := setup(t, "twice")
	effects(t)
	var runs atomic.Int32
	s := newServer(t, []Handler{{Type: typ, Run: func(ctx context.Context, tx bun.Tx, j *Job) error {
		runs.Add(1)
		time.Sleep(300 * time.Millisecond)
		return addEffect(ctx, tx, j)
	}}}, func(o *ServerOptions) {
		// No heartbeat during the test (it would stop the superseded run early):
		// the shared transaction alone must keep it to one effect.
		o.HeartbeatInterval = time.Minute
	})

	j := mustEnqueue(t, c, a.ID, Spec{Type: typ})
	task := taskOf(j)
	// Two deliveries at once: both run the handler, one commits.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.process(context.Background(), task)
		}()
	}
	wg.Wait()
	if runs.Load() != 2 {
		t.Fatalf("handler ran %d times for two concurrent deliveries", runs.Load())
	}
	// And a late third delivery after success is skipped.
	if err := s.process(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	if got := countEffects(t, j.ID); got != 1 {
		t.Fatalf("%d effects from repeated deliveries, want 1", got)
	}
	if jj, _ := c.Get(context.Background(), a.ID, j.ID); jj.Status != StatusSucceeded {
		t.Fatalf("status %s", jj.Status)
	}
}

func TestSupersededRunIsStoppedAndCannotOverwriteTheRow(t *testing.T) {
	_, a, c, typ := setup(t, "stale")
	effects(t)
	started := make(chan struct{})
	var cause error
	s := newServer(t, []Handler{{Type: typ, Run: func(ctx context.Context, tx bun.Tx, j *Job) error {
		if err := addEffect(ctx, tx, j); err != nil {
			return err
		}
		close(started)
		select {
		case <-ctx.Done():
			cause = context.Cause(ctx)
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return nil
		}
	}}}, func(o *ServerOptions) { o.HeartbeatInterval = 100 * time.Millisecond })
	j := mustEnqueue(t, c, a.ID, Spec{Type: typ, RunAt: time.Now().Add(time.Hour)})
	result := make(chan error, 1)
	go func() {
		result <- s.process(context.Background(), taskOf(j))
	}()
	<-started
	// Another worker took the job over (the sweeper thought this one dead).
	ownerExec(t, "UPDATE jobs SET attempts = attempts + 1, heartbeat_at = now() WHERE id = ?", j.ID)
	began := time.Now()
	if err := await(t, result, 3*time.Second, "the superseded run was not stopped"); err != nil {
		t.Fatalf("superseded delivery returned %v; it should ack", err)
	}
	if !errors.Is(cause, errLost) || time.Since(began) > time.Second {
		t.Fatalf("run stopped by %v after %s", cause, time.Since(began))
	}
	got, _ := c.Get(context.Background(), a.ID, j.ID)
	if got.Status != StatusRunning || got.Attempts != 2 || got.Error != "" || countEffects(t, j.ID) != 0 {
		t.Fatalf("the stale run changed the row: %s, %d attempts, %q, %d effects", got.Status, got.Attempts, got.Error, countEffects(t, j.ID))
	}
}

func TestShutdownMidTaskRequeuesWithoutDuplicateEffect(t *testing.T) {
	_, a, c, typ := setup(t, "sigterm")
	effects(t)
	var attempts atomic.Int32
	started := make(chan struct{}, 1)
	h := Handler{Type: typ, Run: func(ctx context.Context, tx bun.Tx, j *Job) error {
		if err := addEffect(ctx, tx, j); err != nil {
			return err
		}
		if attempts.Add(1) == 1 {
			started <- struct{}{}
			<-ctx.Done() // the first run is still busy when the worker is told to stop
			return ctx.Err()
		}
		return nil
	}}
	s1 := newServer(t, []Handler{h}, func(o *ServerOptions) { o.ShutdownTimeout = time.Second })
	start(t, s1)
	j := mustEnqueue(t, c, a.ID, Spec{Type: typ})
	await(t, started, 10*time.Second, "task never started")
	s1.Shutdown()
	if got := countEffects(t, j.ID); got != 0 {
		t.Fatalf("interrupted run left %d effects", got)
	}
	if jj, _ := c.Get(context.Background(), a.ID, j.ID); jj.Status != StatusQueued || jj.Attempts != 1 {
		t.Fatalf("interrupted job is %s after %d attempts, want queued after 1", jj.Status, jj.Attempts)
	}
	s2 := newServer(t, []Handler{h}, nil)
	start(t, s2)
	waitStatus(t, c, a.ID, j.ID, StatusSucceeded, 15*time.Second)
	if got := countEffects(t, j.ID); got != 1 {
		t.Fatalf("%d effects after the rerun, want 1", got)
	}
	if attempts.Load() != 2 {
		t.Fatalf("handler ran %d times, want 2", attempts.Load())
	}
}

func TestBulkThrottlePerTenant(t *testing.T) {
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	c := newClient(t)
	typ := uniqueType("bulk")
	var mu sync.Mutex
	running := map[uuid.UUID]int{}
	maxRunning := map[uuid.UUID]int{}
	var bStartedWhileABusy atomic.Bool
	// Tenant A's running task waits until B's task has started (10 s at most):
	// if A's bulk work made B wait, B cannot start while A runs, and the check
	// fails however fast or slow the machine is.
	bStarted := make(chan struct{})
	var bOnce sync.Once
	// B's task is enqueued only once one of A's runs, so B cannot simply be
	// dequeued first and start before A is busy.
	aStarted := make(chan struct{})
	var aOnce sync.Once
	h := Handler{Type: typ, Queue: QueueBulk, Run: func(ctx context.Context, tx bun.Tx, j *Job) error {
		mu.Lock()
		running[j.TenantID]++
		if running[j.TenantID] > maxRunning[j.TenantID] {
			maxRunning[j.TenantID] = running[j.TenantID]
		}
		if j.TenantID == b.ID {
			if running[a.ID] > 0 {
				bStartedWhileABusy.Store(true)
			}
			bOnce.Do(func() { close(bStarted) })
		}
		mu.Unlock()
		if j.TenantID == a.ID {
			aOnce.Do(func() { close(aStarted) })
			select {
			case <-bStarted:
			case <-time.After(10 * time.Second):
			}
		}
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		running[j.TenantID]--
		mu.Unlock()
		return nil
	}}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	s := newServer(t, []Handler{h}, func(o *ServerOptions) { o.BulkPerTenant = 1; o.Metrics = m; o.Concurrency = 6 })
	var ids []uuid.UUID
	// Five tasks of tenant A, one at a time under the limit.
	for i := 0; i < 5; i++ {
		// One attempt each: a throttled delivery must use neither an attempt nor
		// one of Asynq's retries, or the task would be archived unrun.
		j := mustEnqueue(t, c, a.ID, Spec{Type: typ, Queue: QueueBulk, MaxAttempts: 1})
		ids = append(ids, j.ID)
	}
	start(t, s)
	await(t, aStarted, 30*time.Second, "none of tenant A's bulk tasks started")
	jb := mustEnqueue(t, c, b.ID, Spec{Type: typ, Queue: QueueBulk})
	for _, id := range ids {
		waitStatus(t, c, a.ID, id, StatusSucceeded, 30*time.Second)
	}
	waitStatus(t, c, b.ID, jb.ID, StatusSucceeded, 5*time.Second)
	if maxRunning[a.ID] != 1 {
		t.Fatalf("tenant A ran %d bulk tasks at once, limit 1", maxRunning[a.ID])
	}
	if !bStartedWhileABusy.Load() {
		t.Fatal("tenant B waited for tenant A's bulk work")
	}
	throttled := testutil.ToFloat64(m.processed.WithLabelValues(typ, QueueBulk, "throttled"))
	failures := testutil.ToFloat64(m.processed.WithLabelValues(typ, QueueBulk, "failure"))
	if throttled < 1 || failures != 0 {
		t.Fatalf("throttled %v failures %v", throttled, failures)
	}
	for _, id := range ids {
		j, _ := c.Get(context.Background(), a.ID, id)
		if j.Attempts != 1 {
			t.Fatalf("throttling cost attempts: %d", j.Attempts)
		}
	}
}

func TestScheduleEnqueuesOncePerPeriodAcrossReplicas(t *testing.T) {
	typ := uniqueType("tick")
	var runs atomic.Int32
	h := Handler{Type: typ, RunGlobal: func(context.Context, json.RawMessage) error { runs.Add(1); return nil }}
	sc := []Schedule{{Name: "tick-" + typ, Cron: "@every 2s", Type: typ}}
	began := time.Now()
	for i := 0; i < 2; i++ {
		s := newServer(t, []Handler{h}, func(o *ServerOptions) { o.NoScheduler = false; o.Schedules = sc })
		start(t, s)
	}
	time.Sleep(7 * time.Second)
	periods := int32(time.Since(began) / (2 * time.Second))
	got := runs.Load()
	if got < 1 || got > periods+1 {
		t.Fatalf("%d runs in %d periods with two schedulers; want at most one per period", got, periods)
	}
}

func TestPermanentErrorsAndPanicsAreRecorded(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	c := newClient(t)
	bad, boom := uniqueType("bad"), uniqueType("boom")
	var badRuns atomic.Int32
	s := newServer(t, []Handler{
		{Type: bad, Run: func(context.Context, bun.Tx, *Job) error {
			badRuns.Add(1)
			return errs.Field("payload.email", "is not an email address")
		}},
		{Type: boom, Run: func(context.Context, bun.Tx, *Job) error { panic("kaboom secret=xyz") }},
	}, nil)
	start(t, s)
	jb := mustEnqueue(t, c, a.ID, Spec{Type: bad})
	jp := mustEnqueue(t, c, a.ID, Spec{Type: boom, MaxAttempts: 1})
	jr := mustEnqueue(t, c, a.ID, Spec{Type: boom, MaxAttempts: 3})
	// With attempts left, a panic leaves the job waiting for its retry, not running.
	got := waitStatus(t, c, a.ID, jr.ID, StatusRetrying, 10*time.Second)
	if got.Attempts != 1 || got.Error == "" || strings.Contains(got.Error, "secret") || !got.RunAt.After(time.Now()) {
		t.Fatalf("panic with attempts left recorded as %+v", got)
	}
	got = waitStatus(t, c, a.ID, jb.ID, StatusFailed, 10*time.Second)
	if !strings.Contains(got.Error, "payload.email") || got.Attempts != 1 {
		t.Fatalf("permanent failure recorded as %+v", got)
	}
	time.Sleep(500 * time.Millisecond)
	if badRuns.Load() != 1 {
		t.Fatalf("a permanent error was retried (%d runs)", badRuns.Load())
	}
	got = waitStatus(t, c, a.ID, jp.ID, StatusFailed, 10*time.Second)
	if strings.Contains(got.Error, "secret") || got.FinishedAt == nil {
		t.Fatalf("panic recorded as %+v", got)
	}
}

func TestJobsOfAnotherTenantAreNotFound(t *testing.T) {
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	c := newClient(t)
	j := mustEnqueue(t, c, a.ID, Spec{Type: "test:mine", RunAt: time.Now().Add(time.Hour)})
	if _, err := c.Get(context.Background(), b.ID, j.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("get: %v", err)
	}
	if _, err := c.Cancel(context.Background(), b.ID, j.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("cancel: %v", err)
	}
	items, _, err := c.List(context.Background(), b.ID, ListFilter{})
	if err != nil || len(items) != 0 {
		t.Fatalf("list: %v %v", items, err)
	}
	if jj, err := c.Cancel(context.Background(), a.ID, j.ID); err != nil || jj.Status != StatusCanceled {
		t.Fatalf("own cancel: %v %+v", err, jj)
	}
	if _, err := c.Cancel(context.Background(), a.ID, j.ID); !errs.Is(err, errs.Conflict) {
		t.Fatalf("second cancel: %v", err)
	}
}

func TestListPagesAndDedupe(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	c := newClient(t)
	later := time.Now().Add(time.Hour)
	for i := 0; i < 5; i++ {
		mustEnqueue(t, c, a.ID, Spec{Type: "test:page", RunAt: later})
	}
	first := mustEnqueue(t, c, a.ID, Spec{Type: "test:dedupe", DedupeKey: "k1", RunAt: later})
	again, err := c.Enqueue(asSystem, a.ID, Spec{Type: "test:dedupe", DedupeKey: "k1", RunAt: later})
	if err != nil || again.ID != first.ID {
		t.Fatalf("dedupe gave %v %v, want %s", again, err, first.ID)
	}
	seen := map[uuid.UUID]bool{}
	cur := ""
	for page := 0; page < 10; page++ {
		items, next, err := c.List(context.Background(), a.ID, ListFilter{Limit: 2, Cursor: cur})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if seen[it.ID] {
				t.Fatalf("job %s on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		if next == "" {
			break
		}
		cur = next
	}
	if len(seen) != 6 {
		t.Fatalf("pages covered %d jobs, want 6", len(seen))
	}
	if _, _, err := c.List(context.Background(), a.ID, ListFilter{Cursor: "garbage"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestMetricsLintAndCarryNoTenant(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	RegisterQueueMetrics(reg, redisOpt(t))
	typ := uniqueType("metric")
	s := newServer(t, []Handler{{Type: typ, Run: func(context.Context, bun.Tx, *Job) error { return nil }}}, func(o *ServerOptions) { o.Metrics = m })
	c := newClient(t)
	c.SetMetrics(m)
	start(t, s)
	j := mustEnqueue(t, c, a.ID, Spec{Type: typ})
	waitStatus(t, c, a.ID, j.ID, StatusSucceeded, 10*time.Second)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	mfs, _ := reg.Gather()
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		for _, mm := range mf.GetMetric() {
			for _, l := range mm.GetLabel() {
				if strings.Contains(l.GetValue(), a.ID.String()) || l.GetName() == "tenant" || l.GetName() == "tenant_id" {
					t.Errorf("%s carries a tenant label %s=%s", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	for _, want := range []string{"clientele_jobs_processed_total", "clientele_job_duration_seconds", "clientele_jobs_enqueued_total", "asynq_queue_size", "asynq_queue_latency_seconds"} {
		if !names[want] {
			t.Errorf("missing metric %s", want)
		}
	}
	if v := testutil.ToFloat64(m.processed.WithLabelValues(typ, QueueDefault, "success")); v != 1 {
		t.Errorf("success count %v", v)
	}
}

func TestMaintenanceCreatesMissingPartitionsAsTheAppRole(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	ahead := time.Now().UTC().AddDate(0, 3, 0).Format("200601")
	if _, err := env.Owner.ExecContext(ctx, "DROP TABLE IF EXISTS audit_log_p"+ahead); err != nil {
		t.Fatal(err)
	}
	hs := MaintenanceHandlers(env.App)
	if len(hs) != 1 || hs[0].Type != TypePartitions {
		t.Fatalf("maintenance handlers %+v", hs)
	}
	if err := hs[0].RunGlobal(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := env.Owner.NewRaw("SELECT to_regclass(?) IS NOT NULL", "audit_log_p"+ahead).Scan(ctx, &exists); err != nil || !exists {
		t.Fatalf("partition audit_log_p%s missing after upkeep (%v)", ahead, err)
	}
	// The kernel's schedule is valid for the kernel's handlers.
	s := newServer(t, hs, func(o *ServerOptions) { o.NoScheduler = false; o.Schedules = MaintenanceSchedules() })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
}

// After a Redis flush a backlog larger than one page (10,000 reminders due in
// the same minute) is handed back in one sweep, not a page per interval.
func TestSweepHandsBackABacklogLargerThanAPage(t *testing.T) {
	env, a, c, typ := setup(t, "backlog")
	const n = 2*sweepBatch + 500
	if err := db.InTenant(asSystem, env.App, a.ID, func(ctx context.Context, _ bun.Tx) error {
		for i := 0; i < n; i++ {
			if _, err := c.Enqueue(ctx, a.ID, Spec{Type: typ, RunAt: time.Now().Add(time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	flushRedis(t)
	ownerExec(t, "UPDATE jobs SET run_at = now() - interval '1 minute' WHERE tenant_id = ? AND task_type = ?", a.ID, typ)
	s := newServer(t, []Handler{{Type: typ, Run: addEffect}}, nil) // not started: the tasks stay in Redis
	got, err := s.Sweep(context.Background())
	if err != nil || got != n {
		t.Fatalf("one sweep handed back %d of %d jobs (%v)", got, n, err)
	}
	if again, _ := s.Sweep(context.Background()); again != 0 {
		t.Fatalf("a second sweep handed back %d more", again)
	}
}
