package identity

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/invalidate"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// getCounter counts the GETs of sign-out keys a client sends.
type getCounter struct{ n atomic.Int64 }

func (g *getCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (g *getCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if a := cmd.Args(); len(a) > 1 && cmd.Name() == "get" {
			if k, _ := a[1].(string); strings.HasPrefix(k, "clientele:session-ended:") {
				g.n.Add(1)
			}
		}
		return next(ctx, cmd)
	}
}
func (g *getCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// With the invalidation bus, a cached session costs no Redis round trip while
// nobody signs out, and a sign-out on one replica still ends the session on the
// other at once.
func TestSignOutOverTheBusSparesTheRedisCheck(t *testing.T) {
	p := startKratos(t)
	opt := *testkit.Get(t).Redis.Options()
	replica := func() (*Kratos, *getCounter) {
		rdb := redis.NewClient(&opt)
		t.Cleanup(func() { rdb.Close() })
		g := &getCounter{}
		rdb.AddHook(g)
		bus := invalidate.New(rdb, nil)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		k, _ := newClient(t, p, Options{Redis: rdb, Bus: bus})
		go bus.Run(ctx)
		testkit.Eventually(t, 5*time.Second, 10*time.Millisecond, "the bus did not become healthy",
			bus.Healthy)
		return k, g
	}
	one, _ := replica()
	two, gets := replica()
	ctx := context.Background()

	_, token, _ := signUp(t, p, "Bus Leaver")
	for i := 0; i < 20; i++ {
		if _, _, err := two.Whoami(ctx, token, ""); err != nil {
			t.Fatalf("whoami %d: %v", i, err)
		}
	}
	if n := gets.n.Load(); n != 0 {
		t.Fatalf("%d Redis checks for 20 requests of a cached session while the bus is healthy, want 0", n)
	}
	if _, _, err := one.Whoami(ctx, token, ""); err != nil {
		t.Fatal(err)
	}
	if err := one.Logout(ctx, token, ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		_, _, err := two.Whoami(ctx, token, "")
		if errs.Is(err, errs.Unauthenticated) {
			t.Logf("replica two refused the signed-out session after %v", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("replica two still takes the session a second after the sign-out (%v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
