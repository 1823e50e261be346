package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/page"
)

// pushTimeout bounds the Redis half of an Enqueue, which runs after the caller's
// transaction committed: with Redis down the request must not hang, the sweeper
// enqueues the job later.
const pushTimeout = time.Second

// retrySlack is how many Asynq retries a task has beyond its attempt budget.
// Deliveries that run nothing (the database was down at begin) use Asynq retries
// but no attempts; the row decides when a job has failed, and the sweeper
// revives a task Asynq archived while its row still has attempts left.
const retrySlack = 5

// Client records jobs and hands them to Asynq.
type Client struct {
	asynq   *asynq.Client
	insp    *asynq.Inspector
	db      *bun.DB
	log     *slog.Logger
	metrics *Metrics

	mu       sync.RWMutex
	handlers map[string]Handler
}

// NewClient connects to Redis lazily; db is the app-role pool.
func NewClient(r asynq.RedisConnOpt, d *bun.DB, log *slog.Logger) *Client {
	if log == nil {
		log = slog.Default()
	}
	return &Client{asynq: asynq.NewClient(r), insp: asynq.NewInspector(r), db: d, log: log, handlers: map[string]Handler{}}
}

// UseRedis hands enqueues to Asynq through rc instead of a connection of the
// client's own, so that rc's deadlines and breaker (breaker.GuardRedis) apply:
// while Redis is down or frozen, a request that enqueues does not wait on it;
// the job is already recorded in PostgreSQL and the sweeper enqueues it later.
func (c *Client) UseRedis(rc redis.UniversalClient) {
	old := c.asynq
	c.asynq = asynq.NewClientFromRedisClient(rc)
	_ = old.Close()
}

// SetMetrics attaches the process's job metrics.
func (c *Client) SetMetrics(m *Metrics) { c.metrics = m }

// Register tells the client the handlers' queues and retry budgets, so an Enqueue
// whose Spec leaves them empty gets the handler's. Optional: without it a Spec
// without a Queue goes to the default queue.
func (c *Client) Register(hs ...Handler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range hs {
		c.handlers[h.Type] = h
	}
}

// Close releases the Redis connections.
func (c *Client) Close() error {
	_ = c.insp.Close()
	return c.asynq.Close()
}

// Enqueue records a job for tenant and, once the surrounding transaction commits,
// hands it to Asynq. It joins the tenant transaction ctx carries, if any, so the
// job exists exactly when the caller's change does. When Redis is down the job
// still stands and the sweeper enqueues it later, so the caller does not fail.
// With a DedupeKey, a repeated Enqueue returns the job the key first made.
func (c *Client) Enqueue(ctx context.Context, tenant uuid.UUID, s Spec) (*Job, error) {
	if err := validType(s.Type); err != nil {
		return nil, errs.InternalErr(err)
	}
	a := authz.ActorFrom(ctx)
	if a.Kind == authz.ActorNone {
		return nil, errs.InternalErr(fmt.Errorf("jobs: %s enqueued with no actor; pass the requester's context, or authz.AsSystem for work nobody asked for", s.Type))
	}
	snap := a.Snapshot()
	c.mu.RLock()
	h, known := c.handlers[s.Type]
	c.mu.RUnlock()
	if known && h.Global() {
		return nil, errs.InternalErr(fmt.Errorf("jobs: %s is a global task; it has no tenant job", s.Type))
	}
	if s.Queue == "" {
		s.Queue = QueueDefault
		if known {
			s.Queue = h.queue()
		}
	}
	if _, ok := Queues[s.Queue]; !ok {
		return nil, errs.InternalErr(fmt.Errorf("jobs: unknown queue %q", s.Queue))
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
		if known && h.MaxRetry != 0 {
			s.MaxAttempts = max(h.MaxRetry+1, 1)
		}
	}
	payload := []byte("{}")
	if s.Payload != nil {
		b, err := json.Marshal(s.Payload)
		if err != nil {
			return nil, errs.InternalErr(fmt.Errorf("jobs: %s payload: %w", s.Type, err))
		}
		payload = b
	}
	j := &Job{
		TenantID: tenant, ID: uuid.New(), Type: s.Type, Queue: s.Queue, Status: StatusQueued,
		Payload: payload, MaxAttempts: s.MaxAttempts, RunAt: s.RunAt.UTC(), CreatedBy: s.CreatedBy, Actor: &snap,
	}
	if s.RunAt.IsZero() {
		j.RunAt = time.Now().UTC()
	}
	if s.DedupeKey != "" {
		k := s.DedupeKey
		j.DedupeKey = &k
	}
	err := db.InTenant(ctx, c.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewInsert().Model(j).
			ExcludeColumn("result", "checkpoint", "error", "progress_total", "started_at", "finished_at", "heartbeat_at", "created_at", "updated_at").
			Returning("*")
		if j.DedupeKey != nil {
			q = q.On("CONFLICT (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING")
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 && j.DedupeKey != nil {
			// Deduplicated: return the existing job and enqueue nothing new.
			key := *j.DedupeKey
			*j = Job{}
			return tx.NewSelect().Model(j).Where("tenant_id = ? AND dedupe_key = ?", tenant, key).Scan(ctx)
		}
		job := *j
		db.AfterCommit(ctx, func(ctx context.Context) { c.push(context.WithoutCancel(ctx), &job) })
		return nil
	})
	if err != nil {
		return nil, db.Classify(err, "job")
	}
	return j, nil
}

