package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/logx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// errLost is the cause of a run's context when its heartbeat finds the row no
// longer its own (canceled by a user, or taken over by a newer run).
var errLost = errors.New("jobs: the run lost its job")

// process is the middleware every task goes through.
func (s *Server) process(ctx context.Context, t *asynq.Task) error {
	s.inflight.Add(1)
	defer s.inflight.Done()
	h := s.handlers[t.Type()]
	queue, ok := asynq.GetQueueName(ctx)
	if !ok {
		queue = h.queue()
	}
	d := s.o.Metrics.begin(t.Type(), queue)
	defer d.finish()

	ctx, cancel := context.WithTimeout(ctx, h.timeout())
	defer cancel()
	if h.Global() {
		return s.processGlobal(ctx, h, t, d)
	}

	var p taskPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Tenant == uuid.Nil || p.Job == uuid.Nil {
		d.outcome = OutcomeFailure
		s.log.ErrorContext(ctx, "jobs: malformed task payload", "task_type", t.Type())
		return fmt.Errorf("jobs: %s: malformed payload: %w", t.Type(), asynq.SkipRetry)
	}
	ctx = logx.With(ctx, "tenant_id", p.Tenant.String(), "job_id", p.Job.String(), "task_type", t.Type())
	ctx = tenancy.With(ctx, tenancy.Tenant{ID: p.Tenant})

	bulk := queue == QueueBulk
	if bulk {
		ok, err := s.throttle.acquire(ctx, p.Tenant, p.Job)
		if err != nil {
			d.outcome = OutcomeRetry
			return fmt.Errorf("jobs: bulk lease: %w", err)
		}
		if !ok {
			d.outcome = OutcomeThrottled
			return &RateLimitError{RetryIn: s.o.ThrottleRetry}
		}
		defer s.throttle.release(context.WithoutCancel(ctx), p.Tenant, p.Job)
	}

	j, ok, err := s.begin(ctx, p.Tenant, p.Job)
	if err != nil {
		d.outcome = OutcomeRetry
		return err
	}
	if !ok {
		d.outcome = OutcomeSkipped // finished, canceled or gone: an idempotent re-delivery
		return nil
	}
	j.run = &runState{db: s.o.DB}
	// The handler acts as the requester, with exactly the rights they had.
	runCtx, stopRun := context.WithCancelCause(authz.WithActor(ctx, j.actor()))
	defer stopRun(nil)
	stopBeat := s.heartbeat(runCtx, j, bulk, stopRun)
	runErr := s.run(runCtx, h, j)
	stopBeat()
	if runErr == nil {
		return nil
	}
	return s.fail(runCtx, h, t, j, runErr, d)
}

