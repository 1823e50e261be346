package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"
)

// SweeperRole may read the scheduling columns of every tenant's jobs; the app role
// switches to it only inside the sweeper's read-only transaction.
const SweeperRole = "clientele_sweeper"

func (s *Server) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.o.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.o.SweepInterval)
			if n, err := s.Sweep(ctx); err != nil {
				s.log.Warn("jobs: sweep failed", "error", err.Error())
			} else if n > 0 {
				s.log.Info("jobs: sweeper re-enqueued lost work", "jobs", n)
			}
			cancel()
		}
	}
}

type dueJob struct {
	TenantID    uuid.UUID `bun:"tenant_id"`
	ID          uuid.UUID `bun:"id"`
	Type        string    `bun:"task_type"`
	Queue       string    `bun:"queue"`
	RunAt       time.Time `bun:"run_at"`
	Attempts    int       `bun:"attempts"`
	MaxAttempts int       `bun:"max_attempts"`
}

// Sweep re-enqueues every job that is due but not in Redis: queued or retrying
// jobs whose time has come, and running jobs whose worker stopped beating. One
// replica sweeps at a time. It returns how many tasks it put back.
func (s *Server) Sweep(ctx context.Context) (int, error) {
	lockTTL := max(s.o.SweepInterval, 5*time.Second)
	ok, err := s.rdb.SetNX(ctx, "clientele:sweeper:lock", "1", lockTTL).Result()
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, nil
	}
	defer s.rdb.Del(context.WithoutCancel(ctx), "clientele:sweeper:lock")
	var due []dueJob
	err = s.o.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+SweeperRole); err != nil {
			return err
		}
		return tx.NewSelect().Table("jobs").
			Column("tenant_id", "id", "task_type", "queue", "run_at", "attempts", "max_attempts").
			Where("(status IN ('queued', 'retrying') AND run_at <= now() - interval '10 seconds') OR (status = 'running' AND heartbeat_at < now() - interval '2 minutes')").
			Where("task_type IN (?)", bun.In(s.types())).
			OrderExpr("run_at").Limit(1000).Scan(ctx, &due)
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range due {
		j := &Job{TenantID: d.TenantID, ID: d.ID, Type: d.Type, Queue: d.Queue, RunAt: d.RunAt, MaxAttempts: d.MaxAttempts}
		c := &Client{asynq: s.client}
		err := c.pushErr(ctx, j)
		switch {
		case err == nil:
			n++
			if s.o.Metrics != nil {
				s.o.Metrics.swept.Inc()
			}
		case errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
			// Still in Redis (pending, scheduled for retry, or active): nothing lost.
		default:
			return n, err
		}
	}
	return n, nil
}

// types are the task types this worker handles; a worker sweeps only what it runs.
func (s *Server) types() []string {
	out := make([]string, 0, len(s.handlers))
	for t, h := range s.handlers {
		if h.RunGlobal == nil {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = append(out, "-")
	}
	return out
}
