package bi

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Rollups (数据汇总): each company's daily aggregates of the metrics that add
// up over days (platform/measures, rollup.go), per module. They are kept
// current like this:
//   - an events recorder marks, in the transaction of a change, the record
//     it changed (bi_rollup_dirty), or the whole module for an import;
//   - after the commit a kick, and every minute a sweep, refresh the
//     companies with marks: the days the marked records' facts fell on at
//     the last refresh and fall on now are computed again from the records,
//     for every rolled metric of the module, in one transaction;
//   - every night a reconcile rebuilds each company's rollups from the
//     records and counts the rows it found wrong (bi_rollup_state.drift):
//     it also catches what no event names (a stage's probability, a team's
//     members, the nightly RFM scores);
//   - a company's first question to a module without rollups marks it
//     whole, so the sweep builds them; until then the records answer.
// A question answered from rollups says so, with the time its numbers are
// exact as of: the oldest change still waiting, else the last refresh.

// Task types of the rollups.
const (
	TypeRollupSweep     = "bi:rollup-sweep"
	TypeRollupReconcile = "bi:rollup-reconcile"
)

// Kicker hands Asynq a hint for a global task (jobs.Client.Kick).
type Kicker interface {
	Kick(ctx context.Context, taskType, queue, id string, payload any, in time.Duration)
}

// maxMarked is the most changed records a refresh recomputes the days of;
// more (a bulk edit) rebuild the module.
const maxMarked = 2000

// rollupDelay gathers the changes of a burst into one refresh.
const rollupDelay = 2 * time.Second

// rollableOf lists the rolled metrics of each module that has any.
func rollableOf(r *measures.Registry) map[string][]measures.Entry {
	out := map[string][]measures.Entry{}
	for _, e := range r.All() {
		if e.Built() {
			out[e.Module] = append(out[e.Module], e)
		}
	}
	return out
}

// rollable lists the rolled metrics of each module that has any.
func (m *Module) rollable() map[string][]measures.Entry { return m.rolled }

// touchers are the modules with rolled metrics that say which of their
// events touch them, by name; computed once (the recorder runs on every
// event of every write).
func touchers(mods module.Set, rolled map[string][]measures.Entry) map[string]measures.Touches {
	out := map[string]measures.Touches{}
	for _, mod := range mods {
		if t, ok := mod.(measures.Touches); ok && len(rolled[mod.Name()]) > 0 {
			out[mod.Name()] = t
		}
	}
	return out
}

type rollupMark struct {
	module  string
	subject uuid.UUID
}

type markKey struct{}

// recordTouch is the events recorder: it marks what an event changes, in the
// transaction of the change, with one statement sent with its commit.
func (m *Module) recordTouch(ctx context.Context, e events.Event) error {
	if e.TenantID == uuid.Nil {
		return nil
	}
	var marks []rollupMark
	for name, t := range m.touchers {
		subject, whole := t.RollupTouch(e.Topic)
		switch {
		case whole:
			marks = append(marks, rollupMark{name, uuid.Nil})
		case subject:
			id, err := uuid.Parse(e.EntityID)
			if err != nil {
				marks = append(marks, rollupMark{name, uuid.Nil})
				continue
			}
			marks = append(marks, rollupMark{name, id})
			for _, gone := range events.MergedAway(e.Payload) {
				if id, err := uuid.Parse(gone); err == nil {
					marks = append(marks, rollupMark{name, id})
				}
			}
		}
	}
	if len(marks) == 0 {
		return nil
	}
	return db.InTenant(ctx, m.d.DB, e.TenantID, func(ctx context.Context, tx bun.Tx) error {
		for _, mk := range marks {
			if err := db.Collect(ctx, markKey{}, mk, m.flushMarks); err != nil {
				return err
			}
		}
		return nil
	})
}

