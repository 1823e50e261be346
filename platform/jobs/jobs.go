// Package jobs runs Clientele's background work on Asynq, with PostgreSQL as the
// record. Every job is a row with a status and progress; the Asynq task carries
// only (tenant, job id) and the job id is the task id, so duplicates are refused.
// Losing Redis loses nothing: the sweeper re-enqueues due work from the rows.
package jobs

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
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
	DedupeKey     *string         `bun:"dedupe_key"`
	CreatedAt     time.Time       `bun:"created_at"`
	UpdatedAt     time.Time       `bun:"updated_at"`

	run *runState // set while a handler runs it
}

// Terminal reports whether the job will never run again.
func (j *Job) Terminal() bool {
	return j.Status == StatusSucceeded || j.Status == StatusFailed || j.Status == StatusCanceled
}

// Decode unmarshals the payload.
func (j *Job) Decode(v any) error { return json.Unmarshal(j.Payload, v) }

// SetResult stores v as the job's result when it succeeds.
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

// Spec describes a job to enqueue.
type Spec struct {
	Type        string     // "<module>:<verb>"
	Queue       string     // defaults to the handler's queue, else default
	Payload     any        // ids and options, never bulk data
	RunAt       time.Time  // zero: now
	MaxAttempts int        // zero: 10
	DedupeKey   string     // a second Enqueue with the same key returns the first job
	CreatedBy   *uuid.UUID // the member who asked for it
}

// Handler processes one task type. Exactly one of Run, RunLong and RunGlobal is set.
type Handler struct {
	Type     string
	Queue    string
	Timeout  time.Duration // whole seconds; zero: 30 minutes
	MaxRetry int           // asynq retries; zero: the job's max_attempts - 1

	// Run does short work inside the tenant's transaction; the job is marked
	// succeeded in that same transaction, so its effects commit exactly once.
	Run func(ctx context.Context, tx bun.Tx, j *Job) error
	// RunLong does long work that commits in batches itself, checkpointing each
	// batch with Job.SaveCheckpoint in the batch's transaction so a rerun resumes.
	RunLong func(ctx context.Context, j *Job) error
	// RunGlobal does maintenance that belongs to no tenant.
	RunGlobal func(ctx context.Context, payload json.RawMessage) error
}

// Schedule is a periodic global task, enqueued once per period however many
// worker replicas run a scheduler.
type Schedule struct {
	Name    string // unique; the task id is derived from it
	Cron    string // "@every 1m", "0 3 * * *"
	Type    string // a handler with RunGlobal
	Queue   string
	Payload any
}

// taskPayload is all an Asynq task carries.
type taskPayload struct {
	Tenant uuid.UUID `json:"t"`
	Job    uuid.UUID `json:"j"`
}
