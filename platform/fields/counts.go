package fields

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/module"
)

// CountFloor is the fewest records a value or tag must hold to be kept in
// list_counts. A value that is absent held fewer at the last count: the plan
// treats it as narrow and drives from it, with a bound that notices when it
// has grown since (see Plan). Without a floor a text field whose values are
// all different (a reference number) would add a row per record.
const CountFloor = 16

// CountsMaxAge is how old a company's counts may grow before the hourly
// recount rebuilds them.
const CountsMaxAge = 55 * time.Minute

// TypeRecount is the hourly job that rebuilds stale list counts.
const TypeRecount = "fields:recount"

var safeIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Recount rebuilds the tenant's list counts for every declared entity in one
// tenant transaction: the records, each indexed custom text or boolean value
// and each tag held by at least CountFloor records. It replaces what was
// there, so running it twice is running it once.
func (s *Service) Recount(ctx context.Context, tenant uuid.UUID) error {
	return RecountEntities(ctx, s.deps.DB, tenant, s.EntitySpecs())
}

// RecountEntities is Recount for the entities given, for a tool that runs
// without the service (the seeder).
func RecountEntities(ctx context.Context, d *bun.DB, tenant uuid.UUID, es []module.Entity) error {
	defer forgetTotals(tenant)
	return db.InTenant(ctx, d, tenant, func(ctx context.Context, tx bun.Tx) error {
		for _, e := range es {
			if err := recountEntity(ctx, tx, tenant, e); err != nil {
				return fmt.Errorf("fields: recount %s: %w", e.Name, err)
			}
		}
		return nil
	})
}

func recountEntity(ctx context.Context, tx bun.IDB, tenant uuid.UUID, e module.Entity) error {
	table := e.TableName()
	if !safeIdent.MatchString(table) {
		return fmt.Errorf("entity table %q is not a plain name", table)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM list_counts WHERE tenant_id = ? AND entity = ?", tenant, e.Name); err != nil {
		return err
	}
	parts := []string{
		fmt.Sprintf("SELECT '*', '', count(*) FROM %s WHERE tenant_id = ?0", table),
		`SELECT 'custom.' || field_key, coalesce(v_text, v_bool::text), count(*) FROM field_index
		  WHERE tenant_id = ?0 AND entity = ?1 AND (v_text IS NOT NULL OR v_bool IS NOT NULL)
		  GROUP BY field_key, coalesce(v_text, v_bool::text) HAVING count(*) >= ?2`,
	}
	if t := e.Tags; t != nil {
		if !safeIdent.MatchString(t.Table) || !safeIdent.MatchString(t.ID) {
			return fmt.Errorf("tag table %q.%q is not a plain name", t.Table, t.ID)
		}
		parts = append(parts, fmt.Sprintf("SELECT 'tag', tag, count(*) FROM %s WHERE tenant_id = ?0 GROUP BY tag HAVING count(*) >= ?2", t.Table))
	}
	q := "INSERT INTO list_counts (tenant_id, entity, facet, value, n) SELECT ?0, ?1, x.* FROM ("
	for i, p := range parts {
		if i > 0 {
			q += " UNION ALL "
		}
		q += "(" + p + ")"
	}
	q += ") x"
	_, err := db.ExecStaged(ctx, tx, q, tenant, e.Name, CountFloor)
	return err
}

// RecountStale rebuilds the counts of every active company whose counts are
// older than CountsMaxAge or missing, one company per transaction. It is the
// hourly job's body; a company that fails is skipped and retried next hour.
func (s *Service) RecountStale(ctx context.Context) error {
	var tenants []uuid.UUID
	if err := s.deps.DB.NewRaw("SELECT id FROM tenants WHERE status = 'active' ORDER BY id").Scan(ctx, &tenants); err != nil {
		return fmt.Errorf("fields: recount: %w", err)
	}
	var first error
	for _, t := range tenants {
		var stale bool
		err := db.InTenant(ctx, s.deps.DB, t, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT coalesce(min(counted_at), '-infinity') < now() - ?::interval FROM list_counts WHERE tenant_id = ? AND facet = '*'",
				fmt.Sprintf("%d seconds", int(CountsMaxAge.Seconds())), t).Scan(ctx, &stale)
		})
		if err == nil && stale {
			err = s.Recount(ctx, t)
		}
		if err != nil {
			s.deps.Log.Warn("fields: recount failed", "tenant", t, "error", err)
			if first == nil {
				first = err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return first
}

// TypeRecountCompany rebuilds one company's list counts after a bulk write.
const TypeRecountCompany = "fields:recount-company"

// RecountDelay is how long a recount asked for by a bulk write waits before
// it runs, so bulk writes that finish close together (imports of several
// files, an import and its revert) share one.
const RecountDelay = 5 * time.Second

// RecountSoon asks, after a bulk write has committed (an import, a revert),
// for the company's list counts to be rebuilt within seconds instead of at
// the next hourly recount. A recount of the company that is queued and not
// started yet is enough, since it will read this write: then nothing is
// enqueued, so a burst of bulk writes makes one recount. Two callers racing
// may enqueue two; a recount is idempotent. It runs as the system: the counts
// are the company's, not the actor's.
func (s *Service) RecountSoon(ctx context.Context, tenant uuid.UUID) error {
	if s.deps.Jobs == nil {
		return nil
	}
	var queued bool
	if err := db.InTenant(ctx, s.deps.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT EXISTS (SELECT 1 FROM jobs WHERE tenant_id = ? AND status = ? AND task_type = ?)",
			tenant, jobs.StatusQueued, TypeRecountCompany).Scan(ctx, &queued)
	}); err != nil {
		return fmt.Errorf("fields: recount soon: %w", err)
	}
	if queued {
		return nil
	}
	_, err := s.deps.Jobs.Enqueue(authz.AsSystem(context.WithoutCancel(ctx)), tenant,
		jobs.Spec{Type: TypeRecountCompany, Queue: jobs.QueueBulk, RunAt: time.Now().Add(RecountDelay)})
	if err != nil {
		return fmt.Errorf("fields: recount soon: %w", err)
	}
	return nil
}

