package fields

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// RecountSoon enqueues one recount per company while one is queued and not
// started (a burst of bulk writes costs one), and a new one once that one has
// started, so a write after it started is counted too. Totals remembered for
// the small-company skip are dropped by a recount.
func TestRecountSoonIsOnePerQueuedJob(t *testing.T) {
	env := testkit.Get(t)
	s, err := New(Deps{DB: env.App, Entities: []string{"customers"}, MasterKey: make([]byte, 32), Jobs: jobstest.Client(t, env.App), Log: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	a, b := env.NewTenant(t), env.NewTenant(t)
	ctx := context.Background()
	jobsOf := func(tenant testkit.Tenant) (queued, all int) {
		env.InTenant(t, tenant.ID, func(c context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT count(*) FILTER (WHERE status = ?), count(*) FROM jobs WHERE tenant_id = ? AND task_type = ?",
				jobs.StatusQueued, tenant.ID, TypeRecountCompany).Scan(c, &queued, &all)
		})
		return queued, all
	}
	for i := 0; i < 3; i++ {
		if err := s.RecountSoon(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if q, n := jobsOf(a); q != 1 || n != 1 {
		t.Fatalf("three bulk writes: %d queued of %d recounts, want 1 of 1", q, n)
	}
	if _, n := jobsOf(b); n != 0 {
		t.Fatalf("another company got %d recounts", n)
	}
	// Once it has started, the next bulk write gets a recount of its own.
	env.InTenant(t, a.ID, func(c context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(c, "UPDATE jobs SET status = ? WHERE tenant_id = ? AND task_type = ?", jobs.StatusRunning, a.ID, TypeRecountCompany)
		return err
	})
	if err := s.RecountSoon(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if q, n := jobsOf(a); q != 1 || n != 2 {
		t.Fatalf("a write after the recount started: %d queued of %d recounts, want 1 of 2", q, n)
	}
	// A recount forgets what this process remembered of the company's size.
	rememberTotal(a.ID, "customers", 10)
	if !smallCompany(a.ID, "customers", DefaultLimits) {
		t.Fatal("a company of 10 customers is not small")
	}
	if err := s.Recount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if smallCompany(a.ID, "customers", DefaultLimits) {
		t.Fatal("a recount left the remembered size in place")
	}
}
