package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
)

// Client records jobs and hands them to Asynq.
type Client struct {
	asynq   *asynq.Client
	insp    *asynq.Inspector
	db      *bun.DB
	log     *slog.Logger
	metrics *Metrics
	queues  map[string]string // task type -> queue, from registered handlers
}

// NewClient connects to Redis lazily; db is the app-role pool.
func NewClient(r asynq.RedisConnOpt, d *bun.DB, log *slog.Logger) *Client {
	if log == nil {
		log = slog.Default()
	}
	return &Client{asynq: asynq.NewClient(r), insp: asynq.NewInspector(r), db: d, log: log, queues: map[string]string{}}
}

// SetMetrics attaches the process's job metrics.
func (c *Client) SetMetrics(m *Metrics) { c.metrics = m }

// Close releases the Redis connections.
func (c *Client) Close() error {
	_ = c.insp.Close()
	return c.asynq.Close()
}

// Enqueue records a job for tenant and, once the surrounding transaction commits,
// hands it to Asynq. When Redis is down the job still stands and the sweeper
// enqueues it later, so the caller's request does not fail.
func (c *Client) Enqueue(ctx context.Context, tenant uuid.UUID, s Spec) (*Job, error) {
	if s.Type == "" || !strings.Contains(s.Type, ":") {
		return nil, errs.InternalErr(fmt.Errorf("jobs: task type %q must be <module>:<verb>", s.Type))
	}
	if s.Queue == "" {
		s.Queue = QueueDefault
	}
	if _, ok := Queues[s.Queue]; !ok {
		return nil, errs.InternalErr(fmt.Errorf("jobs: unknown queue %q", s.Queue))
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = 10
	}
	payload, err := json.Marshal(s.Payload)
	if err != nil {
		return nil, errs.InternalErr(fmt.Errorf("jobs: payload: %w", err))
	}
	if s.Payload == nil {
		payload = []byte("{}")
	}
	j := &Job{
		TenantID: tenant, ID: uuid.New(), Type: s.Type, Queue: s.Queue, Status: StatusQueued,
		Payload: payload, MaxAttempts: s.MaxAttempts, RunAt: s.RunAt, CreatedBy: s.CreatedBy,
	}
	if j.RunAt.IsZero() {
		j.RunAt = time.Now().UTC()
	}
	if s.DedupeKey != "" {
		k := s.DedupeKey
		j.DedupeKey = &k
	}
	err = db.InTenant(ctx, c.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewInsert().Model(j).ExcludeColumn("result", "checkpoint", "error", "started_at", "finished_at", "heartbeat_at", "created_at", "updated_at", "progress_total").
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

// push hands a recorded job to Asynq; a conflict means it is already there.
func (c *Client) push(ctx context.Context, j *Job) {
	err := c.pushErr(ctx, j)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
		c.log.WarnContext(ctx, "jobs: enqueue deferred to the sweeper", "task_type", j.Type, "job_id", j.ID.String(), "error", err.Error())
		return
	}
	if err == nil && c.metrics != nil {
		c.metrics.enqueued.WithLabelValues(j.Type, j.Queue).Inc()
	}
}

func (c *Client) pushErr(ctx context.Context, j *Job) error {
	b, _ := json.Marshal(taskPayload{Tenant: j.TenantID, Job: j.ID})
	opts := []asynq.Option{asynq.TaskID(j.ID.String()), asynq.Queue(j.Queue), asynq.MaxRetry(max(j.MaxAttempts-1, 0))}
	if j.RunAt.After(time.Now().Add(time.Second)) {
		opts = append(opts, asynq.ProcessAt(j.RunAt))
	}
	_, err := c.asynq.EnqueueContext(ctx, asynq.NewTask(j.Type, b), opts...)
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
	Cursor string
	Limit  int
}

type cursor struct {
	At time.Time `json:"a"`
	ID uuid.UUID `json:"i"`
}

// List returns the tenant's jobs newest first, and the cursor of the next page.
func (c *Client) List(ctx context.Context, tenant uuid.UUID, f ListFilter) ([]Job, string, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var after *cursor
	if f.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		after = &cursor{}
		if err != nil || json.Unmarshal(raw, after) != nil || after.ID == uuid.Nil {
			return nil, "", errs.Field("query.cursor", "is not a cursor this API returned; start again without it")
		}
	}
	var out []Job
	err := db.InTenant(ctx, c.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(&out).ExcludeColumn("payload", "checkpoint").
			Where("tenant_id = ?", tenant).OrderExpr("created_at DESC, id DESC").Limit(f.Limit + 1)
		if f.Type != "" {
			q = q.Where("task_type = ?", f.Type)
		}
		if f.Status != "" {
			q = q.Where("status = ?", f.Status)
		}
		if after != nil {
			q = q.Where("(created_at, id) < (?, ?)", after.At, after.ID)
		}
		return q.Scan(ctx)
	})
	if err != nil {
		return nil, "", db.Classify(err, "job")
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		b, _ := json.Marshal(cursor{At: last.CreatedAt, ID: last.ID})
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	return out, next, nil
}

// Cancel stops a job: a queued one never runs, a running one stops at its next
// checkpoint (its transaction-bound work rolls back). Finished jobs are a Conflict.
func (c *Client) Cancel(ctx context.Context, tenant, id uuid.UUID) (*Job, error) {
	j := &Job{}
	err := db.InTenant(ctx, c.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(j).Where("tenant_id = ? AND id = ?", tenant, id).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		if j.Terminal() {
			return errs.E(errs.Conflict, "This job already %s and cannot be canceled.", j.Status)
		}
		_, err := tx.NewUpdate().Model(j).Set("status = ?", StatusCanceled).Set("finished_at = now()").Set("updated_at = now()").
			Where("tenant_id = ? AND id = ?", tenant, id).Returning("*").Exec(ctx)
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "job")
	}
	// Best effort: drop it from Redis so it is not even delivered.
	if err := c.insp.DeleteTask(j.Queue, j.ID.String()); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		c.log.DebugContext(ctx, "jobs: cancel left the task in Redis; the worker will skip it", "job_id", j.ID.String(), "error", err.Error())
	}
	return j, nil
}
