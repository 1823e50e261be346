package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"
	"github.com/uptrace/bun"
)

// ServerOptions configure the worker.
type ServerOptions struct {
	Redis           asynq.RedisConnOpt
	DB              *bun.DB       // the app-role pool
	Concurrency     int           // zero: 10
	BulkPerTenant   int           // concurrent bulk tasks per tenant; zero: 2
	ShutdownTimeout time.Duration // in-flight tasks get this long, then go back to the queue; zero: 25s
	Logger          *slog.Logger
	Metrics         *Metrics
	Handlers        []Handler
	Schedules       []Schedule
	SweepInterval   time.Duration // zero: 30s; negative: no sweeper loop (tests call Sweep)
	NoScheduler     bool          // run no scheduler in this process (tests that start several servers)

	// PollInterval is how often an idle worker looks for tasks, and how often due
	// scheduled and retry tasks are moved to their queue; zero: Asynq's 1s and 5s.
	PollInterval time.Duration
	// HeartbeatInterval is how often a running job proves it is alive; zero: 15s.
	HeartbeatInterval time.Duration
	// ThrottleRetry is how long a throttled bulk task waits before it asks again,
	// plus up to half as much jitter; zero: 5s.
	ThrottleRetry time.Duration
}

// Server processes tasks and runs the scheduler and the sweeper.
type Server struct {
	o        ServerOptions
	log      *slog.Logger
	srv      *asynq.Server
	sched    *asynq.Scheduler
	client   *asynq.Client
	insp     *asynq.Inspector
	rdb      redis.UniversalClient
	handlers map[string]Handler
	throttle *throttle

	stop     chan struct{}
	wg       sync.WaitGroup // the sweeper loop
	inflight sync.WaitGroup // handler calls, which may outlive Asynq's shutdown
	stopping atomic.Bool
	once     sync.Once
}

// ErrThrottled is matched (errors.Is) by every *RateLimitError.
var ErrThrottled = errors.New("jobs: throttled")

// RateLimitError asks for a later try that is not a failure and uses neither an
// Asynq retry nor a job attempt. The bulk throttle returns it; a handler may too
// (a partner API said 429): the row goes back to queued with run_at = now+RetryIn.
type RateLimitError struct{ RetryIn time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("jobs: throttled; retry in %s", e.RetryIn)
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrThrottled }

// NewServer builds the worker; Start validates the handlers and runs it.
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
		o.Metrics.known(h.Type, h.queue())
	}
	s.rdb = o.Redis.MakeRedisClient().(redis.UniversalClient)
	// A lease outlives several missed heartbeats, and a crashed worker's lease
	// frees its tenant's slot by itself.
	s.throttle = &throttle{rdb: s.rdb, limit: o.BulkPerTenant, lease: max(2*time.Minute, 4*o.HeartbeatInterval)}
	s.client = asynq.NewClient(o.Redis)
	s.insp = asynq.NewInspector(o.Redis)
	cfg := asynq.Config{
		Concurrency:     o.Concurrency,
		Queues:          Queues,
		ShutdownTimeout: o.ShutdownTimeout,
		IsFailure:       func(err error) bool { return !errors.Is(err, ErrThrottled) },
		RetryDelayFunc:  retryDelay,
		Logger:          asynqLogger{s.log},
		LogLevel:        asynq.WarnLevel,
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

// Start validates the handlers and schedules, then begins processing, scheduling
// and sweeping.
func (s *Server) Start() error {
	if err := s.validate(); err != nil {
		return err
	}
	mux := asynq.NewServeMux()
	for t := range s.handlers {
		mux.HandleFunc(t, s.process)
	}
	if err := s.srv.Start(mux); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	if s.sched != nil {
		if err := s.register(); err != nil {
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

func (s *Server) validate() error {
	seen := map[string]bool{}
	for _, h := range s.o.Handlers {
		if err := h.validate(); err != nil {
			return err
		}
		if seen[h.Type] {
			return fmt.Errorf("jobs: two handlers for %s", h.Type)
		}
		seen[h.Type] = true
	}
	names := map[string]bool{}
	for _, sc := range s.o.Schedules {
		if sc.Name == "" || names[sc.Name] {
			return fmt.Errorf("jobs: schedule names must be unique and not empty (%q)", sc.Name)
		}
		names[sc.Name] = true
		if h, ok := s.handlers[sc.Type]; !ok || !h.Global() {
			return fmt.Errorf("jobs: schedule %s runs %s, which has no RunGlobal handler in this worker", sc.Name, sc.Type)
		}
	}
	return nil
}

// Shutdown stops taking work; running tasks get ShutdownTimeout to finish, then
// their context is canceled, their transactions roll back, Asynq puts them back
// in their queue and their rows go back to queued.
func (s *Server) Shutdown() { s.once.Do(s.shutdown) }

func (s *Server) shutdown() {
	s.stopping.Store(true)
	close(s.stop)
	s.wg.Wait()
	if s.sched != nil {
		s.sched.Shutdown()
	}
	s.srv.Shutdown()
	// Asynq returns once it requeued the tasks that overran; their handlers saw
	// ctx canceled and are now rolling back and marking their rows.
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.log.Error("jobs: handlers still running after shutdown; they ignore their context")
	}
	_ = s.client.Close()
	_ = s.insp.Close()
	_ = s.rdb.Close()
}

// register adds the schedules with deterministic task ids and a retention of half
// a period (at most an hour): a second scheduler replica's copy of a period is
// refused as a duplicate while the first one is queued, running or retained, and
// the next period's copy is accepted again.
func (s *Server) register() error {
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for _, sc := range s.o.Schedules {
		spec, err := parser.Parse(sc.Cron)
		if err != nil {
			return fmt.Errorf("jobs: schedule %s: %w", sc.Name, err)
		}
		first := spec.Next(time.Now())
		period := spec.Next(first).Sub(first)
		// Asynq keeps retention in whole seconds (under one it is none), and its
		// janitor drops expired tasks every few seconds, so a very short period
		// may see a tick refused.
		retention := min(period/2, time.Hour)
		if retention < time.Second {
			return fmt.Errorf("jobs: schedule %s: a period of %s is too short to deduplicate; use at least 2s", sc.Name, period)
		}
		payload, err := json.Marshal(sc.Payload)
		if err != nil {
			return fmt.Errorf("jobs: schedule %s payload: %w", sc.Name, err)
		}
		h := s.handlers[sc.Type]
		q := sc.Queue
		if q == "" {
			q = h.queue()
		}
		retries := h.MaxRetry
		if retries == 0 {
			retries = 3
		}
		_, err = s.sched.Register(sc.Cron, asynq.NewTask(sc.Type, payload),
			asynq.TaskID("schedule:"+sc.Name), asynq.Retention(retention), asynq.Queue(q),
			asynq.MaxRetry(max(retries, 0)), asynq.Timeout(MaxTimeout))
		if err != nil {
			return fmt.Errorf("jobs: schedule %s: %w", sc.Name, err)
		}
	}
	return nil
}

type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
