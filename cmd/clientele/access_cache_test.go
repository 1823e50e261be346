package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clientele-crm/clientele/platform/config"
)

// A member's access is served from memory on every replica while nothing
// changes, and a change made through one replica reaches the others at once:
// a new role's grants, a removal. Two replicas share the database and Redis.
func TestAccessChangesReachEveryReplica(t *testing.T) {
	a, b := twoReplicas(t)

	s := slug("replicas")
	ownerTok, _ := a.company(s)
	agent := a.member(s, ownerTok, "agent")
	base := "/api/v1/t/" + s
	a.must(201, "POST", base+"/roles", `{"key":"auditor","name":"Auditor","permissions":["audit.read"],"scope":"all"}`, tokenHdr(ownerTok)...)

	hits := func(x *app) float64 {
		return testutil.ToFloat64(x.d.access.CacheCounter("hit"))
	}
	// Replica b learns the agent's access once, then serves it from memory
	// (once the invalidations of the setup above have reached it: one that
	// lands after b learned the access drops it once more).
	settle(t, b, hits, func() { b.must(403, "GET", base+"/audit", "", tokenHdr(agent)...) })
	before := hits(b)
	for i := 0; i < 5; i++ {
		b.must(403, "GET", base+"/audit", "", tokenHdr(agent)...)
	}
	if got := hits(b) - before; got < 5 {
		t.Fatalf("replica b served %v of 5 repeated requests from memory, want 5", got)
	}

	// The owner changes the agent's role through replica a; b sees it at once.
	var agentID string
	for _, m := range a.must(200, "GET", base+"/members", "", tokenHdr(ownerTok)...)["items"].([]any) {
		if mm := m.(map[string]any); mm["role"] == "agent" {
			agentID = mm["identity_id"].(string)
		}
	}
	a.must(200, "PATCH", base+"/members/"+agentID, `{"role":"auditor"}`, tokenHdr(ownerTok)...)
	waitStatus(t, b, 200, "GET", base+"/audit", tokenHdr(agent))
	// A custom role's grants edited on a: b refuses again.
	a.must(200, "PUT", base+"/roles/auditor", `{"name":"Auditor","permissions":[],"scope":"all"}`, tokenHdr(ownerTok)...)
	waitStatus(t, b, 403, "GET", base+"/audit", tokenHdr(agent))
	// Removed on a: b no longer knows the member.
	a.must(204, "DELETE", base+"/members/"+agentID, "", tokenHdr(ownerTok)...)
	waitStatus(t, b, 404, "GET", base+"/audit", tokenHdr(agent))
}