// Kick hands Asynq a task of a global handler, with no job row: a hint that
// work recorded elsewhere in PostgreSQL is due, for handlers whose own sweep
// finds that work anyway when a kick is lost. id, when set, is the task id, so
// a kick while an equal one waits is dropped; in delays the task. A kick that
// cannot reach Redis is logged and dropped.
func (c *Client) Kick(ctx context.Context, taskType, queue, id string, payload any, in time.Duration) {
	b, err := json.Marshal(payload)
	if err != nil {
		c.log.ErrorContext(ctx, "jobs: kick payload", "task_type", taskType, "error", err.Error())
		return
	}
	if queue == "" {
		queue = QueueDefault
	}
	opts := []asynq.Option{asynq.Queue(queue), asynq.Timeout(MaxTimeout), asynq.MaxRetry(0)}
	if id != "" {
		opts = append(opts, asynq.TaskID(id))
	}
	if in > 0 {
		opts = append(opts, asynq.ProcessIn(in))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
	defer cancel()
	_, err = c.asynq.EnqueueContext(ctx, asynq.NewTask(taskType, b), opts...)
	switch {
	case err == nil, errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
	case errs.OutageDependency(err) != "":
		c.log.DebugContext(ctx, "jobs: Redis unavailable; kick dropped", "task_type", taskType)
	default:
		c.log.WarnContext(ctx, "jobs: kick dropped", "task_type", taskType, "error", err.Error())
	}
}

// push hands a recorded job to Asynq; a conflict means it is already there.
func (c *Client) push(ctx context.Context, j *Job) {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	err := enqueueTask(ctx, c.asynq, j)
	switch {
	case err == nil:
		c.metrics.incEnqueued(j.Type, j.Queue)
	case errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
	case errs.OutageDependency(err) != "":
		// Redis's breaker is open: expected until it closes, and the row waits.
		c.log.DebugContext(ctx, "jobs: Redis unavailable; enqueue deferred to the sweeper", "task_type", j.Type, "job_id", j.ID.String())
	default:
		c.log.WarnContext(ctx, "jobs: enqueue deferred to the sweeper", "task_type", j.Type, "job_id", j.ID.String(), "error", err.Error())
	}
}

// enqueueTask puts a job's task in Asynq: its id is the job's, its payload the
// (tenant, job) pair, its deadline the ceiling (the middleware applies the
// handler's Timeout), and its retries the attempt budget plus slack.
func enqueueTask(ctx context.Context, ac *asynq.Client, j *Job) error {
	return enqueueTaskAs(ctx, ac, j, j.ID.String())
}

// enqueueTaskAs is enqueueTask under another task id (a takeover's).
func enqueueTaskAs(ctx context.Context, ac *asynq.Client, j *Job, taskID string) error {
	b, err := json.Marshal(taskPayload{Tenant: j.TenantID, Job: j.ID})
	if err != nil {
		return err
	}
	opts := []asynq.Option{
		asynq.TaskID(taskID), asynq.Queue(j.Queue), asynq.Timeout(MaxTimeout),
		asynq.MaxRetry(max(j.MaxAttempts-1, 0) + retrySlack),
	}
	if j.RunAt.After(time.Now().Add(time.Second)) {
		opts = append(opts, asynq.ProcessAt(j.RunAt))
	}
	_, err = ac.EnqueueContext(ctx, asynq.NewTask(j.Type, b), opts...)
	return err
}

// Get returns one job of the tenant; another tenant's id is NotFound.
func (c *Client) Get(ctx context.Context, tenant, id uuid.UUID) (*Job, error) {
	j := &Job{}
	err := db.InTenant(ctx, c.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(j).Where("tenant_id = ? AND id = ?", tenant, id).Scan(ctx)
	})
	if err != nil {
		return nil, db.Classify(err, "job")
	}
	return j, nil
}

