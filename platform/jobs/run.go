package jobs

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
)

// progressEvery throttles progress writes: a progress bar needs no more.
const progressEvery = 500 * time.Millisecond

// runState is what a job carries while a handler runs it.
type runState struct {
	db       *bun.DB
	mu       sync.Mutex
	lastProg time.Time
}

// owned narrows an update of the jobs row to the run that holds it: still running,
// and with the attempt number this run began.
func owned(q *bun.UpdateQuery, j *Job) *bun.UpdateQuery {
	return q.Where("tenant_id = ? AND id = ? AND status = ? AND attempts = ?", j.TenantID, j.ID, StatusRunning, j.Attempts)
}

// SaveCheckpoint stores v as the job's resume point in tx, the batch's own
// transaction, so a batch and its checkpoint commit together or not at all. When
// the job was canceled, or another run took it over, it returns ErrCanceled: roll
// the batch back and return.
func (j *Job) SaveCheckpoint(ctx context.Context, tx bun.Tx, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	res, err := owned(tx.NewUpdate().Table("jobs"), j).
		Set("checkpoint = ?", string(b)).Set("heartbeat_at = now()").Set("updated_at = now()").Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrCanceled
	}
	j.Checkpoint = b
	return nil
}

// Progress records how far the job has come. Writes are throttled to one per
// 500 ms unless done reaches total. It writes in its own short tenant
// transaction, or joins the one ctx carries (a batch's), so a handler holding a
// batch transaction cannot block on itself.
func (j *Job) Progress(ctx context.Context, done, total int64) error {
	j.ProgressDone = done
	if total > 0 {
		j.ProgressTotal = &total
	}
	if j.run == nil {
		return nil
	}
	j.run.mu.Lock()
	skip := time.Since(j.run.lastProg) < progressEvery && done != total
	if !skip {
		j.run.lastProg = time.Now()
	}
	j.run.mu.Unlock()
	if skip {
		return nil
	}
	return db.InTenant(ctx, j.run.db, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
		q := owned(tx.NewUpdate().Table("jobs"), j).
			Set("progress_done = ?", done).Set("heartbeat_at = now()").Set("updated_at = now()")
		if total > 0 {
			q = q.Set("progress_total = ?", total)
		}
		_, err := q.Exec(ctx)
		return err
	})
}

// Canceled reports whether this run should stop: a user canceled the job, another
// run took it over, or ctx ended. Long handlers check it between batches and
// return ErrCanceled.
func (j *Job) Canceled(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	if j.run == nil {
		return false
	}
	var status string
	var attempts int
	err := db.InTenant(ctx, j.run.db, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Table("jobs").Column("status", "attempts").
			Where("tenant_id = ? AND id = ?", j.TenantID, j.ID).Scan(ctx, &status, &attempts)
	})
	// On a read error keep going: the heartbeat and the final fenced update still
	// stop a run that lost the job.
	return err == nil && (status != StatusRunning || attempts != j.Attempts)
}
