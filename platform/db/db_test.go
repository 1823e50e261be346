package db_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func insertJob(ctx context.Context, tx bun.IDB, tenant uuid.UUID, typ string) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO jobs (tenant_id, task_type, queue) VALUES (?, ?, 'default')", tenant, typ)
	return err
}

// RLS alone must confine reads and writes to the tenant of the transaction.
func TestRLSHoldsWithoutAFilter(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	a, b := env.NewTenant(t), env.NewTenant(t)
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error { return insertJob(ctx, tx, a.ID, "test:a") })
	env.InTenant(t, b.ID, func(ctx context.Context, tx bun.Tx) error { return insertJob(ctx, tx, b.ID, "test:b") })

	t.Run("inside A, an unfiltered query sees only A", func(t *testing.T) {
		env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
			var tenants []uuid.UUID
			if err := tx.NewSelect().Table("jobs").Column("tenant_id").Scan(ctx, &tenants); err != nil {
				return err
			}
			if len(tenants) != 1 || tenants[0] != a.ID {
				t.Fatalf("saw %v, want only %s", tenants, a.ID)
			}
			return nil
		})
	})
	t.Run("outside any tenant, nothing is visible", func(t *testing.T) {
		var n int
		if err := env.App.NewSelect().Table("jobs").ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("app role saw %d rows with no tenant set", n)
		}
	})
	t.Run("an insert carrying another tenant's id is rejected", func(t *testing.T) {
		err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
			return insertJob(ctx, tx, b.ID, "test:forged")
		})
		if db.PgCode(errors.Unwrap(err)) != "42501" && db.PgCode(err) != "42501" {
			t.Fatalf("want RLS violation 42501, got %v", err)
		}
	})
	t.Run("an update cannot move a row to another tenant", func(t *testing.T) {
		err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE jobs SET tenant_id = ?", b.ID)
			return err
		})
		// Citus refuses any change of the distribution column before RLS is asked.
		if code := db.PgCode(err); code != "42501" && !(env.Citus && code == "0A000") {
			t.Fatalf("want RLS violation, got %v", err)
		}
	})
	t.Run("the owner sees both, proving the rows exist", func(t *testing.T) {
		var n int
		if err := env.Owner.NewSelect().Table("jobs").ColumnExpr("count(*)").Where("tenant_id IN (?, ?)", a.ID, b.ID).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("owner saw %d, want 2", n)
		}
	})
}

func TestTenantSettingIsTransactionLocal(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	a := env.NewTenant(t)
	// One connection, so a leaked setting would be seen by the next statement.
	one, err := db.Open(ctx, env.Config.AppDatabaseURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	setting := func() string {
		var v string
		if err := one.QueryRowContext(ctx, "SELECT coalesce(current_setting('app.tenant_id', true), '')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	var inside string
	if err := db.InTenant(ctx, one, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT current_setting('app.tenant_id')").Scan(&inside)
	}); err != nil {
		t.Fatal(err)
	}
	if inside != a.ID.String() {
		t.Fatalf("inside the tenant transaction app.tenant_id = %q, want %s", inside, a.ID)
	}
	if v := setting(); v != "" {
		t.Fatalf("tenant setting leaked past commit: %q", v)
	}
	// A transaction that fails rolls back its setting and leaves the connection usable.
	boom := errors.New("boom")
	if err := db.InTenant(ctx, one, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT 1/0"); err == nil {
			t.Error("division by zero succeeded")
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the function's error", err)
	}
	if v := setting(); v != "" {
		t.Fatalf("tenant setting leaked past rollback: %q", v)
	}
	// A plain transaction on the same pool is not scoped to any tenant.
	if err := one.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var v string
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(current_setting('app.tenant_id', true), '')").Scan(&v); err != nil {
			return err
		}
		if v != "" {
			t.Errorf("plain transaction carries tenant %q", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkTenantTransaction compares the tenant transaction as InTenant opens it
// (BEGIN and SET LOCAL in one message) with the former form, a BEGIN and then a
// separate set_config() statement, around the same one-row read.
func BenchmarkTenantTransaction(b *testing.B) {
	env := testkit.Get(b)
	ctx := context.Background()
	a := env.NewTenant(b)
	if err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error { return insertJob(ctx, tx, a.ID, "bench:a") }); err != nil {
		b.Fatal(err)
	}
	read := func(ctx context.Context, tx bun.Tx) error {
		var n int
		return tx.QueryRowContext(ctx, "SELECT count(*) FROM jobs WHERE tenant_id = ?", a.ID).Scan(&n)
	}
	b.Run("begin+set_config", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := env.App.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				if _, err := tx.ExecContext(ctx, "SELECT set_config('app.tenant_id', ?, true)", a.ID.String()); err != nil {
					return err
				}
				return read(ctx, tx)
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("InTenant", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := db.InTenant(ctx, env.App, a.ID, read); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestAfterCommitRunsOnlyOnCommit(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	ctx := context.Background()
	ran := 0
	_ = db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		db.AfterCommit(ctx, func(context.Context) { ran++ })
		return errors.New("roll back")
	})
	if ran != 0 {
		t.Fatal("hook ran after rollback")
	}
	_ = db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		// A nested call for the same tenant joins the transaction.
		return db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, _ bun.Tx) error {
			db.AfterCommit(ctx, func(context.Context) { ran++ })
			return nil
		})
	})
	if ran != 1 {
		t.Fatalf("hook ran %d times, want 1", ran)
	}
	b := env.NewTenant(t)
	err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return db.InTenant(ctx, env.App, b.ID, func(context.Context, bun.Tx) error { return nil })
	})
	if err == nil {
		t.Fatal("a nested transaction for another tenant must fail")
	}
}