func (m *Module) flushMarks(ctx context.Context, tx bun.Tx, values []any) error {
	tenant, _ := db.TenantOf(ctx)
	mods, subs := make([]string, 0, len(values)), make([]string, 0, len(values))
	for _, v := range values {
		mk := v.(rollupMark)
		mods, subs = append(mods, mk.module), append(subs, mk.subject.String())
	}
	// A mark there already keeps its time (the oldest change waiting) and
	// takes a new touched: a refresh running now takes only the marks it
	// read, as they were (takeMarks). Each mark once, in one order, so two
	// writers take the rows' locks alike (sent with the commit, held only
	// for it).
	return db.Defer(ctx, tx, `INSERT INTO bi_rollup_dirty (tenant_id, module, subject)
		SELECT DISTINCT ?::uuid, x.m, x.s FROM unnest(?::text[], ?::uuid[]) AS x (m, s) ORDER BY 2, 3
		ON CONFLICT (tenant_id, module, subject) DO UPDATE SET touched = EXCLUDED.touched`,
		tenant, pgdialect.Array(mods), pgdialect.Array(subs))
}

// kickAfterCommit asks for a refresh soon after a change that touched
// rollups committed, at most once per rollupDelay in this process (the kick
// is a Redis call, and it runs on the writer's request); the minutely
// sweep catches a lost or skipped one.
func (m *Module) kickAfterCommit(ctx context.Context, e events.Event) error {
	k, ok := m.d.Jobs.(Kicker)
	if !ok {
		return nil
	}
	for _, t := range m.touchers {
		if s, w := t.RollupTouch(e.Topic); s || w {
			m.kick(ctx, k)
			return nil
		}
	}
	return nil
}

// kick hands the sweep a hint unless one went less than rollupDelay ago.
func (m *Module) kick(ctx context.Context, k Kicker) {
	now := time.Now().UnixNano()
	last := m.lastKick.Load()
	if now-last < int64(rollupDelay) || !m.lastKick.CompareAndSwap(last, now) {
		return
	}
	k.Kick(ctx, TypeRollupSweep, jobs.QueueBulk, "bi-rollup-sweep", nil, rollupDelay)
}

// rollupState is a company's rollups of one module.
type rollupState struct {
	Module      string     `bun:"module"`
	TimeZone    string     `bun:"time_zone"`
	Currency    string     `bun:"currency"`
	RefreshedAt time.Time  `bun:"refreshed_at"`
	Waiting     *time.Time `bun:"waiting"`
	Rebuilding  bool       `bun:"rebuilding"`
}

// rollupsFor reads which modules' rollups may answer the company's
// questions: those built in its present time zone and currency. A module
// without them is marked whole, so the sweep builds them.
func (m *Module) rollupsFor(ctx context.Context, tx bun.IDB, t measures.Tenant) (measures.Rollups, func() []string, error) {
	var st []rollupState
	if err := tx.NewRaw(`SELECT s.module, s.time_zone, s.currency, s.refreshed_at,
			(SELECT min(d.marked_at) FROM bi_rollup_dirty AS d WHERE d.tenant_id = s.tenant_id AND d.module = s.module) AS waiting,
			EXISTS (SELECT 1 FROM bi_rollup_dirty AS d WHERE d.tenant_id = s.tenant_id AND d.module = s.module AND d.subject = ?) AS rebuilding
		FROM bi_rollup_state AS s WHERE s.tenant_id = ?`, uuid.Nil, t.ID).Scan(ctx, &st); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, err
	}
	by := map[string]rollupState{}
	for _, s := range st {
		by[s.Module] = s
	}
	var asked []string
	ro := func(module string) (time.Time, bool) {
		s, ok := by[module]
		if !ok || s.TimeZone != t.TimeZone || s.Currency != t.Currency {
			asked = append(asked, module)
			return time.Time{}, false
		}
		if s.Rebuilding {
			// A bulk change (an import, a scoring run) waits for its
			// rebuild: the records answer, right if slower.
			return time.Time{}, false
		}
		if s.Waiting != nil {
			return *s.Waiting, true
		}
		return s.RefreshedAt, true
	}
	return ro, func() []string { return asked }, nil
}

