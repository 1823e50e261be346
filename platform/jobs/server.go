package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/logx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// ServerOptions configure the worker.
type ServerOptions struct {
	Redis           asynq.RedisConnOpt
	DB              *bun.DB
	Concurrency     int
	BulkPerTenant   int           // concurrent bulk tasks per tenant
	ShutdownTimeout time.Duration // in-flight tasks get this long, then go back to the queue
	Logger          *slog.Logger
	Metrics         *Metrics
	Handlers        []Handler
	Schedules       []Schedule
	SweepInterval   time.Duration // zero: 30s; negative: no sweeper loop (tests call Sweep)
	NoScheduler     bool          // tests that start several servers
	// PollInterval is how often an idle worker looks for tasks; zero: Asynq's 1s.
	PollInterval time.Duration
	// HeartbeatInterval is how often a running job proves it is alive; zero: 15s.
	HeartbeatInterval time.Duration
	// ThrottleRetry is how long a throttled bulk task waits; zero: 5s.
	ThrottleRetry time.Duration
}

// Server processes tasks and runs the scheduler and the sweeper.
type Server struct {
	o        ServerOptions
	log      *slog.Logger
	srv      *asynq.Server
	sched    *asynq.Scheduler
	client   *asynq.Client
	rdb      redis.UniversalClient
	handlers map[string]Handler
	throttle *throttle
	stop     chan struct{}
	wg       sync.WaitGroup

	shutdownOnce sync.Once
}

// RateLimitError asks for a later retry that is not a failure and uses no retry.
type RateLimitError struct{ RetryIn time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("throttled: tenant is at its bulk limit; retry in %s", e.RetryIn)
}

// NewServer builds the worker; Start runs it.
func NewServer(o ServerOptions) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 10
	}
	if o.BulkPerTenant <= 0 {
		o.BulkPerTenant = 2
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 25 * time.Second
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = 30 * time.Second
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 15 * time.Second
	}
	if o.ThrottleRetry <= 0 {
		o.ThrottleRetry = 5 * time.Second
	}
	s := &Server{o: o, log: o.Logger, handlers: map[string]Handler{}, stop: make(chan struct{})}
	for _, h := range o.Handlers {
		s.handlers[h.Type] = h
		if o.Metrics != nil {
			// Export zeros from the start, so rates and alerts work before the first task.
			q := h.Queue
			if q == "" {
				q = QueueDefault
			}
			for _, oc := range []string{"success", "failure"} {
				o.Metrics.processed.WithLabelValues(h.Type, q, oc)
			}
		}
	}
	s.rdb = o.Redis.MakeRedisClient().(redis.UniversalClient)
	s.throttle = &throttle{rdb: s.rdb, limit: o.BulkPerTenant, lease: 2 * time.Minute}
	s.client = asynq.NewClient(o.Redis)
	cfg := asynq.Config{
		Concurrency:     o.Concurrency,
		Queues:          Queues,
		ShutdownTimeout: o.ShutdownTimeout,
		IsFailure: func(err error) bool {
			var rl *RateLimitError
			return !errors.As(err, &rl)
		},
		RetryDelayFunc: func(n int, err error, t *asynq.Task) time.Duration {
			var rl *RateLimitError
			if errors.As(err, &rl) {
				return rl.RetryIn + time.Duration(rand.Int64N(int64(rl.RetryIn/2)+1))
			}
			return asynq.DefaultRetryDelayFunc(n, err, t)
		},
		Logger:   asynqLogger{s.log},
		LogLevel: asynq.WarnLevel,
	}
	if o.PollInterval > 0 {
		cfg.TaskCheckInterval = o.PollInterval
		cfg.DelayedTaskCheckInterval = o.PollInterval
	}
	s.srv = asynq.NewServer(o.Redis, cfg)
	if !o.NoScheduler && len(o.Schedules) > 0 {
		s.sched = asynq.NewScheduler(o.Redis, &asynq.SchedulerOpts{Logger: asynqLogger{s.log}, LogLevel: asynq.WarnLevel})
	}
	return s
}