// recountCompanyHandler rebuilds one company's counts in the job's own
// tenant transaction.
func (s *Service) recountCompanyHandler() jobs.Handler {
	return jobs.Handler{Type: TypeRecountCompany, Queue: jobs.QueueBulk, Timeout: 30 * time.Minute, MaxRetry: 2,
		Run: func(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
			defer forgetTotals(j.TenantID)
			for _, e := range s.EntitySpecs() {
				if err := recountEntity(ctx, tx, j.TenantID, e); err != nil {
					return fmt.Errorf("fields: recount %s: %w", e.Name, err)
				}
			}
			return nil
		}}
}

// recountHandler is the hourly job's handler.
func (s *Service) recountHandler() jobs.Handler {
	return jobs.Handler{Type: TypeRecount, Queue: jobs.QueueBulk, Timeout: 30 * time.Minute,
		RunGlobal: func(ctx context.Context, _ json.RawMessage) error { return s.RecountStale(ctx) }}
}

// planSettings are the planner settings of a planned list's statements, set
// for the rest of the transaction by the statement that reads the counts (no
// round trip of their own) and restored by restorePlanSettings: joins by
// hash or merge off, so every join the plan did not ask for is an index
// probe whatever the table-wide statistics say, and room for hashed subplans.
// Parallel workers are off too: a page of 51 rows never pays for starting
// them (measured: 60 ms of a capped count's 87 ms on a busy machine).
const planSettings = `set_config('enable_hashjoin', 'off', true) || set_config('enable_mergejoin', 'off', true) || set_config('work_mem', '64MB', true) || set_config('max_parallel_workers_per_gather', '0', true)`

// restorePlanSettings puts planSettings (and enable_sort, which a sorted
// plan turns off) back to the values the session would have without any
// SET. One simple-protocol round trip, with no read of pg_settings: that
// view builds a row for every setting on each call, and a busy list page
// spent 12–23% of its database time there (the soak drill's statements).
// SET LOCAL also reaches Citus workers, where set_config does not.
const restorePlanSettings = `SET LOCAL enable_hashjoin TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT; SET LOCAL work_mem TO DEFAULT; ` +
	`SET LOCAL max_parallel_workers_per_gather TO DEFAULT; SET LOCAL enable_sort TO DEFAULT`

// counts reads the tenant's counts of (facet, value) pairs of an entity, and
// the number of its records (0 when never counted), and applies planSettings.
func counts(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string, facets, values []string) (map[[2]string]int64, int64, bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT '!', `+planSettings+`, 0::bigint UNION ALL SELECT facet, value, n FROM list_counts
		WHERE tenant_id = ? AND entity = ? AND (facet, value) IN (SELECT * FROM unnest(?::text[], ?::text[]) UNION ALL SELECT '*', '')`,
		tenant, entity, pgdialect.Array(facets), pgdialect.Array(values))
	if err != nil {
		return nil, 0, false, err
	}
	defer rows.Close()
	out := map[[2]string]int64{}
	var total int64
	counted := false
	for rows.Next() {
		var f, v string
		var n int64
		if err := rows.Scan(&f, &v, &n); err != nil {
			return nil, 0, false, err
		}
		if f == "!" {
			continue
		}
		if f == "*" {
			total, counted = n, true
			continue
		}
		out[[2]string{f, v}] = n
	}
	return out, total, counted, rows.Err()
}