// askBuild marks the modules whose rollups a question wanted but could not
// use, once per module and transaction.
func (m *Module) askBuild(ctx context.Context, tx bun.Tx, modules ...string) error {
	for _, name := range modules {
		if err := db.Collect(ctx, markKey{}, rollupMark{name, uuid.Nil}, m.flushMarks); err != nil {
			return err
		}
	}
	if k, ok := m.d.Jobs.(Kicker); ok && len(modules) > 0 {
		db.AfterCommit(ctx, func(ctx context.Context) { m.kick(ctx, k) })
	}
	return nil
}

// RefreshRollups brings a company's rollups of a module up to date with the
// marks waiting: the days the marked records touch, or all of it when the
// module is marked whole, has none yet, or its time zone or currency
// changed. It returns the days it computed again (-1: all).
func (m *Module) RefreshRollups(ctx context.Context, tenant uuid.UUID, module string) (int, error) {
	es := m.rollable()[module]
	if len(es) == 0 {
		return 0, nil
	}
	ctx = authz.AsSystem(ctx)
	days := 0
	start := time.Now()
	defer func() { m.prom.refreshed(module, days, time.Since(start).Seconds()) }()
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) (err error) {
		// A refresh runs beside the requests, on their database: it keeps
		// to one core (no parallel workers), so a rebuild after an import
		// slows one backend, not every one. The nightly reconcile may take
		// more. Nor does it compile its statements (JIT): a refresh's
		// statements read a few days, but their estimated cost (a dozen
		// groupings of a day's facts, for each range) passes the JIT's
		// thresholds, and compiling one took 4.5 s of a 5.9 s statement
		// whose reads took 1 s.
		if _, err := tx.ExecContext(ctx, "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off"); err != nil {
			return err
		}
		t, err := m.lockRollups(ctx, tx, tenant, module)
		if err != nil {
			return err
		}
		var st []rollupState
		if err := tx.NewRaw("SELECT module, time_zone, currency, refreshed_at FROM bi_rollup_state WHERE tenant_id = ? AND module = ?",
			tenant, module).Scan(ctx, &st); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		taken, err := readMarks(ctx, tx, tenant, module)
		if err != nil {
			return err
		}
		marked := make([]uuid.UUID, len(taken))
		for i, mk := range taken {
			marked[i] = mk.Subject
		}
		defer func() {
			if err == nil {
				err = takeMarks(ctx, tx, tenant, module, taken)
			}
		}()
		// Past maxMarked records a rebuild is cheaper than their days, and
		// the days query's subject array stays small. (The marks themselves
		// are read whole, 40 bytes each, and sent back to takeMarks: a bulk
		// change publishes one whole-module mark, not one per record.)
		whole := len(st) == 0 || st[0].TimeZone != t.TimeZone || st[0].Currency != t.Currency || len(marked) > maxMarked
		for _, s := range marked {
			whole = whole || s == uuid.Nil
		}
		if whole {
			days = -1
			_, err = m.rebuild(ctx, tx, t, module, es, false)
			return err
		}
		if len(marked) > 0 {
			if days, err = m.refreshSubjects(ctx, tx, t, module, es, marked); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE bi_rollup_state SET refreshed_at = now() WHERE tenant_id = ? AND module = ?", tenant, module)
		return err
	})
	return days, err
}

// A mark read by a refresh: the record and its touched.
type takenMark struct {
	Subject uuid.UUID `bun:"subject"`
	Touched time.Time `bun:"touched"`
}

// readMarks reads a company's marks of a module without locking them: a
// writer marking a record meanwhile does not wait for the refresh.
func readMarks(ctx context.Context, tx bun.Tx, tenant uuid.UUID, module string) ([]takenMark, error) {
	var out []takenMark
	if err := tx.NewRaw("SELECT subject, touched FROM bi_rollup_dirty WHERE tenant_id = ? AND module = ?", tenant, module).
		Scan(ctx, &out); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return out, nil
}

