package db_test

import (
	"context"
	"errors"
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