// Start begins processing, scheduling and sweeping.
func (s *Server) Start() error {
	mux := asynq.NewServeMux()
	for t := range s.handlers {
		mux.HandleFunc(t, s.process)
	}
	if err := s.srv.Start(mux); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	if s.sched != nil {
		if err := s.register(s.sched, s.o.Schedules); err != nil {
			s.srv.Shutdown()
			return err
		}
		if err := s.sched.Start(); err != nil {
			s.srv.Shutdown()
			return fmt.Errorf("jobs: scheduler: %w", err)
		}
	}
	if s.o.SweepInterval > 0 {
		s.wg.Add(1)
		go s.sweepLoop()
	}
	return nil
}

// Shutdown stops taking work; running tasks get ShutdownTimeout to finish, then
// their context is canceled, their transactions roll back and Asynq puts them back.
func (s *Server) Shutdown() { s.shutdownOnce.Do(s.shutdown) }

func (s *Server) shutdown() {
	close(s.stop)
	s.wg.Wait()
	if s.sched != nil {
		s.sched.Shutdown()
	}
	s.srv.Shutdown()
	_ = s.client.Close()
	_ = s.rdb.Close()
}

// register adds the schedules with deterministic task ids, so that a second
// scheduler replica's copy of a period is refused as a duplicate.
func (s *Server) register(sched *asynq.Scheduler, list []Schedule) error {
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for _, sc := range list {
		spec, err := parser.Parse(sc.Cron)
		if err != nil {
			return fmt.Errorf("jobs: schedule %s: %w", sc.Name, err)
		}
		now := time.Now()
		first := spec.Next(now)
		period := spec.Next(first).Sub(first)
		retention := min(period/2, time.Hour)
		if retention < time.Second {
			retention = time.Second
		}
		payload, _ := json.Marshal(sc.Payload)
		q := sc.Queue
		if q == "" {
			q = QueueDefault
		}
		_, err = sched.Register(sc.Cron, asynq.NewTask(sc.Type, payload),
			asynq.TaskID("schedule:"+sc.Name), asynq.Retention(retention), asynq.Queue(q), asynq.MaxRetry(3))
		if err != nil {
			return fmt.Errorf("jobs: schedule %s: %w", sc.Name, err)
		}
	}
	return nil
}

type runState struct {
	s        *Server
	lastProg time.Time
	mu       sync.Mutex
}

