package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func countJobs(t *testing.T, ctx context.Context, tx bun.IDB, typ string) int {
	t.Helper()
	var n int
	if err := tx.NewRaw("SELECT count(*) FROM jobs WHERE task_type = ?", typ).Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A deferred write is not sent until COMMIT (or Flush), travels with it, and
// lands exactly as written, question marks in its text included.
func TestDeferredWritesTravelWithCommit(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	a := env.NewTenant(t)
	err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := db.Defer(ctx, tx, "INSERT INTO jobs (tenant_id, task_type, queue) VALUES (?, ?, 'default')", a.ID, "defer:why?"); err != nil {
			return err
		}
		if n := countJobs(t, ctx, tx, "defer:why?"); n != 0 {
			t.Fatalf("the deferred insert ran before commit: %d rows", n)
		}
		if err := db.Flush(ctx); err != nil {
			return err
		}
		if n := countJobs(t, ctx, tx, "defer:why?"); n != 1 {
			t.Fatalf("after Flush %d rows, want 1", n)
		}
		for i := 0; i < 3; i++ {
			if err := db.DeferQuery(ctx, tx, tx.NewRaw("INSERT INTO jobs (tenant_id, task_type, queue) VALUES (?, ?, 'default')", a.ID, "defer:batch")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if n := countJobs(t, ctx, tx, "defer:batch"); n != 3 {
			t.Fatalf("%d deferred rows committed, want 3", n)
		}
		return nil
	})
}

// A failing deferred write fails the commit: nothing of the transaction is
// kept, the caller gets the database's error, after-commit hooks do not run,
// and the connection goes back to the pool usable.
func TestFailingDeferredWriteRollsBackEverything(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	a, b := env.NewTenant(t), env.NewTenant(t)
	hooked := false
	err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := insertJob(ctx, tx, a.ID, "defer:kept?"); err != nil {
			return err
		}
		db.AfterCommit(ctx, func(context.Context) { hooked = true })
		// Another tenant's id: row-level security refuses it, at commit.
		return db.Defer(ctx, tx, "INSERT INTO jobs (tenant_id, task_type, queue) VALUES (?, 'defer:forged', 'default')", b.ID)
	})
	if db.PgCode(err) != "42501" && db.PgCode(errors.Unwrap(err)) != "42501" {
		t.Fatalf("want the RLS violation from the commit, got %v", err)
	}
	if hooked {
		t.Fatal("an after-commit hook ran for a transaction that did not commit")
	}
	// Every pooled connection still works and nothing was kept.
	for i := 0; i < 20; i++ {
		env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
			if n := countJobs(t, ctx, tx, "defer:kept?"); n != 0 {
				t.Fatalf("the statement before the failed deferred write was kept: %d", n)
			}
			return nil
		})
	}
	// A transaction that fails on its own drops its deferred writes too.
	boom := errors.New("boom")
	err = db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := db.Defer(ctx, tx, "INSERT INTO jobs (tenant_id, task_type, queue) VALUES (?, 'defer:dropped', 'default')", a.ID); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if n := countJobs(t, ctx, tx, "defer:dropped"); n != 0 {
			t.Fatal("a rolled-back transaction's deferred write was sent")
		}
		return nil
	})
}

// Outside a tenant transaction a deferred write runs at once.
func TestDeferOutsideATransactionRunsAtOnce(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	if err := db.Defer(ctx, env.Owner, "SELECT 1 WHERE '?' = '?'"); err != nil {
		t.Fatal(err)
	}
}

// A failing savepoint undoes its own statements, deferred writes, collected
// values and after-commit hooks, and nothing from before it; the transaction
// commits the rest.
func TestSavepointUndoesOnlyItsOwnWork(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	a := env.NewTenant(t)
	var hooks []string
	var flushed []any
	collect := func(ctx context.Context, v string) error {
		return db.Collect(ctx, "sp-test", v, func(_ context.Context, _ bun.Tx, vs []any) error {
			flushed = append(flushed, vs...)
			return nil
		})
	}
	insert := func(ctx context.Context, tx bun.Tx, what string) error {
		return db.Defer(ctx, tx, "INSERT INTO jobs (tenant_id, task_type, queue) VALUES (?, ?, 'default')", a.ID, what)
	}
	err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := insert(ctx, tx, "sp:before"); err != nil {
			return err
		}
		_ = collect(ctx, "before")
		db.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "before") })
		err := db.Savepoint(ctx, func(ctx context.Context) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO jobs (tenant_id, task_type, queue) VALUES (?, 'sp:failed-now', 'default')", a.ID); err != nil {
				return err
			}
			if err := insert(ctx, tx, "sp:failed-deferred"); err != nil {
				return err
			}
			_ = collect(ctx, "failed")
			db.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "failed") })
			// A flush inside runs the writes queued before the savepoint in
			// it; they must survive its rollback.
			if err := db.Flush(ctx); err != nil {
				return err
			}
			return errors.New("this record is refused")
		})
		if err == nil || err.Error() != "this record is refused" {
			t.Fatalf("savepoint: %v", err)
		}
		return db.Savepoint(ctx, func(ctx context.Context) error {
			_ = collect(ctx, "kept")
			db.AfterCommit(ctx, func(context.Context) { hooks = append(hooks, "kept") })
			return insert(ctx, tx, "sp:kept")
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		for what, want := range map[string]int{"sp:before": 1, "sp:kept": 1, "sp:failed-now": 0, "sp:failed-deferred": 0} {
			if n := countJobs(t, ctx, tx, what); n != want {
				t.Errorf("%s: %d rows, want %d", what, n, want)
			}
		}
		return nil
	})
	if fmt.Sprint(hooks) != "[before kept]" || fmt.Sprint(flushed) != "[before kept]" {
		t.Errorf("hooks %v, collected %v; want before and kept only", hooks, flushed)
	}
}