// takeMarks deletes, at the end of the refresh that read them, the marks it
// read and that no writer has touched since: a record changed again while
// the refresh ran keeps its mark for the next one.
func takeMarks(ctx context.Context, tx bun.Tx, tenant uuid.UUID, module string, taken []takenMark) error {
	if len(taken) == 0 {
		return nil
	}
	subs, at := make([]string, len(taken)), make([]time.Time, len(taken))
	for i, mk := range taken {
		subs[i], at[i] = mk.Subject.String(), mk.Touched
	}
	_, err := tx.NewRaw(`DELETE FROM bi_rollup_dirty AS d USING unnest(?::uuid[], ?::timestamptz[]) AS x (s, t)
		WHERE d.tenant_id = ? AND d.module = ? AND d.subject = x.s AND d.touched = x.t`,
		pgdialect.Array(subs), pgdialect.Array(at), tenant, module).Exec(ctx)
	return err
}

// lockRollups holds the company's rollups of a module for this transaction,
// so that refreshes and reconciles of it take turns, and reads the company.
func (m *Module) lockRollups(ctx context.Context, tx bun.Tx, tenant uuid.UUID, module string) (measures.Tenant, error) {
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", "bi-rollups:"+tenant.String()+":"+module); err != nil {
		return measures.Tenant{}, err
	}
	t, _, err := tenantOf(ctx, tx, tenancy.Tenant{ID: tenant})
	return t, err
}

