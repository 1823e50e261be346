package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/webhooks"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/egress"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
)

// webhookBench measures outbound webhooks (issue 22): how many deliveries a
// second one worker sustains to a receiver on loopback, and the time from the
// commit of the change to the receiver's 2xx, against a floor measured in the
// same run: the same signed bodies POSTed by a plain loop on one connection.
type webhookBench struct {
	on    *bool
	n     *int
	rate  *int
	subs  *int
	redis *int
	db    *string
	keep  *bool
}

func webhookBenchFlags(fs *flag.FlagSet) *webhookBench {
	return &webhookBench{
		on:    fs.Bool("webhooks", false, "run only the webhook benchmark: a burst of events drained to a loopback receiver, then a steady rate with commit-to-delivery latency (its own database and Redis db)"),
		n:     fs.Int("webhook-events", 10_000, "events in the burst"),
		rate:  fs.Int("webhook-rate", 200, "events a second in the steady phase (10 s)"),
		subs:  fs.Int("webhook-subscriptions", 1, "subscriptions each event goes to"),
		redis: fs.Int("webhook-redis-db", 13, "the Redis database number the webhook benchmark uses and flushes"),
		db:    fs.String("webhook-db", "clientele_bench_webhooks", "the database the webhook benchmark creates afresh"),
		keep:  fs.Bool("webhook-keep-db", false, "keep the benchmark's database afterwards"),
	}
}

type hookReceiver struct {
	mu  sync.Mutex
	at  map[string]time.Time
	dup int
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	if req.URL.Path == "/floor" {
		w.WriteHeader(204)
		return
	}
	var env struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &env)
	key := env.ID + " " + req.URL.Path
	r.mu.Lock()
	if _, seen := r.at[key]; seen {
		r.dup++
	} else {
		r.at[key] = time.Now()
	}
	r.mu.Unlock()
	w.WriteHeader(204)
}

func (r *hookReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.at)
}

