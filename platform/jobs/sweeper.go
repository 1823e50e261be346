package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
)

// SweeperRole may read the scheduling columns of every tenant's jobs; the app role
// switches to it only inside the sweeper's read-only transaction.
const SweeperRole = "clientele_sweeper"

const (
	sweepLockKey = "clientele:jobs:sweeper:lock"
	// sweepBatch bounds one page of a sweep; a sweep reads pages until the
	// backlog is exhausted or its lock's time runs low.
	sweepBatch = 1000
	// dueGrace leaves freshly due work to Asynq, which is normally on time.
	dueGrace = 10 * time.Second
)

// staleAfter is how long a running job may go without a heartbeat before the
// sweeper asks whether its worker is alive: two missed beats, and at least
// 30 s. A job found stale is taken over only when no live Asynq server is
// running its task (see resubmit), so a slow heartbeat costs a look, not a
// second run.
func (s *Server) staleAfter() time.Duration { return max(2*s.o.HeartbeatInterval, 30*time.Second) }

// releaseLock deletes the lock only if this sweeper still holds it.
var releaseLock = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

func (s *Server) sweepLoop() {
	defer s.wg.Done()
	// A first sweep soon after start recovers what a Redis loss during a restart
	// dropped, without waiting a whole interval.
	t := time.NewTimer(min(s.o.SweepInterval, 5*time.Second))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), max(s.o.SweepInterval, 10*time.Second))
			if n, err := s.Sweep(ctx); err != nil {
				s.log.Warn("jobs: sweep failed", "error", err.Error())
			} else if n > 0 {
				s.log.Info("jobs: sweeper re-enqueued work the queue did not hold", "jobs", n)
			}
			cancel()
			t.Reset(s.o.SweepInterval)
		}
	}
}

type dueJob struct {
	TenantID    uuid.UUID `bun:"tenant_id"`
	ID          uuid.UUID `bun:"id"`
	Type        string    `bun:"task_type"`
	Queue       string    `bun:"queue"`
	RunAt       time.Time `bun:"run_at"`
	MaxAttempts int       `bun:"max_attempts"`
	Status      string    `bun:"status"`
	Attempts    int       `bun:"attempts"`
}

// Sweep hands Asynq every job that is due but that Asynq does not hold: queued or
// retrying jobs whose time came more than 10 s ago, and running jobs whose worker
// stopped beating 2 minutes ago. A task id conflict means Asynq still has the task
// and is fine, unless Asynq archived or completed it while the row says it is
// not done: then the task is replaced. One replica sweeps at a time; it returns
// how many tasks it enqueued.
func (s *Server) Sweep(ctx context.Context) (int, error) {
	token := uuid.NewString()
	ok, err := s.rdb.SetNX(ctx, sweepLockKey, token, max(s.o.SweepInterval, 10*time.Second)).Result()
	if err != nil {
		return 0, fmt.Errorf("jobs: sweep lock: %w", err)
	}
	if !ok {
		return 0, nil
	}
	defer releaseLock.Run(context.WithoutCancel(ctx), s.rdb, []string{sweepLockKey}, token)

	// Page through the backlog in (run_at, id) order until it is exhausted or
	// the lock's time is nearly spent: after a Redis flush thousands of jobs
	// (10,000 reminders due in one minute) are due at once, and handing them
	// over a batch per interval would make the last ones minutes late.
	deadline := time.Now().Add(max(s.o.SweepInterval, 10*time.Second) * 3 / 4)
	n := 0
	var after *dueJob
	for {
		due, err := s.dueJobs(ctx, after)
		if err != nil {
			return n, err
		}
		for _, d := range due {
			j := &Job{TenantID: d.TenantID, ID: d.ID, Type: d.Type, Queue: d.Queue, RunAt: d.RunAt, MaxAttempts: d.MaxAttempts,
				Status: d.Status, Attempts: d.Attempts}
			pushed, err := s.resubmit(ctx, j)
			if err != nil {
				return n, fmt.Errorf("jobs: sweep %s: %w", d.ID, err)
			}
			if pushed {
				n++
				s.o.Metrics.incSwept()
			}
		}
		if len(due) < sweepBatch || time.Now().After(deadline) || ctx.Err() != nil {
			return n, nil
		}
		after = &due[len(due)-1]
	}
}

