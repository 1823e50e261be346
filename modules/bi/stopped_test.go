package bi

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/clientele-crm/clientele/platform/errs"
)

// Citus's answer when a worker's statement was cancelled under a question
// (a broken connection to the worker) stops the dashboard with a timeout that
// says what to do, not a 500; other internal errors are not taken for it.
func TestCancelledWorkerStopsTheDashboardWithATimeout(t *testing.T) {
	broken := fmt.Errorf("question: %w", &pgconn.PgError{Code: "XX000", Message: "failure on connection marked as essential: 127.0.0.1:55442"})
	if !workerCancelled(broken) {
		t.Fatal("a broken worker connection is not recognised")
	}
	for _, other := range []error{
		&pgconn.PgError{Code: "XX000", Message: "cache lookup failed for relation 1"},
		&pgconn.PgError{Code: "08006", Message: "failure on connection marked as essential"},
		fmt.Errorf("failure on connection marked as essential"),
	} {
		if workerCancelled(other) {
			t.Errorf("%v taken for a cancelled worker", other)
		}
	}
	e := errs.From(stoppedDashboard(broken))
	if e.Code != errs.Timeout || e.Detail == "" {
		t.Fatalf("stopped dashboard: %s %q", e.Code, e.Detail)
	}
}
