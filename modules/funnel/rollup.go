package funnel

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
)

// The analytics read funnel_daily, the stage history summed by pipeline,
// stage, owner and day (see its migration). Every change to what a deal
// contributes (its stays, owner, expected close, deletion) writes the
// difference it made, in the same transaction. Changes to what every deal's
// contribution depends on (a stage's order or kind, a deleted stage, the
// company's time zone) ask for a rebuild of the pipeline, which the rollup
// job builds in chunks of deals, each its own transaction, outside the
// company's lock; the analytics read the history until it is swapped in
// (see migration 20261228000100).

// uncount takes deals' contributions out for good, before the transaction
// deletes them at once. Writes deferred so far go first, so the
// contribution taken out is the one that was put in.
func uncount(ctx context.Context, tx bun.Tx, tenant uuid.UUID, ids ...uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	if err := db.Flush(ctx); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "SELECT funnel_daily_add(?, ?::uuid[], NULL, -1)", tenant, pgdialect.Array(idTexts(ids)))
	return rollupErr(err)
}

// take keeps deals' contributions before a change the transaction makes at
// once (an UPDATE of the deals), for recount to write only the difference.
func take(ctx context.Context, tx bun.Tx, tenant uuid.UUID, ids ...uuid.UUID) error {
	if err := db.Flush(ctx); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "SELECT funnel_daily_take(?, ?::uuid[])", tenant, pgdialect.Array(idTexts(ids)))
	return rollupErr(err)
}

// recount puts deals' contributions in at the commit, after every history
// write queued before it, less what take kept of them: a new deal adds its
// whole contribution, a moved one only what the move changed.
func recount(ctx context.Context, tx bun.Tx, tenant uuid.UUID, ids ...uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	return rollupErr(db.Defer(ctx, tx, "SELECT funnel_daily_put(?, ?::uuid[])", tenant, pgdialect.Array(idTexts(ids))))
}

// rebuildRollup computes a pipeline's figures afresh in one statement under
// the company's lock. On one node only for a pipeline that holds no deals
// any more (a deleted one): every other rebuild is requested
// (requestRebuild) and built in chunks; on Citus the requested rebuilds
// too (buildWhole).
func rebuildRollup(ctx context.Context, tx bun.Tx, tenant uuid.UUID, pipeline *uuid.UUID) error {
	if err := db.Flush(ctx); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "SELECT funnel_daily_rebuild(?, ?, NULL)", tenant, pipeline)
	return rollupErr(err)
}

// requestRebuild marks a pipeline's figures (every pipeline's when pipeline
// is nil; in zone from now on when zone is set) for a rebuild, which the
// rollup job makes in chunks of deals, each its own transaction. It waits
// only for the changes in flight; until the rebuild is done the analytics
// compute the pipeline's figures from the history.
func requestRebuild(ctx context.Context, tx bun.Tx, tenant uuid.UUID, pipeline *uuid.UUID, zone string) error {
	if err := db.Flush(ctx); err != nil {
		return err
	}
	var z *string
	if zone != "" {
		z = &zone
	}
	_, err := tx.ExecContext(ctx, "SELECT funnel_daily_request(?, ?, ?)", tenant, pipeline, z)
	return rollupErr(err)
}

// RebuildAnalytics asks for a company's analytics figures to be computed
// again from its stage history, for data written around the module (a bulk
// load). BuildAnalytics, or the rollup job, builds them.
func RebuildAnalytics(ctx context.Context, tx bun.Tx, tenant uuid.UUID) error {
	zone, err := tenantZone(ctx, tx, tenant)
	if err != nil {
		return err
	}
	return requestRebuild(ctx, tx, tenant, nil, zone)
}

// computeAnalytics computes a small company's figures (a demo's few hundred
// deals) afresh in the caller's transaction, in one statement.
func computeAnalytics(ctx context.Context, tx bun.Tx, tenant uuid.UUID) error {
	zone, err := tenantZone(ctx, tx, tenant)
	if err != nil {
		return err
	}
	if err := db.Flush(ctx); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "SELECT funnel_daily_rebuild(?, NULL, ?)", tenant, zone)
	return rollupErr(err)
}

// RollupChunk is how many deals one transaction of a rebuild reads.
const RollupChunk = 2000

// BuildAnalytics builds a company's requested rebuilds, chunk deals a
// transaction (RollupChunk when 0), and returns how many chunks it built. A
// pipeline another runner holds is left to it. Stopped half way (ctx), it
// resumes where the last committed chunk ended.
func (m *Module) BuildAnalytics(ctx context.Context, tenant uuid.UUID, chunk int) (int, error) {
	if chunk <= 0 {
		chunk = RollupChunk
	}
	ctx = authz.AsSystem(ctx)
	var pipes []uuid.UUID
	if err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT pipeline_id FROM funnel_daily_rebuilds WHERE tenant_id = ? ORDER BY requested_at, pipeline_id", tenant).Scan(ctx, &pipes)
	}); err != nil {
		return 0, rollupErr(err)
	}
	if db.IsCitus(ctx, m.d.DB) {
		return m.buildWhole(ctx, tenant, pipes)
	}
	chunks := 0
	for _, p := range pipes {
		for {
			if err := ctx.Err(); err != nil {
				return chunks, err
			}
			var n int
			if err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewRaw("SELECT funnel_daily_chunk(?, ?, ?)", tenant, p, chunk).Scan(ctx, &n)
			}); err != nil {
				return chunks, rollupErr(err)
			}
			if n < 0 { // another runner holds it
				break
			}
			if n > 0 {
				chunks++
				continue
			}
			var done bool
			if err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewRaw("SELECT funnel_daily_finish(?, ?)", tenant, p).Scan(ctx, &done)
			}); err != nil {
				return chunks, rollupErr(err)
			}
			if done {
				break
			}
			// Deals created meanwhile past the last chunk, or another runner: once more.
			var left int
			if err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewRaw("SELECT count(*) FROM funnel_daily_rebuilds WHERE tenant_id = ? AND pipeline_id = ?", tenant, p).Scan(ctx, &left)
			}); err != nil {
				return chunks, rollupErr(err)
			}
			if left == 0 {
				break
			}
		}
	}
	return chunks, nil
}