func TestClassify(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	ctx := context.Background()
	err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		var id uuid.UUID
		return tx.NewSelect().Table("jobs").Column("id").Where("tenant_id = ? AND id = ?", a.ID, uuid.New()).Scan(ctx, &id)
	})
	if e := db.Classify(err, "job"); e == nil || e.Error() == "" || !containsCode(e, "not_found") {
		t.Fatalf("got %v", e)
	}
}

func containsCode(err error, code string) bool {
	return err != nil && len(err.Error()) >= len(code) && err.Error()[:len(code)] == code
}

// COPY goes to a session-private staging table inside the bulk transaction; the
// move into the real table is checked by RLS, and a rollback takes both back.
func TestCopyIntoStagingInsideTheTenantTransaction(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	a, b := env.NewTenant(t), env.NewTenant(t)
	stage := func(ctx context.Context, tx bun.Tx, tenant uuid.UUID, n int) error {
		if _, err := tx.ExecContext(ctx, "CREATE TEMP TABLE copy_stage (tenant_id uuid, task_type text) ON COMMIT DROP"); err != nil {
			return err
		}
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = []any{tenant, "test:copied"}
		}
		got, err := db.CopyFrom(ctx, "copy_stage", []string{"tenant_id", "task_type"}, pgx.CopyFromRows(rows))
		if err != nil {
			return err
		}
		if got != int64(n) {
			t.Fatalf("COPY wrote %d rows, want %d", got, n)
		}
		_, err = db.ExecStaged(ctx, tx, "INSERT INTO jobs (tenant_id, task_type, queue) SELECT tenant_id, task_type, 'default' FROM copy_stage")
		return err
	}
	count := func(tenant uuid.UUID) int {
		var n int
		if err := env.Owner.NewSelect().Table("jobs").ColumnExpr("count(*)").Where("tenant_id = ? AND task_type = 'test:copied'", tenant).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := db.InTenantBulk(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error { return stage(ctx, tx, a.ID, 2500) }); err != nil {
		t.Fatal(err)
	}
	if n := count(a.ID); n != 2500 {
		t.Fatalf("tenant A has %d copied jobs, want 2500", n)
	}
	// Rows staged for B inside A's transaction are refused when they move.
	err := db.InTenantBulk(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error { return stage(ctx, tx, b.ID, 10) })
	if db.PgCode(err) != "42501" {
		t.Fatalf("want RLS violation 42501 for rows of another tenant, got %v", err)
	}
	// A failure after the COPY rolls the rows back with the rest.
	boom := errors.New("boom")
	err = db.InTenantBulk(ctx, env.App, b.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := stage(ctx, tx, b.ID, 10); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count(b.ID) != 0 {
		t.Fatalf("err %v, tenant B has %d copied jobs after a rollback (want 0)", err, count(b.ID))
	}
	// Outside a bulk transaction CopyFrom refuses.
	err = db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := db.CopyFrom(ctx, "copy_stage", []string{"tenant_id"}, pgx.CopyFromRows(nil))
		return err
	})
	if err == nil {
		t.Fatal("CopyFrom ran outside a bulk transaction")
	}
	// The connection went back to the pool in a clean state: no tenant set.
	var leaked int
	if err := env.App.NewSelect().Table("jobs").ColumnExpr("count(*)").Scan(ctx, &leaked); err != nil || leaked != 0 {
		t.Fatalf("after bulk transactions the app role sees %d jobs with no tenant set (err %v)", leaked, err)
	}
}