// ListFilter narrows a job listing.
type ListFilter struct {
	Type   string
	Status string
	Cursor string // the next cursor of the previous page; empty: the first page
	Limit  int    // 1..200; zero: 50
	// RequestedBy keeps only the jobs this member or key asked for; nil: all.
	RequestedBy *uuid.UUID
}

// List returns the tenant's jobs newest first (created_at, then id, descending),
// without payload and checkpoint, and the opaque cursor of the next page ("" on
// the last page).
func (c *Client) List(ctx context.Context, tenant uuid.UUID, f ListFilter) ([]Job, string, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 200:
		f.Limit = 200
	}
	after, err := page.Start[page.After](f.Cursor)
	if err != nil {
		return nil, "", err
	}
	if after != nil && after.ID == uuid.Nil {
		return nil, "", errs.Field("query.cursor", "is not a cursor this API returned; start again without it")
	}
	var out []Job
	err = db.InTenant(ctx, c.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(&out).ExcludeColumn("payload", "checkpoint").
			Where("tenant_id = ?", tenant).OrderExpr("created_at DESC, id DESC").Limit(f.Limit + 1)
		if f.Type != "" {
			q = q.Where("task_type = ?", f.Type)
		}
		if f.Status != "" {
			q = q.Where("status = ?", f.Status)
		}
		if f.RequestedBy != nil {
			q = q.Where("created_by = ?", *f.RequestedBy)
		}
		if after != nil {
			q = q.Where("(created_at, id) < (?, ?)", after.At, after.ID)
		}
		return q.Scan(ctx)
	})
	if err != nil {
		return nil, "", db.Classify(err, "job")
	}
	out, next := page.Cut(out, f.Limit, func(last Job) any { return page.After{At: last.CreatedAt, ID: last.ID} })
	return out, next, nil
}

// Cancel stops a job: a queued or retrying one never runs again; a running one
// has its context canceled, so a Run handler's transaction rolls back and a long
// handler stops at its next checkpoint. Finished jobs are a Conflict, another
// tenant's are NotFound.
func (c *Client) Cancel(ctx context.Context, tenant, id uuid.UUID) (*Job, error) {
	j := &Job{}
	var was string
	err := db.InTenant(ctx, c.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(j).Where("tenant_id = ? AND id = ?", tenant, id).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		if j.Terminal() {
			return errs.E(errs.Conflict, "This job already %s and cannot be canceled.", j.Status)
		}
		was = j.Status
		_, err := tx.NewUpdate().Model(j).Set("status = ?", StatusCanceled).Set("finished_at = now()").Set("updated_at = now()").
			Where("tenant_id = ? AND id = ?", tenant, id).Returning("*").Exec(ctx)
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "job")
	}
	// Best effort: the row already says canceled, which every delivery and every
	// fenced write of a running handler respects.
	if was == StatusRunning {
		if err := c.insp.CancelProcessing(j.ID.String()); err != nil {
			c.log.DebugContext(ctx, "jobs: cancel signal not sent; the heartbeat will stop the run", "job_id", j.ID.String(), "error", err.Error())
		}
	} else if err := c.insp.DeleteTask(j.Queue, j.ID.String()); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		c.log.DebugContext(ctx, "jobs: cancel left the task in Redis; the worker will skip it", "job_id", j.ID.String(), "error", err.Error())
	}
	return j, nil
}
