package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/clientele-crm/clientele/migrations"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/devstack"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/migrate"
)

// A drill is an SRE's bad day, rehearsed on a stack of its own: a private
// PostgreSQL cluster, Redis and Kratos on loopback ports, and the app in this
// process. Writers create customers through the API and keep a ledger of what
// was acknowledged; a prober starts new sign-ins; the drill then breaks one
// dependency itself, restores it, and checks the bars: no acknowledged write
// lost, no 500, every failure answered within 3 s, readiness telling the
// truth, and recovery on its own.

// drillBars are what a drill must meet.
const (
	drillMaxFailLatency = 3 * time.Second
	drillMaxRecovery    = 15 * time.Second
)

type drillSample struct {
	at      time.Time
	took    time.Duration
	status  int // 0: no answer (transport error)
	kind    string
	problem string // the dependency a 503 named
}

type drill struct {
	fault   string
	writers int
	out     io.Writer
	log     *slog.Logger

	dir    string
	pg     *devstack.PrivatePostgres
	redis  *devstack.PrivateRedis
	kratos *identity.Process
	cfg    config.Config
	d      *deps
	base   string // http://127.0.0.1:port
	admin  string
	hc     *http.Client

	slug     string
	tenantID uuid.UUID
	token    string
	fresh    []string // session tokens never shown to the app before the fault

	mu      sync.Mutex
	samples []drillSample
	acked   map[string]bool // customer ids the API acknowledged
	readyz  map[string]int  // what /readyz named as unavailable during the fault

	ratePerTenant int      // the per-company rate limit; 0 leaves it out of the way
	pgSettings    []string // extra settings of the private PostgreSQL (name=value)
}

