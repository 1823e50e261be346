package idem_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/idem"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// A request's claim on its key lives as long as the request renews it. When
// the process running it dies (here: the claim is made and never renewed), a
// retry takes the key over as soon as the lease has run out, instead of being
// told to come back for minutes; a live request's claim is never taken.
func TestAClaimWhoseRequestDiedIsTakenOverOnceItsLeaseRunsOut(t *testing.T) {
	env := testkit.Get(t)
	tn := env.NewTenant(t)
	ctx := context.Background()
	s := &idem.Store{DB: env.App, Lease: time.Second, Wait: 5 * time.Second}
	fp := idem.Fingerprint("POST", "/customers", []byte(`{"name":"x"}`))

	// The replica that claimed "dead" died before finishing.
	if saved, err := s.Begin(ctx, tn.ID, "user:a", "dead", fp); err != nil || saved != nil {
		t.Fatalf("first claim: %v %v", saved, err)
	}
	start := time.Now()
	saved, err := s.Begin(ctx, tn.ID, "user:a", "dead", fp)
	if err != nil || saved != nil {
		t.Fatalf("a retry after the claimant died: %v %v, want the key to run again", saved, err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the retry waited %s for a dead claim with a 1 s lease", took)
	}

	// A live request renews its claim: a retry waits, then is told to retry.
	if saved, err := s.Begin(ctx, tn.ID, "user:a", "live", fp); err != nil || saved != nil {
		t.Fatalf("live claim: %v %v", saved, err)
	}
	stop := s.Hold(ctx, tn.ID, "user:a", "live")
	s2 := &idem.Store{DB: env.App, Lease: time.Second, Wait: 3 * time.Second}
	if _, err := s2.Begin(ctx, tn.ID, "user:a", "live", fp); !errs.Is(err, errs.Conflict) {
		t.Errorf("a retry while the first request still runs: %v, want 409", err)
	}
	stop()
	if err := s.Finish(ctx, tn.ID, "user:a", "live", idem.Saved{Status: 201, ContentType: "application/json", Body: []byte(`{"id":1}`)}); err != nil {
		t.Fatal(err)
	}
	if saved, err := s2.Begin(ctx, tn.ID, "user:a", "live", fp); err != nil || saved == nil || string(saved.Body) != `{"id":1}` {
		t.Errorf("after the first finished: %v %v, want its answer", saved, err)
	}
}