// process is the middleware every task goes through.
func (s *Server) process(ctx context.Context, t *asynq.Task) error {
	h := s.handlers[t.Type()]
	queue := h.Queue
	if queue == "" {
		queue = QueueDefault
	}
	m := s.o.Metrics
	start := time.Now()
	outcome := "success"
	if m != nil {
		m.inFlight.WithLabelValues(queue).Inc()
		defer func() {
			m.inFlight.WithLabelValues(queue).Dec()
			m.processed.WithLabelValues(t.Type(), queue, outcome).Inc()
			if outcome != "throttled" && outcome != "skipped" {
				m.duration.WithLabelValues(t.Type(), queue).Observe(time.Since(start).Seconds())
			}
		}()
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	if h.RunGlobal != nil {
		err := safe(func() error { return h.RunGlobal(logx.With(ctx, "task_type", t.Type()), t.Payload()) })
		if err != nil {
			outcome = "failure"
			s.log.ErrorContext(ctx, "jobs: global task failed", "task_type", t.Type(), "error", err.Error())
		}
		return err
	}
	var p taskPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Tenant == uuid.Nil || p.Job == uuid.Nil {
		outcome = "failure"
		return fmt.Errorf("jobs: %s: malformed payload: %w", t.Type(), asynq.SkipRetry)
	}
	ctx = logx.With(ctx, "tenant_id", p.Tenant.String(), "job_id", p.Job.String(), "task_type", t.Type())
	ctx = tenancy.With(ctx, tenancy.Tenant{ID: p.Tenant})

	if queue == QueueBulk {
		ok, err := s.throttle.acquire(ctx, p.Tenant, p.Job)
		if err != nil {
			outcome = "retry"
			return err
		}
		if !ok {
			outcome = "throttled"
			return &RateLimitError{RetryIn: s.o.ThrottleRetry}
		}
		defer s.throttle.release(context.WithoutCancel(ctx), p.Tenant, p.Job)
	}

	j, proceed, err := s.begin(ctx, p.Tenant, p.Job)
	if err != nil {
		outcome = "retry"
		return err
	}
	if !proceed {
		outcome = "skipped"
		return nil
	}
	j.run = &runState{s: s}
	stopBeat := s.heartbeat(ctx, j, queue == QueueBulk)
	runErr := s.run(ctx, h, j)
	stopBeat()
	if runErr == nil {
		return nil
	}
	outcome = "failure"
	return s.fail(ctx, j, runErr, &outcome)
}

// begin marks the job running, or says to skip it when it is finished or canceled.
func (s *Server) begin(ctx context.Context, tenant, id uuid.UUID) (*Job, bool, error) {
	j := &Job{}
	proceed := false
	err := db.InTenant(ctx, s.o.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(j).
			Set("status = ?", StatusRunning).Set("attempts = attempts + 1").
			Set("started_at = coalesce(started_at, now())").Set("heartbeat_at = now()").Set("updated_at = now()").
			Set("error = NULL").
			Where("tenant_id = ? AND id = ?", tenant, id).
			Where("status IN (?)", bun.In([]string{StatusQueued, StatusRetrying, StatusRunning})).
			Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		proceed = n == 1
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("jobs: begin %s: %w", id, err)
	}
	return j, proceed, nil
}

var errAlreadyDone = errors.New("jobs: job was finished or canceled meanwhile")

func (s *Server) run(ctx context.Context, h Handler, j *Job) error {
	switch {
	case h.Run != nil:
		err := db.InTenant(ctx, s.o.DB, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
			if err := safe(func() error { return h.Run(ctx, tx, j) }); err != nil {
				return err
			}
			return s.succeed(ctx, tx, j)
		})
		if errors.Is(err, errAlreadyDone) {
			return nil // rolled back: someone else finished or canceled it
		}
		return err
	case h.RunLong != nil:
		if err := safe(func() error { return h.RunLong(ctx, j) }); err != nil {
			return err
		}
		err := db.InTenant(ctx, s.o.DB, j.TenantID, func(ctx context.Context, tx bun.Tx) error { return s.succeed(ctx, tx, j) })
		if errors.Is(err, errAlreadyDone) {
			return nil
		}
		return err
	}
	return fmt.Errorf("jobs: %s has no run function: %w", j.Type, asynq.SkipRetry)
}

// succeed marks the job done in tx. When the row is no longer running (a duplicate
// delivery finished first, or a user canceled it) the whole transaction rolls back.
func (s *Server) succeed(ctx context.Context, tx bun.Tx, j *Job) error {
	q := tx.NewUpdate().Table("jobs").
		Set("status = ?", StatusSucceeded).Set("finished_at = now()").Set("updated_at = now()").Set("error = NULL").
		Set("progress_done = CASE WHEN progress_total IS NOT NULL THEN progress_total ELSE progress_done END").
		Where("tenant_id = ? AND id = ? AND status = ?", j.TenantID, j.ID, StatusRunning)
	if len(j.Result) > 0 {
		q = q.Set("result = ?", string(j.Result))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errAlreadyDone
	}
	return nil
}

