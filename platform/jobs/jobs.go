// Package jobs runs Clientele's background work on Asynq, with PostgreSQL as the
// record. Every job is a row with a status and progress; the Asynq task carries
// only (tenant, job id) and the job id is the task id, so duplicates are refused.
// Losing Redis loses nothing: the sweeper re-enqueues due work from the rows.
//
// Ownership of a running row is fenced by its attempt number: begin increments
// attempts, and every later write of that run (heartbeat, checkpoint, success,
// failure) requires the row to still be running with that attempt. A stale
// delivery (a worker presumed dead, a duplicate after Redis lost a task) can
// therefore never overwrite the record of the run that replaced it.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
)

// The queues and their weights (6:3:1).
const (
	QueueCritical = "critical" // reminders, SLA
	QueueDefault  = "default"  // webhooks, notifications
	QueueBulk     = "bulk"     // imports, exports, reports, rollups; throttled per tenant
)

// Queues maps each queue to its weight.
var Queues = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueBulk: 1}

// Job statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusRetrying  = "retrying"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
)

// Defaults and ceilings.
const (
	// DefaultMaxAttempts is a job's attempt budget when neither its Spec nor its
	// handler says otherwise.
	DefaultMaxAttempts = 10
	// DefaultTimeout bounds one run of a handler that sets no Timeout.
	DefaultTimeout = 30 * time.Minute
	// MaxTimeout is the longest a handler may run. Asynq stores timeouts in whole
	// seconds and falls back to 30 minutes for anything shorter than one, so every
	// task is enqueued with this ceiling and the middleware enforces the handler's
	// own Timeout, to the nanosecond, with a context deadline.
	MaxTimeout = 24 * time.Hour
)

// Job is the record of one unit of background work.
type Job struct {
	bun.BaseModel `bun:"table:jobs"`
	TenantID      uuid.UUID       `bun:"tenant_id,pk,type:uuid"`
	ID            uuid.UUID       `bun:"id,pk,type:uuid"`
	Type          string          `bun:"task_type"`
	Queue         string          `bun:"queue"`
	Status        string          `bun:"status"`
	Payload       json.RawMessage `bun:"payload,type:jsonb"`
	Result        json.RawMessage `bun:"result,type:jsonb,nullzero"`
	Checkpoint    json.RawMessage `bun:"checkpoint,type:jsonb,nullzero"`
	Error         string          `bun:"error,nullzero"`
	ProgressDone  int64           `bun:"progress_done"`
	ProgressTotal *int64          `bun:"progress_total"`
	Attempts      int             `bun:"attempts"`
	MaxAttempts   int             `bun:"max_attempts"`
	RunAt         time.Time       `bun:"run_at"`
	StartedAt     *time.Time      `bun:"started_at"`
	FinishedAt    *time.Time      `bun:"finished_at"`
	HeartbeatAt   *time.Time      `bun:"heartbeat_at"`
	CreatedBy     *uuid.UUID      `bun:"created_by,type:uuid"`
	// Actor is who asked for the job, as they were then; the handler runs as
	// Actor.Actor(). A row without one runs as nobody.
	Actor     *authz.Snapshot `bun:"actor,type:jsonb"`
	DedupeKey *string         `bun:"dedupe_key"`
	CreatedAt time.Time       `bun:"created_at"`
	UpdatedAt time.Time       `bun:"updated_at"`

	run *runState // set while a handler runs it
}

// actor is who the handler runs as: the recorded requester, or nobody.
func (j *Job) actor() authz.Actor {
	if j.Actor == nil {
		return authz.Actor{}
	}
	return j.Actor.Actor()
}

// Terminal reports whether the job will never run again.
func (j *Job) Terminal() bool {
	return j.Status == StatusSucceeded || j.Status == StatusFailed || j.Status == StatusCanceled
}

// Decode unmarshals the payload.
func (j *Job) Decode(v any) error { return json.Unmarshal(j.Payload, v) }

// SetResult stores v as the job's result; it is written when the job succeeds.
func (j *Job) SetResult(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	j.Result = b
	return nil
}

// LoadCheckpoint unmarshals the last checkpoint into v; it reports false when the
// job has none yet (a first run).
func (j *Job) LoadCheckpoint(v any) (bool, error) {
	if len(j.Checkpoint) == 0 || string(j.Checkpoint) == "null" {
		return false, nil
	}
	return true, json.Unmarshal(j.Checkpoint, v)
}

