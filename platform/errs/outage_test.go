package errs_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/clientele-crm/clientele/platform/errs"
)

type openErr struct{ dep string }

func (e openErr) Error() string                 { return e.dep + " down" }
func (e openErr) UnavailableDependency() string { return e.dep }
func (e openErr) RetryIn() time.Duration        { return 1500 * time.Millisecond }

func TestOutagesMapTo503(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		dep    string
		retry  int
	}{
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, 503, "database", 2},
		{"cannot connect now", fmt.Errorf("x: %w", &pgconn.PgError{Code: "57P03"}), 503, "database", 2},
		{"read-only standby", &pgconn.PgError{Code: "25006"}, 503, "database", 2},
		{"connection failure", &pgconn.PgError{Code: "08006"}, 503, "database", 2},
		{"bad pooled connection", driver.ErrBadConn, 503, "database", 2},
		{"closed connection", fmt.Errorf("q: %w", pgconn.ErrConnClosed), 503, "database", 2},
		{"hidden behind InternalErr", errs.InternalErr(&pgconn.PgError{Code: "57P01"}), 503, "database", 2},
		{"breaker open", fmt.Errorf("limit: %w", openErr{"identity"}), 503, "identity", 2},
		{"unique violation is no outage", &pgconn.PgError{Code: "23505"}, 500, "", 0},
		{"bad password is no outage", &pgconn.PgError{Code: "28P01"}, 500, "", 0},
		{"plain EOF stays internal", io.EOF, 500, "", 0},
		{"deadline stays a timeout", context.DeadlineExceeded, 504, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := errs.From(c.err)
			if e.Status != c.status || e.Dependency != c.dep || e.RetryAfter != c.retry {
				t.Fatalf("got %d dependency %q retry %d (%s), want %d %q %d", e.Status, e.Dependency, e.RetryAfter, e.Detail, c.status, c.dep, c.retry)
			}
			if c.status == 503 && errors.Unwrap(e) == nil {
				t.Fatal("the cause is lost for logs")
			}
		})
	}
}

func TestAFullFileStoreIsA503NamingIt(t *testing.T) {
	full := fmt.Errorf("blob (key %q): %w", "tenants/x/uploads/a", &os.PathError{Op: "write", Path: "/blobs/a.tmp", Err: syscall.ENOSPC})
	for name, e := range map[string]*errs.Error{"InternalErr": errs.InternalErr(full), "From": errs.From(full), "From(Wrap)": errs.From(errs.Wrap(errs.Internal, full, "x"))} {
		if e.Status != 503 || e.Dependency != errs.DependencyFiles || e.RetryAfter != errs.StorageFullRetryAfter || !strings.Contains(e.Detail, "file store is full") {
			t.Errorf("%s: %+v", name, e)
		}
	}
	if e := errs.InternalErr(errors.New("boom")); e.Status != 500 {
		t.Errorf("any other failure: %+v", e)
	}
}