// refreshSubjects computes again the days the marked records' facts fell on
// at the last refresh and fall on now, and keeps their new days.
func (m *Module) refreshSubjects(ctx context.Context, tx bun.Tx, t measures.Tenant, module string, es []measures.Entry, subjects []uuid.UUID) (int, error) {
	var old []struct {
		Days  []string `bun:"days,array"`
		Masks []int64  `bun:"masks,array"`
	}
	ids := make([]string, len(subjects))
	for i, s := range subjects {
		ids[i] = s.String()
	}
	if err := tx.NewRaw("SELECT days::text[] AS days, masks FROM bi_rollup_subject_days WHERE tenant_id = ? AND module = ? AND subject = ANY(?::uuid[])",
		t.ID, module, pgdialect.Array(ids)).Scan(ctx, &old); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	now, err := measures.SubjectDays(ctx, tx, t, es, subjects)
	if err != nil {
		return 0, err
	}
	var all []measures.DayMask
	for _, o := range old {
		all = append(all, measures.Masked(o.Days, o.Masks)...)
	}
	for _, d := range now {
		all = append(all, d...)
	}
	// Each metric computes again the days its own facts of these records
	// fell on or fall on (a purchase's day, not the customer's creation).
	computed := map[string]bool{}
	for _, e := range es {
		bit := measures.MetricBit(e.Key)
		var days []string
		for _, d := range all {
			if d.Mask&bit != 0 {
				days = append(days, d.Day)
				computed[d.Day] = true
			}
		}
		ranges, err := measures.Ranges(days)
		if err != nil {
			return 0, err
		}
		if len(ranges) > 0 {
			if err := measures.BuildRollup(ctx, tx, t, e, ranges); err != nil {
				return 0, err
			}
		}
	}
	if _, err := tx.NewRaw("DELETE FROM bi_rollup_subject_days WHERE tenant_id = ? AND module = ? AND subject = ANY(?::uuid[])",
		t.ID, module, pgdialect.Array(ids)).Exec(ctx); err != nil {
		return 0, err
	}
	if len(now) > 0 {
		subs, days, masks := make([]string, 0, len(now)), make([]string, 0, len(now)), make([]string, 0, len(now))
		keys := make([]uuid.UUID, 0, len(now))
		for s := range now {
			keys = append(keys, s)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, s := range keys {
			ds, ms := make([]string, len(now[s])), make([]string, len(now[s]))
			for i, d := range now[s] {
				ds[i], ms[i] = d.Day, strconv.FormatInt(d.Mask, 10)
			}
			subs = append(subs, s.String())
			days = append(days, "{"+strings.Join(ds, ",")+"}")
			masks = append(masks, "{"+strings.Join(ms, ",")+"}")
		}
		if _, err := db.ExecStaged(ctx, tx, `INSERT INTO bi_rollup_subject_days (tenant_id, module, subject, days, masks)
			SELECT ?, ?, x.s, x.d::date[], x.m::bigint[] FROM unnest(?::uuid[], ?::text[], ?::text[]) AS x (s, d, m)`,
			t.ID, module, pgdialect.Array(subs), pgdialect.Array(days), pgdialect.Array(masks)); err != nil {
			return 0, err
		}
	}
	return len(computed), nil
}

// rebuild computes a company's rollups of a module again from the records,
// with the days of every record, and, when count is set, returns how many
// rows differed from what was there (the drift a reconcile reports).
func (m *Module) rebuild(ctx context.Context, tx bun.Tx, t measures.Tenant, module string, es []measures.Entry, count bool) (int64, error) {
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	if count {
		if _, err := tx.NewRaw(`CREATE TEMPORARY TABLE bi_rollups_before ON COMMIT DROP AS
			SELECT metric, dim, day, key, lo, hi, n, v, vn, b, vals FROM bi_rollups WHERE tenant_id = ? AND metric = ANY(?::text[])`,
			t.ID, pgdialect.Array(keys)).Exec(ctx); err != nil {
			return 0, err
		}
	}
	for _, e := range es {
		if err := measures.BuildRollup(ctx, tx, t, e, []measures.DayRange{measures.AllDays}); err != nil {
			return 0, err
		}
	}
	// Rows a metric of the module kept under its own key before it was
	// answered from another's (Metric.RolledAs) go.
	var stale []string
	for _, e := range m.metrics.All() {
		if e.Module == module && e.RolledAs != "" {
			stale = append(stale, e.Key)
		}
	}
	if len(stale) > 0 {
		if _, err := tx.NewRaw("DELETE FROM bi_rollups WHERE tenant_id = ? AND metric = ANY(?::text[])", t.ID, pgdialect.Array(stale)).Exec(ctx); err != nil {
			return 0, err
		}
	}
	if _, err := tx.NewRaw("DELETE FROM bi_rollup_subject_days WHERE tenant_id = ? AND module = ?", t.ID, module).Exec(ctx); err != nil {
		return 0, err
	}
	if q := measures.SubjectDaysQuery(ctx, tx, t, es, nil); q != nil {
		if _, err := db.ExecStaged(ctx, tx, "INSERT INTO bi_rollup_subject_days (tenant_id, module, subject, days, masks) SELECT ?, ?, sd.subject, sd.days, sd.masks FROM (?) AS sd",
			t.ID, module, q); err != nil {
			return 0, err
		}
	}
	var drift int64
	if count {
		if err := tx.NewRaw(`SELECT count(*) FROM (
				(SELECT metric, dim, day, key, lo, hi, n, v, vn, b, vals FROM bi_rollups_before
				 EXCEPT ALL SELECT metric, dim, day, key, lo, hi, n, v, vn, b, vals FROM bi_rollups WHERE tenant_id = ? AND metric = ANY(?::text[]))
				UNION ALL
				(SELECT metric, dim, day, key, lo, hi, n, v, vn, b, vals FROM bi_rollups WHERE tenant_id = ? AND metric = ANY(?::text[])
				 EXCEPT ALL SELECT metric, dim, day, key, lo, hi, n, v, vn, b, vals FROM bi_rollups_before)) AS d`,
			t.ID, pgdialect.Array(keys), t.ID, pgdialect.Array(keys)).Scan(ctx, &drift); err != nil {
			return 0, err
		}
	}
	_, err := tx.NewRaw(`INSERT INTO bi_rollup_state (tenant_id, module, time_zone, currency, built_at, refreshed_at, reconciled_at, drift)
		VALUES (?, ?, ?, ?, now(), now(), now(), ?)
		ON CONFLICT (tenant_id, module) DO UPDATE SET time_zone = EXCLUDED.time_zone, currency = EXCLUDED.currency,
			built_at = EXCLUDED.built_at, refreshed_at = EXCLUDED.refreshed_at, reconciled_at = EXCLUDED.reconciled_at, drift = EXCLUDED.drift`,
		t.ID, module, t.TimeZone, t.Currency, drift).Exec(ctx)
	return drift, err
}

// ReconcileRollups rebuilds a company's rollups of a module from the records
// and returns how many rows were wrong. The marks waiting are taken: the
// rebuild reads every record as it is now.
func (m *Module) ReconcileRollups(ctx context.Context, tenant uuid.UUID, module string) (int64, error) {
	es := m.rollable()[module]
	if len(es) == 0 {
		return 0, nil
	}
	ctx = authz.AsSystem(ctx)
	var drift int64
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) (err error) {
		t, err := m.lockRollups(ctx, tx, tenant, module)
		if err != nil {
			return err
		}
		taken, err := readMarks(ctx, tx, tenant, module)
		if err != nil {
			return err
		}
		defer func() {
			if err == nil {
				err = takeMarks(ctx, tx, tenant, module, taken)
			}
		}()
		// Drift is counted against rollups that were there: a first build
		// finds none wrong.
		var built int
		if err := tx.NewRaw("SELECT count(*) FROM bi_rollup_state WHERE tenant_id = ? AND module = ?", tenant, module).Scan(ctx, &built); err != nil {
			return err
		}
		drift, err = m.rebuild(ctx, tx, t, module, es, built > 0)
		return err
	})
	return drift, err
}

