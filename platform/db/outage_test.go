package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/devstack"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// An outage of PostgreSQL (a session killed by an administrator, the server
// stopped) reaches clients as a 503 naming the database with Retry-After, never
// as a 500; once the breaker is open calls fail at once, and its probe closes
// it when the server is back. The server is a private cluster this test owns.
func TestDatabaseOutageIs503AndBreakerFailsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL cluster")
	}
	ctx := context.Background()
	pg, err := devstack.StartPrivatePostgres(ctx, t.TempDir())
	if err != nil {
		t.Skipf("no private PostgreSQL here: %v", err)
	}
	t.Cleanup(func() { pg.Remove(context.Background()) })

	b := breaker.New(breaker.Options{Name: errs.DependencyDatabase, Failures: 2, OpenFor: 200 * time.Millisecond, Probe: db.Probe(pg.URL)})
	d, err := db.OpenWith(ctx, pg.URL, db.Options{MaxConns: 4, ConnectTimeout: time.Second, Breaker: b})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.ExecContext(ctx, "CREATE TABLE notes (id serial PRIMARY KEY, body text)"); err != nil {
		t.Fatal(err)
	}
	want503 := func(t *testing.T, err error) *errs.Error {
		t.Helper()
		if err == nil {
			t.Fatal("the statement succeeded during the outage")
		}
		e := errs.From(err)
		if e.Status != 503 || e.Dependency != errs.DependencyDatabase || e.RetryAfter <= 0 {
			t.Fatalf("outage error %v became %d %q (dependency %q, retry after %d), want 503 naming the database with Retry-After", err, e.Status, e.Detail, e.Dependency, e.RetryAfter)
		}
		return e
	}

	t.Run("a session ended by an administrator", func(t *testing.T) {
		admin, err := pgx.Connect(ctx, pg.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close(ctx)
		err = d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			var pid int
			if err := tx.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				return err
			}
			if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
				t.Fatal(err)
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO notes (body) VALUES ('lost')")
			return err
		})
		e := want503(t, err)
		if !strings.Contains(e.Detail, "not applied") {
			t.Fatalf("detail %q does not say the write was not applied", e.Detail)
		}
		var n int
		if err := d.NewSelect().Table("notes").ColumnExpr("count(*)").Scan(ctx, &n); err != nil || n != 0 {
			t.Fatalf("after the failed write: %d rows, %v; want 0 rows and a working pool", n, err)
		}
	})

	t.Run("the server stopped, then back", func(t *testing.T) {
		if err := pg.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			_, err := d.ExecContext(ctx, "INSERT INTO notes (body) VALUES ('while down')")
			want503(t, err)
		}
		if b.State() != breaker.Open {
			t.Fatalf("breaker %s after repeated refused connections, want open", b.State())
		}
		start := time.Now()
		_, err := d.ExecContext(ctx, "SELECT 1")
		var oe *breaker.OpenError
		if !errors.As(err, &oe) {
			t.Fatalf("with the breaker open: %v, want a breaker.OpenError", err)
		}
		want503(t, err)
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Fatalf("an open breaker took %s to refuse", took)
		}
		if err := pg.Start(ctx); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 10*time.Second, 20*time.Millisecond, "the probe did not close the breaker within 10 s of the server's return",
			func() bool { return b.State() == breaker.Closed })
		if _, err := d.ExecContext(ctx, "INSERT INTO notes (body) VALUES ('after')"); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	})
}
