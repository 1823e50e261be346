package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/platform/testkit"
)

// The app role refreshes planner statistics of tenant tables, and of nothing
// else, through the owner's function.
func TestRefreshStatsTakesTenantTablesOnly(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	lastAnalyze := func() (at time.Time) {
		t.Helper()
		var ts *time.Time
		if err := env.Owner.QueryRowContext(ctx, "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'field_index'").Scan(&ts); err != nil {
			t.Fatal(err)
		}
		if ts != nil {
			at = *ts
		}
		return at
	}
	before := lastAnalyze()
	var done bool
	if err := env.App.NewRaw("SELECT clientele_refresh_stats(?)", "field_index").Scan(ctx, &done); err != nil || !done {
		t.Fatalf("field_index: done %v, %v", done, err)
	}
	if after := lastAnalyze(); !after.After(before) {
		t.Fatalf("field_index last analysed %v, before %v", after, before)
	}
	for _, table := range []string{"tenants", "schema_migrations", "pg_class", "field_index; DROP TABLE customers", "no_such_table"} {
		err := env.App.NewRaw("SELECT clientele_refresh_stats(?)", table).Scan(ctx, &done)
		if err == nil || !strings.Contains(err.Error(), "not a tenant table") {
			t.Errorf("%q: %v, want refused as not a tenant table", table, err)
		}
	}
}
