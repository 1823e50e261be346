package funnel

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/notify"
)

// TypeRotting is the periodic sweep that tells owners about their rotting
// deals.
const TypeRotting = "funnel:rotting"

// rottingBatch is how many notices one statement stores.
const rottingBatch = notify.MaxBatch

// TypeRollup builds the analytics figures' requested rebuilds (a stage
// reordered, a kind changed, a stage deleted, the time zone changed), in
// chunks of deals of one transaction each.
const TypeRollup = "funnel:rollup"

// Jobs declares the module's task handlers.
func (m *Module) Jobs() []jobs.Handler {
	return []jobs.Handler{{Type: TypeRollup, Queue: jobs.QueueBulk, Timeout: 30 * time.Minute,
		RunGlobal: func(ctx context.Context, _ json.RawMessage) error { return m.BuildAllAnalytics(ctx) }},
		{Type: TypeRotting, Queue: jobs.QueueDefault, Timeout: 15 * time.Minute,
			RunGlobal: func(ctx context.Context, _ json.RawMessage) error {
				if _, err := m.NotifyRotting(ctx, time.Now()); err != nil {
					return err
				}
				if err := m.BuildAllAnalytics(ctx); err != nil {
					return err
				}
				return m.CompactAnalytics(ctx)
			}}}
}

// Schedules runs the sweep (rotting deals, then the analytics figures'
// compaction) every hour, at a fixed minute: each scheduler
// replica enqueues the same tick under the same task id, so the sweep runs
// once per tick however many run. A second run would add nothing anyway:
// the notices are keyed by deal, last activity and period.
func (m *Module) Schedules() []jobs.Schedule {
	return []jobs.Schedule{{Name: "funnel-rotting-hourly", Cron: "23 * * * *", Type: TypeRotting},
		// A rebuild waits at most a minute to start; meanwhile the
		// analytics read the history. Runs that overlap share the work.
		{Name: "funnel-rollup-minutely", Cron: "* * * * *", Type: TypeRollup}}
}

// RottingSourceKey names the notice of a deal rotting for the n-th period
// since its last activity: one per deal, activity and period, so the owner
// hears of it once per rotting period, and afresh after new activity goes
// stale again.
func RottingSourceKey(deal uuid.UUID, lastActivity time.Time, n int64) string {
	return fmt.Sprintf("deal.rotting:%s:%d:%d", deal, lastActivity.UnixMicro(), n)
}

// NotifyRotting tells the owner of every live deal that has had no activity
// (no change) for longer than its open stage's rotting limit, in every
// active company with the funnel on, once per rotting period. It returns how
// many notices it made.
func (m *Module) NotifyRotting(ctx context.Context, now time.Time) (int, error) {
	if m.d.Notify == nil {
		return 0, nil
	}
	var tenants []uuid.UUID
	if err := m.d.DB.NewRaw("SELECT id FROM tenants WHERE status = 'active' ORDER BY id").Scan(ctx, &tenants); err != nil {
		return 0, fmt.Errorf("funnel: rotting: %w", err)
	}
	total := 0
	for _, t := range tenants {
		n, err := m.NotifyRottingIn(ctx, t, now)
		if err != nil {
			return total, fmt.Errorf("funnel: rotting in %s: %w", t, err)
		}
		total += n
	}
	return total, nil
}

// NotifyRottingIn is NotifyRotting for one company, in batches of one
// transaction each.
func (m *Module) NotifyRottingIn(ctx context.Context, tenant uuid.UUID, now time.Time) (int, error) {
	if m.d.Notify == nil {
		return 0, nil
	}
	ctx = authz.AsSystem(ctx)
	total := 0
	after := uuid.Nil
	for {
		var rows []struct {
			ID      uuid.UUID `bun:"id"`
			Title   string    `bun:"title"`
			Owner   uuid.UUID `bun:"owner_id"`
			Updated time.Time `bun:"updated_at"`
			Days    int       `bun:"rotting_days"`
			StageEN string    `bun:"name_en"`
			StageZH string    `bun:"name_zh"`
		}
		err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			var off int
			if err := tx.NewRaw("SELECT count(*) FROM tenant_modules WHERE tenant_id = ? AND module = ? AND NOT enabled", tenant, m.Name()).Scan(ctx, &off); err != nil || off > 0 {
				return err
			}
			err := tx.NewRaw(`SELECT d.id, d.title, d.owner_id, d.updated_at, s.rotting_days, s.name_en, s.name_zh
				FROM deals d JOIN pipeline_stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id
				WHERE d.tenant_id = ? AND d.deleted_at IS NULL AND d.owner_id IS NOT NULL AND s.kind = 'open' AND s.rotting_days IS NOT NULL
				AND d.updated_at < ?::timestamptz - make_interval(days => s.rotting_days) AND d.id > ?
				ORDER BY d.id LIMIT ?`, tenant, now, after, rottingBatch).Scan(ctx, &rows)
			if err != nil || len(rows) == 0 {
				return err
			}
			ns := make([]notify.Addressed, len(rows))
			for i, r := range rows {
				idle := now.Sub(r.Updated)
				n := int64(idle / (time.Duration(r.Days) * 24 * time.Hour))
				days := int(idle.Hours() / 24)
				stage := r.StageEN
				if stage == "" {
					stage = r.StageZH
				}
				ns[i] = notify.Addressed{Recipient: r.Owner, Notice: notify.Notice{Kind: "deal.rotting", Title: r.Title,
					Body: fmt.Sprintf("No activity for %d days in %s (its limit is %d days). 已 %d 天无进展（阶段：%s，上限 %d 天）。", days, stage, r.Days, days, r.StageZH, r.Days),
					Link: "/deals?deal=" + r.ID.String(), SourceKey: RottingSourceKey(r.ID, r.Updated, n)}}
			}
			var made int
			if many, ok := m.d.Notify.(notify.BatchNotifier); ok {
				made, err = many.NotifyMany(ctx, tenant, ns)
				total += made
				return err
			}
			for _, a := range ns {
				created, err := m.d.Notify.Notify(ctx, tenant, a.Recipient, a.Notice)
				if err != nil {
					return err
				}
				if created {
					total++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		if len(rows) < rottingBatch {
			return total, nil
		}
		after = rows[len(rows)-1].ID
	}
}