func (s *Server) processGlobal(ctx context.Context, h Handler, t *asynq.Task, d *delivery) error {
	// Global work (schedules, upkeep, fan-outs) is nobody's request: it acts as
	// the system, explicitly.
	ctx = authz.AsSystem(logx.With(ctx, "task_type", t.Type()))
	err := safe(func() error { return h.RunGlobal(ctx, t.Payload()) })
	if err == nil {
		return nil
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	if permanent(err) || retried >= maxRetry {
		d.outcome = OutcomeFailure
		s.log.ErrorContext(ctx, "jobs: global task failed", "error", err.Error())
		return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
	}
	d.outcome = OutcomeRetry
	s.log.WarnContext(ctx, "jobs: global task failed; it will be retried", "error", err.Error())
	return err
}

// begin marks the job running for a new attempt, or reports false when there is
// nothing to run: the job finished, was canceled, or does not exist.
func (s *Server) begin(ctx context.Context, tenant, id uuid.UUID) (*Job, bool, error) {
	j := &Job{}
	ok := false
	err := db.InTenant(ctx, s.o.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		// least() keeps the first start (it ignores NULL): Citus refuses now()
		// inside COALESCE or CASE in an UPDATE of a distributed table.
		res, err := tx.NewUpdate().Model(j).
			Set("status = ?", StatusRunning).Set("attempts = attempts + 1").
			Set("started_at = least(started_at, now())").Set("heartbeat_at = now()").Set("updated_at = now()").
			Where("tenant_id = ? AND id = ?", tenant, id).
			Where("status IN (?)", bun.In([]string{StatusQueued, StatusRetrying, StatusRunning})).
			Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("jobs: begin %s: %w", id, err)
	}
	return j, ok, nil
}

// errNotOwner rolls back a run's final transaction when the row is no longer the
// run's: a newer run took over, or a user canceled it.
var errNotOwner = errors.New("jobs: the job is no longer this run's")

func (s *Server) run(ctx context.Context, h Handler, j *Job) error {
	if h.Run != nil {
		return db.InTenant(ctx, s.o.DB, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
			if err := safe(func() error { return h.Run(ctx, tx, j) }); err != nil {
				return err
			}
			return s.succeed(ctx, tx, j)
		})
	}
	if err := safe(func() error { return h.RunLong(ctx, j) }); err != nil {
		return err
	}
	return db.InTenant(ctx, s.o.DB, j.TenantID, func(ctx context.Context, tx bun.Tx) error { return s.succeed(ctx, tx, j) })
}

// succeed marks the job done in tx, the handler's own transaction for Run.
func (s *Server) succeed(ctx context.Context, tx bun.Tx, j *Job) error {
	q := owned(tx.NewUpdate().Table("jobs"), j).
		Set("status = ?", StatusSucceeded).Set("finished_at = now()").Set("updated_at = now()").Set("error = NULL").
		Set("progress_done = coalesce(progress_total, progress_done)")
	if len(j.Result) > 0 {
		q = q.Set("result = ?", string(j.Result))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errNotOwner
	}
	return nil
}

// fail records a failed attempt and tells Asynq what to do next.
func (s *Server) fail(ctx context.Context, h Handler, t *asynq.Task, j *Job, runErr error, d *delivery) error {
	var (
		status   = StatusRetrying
		msg      = clientMessage(runErr)
		runAt    = time.Now()
		attempts = j.Attempts
		final    bool
		rl       *RateLimitError
		retried  = asynqRetried(ctx)
	)
	switch {
	case errors.Is(runErr, errNotOwner) || errors.Is(context.Cause(ctx), errLost):
		d.outcome = OutcomeSkipped
		return nil
	case errors.As(runErr, &rl):
		// Not an attempt: give it back, and let Asynq ask again later.
		status, attempts, runAt, msg = StatusQueued, j.Attempts-1, runAt.Add(rl.RetryIn), ""
	case ctx.Err() != nil && s.stopping.Load() && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// Shut down mid-run: Asynq has put the task back in its queue.
		status, msg = StatusQueued, "Interrupted by a worker restart; it runs again."
	case permanent(runErr) || j.Attempts >= h.maxAttempts(j):
		status, final = StatusFailed, true
	default:
		runAt = runAt.Add(retryDelay(retried, runErr, t))
	}
	var n int64
	err := db.InTenant(context.WithoutCancel(ctx), s.o.DB, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
		q := owned(tx.NewUpdate().Table("jobs"), j).
			Set("status = ?", status).Set("attempts = ?", attempts).Set("updated_at = now()")
		if msg == "" {
			q = q.Set("error = NULL")
		} else {
			q = q.Set("error = ?", msg)
		}
		if final {
			q = q.Set("finished_at = now()")
		} else {
			q = q.Set("run_at = ?", runAt.UTC())
		}
		res, err := q.Exec(ctx)
		if err == nil {
			n, _ = res.RowsAffected()
		}
		return err
	})
	switch {
	case err != nil:
		// The row still says running. Let Asynq retry the delivery (never archive
		// it): the next one finds the row and decides again.
		d.outcome = OutcomeRetry
		s.log.ErrorContext(ctx, "jobs: cannot record a failed attempt", "error", err.Error(), "run_error", runErr.Error())
		return fmt.Errorf("jobs: record failure: %w", err)
	case n == 0:
		// Canceled, or a newer run holds the row: this delivery has nothing left to do.
		d.outcome = OutcomeSkipped
		return nil
	case rl != nil:
		d.outcome = OutcomeThrottled
		return rl
	case final:
		d.outcome = OutcomeFailure
		s.log.WarnContext(ctx, "jobs: job failed", "attempt", j.Attempts, "error", runErr.Error())
		return fmt.Errorf("%w (%w)", runErr, asynq.SkipRetry)
	}
	d.outcome = OutcomeRetry
	s.log.WarnContext(ctx, "jobs: attempt failed", "status", status, "attempt", j.Attempts, "error", runErr.Error())
	return runErr
}

