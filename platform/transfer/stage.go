package transfer

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
)

// Staged is rows bound for a staging table.
type Staged struct {
	Table string
	Cols  []string
	Rows  [][]any
}

// CopyStaged is the loading path of a batch: it creates the adapter's staging
// tables (ddl: CREATE TEMP TABLE IF NOT EXISTS ... ON COMMIT DROP) and sends
// the rows with COPY. The adapter then applies them with a few set-based
// statements (INSERT ... SELECT, UPDATE ... FROM) inside the tenant
// transaction: PostgreSQL refuses COPY into a table under row-level security,
// the staging tables are private to the session, and the statements that move
// the rows are checked by RLS like any other write. Everything staged is
// dropped at commit, so a killed worker leaves nothing behind. It must run in a
// transaction opened by db.InTenantBulk (Plan.Write and Adapter.Revert are).
func CopyStaged(ctx context.Context, tx bun.Tx, ddl string, stages ...Staged) error {
	if _, err := tx.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("transfer: staging tables: %w", err)
	}
	for _, s := range stages {
		if len(s.Rows) == 0 {
			continue
		}
		if _, err := db.CopyFrom(ctx, s.Table, s.Cols, pgx.CopyFromRows(s.Rows)); err != nil {
			return fmt.Errorf("transfer: COPY into %s: %w", s.Table, err)
		}
	}
	return nil
}

// statsDue reports whether an import that has now written done rows, after
// prev before this batch, should refresh planner statistics: at 5,000 rows and
// at every doubling after, so a million-row import does it eight times.
func statsDue(prev, done int64) bool {
	for at := int64(5000); at <= done; at *= 2 {
		if prev < at {
			return true
		}
	}
	return false
}

// refreshAside reports whether an import that has written written rows (prev
// before this batch) and read processed of its total should refresh the
// statistics beside its next batches: when statsDue, but not after its last
// batch, since the import's end refreshes the same tables right after (a
// 5,000-row import analysed each table twice in a row).
func refreshAside(prev, written, processed, total int64) bool {
	return statsDue(prev, written) && (total <= 0 || processed < total)
}

// refreshStats refreshes the planner statistics of the tables an import or a
// revert filled (db.RefreshStats).
func (e *Engine) refreshStats(ctx context.Context, tables ...string) {
	db.RefreshStats(ctx, e.d.DB, e.d.Log, tables...)
}

// afterBulk runs once an import or a revert has finished writing: the planner
// statistics of the tables it filled, then the company's list counts (a job,
// deduplicated while one is queued). Both are optimisations: a failure is
// logged and the job goes on.
func (e *Engine) afterBulk(ctx context.Context, tenant uuid.UUID, tables ...string) {
	e.refreshStats(ctx, tables...)
	if e.d.Counts == nil {
		return
	}
	if err := e.d.Counts.RecountSoon(ctx, tenant); err != nil {
		e.d.Log.WarnContext(ctx, "transfer: list counts not refreshed", "error", err.Error())
	}
}

// refreshStatsAside refreshes statistics beside a running import, so its batches
// (and their progress reports, due at least every two seconds) do not wait for
// ANALYZE; at most one refresh runs at a time per process.
func (e *Engine) refreshStatsAside(ctx context.Context, tables ...string) {
	if !e.statsBusy.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer e.statsBusy.Store(false)
		e.refreshStats(context.WithoutCancel(ctx), tables...)
	}()
}