// buildWhole builds each requested pipeline in one transaction, under the
// company's lock (funnel_daily_rebuild), and counts one chunk a pipeline. It
// is how a cluster rebuilds: the chunks stitch the moves made meanwhile to
// each chunk's snapshot with transaction ids, which have no meaning across
// Citus nodes, and Citus sends a chunk's statement to the tenant's worker
// whole, where its read of the history would be a distributed query on a
// shard. Moves of the company wait while a pipeline is rebuilt
// (docs/operations.md, "Known limitations").
func (m *Module) buildWhole(ctx context.Context, tenant uuid.UUID, pipes []uuid.UUID) (int, error) {
	built := 0
	for _, p := range pipes {
		if err := ctx.Err(); err != nil {
			return built, err
		}
		done := false
		if err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			// Another runner may have built it since the list was read.
			var waiting int
			if err := tx.NewRaw("SELECT count(*) FROM funnel_daily_rebuilds WHERE tenant_id = ? AND pipeline_id = ?", tenant, p).Scan(ctx, &waiting); err != nil || waiting == 0 {
				return err
			}
			done = true
			return rebuildRollup(ctx, tx, tenant, &p)
		}); err != nil {
			return built, rollupErr(err)
		}
		if done {
			built++
		}
	}
	return built, nil
}

// BuildAllAnalytics builds the requested rebuilds of every active company:
// the rollup job.
func (m *Module) BuildAllAnalytics(ctx context.Context) error {
	ctx = authz.AsSystem(ctx)
	var tenants []uuid.UUID
	if err := m.d.DB.NewRaw("SELECT id FROM tenants WHERE status = 'active' ORDER BY id").Scan(ctx, &tenants); err != nil {
		return rollupErr(err)
	}
	for _, t := range tenants {
		if _, err := m.BuildAnalytics(ctx, t, 0); err != nil {
			return err
		}
	}
	return nil
}

// rebuilding reports whether a pipeline's figures are waiting for a rebuild,
// in which case the analytics compute them from the history.
func rebuilding(ctx context.Context, tx bun.Tx, tenant, pipeline uuid.UUID) (bool, error) {
	var n int
	err := tx.NewRaw("SELECT count(*) FROM funnel_daily_rebuilds WHERE tenant_id = ? AND pipeline_id = ?", tenant, pipeline).Scan(ctx, &n)
	return n > 0, err
}

func tenantZone(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (string, error) {
	_, loc, err := tenantMoney(ctx, tx, tenant)
	if err != nil {
		return "", err
	}
	return loc.String(), nil
}

// rollupZone makes sure a company's figures are in zone, asking for a
// rebuild when they are in another (the company changed its time zone) or
// were never built.
func rollupZone(ctx context.Context, tx bun.Tx, tenant uuid.UUID, zone string) error {
	var have []string
	if err := tx.NewRaw("SELECT zone FROM funnel_daily_zone WHERE tenant_id = ?", tenant).Scan(ctx, &have); err != nil {
		return err
	}
	if len(have) == 1 && have[0] == zone {
		return nil
	}
	return requestRebuild(ctx, tx, tenant, nil, zone)
}

// moved writes, at the commit, what a move of a deal at "at" changed in
// its contribution (see funnel_daily_moved): after the history writes the
// move queued before it.
func moved(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, at time.Time) error {
	return rollupErr(db.Defer(ctx, tx, "SELECT funnel_daily_moved(?, ?, ?)", tenant, id, at))
}

// CompactAnalytics folds the analytics figures' deltas of every company, one
// row per key, so a year of them stays a few thousand rows to read however
// many moves were made. The hourly sweep runs it.
func (m *Module) CompactAnalytics(ctx context.Context) error {
	ctx = authz.AsSystem(ctx)
	var tenants []uuid.UUID
	if err := m.d.DB.NewRaw("SELECT id FROM tenants WHERE status = 'active' ORDER BY id").Scan(ctx, &tenants); err != nil {
		return rollupErr(err)
	}
	for _, t := range tenants {
		if err := db.InTenant(ctx, m.d.DB, t, func(ctx context.Context, tx bun.Tx) error { return compactRollup(ctx, tx, t) }); err != nil {
			return err
		}
	}
	return nil
}

// compactRollup folds a company's deltas, one row per key.
func compactRollup(ctx context.Context, tx bun.Tx, tenant uuid.UUID) error {
	_, err := tx.ExecContext(ctx, "SELECT funnel_daily_compact(?)", tenant)
	return rollupErr(err)
}

func rollupErr(err error) error {
	if err != nil {
		return fmt.Errorf("funnel: analytics figures: %w", err)
	}
	return nil
}

func idTexts(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
