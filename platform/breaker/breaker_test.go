package breaker

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time               { return c.t }
func (c *clock) add(d time.Duration)          { c.t = c.t.Add(d) }
func newClock() *clock                        { return &clock{t: time.Unix(1_800_000_000, 0)} }
func withClock(b *Breaker, c *clock) *Breaker { b.now = c.now; return b }

func TestOpensAfterConsecutiveFailuresAndTrialCloses(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	c := newClock()
	b := withClock(New(Options{Name: "redis", Failures: 3, OpenFor: 2 * time.Second, Metrics: m}), c)

	// A success in between resets the count.
	for _, ok := range []bool{false, false, true, false, false} {
		if err := b.Allow(); err != nil {
			t.Fatalf("closed breaker refused a call: %v", err)
		}
		b.Record(ok)
	}
	if b.State() != Closed {
		t.Fatalf("state = %s after non-consecutive failures, want closed", b.State())
	}
	b.Record(false)
	if b.State() != Open {
		t.Fatalf("state = %s after 3 consecutive failures, want open", b.State())
	}
	if got := testutil.ToFloat64(m.state.WithLabelValues("redis")); got != 2 {
		t.Fatalf("state gauge = %v, want 2 (open)", got)
	}
	if got := testutil.ToFloat64(m.trips.WithLabelValues("redis")); got != 1 {
		t.Fatalf("trips = %v, want 1", got)
	}

	err := b.Allow()
	var oe *OpenError
	if !errors.As(err, &oe) || oe.Dependency != "redis" || oe.RetryAfter <= 0 {
		t.Fatalf("open breaker: Allow = %v, want an OpenError naming redis with a retry time", err)
	}
	if oe.UnavailableDependency() != "redis" || !strings.Contains(err.Error(), "redis unavailable") {
		t.Fatalf("OpenError describes itself as %q", err.Error())
	}
	if got := testutil.ToFloat64(m.rejected.WithLabelValues("redis")); got != 1 {
		t.Fatalf("rejected = %v, want 1", got)
	}

	// Once OpenFor has passed one trial goes through; others still fail fast.
	c.add(2 * time.Second)
	if err := b.Allow(); err != nil {
		t.Fatalf("trial refused: %v", err)
	}
	if b.State() != HalfOpen {
		t.Fatalf("state = %s during the trial, want half_open", b.State())
	}
	if err := b.Allow(); err == nil {
		t.Fatal("a second call went through while the trial was running")
	}
	b.Record(true)
	if b.State() != Closed || b.Allow() != nil {
		t.Fatalf("a successful trial left the breaker %s", b.State())
	}
	if got := testutil.ToFloat64(m.state.WithLabelValues("redis")); got != 0 {
		t.Fatalf("state gauge = %v after closing, want 0", got)
	}
}

func TestFailedTrialReopens(t *testing.T) {
	c := newClock()
	b := withClock(New(Options{Name: "database", Failures: 1, OpenFor: time.Second}), c)
	_ = b.Allow()
	b.Record(false)
	c.add(time.Second)
	if err := b.Allow(); err != nil {
		t.Fatal(err)
	}
	b.Record(false)
	if b.State() != Open {
		t.Fatalf("state = %s after a failed trial, want open", b.State())
	}
	c.add(500 * time.Millisecond)
	if b.Allow() == nil {
		t.Fatal("reopened breaker let a call through before OpenFor passed again")
	}
	// A trial whose caller never reports is replaced after OpenFor.
	c.add(500 * time.Millisecond)
	if err := b.Allow(); err != nil {
		t.Fatal(err)
	}
	c.add(time.Second)
	if err := b.Allow(); err != nil {
		t.Fatalf("a lost trial blocked the breaker: %v", err)
	}
}

func TestBackgroundProbeClosesWithoutUserCalls(t *testing.T) {
	var healthy atomic.Bool
	var probes atomic.Int32
	b := New(Options{Name: "identity", Failures: 2, OpenFor: 20 * time.Millisecond,
		Probe: func(ctx context.Context) error {
			probes.Add(1)
			if healthy.Load() {
				return nil
			}
			return errors.New("still down")
		}})
	b.Record(false)
	b.Record(false)
	if b.State() != Open {
		t.Fatalf("state = %s, want open", b.State())
	}
	for wait := time.Now().Add(2 * time.Second); probes.Load() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatalf("probe ran %d times in 2 s, want it to repeat every 20 ms", probes.Load())
		}
	}
	// With a probe, calls never become the trial: they keep failing fast.
	if b.Allow() == nil {
		t.Fatal("a call went through while the dependency was still down")
	}
	healthy.Store(true)
	deadline := time.Now().Add(2 * time.Second)
	for b.State() != Closed {
		if time.Now().After(deadline) {
			t.Fatal("a succeeding probe did not close the breaker")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := b.Allow(); err != nil {
		t.Fatal(err)
	}
}

func TestDoJudgesOutcomes(t *testing.T) {
	b := New(Options{Name: "redis", Failures: 2})
	notFound := errors.New("not found")
	onlyTimeouts := func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
	for range 5 {
		if err := b.Do(func() error { return notFound }, onlyTimeouts); err != notFound {
			t.Fatalf("Do = %v", err)
		}
	}
	if b.State() != Closed {
		t.Fatal("answers that are not failures opened the breaker")
	}
	for range 2 {
		_ = b.Do(func() error { return context.DeadlineExceeded }, onlyTimeouts)
	}
	if b.State() != Open {
		t.Fatal("timeouts did not open the breaker")
	}
	called := false
	if err := b.Do(func() error { called = true; return nil }, nil); err == nil || called {
		t.Fatal("Do ran the call through an open breaker")
	}
	var nb *Breaker
	if nb.Allow() != nil || nb.State() != Closed {
		t.Fatal("a nil breaker must allow everything")
	}
	nb.Record(false)
}