// Permanent reports whether err ends a job at once (no retry): handlers use it to
// mark their own records failed when the job will not run again.
func Permanent(err error) bool { return permanent(err) }

// permanent reports errors that another attempt cannot fix: invalid input, a
// missing record, a forbidden action. Internal errors, timeouts, unavailable
// dependencies and rate limits are worth another try.
func permanent(err error) bool {
	if errors.Is(err, asynq.SkipRetry) {
		return true
	}
	switch errs.CodeOf(err) {
	case errs.Internal, errs.Timeout, errs.Unavailable, errs.RateLimited:
		return false
	}
	return true
}

// clientMessage is what the job record shows people: client-safe text only.
func clientMessage(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Code != errs.Internal {
		return e.Detail
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "The job ran past its time limit."
	}
	if errs.IsStorageFull(err) {
		return errs.Down(errs.DependencyFiles, err).Detail + " The job is retried automatically."
	}
	return "The job failed on our side. It is retried automatically; if it keeps failing, contact support with the job id."
}

func asynqRetried(ctx context.Context) int {
	n, _ := asynq.GetRetryCount(ctx)
	return n
}

// retryDelay is Asynq's RetryDelayFunc: a throttled task asks again after its
// RetryIn plus jitter; a failed one waits n⁴+15 s plus up to 30(n+1) s of jitter,
// like Asynq's default, but with the jitter derived from the task so that the
// row's run_at and Asynq's retry time agree.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	h := fnv.New64a()
	if t != nil {
		_, _ = h.Write(t.Payload())
	}
	_, _ = fmt.Fprint(h, n)
	sum := h.Sum64()
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl.RetryIn + time.Duration(sum%uint64(rl.RetryIn/2+1))
	}
	if errors.Is(err, asynq.ErrLeaseExpired) {
		// The worker died (Asynq's recoverer found its lease expired), which
		// says nothing about the job: run it again at once, with a second of
		// jitter, rather than backing off.
		return time.Second + time.Duration(sum%uint64(time.Second))
	}
	base := math.Pow(float64(n), 4) + 15
	jitter := float64(sum % uint64(30*(n+1)))
	return time.Duration(min(base+jitter, 7*24*3600) * float64(time.Second))
}

// heartbeat keeps heartbeat_at fresh (and renews the bulk lease) while a job
// runs; when the row is no longer this run's, it cancels the run.
func (s *Server) heartbeat(ctx context.Context, j *Job, bulk bool, stopRun context.CancelCauseFunc) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.o.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var n int64 = 1
			err := db.InTenant(ctx, s.o.DB, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
				res, err := owned(tx.NewUpdate().Table("jobs"), j).Set("heartbeat_at = now()").Exec(ctx)
				if err == nil {
					n, _ = res.RowsAffected()
				}
				return err
			})
			if err == nil && n == 0 {
				stopRun(errLost)
				return
			}
			if bulk {
				_, _ = s.throttle.acquire(ctx, j.TenantID, j.ID)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// safe turns a handler's panic into an Internal error, so the row is marked.
func safe(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.InternalErr(fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	return fn()
}
