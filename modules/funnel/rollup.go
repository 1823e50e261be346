package funnel

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
)

// The analytics read funnel_daily, the stage history summed by pipeline,
// stage, owner and day (see its migration). Every change to what a deal
// contributes (its stays, owner, expected close, deletion) takes the deal's
// contribution out before the change and puts it back after it, in the same
// transaction; changes to what every deal's contribution depends on (a
// stage's order or kind, a deleted stage, the company's time zone) rebuild
// the pipeline.

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

// takeDeferred is take at the commit, before the deferred history writes
// queued after it: for a change whose only effect on the contributions is
// deferred (a move).
func takeDeferred(ctx context.Context, tx bun.Tx, tenant uuid.UUID, ids ...uuid.UUID) error {
	return rollupErr(db.Defer(ctx, tx, "SELECT funnel_daily_take(?, ?::uuid[])", tenant, pgdialect.Array(idTexts(ids))))
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

// rebuildRollup computes a pipeline's figures afresh (every pipeline's when
// pipeline is nil, in zone from now on when zone is set).
func rebuildRollup(ctx context.Context, tx bun.Tx, tenant uuid.UUID, pipeline *uuid.UUID, zone string) error {
	if err := db.Flush(ctx); err != nil {
		return err
	}
	var z *string
	if zone != "" {
		z = &zone
	}
	_, err := tx.ExecContext(ctx, "SELECT funnel_daily_rebuild(?, ?, ?)", tenant, pipeline, z)
	return rollupErr(err)
}

// RebuildAnalytics recomputes a company's analytics figures from its stage
// history, for data written around the module (a bulk load).
func RebuildAnalytics(ctx context.Context, tx bun.Tx, tenant uuid.UUID) error {
	zone, err := tenantZone(ctx, tx, tenant)
	if err != nil {
		return err
	}
	return rebuildRollup(ctx, tx, tenant, nil, zone)
}

func tenantZone(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (string, error) {
	_, loc, err := tenantMoney(ctx, tx, tenant)
	if err != nil {
		return "", err
	}
	return loc.String(), nil
}

// rollupZone makes sure a company's figures are in zone, rebuilding them
// when they are in another (the company changed its time zone) or were
// never built.
func rollupZone(ctx context.Context, tx bun.Tx, tenant uuid.UUID, zone string) error {
	var have []string
	if err := tx.NewRaw("SELECT zone FROM funnel_daily_zone WHERE tenant_id = ?", tenant).Scan(ctx, &have); err != nil {
		return err
	}
	if len(have) == 1 && have[0] == zone {
		return nil
	}
	return rebuildRollup(ctx, tx, tenant, nil, zone)
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
