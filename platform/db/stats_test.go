package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/platform/db"
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

// Refreshes asked for in the background take turns: a burst of asks is one
// refresh now and one more when the spacing is up, not one each.
func TestRefreshStatsSoonCoalescesABurst(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	analyses := func() (n int64) {
		t.Helper()
		if err := env.Owner.QueryRowContext(ctx, "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'field_unique'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := analyses()
	for range 10 {
		db.RefreshStatsSoon(env.App, testkit.Quiet, "field_unique")
	}
	testkit.Eventually(t, 5*time.Second, 50*time.Millisecond, "the first refresh", func() bool { return analyses() == before+1 })
	testkit.Eventually(t, 20*time.Second, 100*time.Millisecond, "the refresh asked for meanwhile", func() bool { return analyses() == before+2 })
	time.Sleep(2 * time.Second)
	if n := analyses(); n != before+2 {
		t.Fatalf("%d refreshes for a burst of 10, want 2", n-before)
	}
}