func (b *webhookBench) run(ctx context.Context, cfg config.Config) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	keep := *b.keep
	stores := &reminderBench{redisDB: b.redis, dbName: b.db, keep: &keep}
	release, err := stores.leaseRedisDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer release()
	bcfg, drop, err := stores.ownStores(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer drop()
	if err := noOtherWorkers(ctx, bcfg); err != nil {
		return err
	}
	ro, err := redis.ParseURL(bcfg.RedisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(ro)
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return err
	}
	tenant, _, err := ensureTenant(ctx, bcfg, "bench-webhooks", "Bench Webhooks Co.")
	if err != nil {
		return err
	}
	app, err := db.Open(ctx, bcfg.AppDatabaseURL, bcfg.WorkerConcurrency+8)
	if err != nil {
		return err
	}
	defer app.Close()
	client := jobs.NewClient(benchRedisOpt(bcfg), app, quiet)
	defer client.Close()
	bus := events.New(quiet)
	rcv := &hookReceiver{at: map[string]time.Time{}}
	ts := httptest.NewServer(rcv)
	defer ts.Close()
	hooks := webhooks.New(webhooks.Deps{DB: app, Events: bus, Jobs: client, Log: quiet,
		Egress: &egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	sys := authz.AsSystem(ctx)
	for i := 0; i < *b.subs; i++ {
		if _, err := hooks.CreateSubscription(sys, tenant, webhooks.SubscriptionInput{URL: fmt.Sprintf("%s/s%d", ts.URL, i), Events: []string{"*"}}); err != nil {
			return err
		}
	}
	srv := jobs.NewServer(jobs.ServerOptions{Redis: benchRedisOpt(bcfg), DB: app, Concurrency: bcfg.WorkerConcurrency, Logger: quiet,
		Handlers: hooks.Jobs(), SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond})
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Shutdown()

	publish := func(k int) (map[string]time.Time, error) {
		committed := map[string]time.Time{}
		var ids []string
		err := db.InTenant(sys, app, tenant, func(ctx context.Context, tx bun.Tx) error {
			for i := 0; i < k; i++ {
				e := events.Event{ID: uuid.New(), Topic: "customer.updated", EntityID: uuid.NewString()}
				bus.Publish(ctx, e)
				ids = append(ids, e.ID.String())
			}
			return nil
		})
		now := time.Now()
		for _, id := range ids {
			committed[id] = now
		}
		return committed, err
	}
	waitFor := func(want int, limit time.Duration) error {
		deadline := time.Now().Add(limit)
		for rcv.count() < want {
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: %d of %d deliveries after %s", rcv.count(), want, limit)
			}
			if err := hooks.Sweep(sys); err != nil {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	}

	// The floor: the same kind of signed body POSTed in a loop, one connection.
	body, _ := json.Marshal(map[string]any{"id": uuid.NewString(), "type": "customer.updated", "data": map[string]any{"id": uuid.NewString()}})
	hc := &http.Client{}
	floorN := min(*b.n, 3000)
	start := time.Now()
	for i := 0; i < floorN; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/floor", bytes.NewReader(body))
		req.Header.Set("Clientele-Signature", webhooks.Sign(time.Now(), body, "whsec_floor"))
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	floorRate := float64(floorN) / time.Since(start).Seconds()

	// Burst: n events committed in transactions of 500, drained.
	n := *b.n
	fmt.Fprintf(os.Stderr, "bench: webhooks: %d events to %d subscription(s), worker concurrency %d\n", n, *b.subs, bcfg.WorkerConcurrency)
	before := rcv.count()
	start = time.Now()
	for sent := 0; sent < n; sent += 500 {
		if _, err := publish(min(500, n-sent)); err != nil {
			return err
		}
	}
	committedIn := time.Since(start)
	if err := waitFor(before+n**b.subs, 10*time.Minute); err != nil {
		return err
	}
	burst := time.Since(start)
	burstRate := float64(n**b.subs) / burst.Seconds()

	// Steady: rate events a second for 10 s, one per transaction, with the
	// time from each commit to its delivery.
	before = rcv.count()
	steady := map[string]time.Time{}
	tick := time.NewTicker(time.Second / time.Duration(max(*b.rate, 1)))
	stop := time.Now().Add(10 * time.Second)
	for time.Now().Before(stop) {
		<-tick.C
		c, err := publish(1)
		if err != nil {
			return err
		}
		for k, v := range c {
			steady[k] = v
		}
	}
	tick.Stop()
	if err := waitFor(before+len(steady)**b.subs, 5*time.Minute); err != nil {
		return err
	}
	var lat []time.Duration
	rcv.mu.Lock()
	for id, c := range steady {
		for s := 0; s < *b.subs; s++ {
			if at, ok := rcv.at[fmt.Sprintf("%s /s%d", id, s)]; ok {
				lat = append(lat, at.Sub(c))
			}
		}
	}
	dups := rcv.dup
	rcv.mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(time.Millisecond)
	}

	fmt.Printf("webhooks: floor (plain signed POSTs, one connection): %.0f/s\n", floorRate)
	fmt.Printf("webhooks: burst of %d events × %d subscription(s): committed in %s, all delivered in %s: %.0f deliveries/s = %.0f%% of the floor\n",
		n, *b.subs, committedIn.Round(time.Millisecond), burst.Round(time.Millisecond), burstRate, 100*burstRate/floorRate)
	fmt.Printf("webhooks: steady %d events/s for 10 s (%d events): commit to 2xx p50 %s, p95 %s, p99 %s, max %s\n",
		*b.rate, len(steady), pct(0.50), pct(0.95), pct(0.99), lat[len(lat)-1].Round(time.Millisecond))
	fmt.Printf("webhooks: deliveries received twice: %d\n", dups)
	if dups > 0 {
		return fmt.Errorf("bench: %d deliveries arrived twice", dups)
	}
	return nil
}