// fail records a failed attempt and tells Asynq whether to retry.
func (s *Server) fail(ctx context.Context, j *Job, runErr error, outcome *string) error {
	bg := context.WithoutCancel(ctx)
	shutdown := ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded)
	code := errs.CodeOf(runErr)
	permanent := errors.Is(runErr, asynq.SkipRetry) ||
		(code != errs.Internal && code != errs.Unavailable && code != errs.Timeout && code != errs.RateLimited)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, hasMax := asynq.GetMaxRetry(ctx)
	final := permanent || (hasMax && retried >= maxRetry) || j.Attempts >= j.MaxAttempts
	msg := clientMessage(runErr)
	status := StatusRetrying
	if shutdown {
		status = StatusQueued
		msg = "interrupted by a worker shutdown; it will run again"
		final = false
	} else if final {
		status = StatusFailed
	}
	_ = db.InTenant(bg, s.o.DB, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Table("jobs").Set("status = ?", status).Set("error = ?", msg).Set("updated_at = now()").
			Where("tenant_id = ? AND id = ? AND status = ?", j.TenantID, j.ID, StatusRunning)
		if final {
			q = q.Set("finished_at = now()")
		} else {
			q = q.Set("run_at = ?", time.Now().Add(asynq.DefaultRetryDelayFunc(retried, runErr, nil)))
		}
		_, err := q.Exec(ctx)
		return err
	})
	if code == errs.Internal || shutdown {
		s.log.ErrorContext(ctx, "jobs: attempt failed", "status", status, "attempt", j.Attempts, "error", runErr.Error())
	}
	if final {
		return fmt.Errorf("%s: %w", msg, asynq.SkipRetry)
	}
	*outcome = "retry"
	return runErr
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
	return "The job failed on our side; it is retried automatically. If it keeps failing, contact support with the job id."
}

// heartbeat keeps heartbeat_at fresh (and the bulk lease alive) while a job runs.
func (s *Server) heartbeat(ctx context.Context, j *Job, bulk bool) func() {
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
				_ = db.InTenant(ctx, s.o.DB, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
					_, err := tx.NewUpdate().Table("jobs").Set("heartbeat_at = now()").
						Where("tenant_id = ? AND id = ? AND status = ?", j.TenantID, j.ID, StatusRunning).Exec(ctx)
					return err
				})
				if bulk {
					_, _ = s.throttle.acquire(ctx, j.TenantID, j.ID)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func safe(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.InternalErr(fmt.Errorf("panic: %v\n%s", r, debug.Stack()))
		}
	}()
	return fn()
}

// SaveCheckpoint stores v as the job's resume point, in tx (the batch's transaction),
// so a batch and its checkpoint commit together.
func (j *Job) SaveCheckpoint(ctx context.Context, tx bun.Tx, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.NewUpdate().Table("jobs").Set("checkpoint = ?", string(b)).Set("heartbeat_at = now()").Set("updated_at = now()").
		Where("tenant_id = ? AND id = ?", j.TenantID, j.ID).Exec(ctx)
	if err == nil {
		j.Checkpoint = b
	}
	return err
}

// Progress records how far the job has come, at most every 500 ms unless done.
func (j *Job) Progress(ctx context.Context, done, total int64) error {
	j.ProgressDone = done
	if total > 0 {
		j.ProgressTotal = &total
	}
	if j.run != nil {
		j.run.mu.Lock()
		skip := time.Since(j.run.lastProg) < 500*time.Millisecond && done != total
		if !skip {
			j.run.lastProg = time.Now()
		}
		j.run.mu.Unlock()
		if skip {
			return nil
		}
	}
	d := j.run.db()
	if d == nil {
		return nil
	}
	return db.InTenant(context.WithoutCancel(ctx), d, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Table("jobs").Set("progress_done = ?", done).Set("heartbeat_at = now()").Set("updated_at = now()").
			Where("tenant_id = ? AND id = ?", j.TenantID, j.ID)
		if total > 0 {
			q = q.Set("progress_total = ?", total)
		}
		_, err := q.Exec(ctx)
		return err
	})
}

// Canceled reports whether someone canceled the job; long handlers check it
// between batches and return ErrCanceled.
func (j *Job) Canceled(ctx context.Context) bool {
	d := j.run.db()
	if d == nil {
		return false
	}
	var st string
	err := db.InTenant(ctx, d, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Table("jobs").Column("status").Where("tenant_id = ? AND id = ?", j.TenantID, j.ID).Scan(ctx, &st)
	})
	return err == nil && st == StatusCanceled
}

// ErrCanceled is what a long handler returns when it notices a cancel.
var ErrCanceled = errs.E(errs.Conflict, "The job was canceled.")

func (r *runState) db() *bun.DB {
	if r == nil || r.s == nil {
		return nil
	}
	return r.s.o.DB
}

type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