func runDrill(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("drill", flag.ContinueOnError)
	writers := fs.Int("writers", 4, "concurrent writers creating customers")
	keep := fs.Bool("keep", false, "keep the drill's directory (logs of the app, PostgreSQL, Redis and Kratos)")
	if len(args) == 0 {
		return errors.New("usage: clientele drill postgres|redis|kratos [-writers N] [-keep], clientele drill pitr [-keep], clientele drill disk-full [-keep], clientele drill kill-worker|redis-flush|kill-replica [-keep], clientele drill noisy [-runs N], clientele drill soak [-duration D], or clientele drill tenant-move (on Citus)")
	}
	if args[0] == "tenant-move" {
		return runTenantMoveDrill(ctx, cfg, log, args)
	}
	if args[0] == "soak" {
		return runSoakDrill(ctx, cfg, args[1:])
	}
	if args[0] == "noisy" {
		return runNoisyDrill(ctx, cfg, args[1:])
	}
	if args[0] == "kill-replica" {
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runReplicaDrill(ctx, cfg, os.Stdout, *keep)
	}
	if args[0] == "kill-worker" || args[0] == "redis-flush" {
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runKillWorkerDrill(ctx, cfg, os.Stdout, *keep, args[0])
	}
	if args[0] == "disk-full" {
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runDiskFullDrill(ctx, cfg, os.Stdout, *keep)
	}
	if args[0] == "pitr" {
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runPITRDrill(ctx, os.Stdout, *keep)
	}
	fault := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch fault {
	case "postgres", "redis", "kratos":
	default:
		return fmt.Errorf("drill: unknown fault %q; want postgres, redis or kratos", fault)
	}
	dir, err := os.MkdirTemp("", "clientele-drill-")
	if err != nil {
		return err
	}
	dr := &drill{fault: fault, writers: *writers, out: os.Stdout, dir: dir, acked: map[string]bool{}, readyz: map[string]int{},
		hc: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	failed := true
	defer func() {
		dr.stop()
		if *keep || failed {
			fmt.Fprintf(dr.out, "drill %s: logs kept in %s\n", fault, dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	t0 := time.Now()
	if err := dr.start(ctx, cfg); err != nil {
		return fmt.Errorf("drill %s: setting up the private stack: %w", fault, err)
	}
	fmt.Fprintf(dr.out, "drill %s: private stack up in %.1f s (PostgreSQL :%d, Redis :%d, Kratos %s, app %s)\n",
		fault, time.Since(t0).Seconds(), dr.pg.Port, dr.redis.Port, dr.kratos.PublicURL(), dr.base)
	if err := dr.run(ctx); err != nil {
		return err
	}
	failed = false
	return nil
}

// start brings up the private stack and the app, and signs a person up with a
// company of their own.
func (dr *drill) start(ctx context.Context, base config.Config) error {
	logf, err := os.Create(filepath.Join(dr.dir, "app.log"))
	if err != nil {
		return err
	}
	dr.log = slog.New(slog.NewJSONHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	redis.SetLogger(redisLog{dr.log}) // go-redis's own complaints go to the app log, not the report
	if dr.pg, err = devstack.StartPrivatePostgres(ctx, filepath.Join(dr.dir, "postgres"), dr.pgSettings...); err != nil {
		return err
	}
	if dr.redis, err = devstack.StartPrivateRedis(ctx, filepath.Join(dr.dir, "redis")); err != nil {
		return err
	}
	admin, err := pgx.Connect(ctx, dr.pg.URL)
	if err != nil {
		return err
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE clientele")
	admin.Close(ctx)
	if err != nil {
		return err
	}
	owner := strings.Replace(dr.pg.URL, "/postgres?", "/clientele?", 1)
	bin, err := identity.FindBinary(ctx)
	if err != nil {
		return fmt.Errorf("the Kratos binary (set CLIENTELE_KRATOS_BIN, or let scripts/kratos.sh build it): %w", err)
	}
	appPort, err := devstack.FreePort()
	if err != nil {
		return err
	}
	dr.base = fmt.Sprintf("http://127.0.0.1:%d", appPort)
	dr.kratos, err = identity.StartKratos(ctx, identity.StartOptions{Binary: bin, DataDir: filepath.Join(dr.dir, "kratos"), Dev: true,
		DatabaseURL: strings.Replace(dr.pg.URL, "/postgres?", "/kratos?", 1), UIURL: dr.base, Logger: dr.log})
	if err != nil {
		return err
	}

	cfg := base
	cfg.Env = "development"
	cfg.DatabaseURL = owner
	cfg.AppDatabaseURL = strings.Replace(owner, "postgres@", cfg.AppDBRole+":"+cfg.AppDBPassword+"@", 1)
	cfg.RedisURL = dr.redis.URL
	cfg.KratosPublicURL, cfg.KratosAdminURL = dr.kratos.PublicURL(), dr.kratos.AdminURL()
	cfg.DataDir = filepath.Join(dr.dir, "data")
	cfg.BlobURL = "file://" + filepath.ToSlash(filepath.Join(dr.dir, "data", "blobs")) + "?create_dir=true"
	cfg.MasterKey, cfg.MailURL, cfg.PublicURL = "", "", dr.base
	cfg.PprofAddr, cfg.WorkerPprofAddr = "", ""
	cfg.RatePerKey, cfg.RatePerTenant = 10_000_000, 10_000_000
	if dr.ratePerTenant > 0 {
		cfg.RatePerTenant = dr.ratePerTenant
	}
	dr.cfg = cfg

	ownerDB, err := db.Open(ctx, owner, 2)
	if err != nil {
		return err
	}
	_, err = migrate.Up(ctx, ownerDB, migrations.FS, migrate.Options{AppRole: cfg.AppDBRole, AppPassword: cfg.AppDBPassword, Logger: dr.log})
	ownerDB.Close()
	if err != nil {
		return err
	}
	if dr.d, err = openDeps(ctx, cfg, dr.log); err != nil {
		return err
	}
	srv := buildHTTP(dr.d)
	ln, err := net.Listen("tcp", strings.TrimPrefix(dr.base, "http://"))
	if err != nil {
		return err
	}
	go func() { _ = srv.App.Listener(ln) }()
	dr.d.closers = append(dr.d.closers, func() { _ = srv.App.ShutdownWithTimeout(5 * time.Second) })
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dr.admin = "http://" + adminLn.Addr().String()
	adminSrv := &http.Server{Handler: httpx.AdminHandler(dr.d.metrics, dr.d.ready), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = adminSrv.Serve(adminLn) }()
	dr.d.closers = append(dr.d.closers, func() { _ = adminSrv.Close() })

	// One person with a company; the writers share their session.
	suffix := uuid.NewString()[:8]
	dr.slug = "drill-" + suffix
	if dr.token, _, err = dr.kratos.RegisterAPI(ctx, "owner-"+suffix+"@example.com", "drill password "+suffix, "Drill Owner"); err != nil {
		return err
	}
	st, body := dr.call(ctx, "POST", "/api/v1/tenants", dr.token, fmt.Sprintf(`{"name":"Drill %s","slug":%q}`, suffix, dr.slug))
	if st != 201 {
		return fmt.Errorf("create the drill's company: %d %s", st, body)
	}
	var tn struct {
		ID uuid.UUID `json:"tenant_id"`
	}
	_ = json.Unmarshal(body, &tn)
	dr.tenantID = tn.ID
	for i := 0; i < 8; i++ {
		tok, _, err := dr.kratos.RegisterAPI(ctx, fmt.Sprintf("fresh-%d-%s@example.com", i, suffix), "drill password "+suffix, "Fresh Person")
		if err != nil {
			return err
		}
		dr.fresh = append(dr.fresh, tok)
	}
	return dr.waitReady(ctx, 30*time.Second)
}

func (dr *drill) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if dr.d != nil {
		dr.d.Close()
	}
	if dr.kratos != nil {
		_ = dr.kratos.Stop(ctx)
	}
	if dr.redis != nil {
		_ = dr.redis.Stop()
	}
	if dr.pg != nil {
		_ = dr.pg.Stop(ctx)
	}
}

func (dr *drill) call(ctx context.Context, method, path, token, body string) (int, []byte) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, dr.base+path, rd)
	if err != nil {
		return 0, nil
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Session-Token", token)
	}
	resp, err := dr.hc.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b
}

// ready reports /readyz: ok, or the names of the checks that failed.
func (dr *drill) ready(ctx context.Context) (bool, []string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, dr.admin+"/readyz", nil)
	resp, err := dr.hc.Do(req)
	if err != nil {
		return false, []string{"(no answer)"}
	}
	defer resp.Body.Close()
	var rep struct {
		Checks map[string]string `json:"checks"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&rep)
	var bad []string
	for name, v := range rep.Checks {
		if v != "ok" {
			bad = append(bad, name)
		}
	}
	sort.Strings(bad)
	return resp.StatusCode == 200, bad
}

func (dr *drill) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		ok, bad := dr.ready(ctx)
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/readyz still unavailable after %s: %v", within, bad)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (dr *drill) record(s drillSample) {
	dr.mu.Lock()
	dr.samples = append(dr.samples, s)
	dr.mu.Unlock()
}

func problemDependency(body []byte) string {
	var p struct {
		Dependency string `json:"dependency"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Dependency
}

// writer creates customers until ctx ends, adding each acknowledged one to the
// ledger.
func (dr *drill) writer(ctx context.Context, n int) {
	for i := 0; ctx.Err() == nil; i++ {
		start := time.Now()
		st, body := dr.call(context.WithoutCancel(ctx), "POST", "/api/v1/t/"+dr.slug+"/customers", dr.token, fmt.Sprintf(`{"name":"drill writer %d #%d"}`, n, i))
		s := drillSample{at: start, took: time.Since(start), status: st, kind: "create"}
		if st == 201 {
			var c struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(body, &c)
			dr.mu.Lock()
			dr.acked[c.ID] = true
			dr.mu.Unlock()
		} else {
			s.problem = problemDependency(body)
			if st == 503 || st == 0 {
				time.Sleep(100 * time.Millisecond) // as the web app backs off
			}
		}
		dr.record(s)
	}
}

// signer keeps starting new sign-ins: a session the app has not seen (whoami
// must ask Kratos) and a login flow through the /kratos proxy.
func (dr *drill) signer(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		start := time.Now()
		st, body := dr.call(context.WithoutCancel(ctx), "GET", "/api/v1/me", dr.fresh[i%len(dr.fresh)], "")
		dr.record(drillSample{at: start, took: time.Since(start), status: st, kind: "new session", problem: problemDependency(body)})
		start = time.Now()
		st, body = dr.call(context.WithoutCancel(ctx), "GET", "/kratos/self-service/login/api", "", "")
		dr.record(drillSample{at: start, took: time.Since(start), status: st, kind: "sign-in flow", problem: problemDependency(body)})
		time.Sleep(250 * time.Millisecond)
	}
}

// watchReady notes what /readyz names as unavailable while the fault lasts.
func (dr *drill) watchReady(ctx context.Context) {
	for ctx.Err() == nil {
		if ok, bad := dr.ready(ctx); !ok && ctx.Err() == nil {
			dr.mu.Lock()
			for _, b := range bad {
				dr.readyz[b]++
			}
			dr.mu.Unlock()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// inject breaks the dependency and restores it, returning when it is back and
// a description of what was done.
func (dr *drill) inject(ctx context.Context) (string, error) {
	switch dr.fault {
	case "postgres":
		t0 := time.Now()
		if err := dr.pg.Stop(ctx); err != nil {
			return "", err
		}
		time.Sleep(2 * time.Second)
		if err := dr.pg.Start(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("PostgreSQL restarted (fast shutdown, down 2 s, %.1f s in all) under %d writers", time.Since(t0).Seconds(), dr.writers), nil
	case "redis":
		if err := dr.redis.Pause(); err != nil {
			return "", err
		}
		time.Sleep(3 * time.Second)
		if err := dr.redis.Stop(); err != nil {
			return "", err
		}
		time.Sleep(2 * time.Second)
		if err := dr.redis.Start(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("Redis paused (SIGSTOP) 3 s, then stopped 2 s, then started, under %d writers", dr.writers), nil
	default:
		if err := dr.kratos.Pause(); err != nil {
			return "", err
		}
		time.Sleep(3 * time.Second)
		if err := dr.kratos.Stop(ctx); err != nil {
			return "", err
		}
		time.Sleep(2 * time.Second)
		t0 := time.Now()
		if err := dr.kratos.Restart(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("Kratos paused (SIGSTOP) 3 s, then stopped 2 s, then started (%.1f s to ready), under %d writers", time.Since(t0).Seconds(), dr.writers), nil
	}
}

func (dr *drill) run(ctx context.Context) error {
	wctx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 0; i < dr.writers; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); dr.writer(wctx, i) }(i)
	}
	wg.Add(1)
	go func() { defer wg.Done(); dr.signer(wctx) }()
	time.Sleep(1500 * time.Millisecond)

	faultStart := time.Now()
	rctx, stopWatch := context.WithCancel(ctx)
	var watching sync.WaitGroup
	watching.Add(1)
	go func() { defer watching.Done(); dr.watchReady(rctx) }()
	what, err := dr.inject(ctx)
	restored := time.Now()
	if err != nil {
		stopWatch()
		stopWriters()
		wg.Wait()
		return fmt.Errorf("drill %s: injecting the fault: %w", dr.fault, err)
	}
	// Recovered: readiness is back and a write made after the return succeeded.
	var recovered time.Time
	var lastReady []string
	for deadline := restored.Add(drillMaxRecovery + 5*time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ok, bad := dr.ready(ctx)
		lastReady = bad
		if ok && dr.succeededSince(restored) {
			recovered = time.Now()
			break
		}
	}
	stopWatch()
	watching.Wait()
	time.Sleep(time.Second)
	stopWriters()
	wg.Wait()

	lost, checked, err := dr.checkLedger(ctx)
	if err != nil {
		return fmt.Errorf("drill %s: checking the ledger: %w", dr.fault, err)
	}
	return dr.report(what, faultStart, restored, recovered, lastReady, lost, checked)
}

func (dr *drill) succeededSince(t time.Time) bool {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	for i := len(dr.samples) - 1; i >= 0; i-- {
		s := dr.samples[i]
		if s.at.Before(t) {
			return false
		}
		if s.kind == "create" && s.status == 201 {
			return true
		}
	}
	return false
}

// checkLedger looks up every acknowledged customer in PostgreSQL, as the owner
// role (no row-level security in the way).
func (dr *drill) checkLedger(ctx context.Context) (lost []string, checked int, err error) {
	conn, err := pgx.Connect(ctx, dr.cfg.DatabaseURL)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT id::text FROM customers WHERE tenant_id = $1", dr.tenantID)
	if err != nil {
		return nil, 0, err
	}
	have := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, 0, err
		}
		have[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	dr.mu.Lock()
	defer dr.mu.Unlock()
	for id := range dr.acked {
		if !have[id] {
			lost = append(lost, id)
		}
	}
	return lost, len(dr.acked), nil
}

type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

func (dr *drill) report(what string, faultStart, restored, recovered time.Time, lastReady, lost []string, checked int) error {
	dr.mu.Lock()
	defer dr.mu.Unlock()
	end := recovered
	if end.IsZero() {
		end = time.Now()
	}
	statuses := map[string]map[string]int{}
	var all, fails []time.Duration
	fiveHundreds := 0
	for _, s := range dr.samples {
		if s.status >= 500 && s.status != 503 || s.status == 0 {
			fiveHundreds++ // outside the window too: a 500 is never right
		}
		if s.at.Before(faultStart) || s.at.After(end) {
			continue
		}
		if statuses[s.kind] == nil {
			statuses[s.kind] = map[string]int{}
		}
		label := fmt.Sprint(s.status)
		if s.status == 0 {
			label = "no answer"
		}
		if s.problem != "" {
			label += " (" + s.problem + ")"
		}
		statuses[s.kind][label]++
		all = append(all, s.took)
		if s.status < 200 || s.status >= 300 {
			fails = append(fails, s.took)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	sort.Slice(fails, func(i, j int) bool { return fails[i] < fails[j] })

	var b bytes.Buffer
	fmt.Fprintf(&b, "drill %s: %s\n", dr.fault, what)
	fmt.Fprintf(&b, "  acknowledged writes lost: %d of %d (every acknowledged customer looked up in PostgreSQL)\n", len(lost), checked)
	window := end.Sub(faultStart)
	fmt.Fprintf(&b, "  during the fault (%.1f s, from the fault until recovered):\n", window.Seconds())
	kinds := make([]string, 0, len(statuses))
	for k := range statuses {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		labels := make([]string, 0, len(statuses[k]))
		for l, n := range statuses[k] {
			labels = append(labels, fmt.Sprintf("%s x%d", l, n))
		}
		sort.Strings(labels)
		fmt.Fprintf(&b, "    %-13s %s\n", k+":", strings.Join(labels, ", "))
	}
	fmt.Fprintf(&b, "    latency: p50 %s, p99 %s, max %s over %d requests; failures: %d, max %s\n",
		ms(pct(all, .5)), ms(pct(all, .99)), ms(pct(all, 1)), len(all), len(fails), ms(pct(fails, 1)))
	var named []string
	for n, c := range dr.readyz {
		named = append(named, fmt.Sprintf("%s x%d", n, c))
	}
	sort.Strings(named)
	fmt.Fprintf(&b, "  /readyz during the fault: unavailable naming %s\n", orNothing(strings.Join(named, ", ")))
	if recovered.IsZero() {
		fmt.Fprintf(&b, "  recovery: NOT recovered %s after the dependency returned (readyz: %v)\n", drillMaxRecovery+5*time.Second, lastReady)
	} else {
		fmt.Fprintf(&b, "  time to recover once the dependency returned: %.2f s (readiness back and a write acknowledged)\n", recovered.Sub(restored).Seconds())
	}

	var bad []string
	if len(lost) > 0 {
		bad = append(bad, fmt.Sprintf("%d acknowledged writes lost", len(lost)))
	}
	if fiveHundreds > 0 {
		bad = append(bad, fmt.Sprintf("%d answers were 5xx other than 503, or no answer", fiveHundreds))
	}
	if m := pct(fails, 1); m > drillMaxFailLatency {
		bad = append(bad, fmt.Sprintf("a failure took %s (bar: %s)", ms(m), drillMaxFailLatency))
	}
	dep := map[string]string{"postgres": "database", "redis": "redis", "kratos": "identity"}[dr.fault]
	if dr.readyz[dep] == 0 {
		bad = append(bad, "/readyz never named "+dep+" during the fault")
	}
	if recovered.IsZero() || recovered.Sub(restored) > drillMaxRecovery {
		bad = append(bad, fmt.Sprintf("not recovered within %s", drillMaxRecovery))
	}
	if checked == 0 {
		bad = append(bad, "no write was acknowledged at all")
	}
	if len(bad) > 0 {
		fmt.Fprintf(&b, "  verdict: FAIL: %s\n", strings.Join(bad, "; "))
	} else {
		fmt.Fprintf(&b, "  verdict: pass (0 lost, no 500, failures within %s, recovered within %s)\n", drillMaxFailLatency, drillMaxRecovery)
	}
	_, _ = dr.out.Write(b.Bytes())
	if len(bad) > 0 {
		return fmt.Errorf("drill %s failed: %s", dr.fault, strings.Join(bad, "; "))
	}
	return nil
}