// dueJobs reads the due rows of every tenant as the sweeper role, which sees only
// the scheduling columns, in a read-only transaction.
func (s *Server) dueJobs(ctx context.Context, after *dueJob) ([]dueJob, error) {
	var due []dueJob
	err := s.o.DB.RunInTx(ctx, &sql.TxOptions{ReadOnly: true}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+SweeperRole); err != nil {
			return err
		}
		q := tx.NewSelect().Table("jobs").
			Column("tenant_id", "id", "task_type", "queue", "run_at", "max_attempts", "status", "attempts").
			Where("(status IN (?, ?) AND run_at <= now() - make_interval(secs => ?)) OR (status = ? AND heartbeat_at < now() - make_interval(secs => ?))",
				StatusQueued, StatusRetrying, dueGrace.Seconds(), StatusRunning, s.staleAfter().Seconds()).
			Where("task_type IN (?)", bun.In(s.tenantTypes()))
		if after != nil {
			q = q.Where("(run_at, id) > (?, ?)", after.RunAt, after.ID)
		}
		return q.OrderExpr("run_at, id").Limit(sweepBatch).Scan(ctx, &due)
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: sweep scan: %w", err)
	}
	return due, nil
}

// resubmit enqueues j's task unless Asynq still holds a live one.
func (s *Server) resubmit(ctx context.Context, j *Job) (bool, error) {
	err := enqueueTask(ctx, s.client, j)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
		return false, err
	}
	info, err := s.insp.GetTaskInfo(j.Queue, j.ID.String())
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return false, nil // gone meanwhile; the next sweep enqueues it
	case err != nil:
		return false, err
	case info.State == asynq.TaskStateActive && j.Status == StatusRunning:
		// The row stopped beating while Asynq still counts the task active. A
		// worker killed outright (SIGKILL, OOM, a lost node) leaves it so
		// until Asynq's lease expires and its recoverer, once a minute, hands
		// the task back: up to two minutes. When no live server is running
		// it, hand the job to a new task now; begin() lets the new run take
		// the row over, and the old task, recovered later, supersedes it
		// only to resume from the same checkpoint.
		if alive, err := s.runningSomewhere(j); err != nil || alive {
			return false, err
		}
		return s.takeOver(ctx, j)
	case info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted:
		return false, nil // pending, scheduled, retrying or running: nothing lost
	}
	// Asynq gave up on a task whose row still has work to do (its retries ran out
	// on deliveries that never reached the handler): replace it.
	if err := s.insp.DeleteTask(j.Queue, j.ID.String()); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return false, err
	}
	if err := enqueueTask(ctx, s.client, j); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return false, err
	}
	return true, nil
}

// tenantTypes are the tenant task types this worker handles: a worker sweeps only
// what it can run.
func (s *Server) tenantTypes() []string {
	out := make([]string, 0, len(s.handlers))
	for t, h := range s.handlers {
		if !h.Global() {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = append(out, "")
	}
	return out
}

// runningSomewhere reports whether a live Asynq server is running j's task.
// A server that died stops renewing its record within seconds.
func (s *Server) runningSomewhere(j *Job) (bool, error) {
	servers, err := s.insp.Servers()
	if err != nil {
		return false, fmt.Errorf("jobs: list workers: %w", err)
	}
	id := j.ID.String()
	for _, srv := range servers {
		for _, w := range srv.ActiveWorkers {
			if w.TaskID == id || strings.HasPrefix(w.TaskID, id+takeoverSep) {
				return true, nil
			}
		}
	}
	return false, nil
}

// takeoverSep joins a job id and its attempt in a takeover task's id.
const takeoverSep = ":takeover:"

// takeOver enqueues a task for j under an id of its own, one per attempt, so
// that sweeps by several replicas, or one after another, take it over once.
func (s *Server) takeOver(ctx context.Context, j *Job) (bool, error) {
	// Due now: a takeover is never scheduled for later.
	j.RunAt = time.Now()
	err := enqueueTaskAs(ctx, s.client, j, j.ID.String()+takeoverSep+strconv.Itoa(j.Attempts))
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.log.Warn("jobs: a running job's worker is gone; another takes it over", "job_id", j.ID.String(), "attempt", j.Attempts)
	return true, nil
}
