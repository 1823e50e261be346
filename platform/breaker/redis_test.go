package breaker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/devstack"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A frozen Redis (SIGSTOP) costs each command at most the deadline until the
// breaker opens, then nothing; "not found" answers never open it; the probe
// closes it once Redis answers again. The Redis is a private one.
func TestGuardedRedisFailsFastWhenFrozen(t *testing.T) {
	ctx := context.Background()
	r, err := devstack.StartPrivateRedis(ctx, t.TempDir())
	if err != nil {
		t.Skipf("no private Redis here: %v", err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	opt, _ := redis.ParseURL(r.URL)
	const timeout = 200 * time.Millisecond
	opt = breaker.RedisOptions(opt, timeout)
	probeOpt := *opt
	probe := redis.NewClient(&probeOpt)
	defer probe.Close()
	b := breaker.New(breaker.Options{Name: "redis", Failures: 3, OpenFor: 100 * time.Millisecond,
		Probe: func(ctx context.Context) error { return probe.Ping(ctx).Err() }, ProbeTimeout: timeout})
	c := redis.NewClient(opt)
	defer c.Close()
	breaker.GuardRedis(c, b, timeout)

	for i := 0; i < 10; i++ {
		if err := c.Get(ctx, "absent").Err(); !errors.Is(err, redis.Nil) {
			t.Fatalf("GET absent: %v", err)
		}
	}
	if b.State() != breaker.Closed {
		t.Fatal("redis.Nil answers opened the breaker")
	}

	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		start := time.Now()
		pipe := c.TxPipeline()
		pipe.Incr(ctx, "n")
		pipe.Expire(ctx, "n", time.Minute)
		_, err := pipe.Exec(ctx)
		if err == nil {
			t.Fatal("a frozen Redis answered")
		}
		if took := time.Since(start); took > 5*timeout {
			t.Fatalf("command %d took %s against a frozen Redis; deadline %s", i, took, timeout)
		}
	}
	if b.State() != breaker.Open {
		t.Fatalf("breaker %s after 3 timeouts, want open", b.State())
	}
	start := time.Now()
	err = c.Incr(ctx, "n").Err()
	var oe *breaker.OpenError
	if !errors.As(err, &oe) || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("with the breaker open: %v after %s, want an immediate OpenError", err, time.Since(start))
	}

	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, 10*time.Millisecond, "the probe did not close the breaker after Redis resumed",
		func() bool { return b.State() == breaker.Closed })
	if err := c.Incr(ctx, "n").Err(); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}
