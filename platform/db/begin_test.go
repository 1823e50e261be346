package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A tenant transaction's BEGIN travels with its first statement. Whatever that
// statement is (a read through ReadRows, a write, a read through bun, a
// statement that fails, nothing at all), the statement runs scoped to the
// tenant, inside the transaction, and the connection goes back to the pool
// outside any transaction. On Citus the BEGIN goes alone (the coordinator
// replays a SET LOCAL's whole message on the workers), and the same holds.
func TestBeginTravelsWithTheFirstStatement(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	a, b := tenantsWithAJob(t, env, "begin:")
	readScope := func(ctx context.Context, tx bun.Tx) (setting string, types []string) {
		setting, types, err := readJobs(ctx, tx, "begin:")
		if err != nil {
			t.Fatal(err)
		}
		return setting, types
	}
	// ReadRows first: the read sees the tenant's rows only, with the setting.
	err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		setting, types := readScope(ctx, tx)
		if setting != a.ID.String() || len(types) != 1 || types[0] != "begin:"+a.ID.String() {
			t.Errorf("first read: setting %q, rows %v; want tenant %s and its one job", setting, types, a.ID)
		}
		// The read ran inside the transaction: a second statement sees the
		// same transaction start time.
		var same bool
		if err := tx.QueryRowContext(ctx, "SELECT now() = (SELECT xact_start FROM pg_stat_activity WHERE pid = pg_backend_pid())").Scan(&same); err != nil {
			return err
		}
		if !same {
			t.Error("the read and the next statement are not one transaction")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A write first (bun, no arguments left after formatting): it is scoped
	// and rolled back with the transaction.
	err = db.InTenant(ctx, env.App, b.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewRaw("UPDATE jobs SET task_type = 'begin:renamed' WHERE task_type LIKE 'begin:%'").Exec(ctx); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM jobs WHERE task_type = 'begin:renamed'").Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("the first write touched %d rows, want tenant b's one", n)
		}
		return errors.New("roll back")
	})
	if err == nil || err.Error() != "roll back" {
		t.Fatalf("rolled-back write: %v", err)
	}
	// A failing first statement: the error comes back, the transaction is
	// rolled back, and the pool's connections are clean afterwards.
	err = db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "SELECT 1/0")
		return err
	})
	if err == nil {
		t.Fatal("a failing first statement returned no error")
	}
	readsThatFail(t, db.InTenant, env.App, a.ID)
	// A transaction that sends nothing, and one that only defers a write.
	if err := db.InTenant(ctx, env.App, a.ID, func(context.Context, bun.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return db.Defer(ctx, tx, "INSERT INTO jobs (tenant_id, task_type, queue) VALUES (?, 'begin:deferred', 'default')", a.ID)
	}); err != nil {
		t.Fatal(err)
	}
	// Every connection of the pool is idle, outside any transaction, and
	// scoped to no tenant; the rows are as expected.
	for i := 0; i < 8; i++ {
		err := env.App.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			var v string
			var renamed, deferred int
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(current_setting('app.tenant_id', true), ''),
				(SELECT count(*) FROM jobs WHERE task_type = 'begin:renamed'),
				(SELECT count(*) FROM jobs WHERE task_type = 'begin:deferred')`).Scan(&v, &renamed, &deferred); err != nil {
				return err
			}
			if v != "" {
				t.Errorf("a pooled connection carries tenant %q", v)
			}
			if renamed != 0 {
				t.Errorf("the rolled-back write is visible (%d rows)", renamed)
			}
			_ = deferred // RLS hides rows from a transaction without a tenant
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM jobs WHERE task_type = 'begin:deferred'").Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("the deferred-only transaction committed %d rows, want 1", n)
		}
		return nil
	})
}

// A read-only tenant transaction's first read carries its BEGIN and its
// COMMIT (InTenantRead): the read is scoped to the tenant; the statements
// after it run in a new transaction, read-only and scoped too; a write is
// refused; a failing read or scan comes back as an error and leaves the pool
// clean. Nested in a transaction of the same tenant, it is that transaction.
// On Citus the BEGIN goes alone, so nothing travels with the read, and the
// rest holds the same.
func TestReadOnlyTransactionCommitsWithItsFirstRead(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	a, b := tenantsWithAJob(t, env, "ro:")
	citus := db.IsCitus(ctx, env.App)
	read := func(ctx context.Context, tx bun.Tx) (string, []string, error) { return readJobs(ctx, tx, "ro:") }
	for _, tn := range []uuid.UUID{a.ID, b.ID} {
		err := db.InTenantRead(ctx, env.App, tn, func(ctx context.Context, tx bun.Tx) error {
			for i := 1; i <= 2; i++ {
				setting, types, err := read(ctx, tx)
				if err != nil {
					return err
				}
				if setting != tn.String() || len(types) != 1 || types[0] != "ro:"+tn.String() {
					t.Errorf("read %d: setting %q, rows %v; want tenant %s and its one job", i, setting, types, tn)
				}
				if committed := db.BeginPending(ctx); committed == citus {
					t.Errorf("read %d: committed with the read = %v on Citus = %v", i, committed, citus)
				}
			}
			// A statement through bun after the read: a new transaction,
			// scoped to the tenant and read-only.
			var setting, readOnly string
			if err := tx.QueryRowContext(ctx, "SELECT current_setting('app.tenant_id', true), current_setting('transaction_read_only')").Scan(&setting, &readOnly); err != nil {
				return err
			}
			if setting != tn.String() || readOnly != "on" {
				t.Errorf("after the read: tenant %q, read only %q; want %s, on", setting, readOnly, tn)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A write is refused, before a read and after one.
	for _, readFirst := range []bool{false, true} {
		err := db.InTenantRead(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
			if readFirst {
				if _, _, err := read(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "UPDATE jobs SET task_type = 'ro:written' WHERE task_type LIKE 'ro:%'")
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "read-only transaction") {
			t.Errorf("a write in a read-only transaction (after a read: %v): %v", readFirst, err)
		}
	}
	// Nested in a writing transaction of the same tenant: that transaction,
	// which goes on after the read.
	err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return db.InTenantRead(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
			if _, _, err := read(ctx, tx); err != nil {
				return err
			}
			if db.BeginPending(ctx) {
				t.Error("a read nested in a writing transaction committed it")
			}
			return insertJob(ctx, tx, a.ID, "ro:nested")
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	readsThatFail(t, db.InTenantRead, env.App, a.ID)
	// Every connection of the pool is idle, outside any transaction, and
	// scoped to no tenant; only the nested write is stored.
	for i := 0; i < 8; i++ {
		var v, readOnly string
		if err := env.App.QueryRowContext(ctx, "SELECT coalesce(current_setting('app.tenant_id', true), ''), current_setting('transaction_read_only')").Scan(&v, &readOnly); err != nil {
			t.Fatal(err)
		}
		if v != "" || readOnly != "off" {
			t.Errorf("a pooled connection carries tenant %q, read only %q", v, readOnly)
		}
	}
	var n int
	if err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT count(*) FROM jobs WHERE task_type IN ('ro:written', 'ro:nested')").Scan(&n)
	}); err != nil || n != 1 {
		t.Fatalf("stored after the test: %d rows (want the nested write only), %v", n, err)
	}
}

// tenantsWithAJob makes two companies, each with one job whose type is
// prefix followed by the company's id.
func tenantsWithAJob(t *testing.T, env *testkit.Env, prefix string) (a, b testkit.Tenant) {
	t.Helper()
	a, b = env.NewTenant(t), env.NewTenant(t)
	for _, tn := range []uuid.UUID{a.ID, b.ID} {
		if err := db.InTenant(context.Background(), env.App, tn, func(ctx context.Context, tx bun.Tx) error {
			return insertJob(ctx, tx, tn, prefix+tn.String())
		}); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// readJobs reads, through ReadRows, the tenant the transaction is scoped to
// and the types of the jobs it sees whose type starts with prefix.
func readJobs(ctx context.Context, tx bun.Tx, prefix string) (setting string, types []string, err error) {
	q := tx.NewSelect().ColumnExpr("current_setting('app.tenant_id', true)").ColumnExpr("task_type").
		TableExpr("jobs").Where("task_type LIKE ?", prefix+"%").OrderExpr("task_type")
	err = db.ReadRows(ctx, q, func(rows pgx.Rows) error {
		r := db.NewTextRow(rows)
		var typ string
		r.String(&setting)
		r.String(&typ)
		types = append(types, typ)
		return r.Err()
	})
	return setting, types, err
}

// opener opens a tenant transaction: db.InTenant or db.InTenantRead.
type opener func(context.Context, *bun.DB, uuid.UUID, func(context.Context, bun.Tx) error) error

// readsThatFail: a first read that fails comes back as an error, and so does
// a scan that fails part way, once the rest of the result is drained.
func readsThatFail(t *testing.T, in opener, d *bun.DB, tenant uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	err := in(ctx, d, tenant, func(ctx context.Context, tx bun.Tx) error {
		return db.ReadRows(ctx, tx.NewSelect().ColumnExpr("1/0"), func(pgx.Rows) error { return nil })
	})
	if err == nil {
		t.Fatal("a failing first read returned no error")
	}
	stop := errors.New("stop")
	err = in(ctx, d, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().ColumnExpr("g").TableExpr("generate_series(1, 1000) AS g")
		return db.ReadRows(ctx, q, func(pgx.Rows) error { return stop })
	})
	if !errors.Is(err, stop) {
		t.Fatalf("scan error: %v", err)
	}
}

// BenchmarkListRead is the shape of a list request's transaction: a tenant
// transaction that reads fifty rows through ReadRows and commits. Its BEGIN
// travels with the read, so it costs two round trips, not three.
func BenchmarkListRead(b *testing.B) { benchListRead(b, db.InTenant) }

// BenchmarkListReadOnly is the same read in InTenantRead's transaction, whose
// COMMIT travels with the read too: one round trip.
func BenchmarkListReadOnly(b *testing.B) { benchListRead(b, db.InTenantRead) }

func benchListRead(b *testing.B, in opener) {
	env := testkit.Get(b)
	ctx := context.Background()
	a := env.NewTenant(b)
	if err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		for i := 0; i < 50; i++ {
			if err := insertJob(ctx, tx, a.ID, "bench:list"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := 0
			err := in(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
				q := tx.NewSelect().ColumnExpr("id, task_type, created_at").TableExpr("jobs").Where("task_type = 'bench:list'").OrderExpr("created_at DESC, id").Limit(50)
				return db.ReadRows(ctx, q, func(pgx.Rows) error { n++; return nil })
			})
			if err != nil || n != 50 {
				b.Fatalf("read %d rows: %v", n, err)
			}
		}
	})
}