// sweepPace is how long after a refresh the next may start, in multiples of
// the last one's length: refreshes then take at most a third of one
// connection's time, in the sweep that runs them and across sweeps. A
// refresh recomputes whole days, so it grows with the companies' busiest
// days (an import day: every customer created today); left unpaced, sweeps
// kicked every rollupDelay ran back to back and took a growing share of the
// database from the requests. Paced per refresh rather than per sweep, a
// sweep over twenty companies no longer holds a core for twenty refreshes
// in a row, which the requests queued behind (the soak's p99 bursts every
// import period). maxSweepWait bounds the wait, and so how stale a
// dashboard's rollups get; a sweep stops after maxSweepRun and leaves the
// marks it has not reached to the next (the minutely schedule).
const (
	sweepPace    = 2
	maxSweepWait = time.Minute
	maxSweepRun  = 10 * time.Minute
)

// sweepTurn takes the sweep's turn at now: it returns 0 when the sweep may
// run (and marks one running), or how long it should wait: until the last
// refresh's pace is over, or, while another sweep of this process runs, a
// rollupDelay (the two would take turns on every company's lock).
func (m *Module) sweepTurn(now time.Time) time.Duration {
	m.sweepMu.Lock()
	defer m.sweepMu.Unlock()
	if m.sweeping {
		return rollupDelay
	}
	if wait := m.paceLocked(now); wait > 0 {
		return wait
	}
	m.sweeping = true
	return 0
}

// paceLocked is how long after now the next refresh should wait for the
// last one's pace (sweepMu held).
func (m *Module) paceLocked(now time.Time) time.Duration {
	if m.sweptAt.IsZero() {
		return 0
	}
	return max(0, min(maxSweepWait, sweepPace*m.sweptFor-now.Sub(m.sweptAt)))
}

// refreshedAt notes a refresh's end and length, which pace the next.
func (m *Module) refreshedAt(end time.Time, took time.Duration) time.Duration {
	m.sweepMu.Lock()
	defer m.sweepMu.Unlock()
	m.sweptAt, m.sweptFor = end, took
	return m.paceLocked(end)
}

