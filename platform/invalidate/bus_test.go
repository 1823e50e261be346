package invalidate_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clientele-crm/clientele/platform/devstack"
	"github.com/clientele-crm/clientele/platform/invalidate"
)

type recorder struct {
	mu     sync.Mutex
	keys   []string
	resets int
}

func (r *recorder) handler() invalidate.Handler {
	return invalidate.Handler{
		Key:   func(k string) { r.mu.Lock(); r.keys = append(r.keys, k); r.mu.Unlock() },
		Reset: func() { r.mu.Lock(); r.resets++; r.mu.Unlock() },
	}
}

func (r *recorder) has(k string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.keys {
		if x == k {
			return true
		}
	}
	return false
}

func (r *recorder) resetCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resets
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func newBus(t *testing.T, url string) (*invalidate.Bus, *recorder, context.CancelFunc) {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	opt.DialTimeout = 200 * time.Millisecond
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	b := invalidate.New(c, nil)
	rec := &recorder{}
	b.On("things", rec.handler())
	ctx, cancel := context.WithCancel(context.Background())
	go b.Run(ctx)
	t.Cleanup(cancel)
	return b, rec, cancel
}

// A change published by one replica reaches the other, and the publisher's own
// handlers at once; a bus never run, or nil, is never healthy.
func TestPublishReachesEveryReplica(t *testing.T) {
	r, err := devstack.StartPrivateRedis(context.Background(), t.TempDir())
	if err != nil {
		t.Skipf("no private Redis here: %v", err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	a, recA, _ := newBus(t, r.URL)
	b, recB, _ := newBus(t, r.URL)
	waitFor(t, 3*time.Second, "both buses healthy", func() bool { return a.Healthy() && b.Healthy() })

	a.Publish(context.Background(), "things", "k1")
	if !recA.has("k1") {
		t.Fatal("the publisher's own handler did not get the key synchronously")
	}
	took := waitFor(t, 2*time.Second, "k1 at the other replica", func() bool { return recB.has("k1") })
	t.Logf("delivered to the other replica in %v", took)
	b.Publish(context.Background(), "other-topic", "k2")
	time.Sleep(50 * time.Millisecond)
	if recA.has("k2") {
		t.Fatal("a key of another topic reached this topic's handler")
	}

	var never *invalidate.Bus
	if never.Healthy() || invalidate.New(nil, nil).Healthy() {
		t.Fatal("a bus that does not run must never be healthy")
	}
}

// When Redis freezes or goes away, the bus stops being healthy within
// StaleAfter (caches stop serving) and resets its subscribers; when Redis is
// back it is healthy again under a new epoch.
func TestLostSubscriptionStopsCachesAndResets(t *testing.T) {
	ctx := context.Background()
	r, err := devstack.StartPrivateRedis(ctx, t.TempDir())
	if err != nil {
		t.Skipf("no private Redis here: %v", err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	b, rec, _ := newBus(t, r.URL)
	waitFor(t, 3*time.Second, "bus healthy", b.Healthy)
	epoch, resets := b.Epoch(), rec.resetCount()

	// Frozen: no error from the socket, only silence.
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, invalidate.StaleAfter+2*time.Second, "unhealthy while Redis is frozen", func() bool { return !b.Healthy() })
	t.Logf("frozen Redis noticed after %v", took)
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "healthy after Redis resumed", b.Healthy)
	if b.Epoch() == epoch || rec.resetCount() == resets {
		t.Fatalf("epoch %d→%d, resets %d→%d: subscribers were not told messages may have been missed", epoch, b.Epoch(), resets, rec.resetCount())
	}

	// Gone: the connection drops.
	epoch = b.Epoch()
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, invalidate.StaleAfter+2*time.Second, "unhealthy while Redis is stopped", func() bool { return !b.Healthy() })
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "healthy after Redis restarted", b.Healthy)
	if b.Epoch() == epoch {
		t.Fatal("no new epoch after a restart")
	}
}