// Spec describes a job to enqueue. The job runs as the actor in Enqueue's ctx,
// which must carry one: the requester for work someone asked for, authz.System
// for work nobody did.
type Spec struct {
	Type        string     // "<module>:<verb>"
	Queue       string     // empty: the registered handler's queue, else default
	Payload     any        // ids and options, never bulk data
	RunAt       time.Time  // zero: now
	MaxAttempts int        // zero: the registered handler's MaxRetry+1, else DefaultMaxAttempts
	DedupeKey   string     // a second Enqueue with the same key returns the first job
	CreatedBy   *uuid.UUID // the member who asked for it
}

// Handler processes one task type. Exactly one of Run, RunLong and RunGlobal is
// set; RunGlobal makes the handler global (no tenant, no job row).
type Handler struct {
	Type    string        // "<module>:<verb>"
	Queue   string        // empty: default
	Timeout time.Duration // one run's limit; zero: DefaultTimeout; at most MaxTimeout
	// MaxRetry caps the retries after a first failed attempt. Zero leaves the
	// job's max_attempts in charge; a negative value means never retry. For a
	// global handler it is Asynq's retry count (zero: 3).
	MaxRetry int

	// Run does short work inside the tenant's transaction; the job is marked
	// succeeded in that same transaction, so its effects commit exactly once.
	Run func(ctx context.Context, tx bun.Tx, j *Job) error
	// RunLong does long work that commits in batches itself, saving each batch's
	// resume point with Job.SaveCheckpoint in the batch's transaction, so a rerun
	// resumes where the last committed batch ended.
	RunLong func(ctx context.Context, j *Job) error
	// RunGlobal does maintenance that belongs to no tenant: scheduled upkeep, or
	// a fan-out that enqueues one job per tenant.
	RunGlobal func(ctx context.Context, payload json.RawMessage) error
}

// Global reports whether the handler runs outside any tenant.
func (h Handler) Global() bool { return h.RunGlobal != nil }

func (h Handler) queue() string {
	if h.Queue == "" {
		return QueueDefault
	}
	return h.Queue
}

func (h Handler) timeout() time.Duration {
	if h.Timeout <= 0 {
		return DefaultTimeout
	}
	return h.Timeout
}

// maxAttempts is the attempt budget of j under this handler.
func (h Handler) maxAttempts(j *Job) int {
	switch {
	case h.MaxRetry < 0:
		return 1
	case h.MaxRetry > 0:
		return min(j.MaxAttempts, h.MaxRetry+1)
	}
	return j.MaxAttempts
}

func (h Handler) validate() error {
	if err := validType(h.Type); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{h.Run != nil, h.RunLong != nil, h.RunGlobal != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("jobs: handler %s must set exactly one of Run, RunLong and RunGlobal", h.Type)
	}
	if _, ok := Queues[h.queue()]; !ok {
		return fmt.Errorf("jobs: handler %s: unknown queue %q", h.Type, h.Queue)
	}
	if h.Timeout > MaxTimeout {
		return fmt.Errorf("jobs: handler %s: timeout %s is over %s", h.Type, h.Timeout, MaxTimeout)
	}
	return nil
}

func validType(t string) error {
	mod, verb, ok := strings.Cut(t, ":")
	if !ok || mod == "" || verb == "" {
		return fmt.Errorf("jobs: task type %q must be <module>:<verb>", t)
	}
	return nil
}

// Schedule is a periodic global task, enqueued once per period however many
// worker replicas run a scheduler. Use a cron expression ("17 3 * * *"): its
// ticks fall on the same wall-clock instants in every replica, which is what lets
// the deterministic task id refuse the duplicates. "@every" ticks count from each
// scheduler's start and are only deduplicated while the replicas start together.
type Schedule struct {
	Name    string // unique; the task id is "schedule:" + Name
	Cron    string // "0 3 * * *", "*/5 * * * *", "@every 1m"
	Type    string // a handler with RunGlobal
	Queue   string // empty: the handler's queue
	Payload any
}

// ErrCanceled is what a long handler returns when Canceled reports true. The
// middleware then leaves the row as the canceller (or the newer run) wrote it.
var ErrCanceled = errors.New("jobs: the job was canceled or taken over by another run")

// taskPayload is all an Asynq task carries.
type taskPayload struct {
	Tenant uuid.UUID `json:"t"`
	Job    uuid.UUID `json:"j"`
}