// SweepRollups refreshes every company with marks waiting, each module in a
// transaction of its own, each refresh paced by the one before (sweepPace).
// The companies are found as the sweeper role. A sweep asked for too soon
// after the last refresh, or while another runs, is put off, when the
// module has jobs to put it off with; the marks wait.
func (m *Module) SweepRollups(ctx context.Context) error {
	wait := m.sweepTurn(time.Now())
	if wait > 0 {
		if k, ok := m.d.Jobs.(Kicker); ok {
			// Its own id: the sweep running now may hold the usual one.
			k.Kick(ctx, TypeRollupSweep, jobs.QueueBulk, "bi-rollup-sweep-paced", nil, wait)
			return nil
		}
		// No jobs to put it off with (a direct call): sweep now, without
		// taking the turn another sweep may hold, and without pacing.
	}
	if wait == 0 {
		defer func() {
			m.sweepMu.Lock()
			m.sweeping = false
			m.sweepMu.Unlock()
		}()
	}
	var due []struct {
		TenantID uuid.UUID `bun:"tenant_id"`
		Module   string    `bun:"module"`
	}
	err := m.d.DB.RunInTx(ctx, &sql.TxOptions{ReadOnly: true}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+jobs.SweeperRole); err != nil {
			return err
		}
		return tx.NewRaw("SELECT DISTINCT tenant_id, module FROM bi_rollup_dirty ORDER BY 1, 2").Scan(ctx, &due)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("bi: rollup sweep: %w", err)
	}
	var first error
	start := time.Now()
	for i, d := range due {
		began := time.Now()
		if _, err := m.RefreshRollups(ctx, d.TenantID, d.Module); err != nil {
			m.d.Log.ErrorContext(ctx, "bi: rollup refresh failed", "module", d.Module, "error", err.Error())
			if first == nil {
				first = err
			}
		}
		gap := m.refreshedAt(time.Now(), time.Since(began))
		if i == len(due)-1 || wait > 0 {
			continue
		}
		if time.Since(start)+gap > maxSweepRun {
			break // the next sweep takes the rest
		}
		if err := m.pause(ctx, gap); err != nil {
			return errors.Join(first, err)
		}
	}
	return first
}

// pause waits d, or until ctx ends (a field, so a test can watch the pace).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reconcileAll rebuilds the rollups of every active company, module by
// module, each in a transaction of its own, and logs the drift found.
func (m *Module) reconcileAll(ctx context.Context) error {
	var tenants []uuid.UUID
	if err := m.d.DB.NewRaw("SELECT id FROM tenants WHERE status = 'active' ORDER BY id").Scan(ctx, &tenants); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var first error
	for _, tenant := range tenants {
		for module := range m.rollable() {
			drift, err := m.ReconcileRollups(ctx, tenant, module)
			if err != nil {
				m.d.Log.ErrorContext(ctx, "bi: rollup reconcile failed", "module", module, "error", err.Error())
				if first == nil {
					first = err
				}
				continue
			}
			if drift > 0 {
				m.d.Log.WarnContext(ctx, "bi: rollup reconcile found drift", "module", module, "rows", drift)
			}
			m.prom.driftRows(module, drift)
		}
	}
	return first
}

func (m *Module) rollupJobs() []jobs.Handler {
	return []jobs.Handler{
		{Type: TypeRollupSweep, Queue: jobs.QueueBulk, Timeout: 30 * time.Minute, MaxRetry: -1,
			RunGlobal: func(ctx context.Context, _ json.RawMessage) error { return m.SweepRollups(ctx) }},
		{Type: TypeRollupReconcile, Queue: jobs.QueueBulk, Timeout: jobs.MaxTimeout, MaxRetry: 1,
			RunGlobal: func(ctx context.Context, _ json.RawMessage) error { return m.reconcileAll(ctx) }},
		{Type: TypeExpireFiles, Queue: jobs.QueueBulk, Timeout: 30 * time.Minute, MaxRetry: 2,
			RunGlobal: func(ctx context.Context, _ json.RawMessage) error {
				_, err := m.ExpireFiles(ctx, time.Now())
				return err
			}},
	}
}

func (m *Module) rollupSchedules() []jobs.Schedule {
	return []jobs.Schedule{
		{Name: "bi-rollups-minutely", Cron: "* * * * *", Type: TypeRollupSweep},
		{Name: "bi-rollups-nightly", Cron: "30 2 * * *", Type: TypeRollupReconcile},
		{Name: "bi-report-files-nightly", Cron: "10 3 * * *", Type: TypeExpireFiles},
	}
}
