package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/webhooks"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/egress"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// receiver is a webhook endpoint on loopback that verifies every signature
// and keeps what it got per event.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	secret func() string
	fail   func(eventID string, n int) int // the status to answer the n-th attempt (1-based)
	tries  map[string]int                  // attempts per event id
	oks    map[string]int                  // 2xx answers per event id
	seqs   map[string]int64
	bodies map[string]webhooks.Envelope
	bad    []string
	srv    *httptest.Server
}

func newReceiver(t *testing.T, fail func(string, int) int) *receiver {
	r := &receiver{t: t, fail: fail, tries: map[string]int{}, oks: map[string]int{}, seqs: map[string]int64{}, bodies: map[string]webhooks.Envelope{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhooks.Verify(req.Header.Get("Clientele-Signature"), body, r.secret(), 5*time.Minute, time.Now()); err != nil {
		r.bad = append(r.bad, err.Error())
		w.WriteHeader(400)
		return
	}
	var env webhooks.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		r.bad = append(r.bad, "body: "+err.Error())
		w.WriteHeader(400)
		return
	}
	id := env.ID.String()
	if req.Header.Get("Clientele-Event-Id") != id || req.Header.Get("Clientele-Delivery-Id") == "" {
		r.bad = append(r.bad, "headers do not name the event")
	}
	r.tries[id]++
	status := 200
	if r.fail != nil {
		status = r.fail(id, r.tries[id])
	}
	if status < 300 {
		r.oks[id]++
		r.seqs[id] = env.Sequence
		r.bodies[id] = env
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func (r *receiver) snapshot() (tries, oks map[string]int, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tries, oks = map[string]int{}, map[string]int{}
	for k, v := range r.tries {
		tries[k] = v
	}
	for k, v := range r.oks {
		oks[k] = v
	}
	return tries, oks, append([]string(nil), r.bad...)
}

type rig struct {
	env    *testkit.Env
	tenant testkit.Tenant
	bus    *events.Bus
	m      *webhooks.Module
	ctx    context.Context
}

func loopback(t *testing.T) *egress.Policy {
	allow, err := egress.ParseAllow("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	return &egress.Policy{Allow: allow}
}

func newRig(t *testing.T, d webhooks.Deps) *rig {
	env := testkit.Get(t)
	r := &rig{env: env, tenant: env.NewTenant(t), bus: events.New(testkit.Quiet), ctx: authz.AsSystem(context.Background())}
	d.DB, d.Events, d.Log = env.App, r.bus, testkit.Quiet
	if d.Jobs == nil {
		d.Jobs = jobstest.Client(t, env.App)
	}
	if d.Egress == nil {
		d.Egress = loopback(t)
	}
	if d.RetryBase == 0 {
		d.RetryBase, d.RetryMax = 50*time.Millisecond, 200*time.Millisecond
	}
	if d.Objects == nil {
		d.Objects = func(_ context.Context, _ uuid.UUID, entity string, id uuid.UUID) (any, error) {
			return map[string]any{"entity": entity, "id": id.String(), "name": "客户 " + id.String()[:4]}, nil
		}
	}
	r.m = webhooks.New(d)
	return r
}

func (r *rig) worker(t *testing.T) *jobs.Server {
	return jobstest.Worker(t, jobs.ServerOptions{Handlers: r.m.Jobs(), Concurrency: 8, SweepInterval: -1, NoScheduler: true,
		PollInterval: 100 * time.Millisecond, ShutdownTimeout: 3 * time.Second})
}

// publish commits n events of topic in one transaction and returns their ids.
func (r *rig) publish(t *testing.T, topic string, n int) []string {
	t.Helper()
	var ids []string
	err := db.InTenant(r.ctx, r.env.App, r.tenant.ID, func(ctx context.Context, tx bun.Tx) error {
		for i := 0; i < n; i++ {
			e := events.Event{ID: uuid.New(), Topic: topic, EntityID: uuid.NewString()}
			r.bus.Publish(ctx, e)
			ids = append(ids, e.ID.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (r *rig) subscribe(t *testing.T, url string, evs ...string) *webhooks.WithSecret {
	t.Helper()
	s, err := r.m.CreateSubscription(r.ctx, r.tenant.ID, webhooks.SubscriptionInput{URL: url, Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *rig) statuses(t *testing.T) map[string]int {
	t.Helper()
	var rows []struct {
		Status string `bun:"status"`
		N      int    `bun:"n"`
	}
	if err := r.env.Owner.NewRaw("SELECT status, count(*) AS n FROM webhook_deliveries WHERE tenant_id = ? GROUP BY status", r.tenant.ID).Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, x := range rows {
		out[x.Status] = x.N
	}
	return out
}

// Each event is delivered, signed, to the subscriptions that name it; a
// receiver that answers 500 twice sees the third attempt succeed and exactly
// one 2xx per event; an event of a rolled-back transaction never goes out.
func TestDeliveriesAreSignedRetriedAndLogged(t *testing.T) {
	r := newRig(t, webhooks.Deps{})
	rcv := newReceiver(t, func(_ string, n int) int {
		if n <= 2 {
			return 500
		}
		return 204
	})
	s := r.subscribe(t, rcv.srv.URL+"/hooks", "customer.*")
	rcv.secret = func() string { return s.Secret }
	deals := newReceiver(t, nil)
	ds := r.subscribe(t, deals.srv.URL+"/deals", "deal.won")
	deals.secret = func() string { return ds.Secret }

	var want []string
	for i := 0; i < 4; i++ {
		want = append(want, r.publish(t, "customer.updated", 5)...)
	}
	won := r.publish(t, "deal.won", 1)
	r.publish(t, "deal.lost", 1)
	_ = db.InTenant(r.ctx, r.env.App, r.tenant.ID, func(ctx context.Context, tx bun.Tx) error {
		r.bus.Publish(ctx, events.Event{Topic: "customer.created", EntityID: "rolled-back"})
		return errors.New("roll back")
	})
	r.worker(t)

	testkit.Eventually(t, 60*time.Second, 100*time.Millisecond, "every delivery succeeds", func() bool {
		return r.statuses(t)["succeeded"] == len(want)+1
	})
	tries, oks, bad := rcv.snapshot()
	if len(bad) > 0 {
		t.Fatalf("receiver refused: %v", bad)
	}
	if len(oks) != len(want) {
		t.Fatalf("receiver got %d events, want %d", len(oks), len(want))
	}
	seqs := map[int64]bool{}
	for _, id := range want {
		if oks[id] != 1 || tries[id] != 3 {
			t.Errorf("event %s: %d 2xx over %d attempts, want 1 over 3", id, oks[id], tries[id])
		}
		seqs[rcv.seqs[id]] = true
		if o, _ := rcv.bodies[id].Data.Object.(map[string]any); o["entity"] != "customers" || rcv.bodies[id].Tenant != r.tenant.Slug {
			t.Errorf("event %s body: %+v", id, rcv.bodies[id])
		}
	}
	for i := int64(1); i <= int64(len(want)); i++ {
		if !seqs[i] {
			t.Errorf("sequence %d missing: %v", i, seqs)
		}
	}
	_, dealOks, _ := deals.snapshot()
	if len(dealOks) != 1 || dealOks[won[0]] != 1 {
		t.Errorf("deal.won subscriber got %v, want only %s", dealOks, won[0])
	}
	items, _, err := r.m.ListDeliveries(r.ctx, r.tenant.ID, s.ID, webhooks.DeliveryFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(want) || items[0].Status != "succeeded" || items[0].Attempts != 3 || *items[0].LastStatus != 204 || items[0].LastLatencyMS == nil {
		t.Fatalf("log: %d items, first %+v", len(items), items[0])
	}

	// A replay sends the same event and sequence again under a new delivery id.
	d, err := r.m.Replay(r.ctx, r.tenant.ID, s.ID, items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.EventID != items[0].EventID || d.ReplayOf == nil || *d.ReplayOf != items[0].ID || d.ID == items[0].ID {
		t.Fatalf("replay: %+v", d)
	}
	id := items[0].EventID.String()
	testkit.Eventually(t, 30*time.Second, 100*time.Millisecond, "the replay arrives", func() bool {
		_, oks, _ := rcv.snapshot()
		return oks[id] == 2
	})
	if rcv.seqs[id] != *items[0].Sequence {
		t.Errorf("replayed sequence %d, want %d", rcv.seqs[id], *items[0].Sequence)
	}
}

// 10,000 events go out exactly once each although Redis is flushed in the
// middle of the run and a dispatcher dies holding a batch: the rows are the
// record, the sweep finds them again, and a lease that ends frees them.
func TestNothingLostWhenRedisIsFlushedOrADispatcherDies(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	r := newRig(t, webhooks.Deps{Lease: 2 * time.Second})
	rcv := newReceiver(t, nil)
	s := r.subscribe(t, rcv.srv.URL, "*")
	rcv.secret = func() string { return s.Secret }
	var want []string
	for len(want) < n {
		want = append(want, r.publish(t, "customer.created", 1000)...)
	}
	// A dispatcher claims a batch and dies before sending it.
	held, err := webhooks.ClaimAndAbandon(r.ctx, r.m, r.tenant.ID, 150)
	if err != nil || held != 150 {
		t.Fatalf("claimed %d: %v", held, err)
	}
	start := time.Now()
	r.worker(t)
	if err := r.m.Sweep(r.ctx); err != nil {
		t.Fatal(err)
	}
	flushed := false
	testkit.Eventually(t, 4*time.Minute, 200*time.Millisecond, "every event delivered", func() bool {
		_, oks, _ := rcv.snapshot()
		if !flushed && len(oks) >= n/2 {
			if err := r.env.Redis.FlushDB(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			flushed = true
			t.Logf("Redis flushed with %d of %d events delivered", len(oks), n)
		}
		if flushed {
			if err := r.m.Sweep(r.ctx); err != nil {
				t.Fatal(err)
			}
		}
		return len(oks) == n
	})
	took := time.Since(start)
	tries, oks, bad := rcv.snapshot()
	if len(bad) > 0 {
		t.Fatalf("receiver refused %d: %v", len(bad), bad[0])
	}
	dups := 0
	for _, id := range want {
		if oks[id] != 1 || tries[id] != 1 {
			dups++
		}
	}
	if dups > 0 {
		t.Fatalf("%d events were not delivered exactly once", dups)
	}
	testkit.Eventually(t, 10*time.Second, 100*time.Millisecond, "every row settled", func() bool {
		return r.statuses(t)["succeeded"] == n
	})
	t.Logf("%d events delivered once each in %s (%.0f/s), Redis flushed midway, 150 abandoned by a dead dispatcher", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
}

type notices struct {
	mu  sync.Mutex
	got []notify.Notice
	to  []uuid.UUID
}

func (n *notices) Notify(_ context.Context, _, recipient uuid.UUID, x notify.Notice) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got, n.to = append(n.got, x), append(n.to, recipient)
	return true, nil
}

type admins []uuid.UUID

func (a admins) Admins(context.Context, uuid.UUID) ([]uuid.UUID, error) { return a, nil }

// A receiver that keeps failing gets its subscription switched off after the
// limit, the admins are told once, and what was still queued is marked
// failed, ready to be replayed once the subscription is back on.
func TestFailingSubscriptionIsSwitchedOffAndAdminsTold(t *testing.T) {
	told := &notices{}
	boss := admins{uuid.New(), uuid.New()}
	r := newRig(t, webhooks.Deps{DisableAfter: 4, DisableAge: -1, Notify: told, Admins: boss})
	rcv := newReceiver(t, func(string, int) int { return 503 })
	s := r.subscribe(t, rcv.srv.URL, "customer.created")
	rcv.secret = func() string { return s.Secret }
	r.publish(t, "customer.created", 3)
	r.worker(t)
	testkit.Eventually(t, 30*time.Second, 100*time.Millisecond, "switched off", func() bool {
		got, err := r.m.GetSubscription(r.ctx, r.tenant.ID, s.ID)
		return err == nil && !got.Enabled
	})
	got, _ := r.m.GetSubscription(r.ctx, r.tenant.ID, s.ID)
	if !strings.Contains(got.DisabledReason, "failed attempts") || got.FailureStreak < 4 {
		t.Errorf("subscription: %+v", got)
	}
	testkit.Eventually(t, 10*time.Second, 100*time.Millisecond, "queued deliveries failed", func() bool {
		st := r.statuses(t)
		return st["failed"] == 3 && st["pending"] == 0 && st["sending"] == 0
	})
	told.mu.Lock()
	if len(told.got) != 2 || told.got[0].Kind != "webhook.disabled" || told.to[0] != boss[0] || told.to[1] != boss[1] {
		t.Errorf("admins told: %+v to %v", told.got, told.to)
	}
	told.mu.Unlock()
	// Nothing new is queued for a switched-off subscription, and a replay
	// waits until it is switched on.
	r.publish(t, "customer.created", 2)
	if st := r.statuses(t); st["pending"] != 0 {
		t.Errorf("queued for a switched-off subscription: %v", st)
	}
	if _, err := r.m.ReplayMany(r.ctx, r.tenant.ID, s.ID, webhooks.ReplayInput{Since: time.Now().Add(-time.Hour)}); !errs.Is(err, errs.Conflict) {
		t.Errorf("replay while off: %v", err)
	}
	on := true
	if _, err := r.m.UpdateSubscription(r.ctx, r.tenant.ID, s.ID, webhooks.SubscriptionPatch{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	k, err := r.m.ReplayMany(r.ctx, r.tenant.ID, s.ID, webhooks.ReplayInput{Since: time.Now().Add(-time.Hour)})
	if err != nil || k != 3 {
		t.Fatalf("bulk replay: %d %v", k, err)
	}
}

// After a rotation each delivery is signed with both secrets for the grace
// period, so a receiver holding either verifies it.
func TestRotatedSecretSignsWithBoth(t *testing.T) {
	r := newRig(t, webhooks.Deps{})
	var mu sync.Mutex
	current := ""
	rcv := newReceiver(t, nil)
	rcv.secret = func() string { mu.Lock(); defer mu.Unlock(); return current }
	s := r.subscribe(t, rcv.srv.URL, "*")
	old := s.Secret
	rot, err := r.m.RotateSecret(r.ctx, r.tenant.ID, s.ID, time.Hour)
	if err != nil || rot.Secret == old || rot.OldSecretUntil == nil {
		t.Fatalf("rotate: %+v %v", rot, err)
	}
	r.worker(t)
	for _, secret := range []string{old, rot.Secret} {
		mu.Lock()
		current = secret
		mu.Unlock()
		if _, err := r.m.SendTest(r.ctx, r.tenant.ID, s.ID); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 20*time.Second, 50*time.Millisecond, "test event verified", func() bool {
			st := r.statuses(t)
			return st["succeeded"] >= 1 && st["pending"]+st["sending"] == 0
		})
		if _, _, bad := rcv.snapshot(); len(bad) > 0 {
			t.Fatalf("signature with %s…: %v", secret[:10], bad)
		}
	}
	if _, err := r.m.RotateSecret(r.ctx, r.tenant.ID, s.ID, 8*24*time.Hour); !errs.Is(err, errs.Invalid) {
		t.Errorf("grace of 8 days: %v", err)
	}
	head := webhooks.Sign(time.Now().Add(-10*time.Minute), []byte("{}"), "k")
	if err := webhooks.Verify(head, []byte("{}"), "k", 5*time.Minute, time.Now()); err == nil {
		t.Error("an old signature verified")
	}
	if err := webhooks.Verify(webhooks.Sign(time.Now(), []byte("{}"), "k"), []byte("{ }"), "k", 5*time.Minute, time.Now()); err == nil {
		t.Error("a changed body verified")
	}
}

// A subscription is refused, naming the field, for a URL that is not https,
// reaches inside, or for an event Clientele does not send; the admin's
// permission is required.
func TestSubscriptionInputIsChecked(t *testing.T) {
	r := newRig(t, webhooks.Deps{Egress: &egress.Policy{}})
	for url, why := range map[string]string{
		"http://example.com/hook":       "https",
		"https://127.0.0.1/hook":        "public",
		"https://169.254.169.254/":      "public",
		"https://10.0.0.1/":             "public",
		"https://[::1]/":                "public",
		"https://user:pw@example.com/x": "password",
		"not a url":                     "absolute",
	} {
		_, err := r.m.CreateSubscription(r.ctx, r.tenant.ID, webhooks.SubscriptionInput{URL: url, Events: []string{"*"}})
		e := errs.From(err)
		if e == nil || e.Status != 422 || len(e.Errors) != 1 || e.Errors[0].Location != "body.url" || !strings.Contains(e.Errors[0].Message, why) {
			t.Errorf("%s: %v", url, err)
		}
	}
	_, err := r.m.CreateSubscription(r.ctx, r.tenant.ID, webhooks.SubscriptionInput{URL: "https://example.com/", Events: []string{"customer.created", "customer.exploded", "nope", "zebra.*"}})
	e := errs.From(err)
	if e == nil || len(e.Errors) != 3 || e.Errors[0].Location != "body.events[1]" || e.Errors[2].Location != "body.events[3]" {
		t.Errorf("bad events: %+v", e)
	}
	viewer := authz.WithActor(context.Background(), authz.Actor{Kind: authz.ActorUser, ID: uuid.New(), Permissions: map[string]bool{"profiles.read": true}})
	if _, err := r.m.ListSubscriptions(viewer, r.tenant.ID); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a member without webhooks.manage listed subscriptions: %v", err)
	}
}
