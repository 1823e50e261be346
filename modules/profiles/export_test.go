package profiles

import (
	"context"

	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/fields"
)

// SetPlan shrinks the planned list's limits (so a few hundred customers reach
// every strategy) and records the strategies it tries.
func SetPlan(m *Module, lim fields.Limits, trace func(fields.Step)) {
	m.planLimits, m.planTrace = lim, trace
}

// KeepStats stops upserts from refreshing the planner statistics, for tests
// of a company the statistics do not know.
func KeepStats(m *Module) { m.statsSoon = func(...string) {} }

// WatchStats records the tables each upsert asks to refresh the statistics
// of, instead of refreshing them.
func WatchStats(m *Module) *[][]string {
	var asked [][]string
	m.statsSoon = func(tables ...string) { asked = append(asked, tables) }
	return &asked
}

// ScoreSQL is the scoring statement, for the benchmark's EXPLAIN.
func (m *Module) ScoreSQL(tx bun.IDB, tenant uuid.UUID, asOf time.Time, currency string) (string, []any) {
	return m.scoreSQL(tx, tenant, asOf, currency)
}

// ListSets is the planned list's sets for the filter.
func (m *Module) ListSets(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f Filter) ([]fields.Set, error) {
	return m.listSets(ctx, tx, tenant, f)
}

// PlainListSQL is the statement of a newest-first page of customers that the
// kernel's plan does not take (filters that are not sets).
func (m *Module) PlainListSQL(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f Filter) (string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q, err := m.plainPage(ctx, tx, tenant, f.folded(), "created_at", sorts["created_at"].expr, true, nil)
	if err != nil {
		return "", err
	}
	return q.String(), nil
}