// waitStatus polls until the route answers status; the change travels through
// Redis Pub/Sub, which takes milliseconds, so a second is generous.
func waitStatus(t *testing.T, x *app, status int, method, path string, hdr []string) {
	t.Helper()
	start := time.Now()
	for {
		code, body, _ := x.call(method, path, "", hdr...)
		if code == status {
			t.Logf("%s %s → %d after %v", method, path, status, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > time.Second {
			t.Fatalf("%s %s: still %d %s after a second, want %d", method, path, code, body, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The tenant rate limit is counted in each replica and added to Redis in
// batches, so requests do not wait on Redis; across two replicas it still
// holds to within a batch per replica, and Redis ends up with every request.
func TestTenantLimitHoldsAcrossReplicasWithBatchedCounts(t *testing.T) {
	const perTenant = 300 // a batch of 3
	// This checks the batching across replicas, not the fallback to a local
	// count while Redis is unreachable: a generous Redis timeout keeps a busy
	// test machine from opening the Redis breaker mid-test.
	tweak := func(c *config.Config) { c.RatePerTenant, c.RedisTimeout = perTenant, 5*time.Second }
	a := newAppWith(t, tweak)
	cfg := testConfig(t)
	tweak(&cfg)
	d, err := openDepsWith(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), a.ids)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	b := &app{t: t, srv: buildHTTP(d), ids: a.ids, log: a.log, d: d}
	// The limit counts per clock minute. A run that crosses into the next
	// minute (a slow machine) is not a measurement: it starts again, with a
	// company of its own, at the start of the new minute.
	var passed, refused int
	for attempt := 1; ; attempt++ {
		if sec := time.Now().Second(); sec > 40 {
			time.Sleep(time.Duration(61-sec) * time.Second)
		}
		minute := time.Now().Unix() / 60
		s := slug("batched")
		tok, _ := a.company(s)
		path := "/api/v1/t/" + s + "/customers?limit=1"
		passed, refused = 0, 0
		rolled := false
		for i := 0; i < perTenant+60 && !rolled; i++ {
			x := a
			if i%2 == 1 {
				x = b
			}
			switch code, body, _ := x.call("GET", path, "", tokenHdr(tok)...); code {
			case 200:
				passed++
			case 429:
				refused++
			default:
				t.Fatalf("request %d: %d %s", i, code, body)
			}
			rolled = time.Now().Unix()/60 != minute
		}
		if !rolled {
			break
		}
		if attempt == 3 {
			t.Fatalf("every run crossed a minute boundary; the last had %d passed and %d refused", passed, refused)
		}
		t.Logf("run %d crossed into the next minute after %d requests; starting again", attempt, passed+refused)
	}
	t.Logf("%d passed, %d refused, limit %d", passed, refused, perTenant)
	if passed > perTenant+2*3 || passed < perTenant-2*3 {
		t.Fatalf("%d requests passed a limit of %d across two replicas; want within a batch per replica", passed, perTenant)
	}
}

// settle repeats call on x until x answers one from memory (a second at
// most): the setup's invalidations travel through Redis and may reach x
// after its first answer, dropping what it had just learned.
func settle(t *testing.T, x *app, hits func(*app) float64, call func()) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); ; {
		before := hits(x)
		call()
		if hits(x) > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica never answered from memory")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// twoReplicas is an app and a second replica of it on the same database and
// Redis, once both invalidation buses are healthy.
func twoReplicas(t *testing.T) (*app, *app) {
	t.Helper()
	a := newApp(t)
	d, err := openDepsWith(context.Background(), testConfig(t), slog.New(slog.NewTextHandler(io.Discard, nil)), a.ids)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	b := &app{t: t, srv: buildHTTP(d), ids: a.ids, log: a.log, d: d}
	deadline := time.Now().Add(5 * time.Second)
	for !(a.d.bus.Healthy() && b.d.bus.Healthy()) {
		if time.Now().After(deadline) {
			t.Fatal("the invalidation buses did not become healthy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return a, b
}

// An API key is served from memory on every replica while nothing changes, a
// wrong secret for its id is refused from memory as well, and what stops a key
// reaches the other replica at once: its role's grants edited, the key
// revoked, the company closed.
func TestAPIKeyChangesReachEveryReplica(t *testing.T) {
	a, b := twoReplicas(t)
	s := slug("keyreplicas")
	ownerTok, _ := a.company(s)
	base := "/api/v1/t/" + s
	a.must(201, "POST", base+"/roles", `{"key":"auditor","name":"Auditor","permissions":["audit.read"],"scope":"all"}`, tokenHdr(ownerTok)...)
	k := a.must(201, "POST", base+"/api-keys", `{"name":"sync","role":"auditor"}`, tokenHdr(ownerTok)...)
	key, keyID := k["key"].(string), k["id"].(string)
	other := a.must(201, "POST", base+"/api-keys", `{"name":"other","role":"auditor"}`, tokenHdr(ownerTok)...)["key"].(string)
	bearer := func(k string) []string { return []string{"Authorization", "Bearer " + k} }

	hits := func(x *app) float64 { return testutil.ToFloat64(x.d.access.CacheCounter("hit")) }
	settle(t, b, hits, func() { b.must(200, "GET", base+"/audit", "", bearer(key)...) })
	before := hits(b)
	for i := 0; i < 5; i++ {
		b.must(200, "GET", base+"/audit", "", bearer(key)...)
	}
	if got := hits(b) - before; got < 5 {
		t.Fatalf("replica b served %v of 5 repeated key requests from memory, want 5", got)
	}
	// The same key id with another secret: refused, though the id is cached.
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	forged := key[:len(key)-43] + base64.RawURLEncoding.EncodeToString(secret)
	if code, body, _ := b.call("GET", base+"/audit", "", bearer(forged)...); code != 401 {
		t.Fatalf("a forged secret for a cached key id: %d %s, want 401", code, body)
	}
	b.must(200, "GET", base+"/audit", "", bearer(key)...)

	// The key's role loses its grant on a: b refuses at once; given back, b admits.
	a.must(200, "PUT", base+"/roles/auditor", `{"name":"Auditor","permissions":[],"scope":"all"}`, tokenHdr(ownerTok)...)
	waitStatus(t, b, 403, "GET", base+"/audit", bearer(key))
	a.must(200, "PUT", base+"/roles/auditor", `{"name":"Auditor","permissions":["audit.read"],"scope":"all"}`, tokenHdr(ownerTok)...)
	waitStatus(t, b, 200, "GET", base+"/audit", bearer(key))
	// Revoked on a: a refuses on the next request, b at once.
	b.must(200, "GET", base+"/audit", "", bearer(other)...)
	a.must(200, "GET", base+"/audit", "", bearer(key)...)
	a.must(204, "DELETE", base+"/api-keys/"+keyID, "", tokenHdr(ownerTok)...)
	if code, body, _ := a.call("GET", base+"/audit", "", bearer(key)...); code != 401 {
		t.Fatalf("replica a, the key it revoked: %d %s, want 401", code, body)
	}
	waitStatus(t, b, 401, "GET", base+"/audit", bearer(key))
	b.must(200, "GET", base+"/audit", "", bearer(other)...)
	// The company closed on a: its other key, cached on b, is no key there.
	a.must(200, "POST", base+"/close", `{"confirm":"`+s+`"}`, tokenHdr(ownerTok)...)
	waitStatus(t, b, 401, "GET", base+"/audit", bearer(other))
}
