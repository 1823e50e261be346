package main

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/modules/tasks"
	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/devstack"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// With Redis frozen (SIGSTOP) and then stopped, tenant requests keep their
// normal latency: after the first timeouts the breaker opens and nothing waits
// on Redis; rate limits fall back to a counter in this process; a create that
// enqueues a reminder is acknowledged at once (the job waits in PostgreSQL for
// the sweeper). The Redis is a private one this test owns.
func TestFrozenRedisKeepsTenantRequestsFast(t *testing.T) {
	ctx := context.Background()
	r, err := devstack.StartPrivateRedis(ctx, t.TempDir())
	if err != nil {
		t.Skipf("no private Redis here: %v", err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	const perTenant = 40
	a := newAppWith(t, func(c *config.Config) {
		c.RedisURL = r.URL
		c.RatePerTenant = perTenant
		c.BreakerOpenFor = 300 * time.Millisecond
	})
	s := slug("frozen")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	a.must(200, "GET", base+"/customers", "", tokenHdr(tok)...)

	// Keep the local window from rolling over mid-test.
	if sec := time.Now().Second(); sec > 45 {
		time.Sleep(time.Duration(61-sec) * time.Second)
	}
	if err := r.Pause(); err != nil {
		t.Fatal(err)
	}
	var took []time.Duration
	statuses := map[int]int{}
	for i := 0; i < perTenant+10; i++ {
		start := time.Now()
		var code int
		if i%5 == 0 {
			remind := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			code, _, _ = a.call("POST", base+"/tasks", fmt.Sprintf(`{"title":"call back %d","remind_at":%q}`, i, remind), tokenHdr(tok)...)
		} else {
			code, _, _ = a.call("GET", base+"/customers", "", tokenHdr(tok)...)
		}
		took = append(took, time.Since(start))
		statuses[code]++
	}
	sorted := append([]time.Duration(nil), took...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	p50, worst := sorted[len(sorted)/2], sorted[len(sorted)-1]
	t.Logf("Redis frozen: statuses %v, p50 %s, max %s", statuses, p50, worst)
	// Requests that had to wait on Redis: until its breaker opens, each one
	// that calls it waits for the deadline. Most requests no longer call Redis
	// at all (member access and sessions come from memory, the tenant limit is
	// counted here and sent in batches), so the breaker may not have seen the
	// three failures that open it; then hardly any request may have waited.
	slow := 0
	for _, d := range took {
		if d > a.d.cfg.RedisTimeout/2 {
			slow++
		}
	}
	if b := a.d.breakers.redis.State(); b != breaker.Open && slow > 3 {
		t.Fatalf("redis breaker is %s while Redis is frozen and %d requests waited on it; want it open", b, slow)
	}
	if worst > 4*a.d.cfg.RedisTimeout { // the limiter and one more Redis call, each to its deadline, before the breaker opens
		t.Fatalf("a request took %s with Redis frozen; the deadline is %s", worst, a.d.cfg.RedisTimeout)
	}
	if p50 > 200*time.Millisecond {
		t.Fatalf("p50 %s with Redis frozen: requests still wait on it", p50)
	}
	if statuses[500] > 0 || statuses[503] > 0 {
		t.Fatalf("statuses %v: Redis being down must not fail tenant requests", statuses)
	}
	if statuses[429] == 0 {
		t.Fatalf("statuses %v: %d requests passed a limit of %d a minute; the local limiter did not stand in", statuses, perTenant+10, perTenant)
	}
	if statuses[201] == 0 {
		t.Fatalf("statuses %v: no create was acknowledged", statuses)
	}
	// Every acknowledged reminder is in PostgreSQL: its task with the due time,
	// and a delivery job for its due second (one job serves every reminder of a
	// company due in the same second).
	var reminders, seconds, queued int
	owner := testkit.Get(t).Owner
	if err := owner.NewRaw(`SELECT count(*), count(DISTINCT date_trunc('second', remind_at)) FROM tasks t JOIN tenants n ON n.id = t.tenant_id
		WHERE n.slug = ? AND t.remind_at IS NOT NULL`, s).Scan(ctx, &reminders, &seconds); err != nil {
		t.Fatal(err)
	}
	if err := owner.NewRaw(`SELECT count(*) FROM jobs j JOIN tenants n ON n.id = j.tenant_id WHERE n.slug = ? AND j.task_type = ?`, s, tasks.TypeRemind).Scan(ctx, &queued); err != nil {
		t.Fatal(err)
	}
	if reminders < statuses[201] || queued < seconds {
		t.Fatalf("%d acknowledged creates: %d reminders recorded in PostgreSQL, due in %d distinct seconds, with %d delivery jobs", statuses[201], reminders, seconds, queued)
	}

	// Back: the probe closes the breaker and Redis counts again.
	if err := r.Resume(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.d.breakers.redis.State() != breaker.Closed {
		if time.Now().After(deadline) {
			t.Fatal("the redis breaker did not close within 5 s of Redis resuming")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Stopped outright: refused connections are fast too, and nothing fails.
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		start := time.Now()
		code, body, _ := a.call("GET", base+"/tasks", "", tokenHdr(tok)...)
		if code == 500 || code == 503 || time.Since(start) > 4*a.d.cfg.RedisTimeout {
			t.Fatalf("Redis stopped: %d in %s: %s", code, time.Since(start), body)
		}
	}
}
