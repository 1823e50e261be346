package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/tenants"
)

// funnelBench is `clientele bench -funnel` (issue 16): a company holding
// -funnel-deals deals over three pipelines, with their stage history over
// more than a year, beside a neighbour with a fifth as many, in a database of
// its own. Through the API (an admin API key, so no identity service is
// needed) it measures the board of one pipeline against the same statements
// sent through pgx, a move against a raw UPDATE of the same row, and the
// p95 of a year's analytics of one pipeline.
type funnelBench struct {
	on     *bool
	deals  *int
	n      *int
	conc   *int
	redis  *int
	db     *string
	keep   *bool
	reuse  *bool
	only   *string
	target struct{ board, move float64 }
}

func funnelBenchFlags(fs *flag.FlagSet) *funnelBench {
	b := &funnelBench{
		on:    fs.Bool("funnel", false, "run only the sales funnel benchmark: board, move and analytics at volume (its own database and Redis db)"),
		deals: fs.Int("funnel-deals", 500_000, "deals of the bench company over three pipelines (its neighbour gets a fifth as many)"),
		n:     fs.Int("funnel-requests", 400, "measured requests per path"),
		conc:  fs.Int("funnel-concurrency", 4, "parallel clients in the throughput phase"),
		redis: fs.Int("funnel-redis-db", 12, "the Redis database number the funnel benchmark uses and flushes"),
		db:    fs.String("funnel-db", "clientele_bench_funnel", "the funnel benchmark's database"),
		keep:  fs.Bool("funnel-keep-db", false, "keep the benchmark's database afterwards"),
		reuse: fs.Bool("funnel-reuse-db", false, "reuse the benchmark's database when it exists (kept by -funnel-keep-db), instead of generating it again"),
		only:  fs.String("funnel-only", "", "run only the scenarios whose name contains this (board, move, rebuild, analytics, forecast)"),
	}
	b.target.board, b.target.move = 0.5, 0.3
	return b
}

// funnelGen computes every deal g of a generate_series range: its pipeline
// (g % 3), where it ends (c: the four open stages, won or lost), how many
// stays it had, when it entered its last stage (open deals within 45 days,
// so some rot; closed ones across 400 days) and the days between stays.
// Deal ids are derived from the company and g, so the history statement
// finds them without reading the deals back.
const funnelGen = `
WITH pl AS (
	SELECT p.id AS pipeline_id, (row_number() OVER (ORDER BY p.position, p.id) - 1)::int AS pi,
	       array_agg(s.id ORDER BY s.position) AS st
	  FROM pipelines p JOIN pipeline_stages s ON s.tenant_id = p.tenant_id AND s.pipeline_id = p.id
	 WHERE p.tenant_id = $1 GROUP BY p.id, p.position),
np AS (SELECT count(*)::int AS n FROM pl),
gen AS (
	SELECT g, md5($1::text || ':' || g)::uuid AS id, pl.pipeline_id, pl.st, k.c, k.nopen,
	       k.nopen + (k.c >= 4)::int AS stays,
	       CASE WHEN k.c < 4 THEN $4::timestamptz - make_interval(hours => ((g * 31) % (45 * 24))::int)
	            ELSE $4::timestamptz - make_interval(hours => ((g * 7919) % (400 * 24))::int) END AS last,
	       make_interval(days => (2 + (g * 13) % 20)::int) AS step,
	       (1000 * (1 + (g * 37) % 500))::numeric AS amount,
	       CASE WHEN g % 20 = 0 THEN 'CNY' ELSE 'USD' END AS currency,
	       ($5::uuid[])[1 + (g % 20)::int] AS owner
	  FROM generate_series($2::bigint, $3::bigint) g
	 CROSS JOIN np
	 CROSS JOIN LATERAL (SELECT ((g / np.n) % 10)::int AS c) c0
	 CROSS JOIN LATERAL (SELECT c0.c, CASE WHEN c0.c < 4 THEN c0.c + 1 ELSE 1 + ((g * 7) % 4)::int END AS nopen) k
	  JOIN pl ON pl.pi = g % np.n)
`

const funnelDealsSQL = funnelGen + `,
cu AS (SELECT array_agg(id) AS ids FROM (SELECT id FROM customers WHERE tenant_id = $1 ORDER BY id LIMIT 20000) c),
rs AS (SELECT array_agg(id ORDER BY position) AS ids FROM deal_lost_reasons WHERE tenant_id = $1)
INSERT INTO deals (tenant_id, id, title, customer_id, amount, currency, expected_close, owner_id, pipeline_id, stage_id, position,
	source, lost_reason_id, won_at, lost_at, stage_entered_at, created_at, updated_at)
SELECT $1, id, 'Bench deal #' || g, cu.ids[1 + ((g * 17) % array_length(cu.ids, 1))::int], amount, currency,
       CASE WHEN c < 4 THEN ($4::timestamptz + make_interval(days => (g % 150)::int))::date ELSE last::date END,
       owner, pipeline_id, st[CASE WHEN c < 4 THEN c + 1 WHEN c < 7 THEN 5 ELSE 6 END], g, 'bench',
       CASE WHEN c >= 7 THEN rs.ids[1 + (g % 5)::int] END,
       CASE WHEN c BETWEEN 4 AND 6 THEN last END, CASE WHEN c >= 7 THEN last END,
       last, last - (stays - 1) * step, last
  FROM gen, cu, rs`

const funnelHistorySQL = funnelGen + `
INSERT INTO deal_stage_history (tenant_id, deal_id, pipeline_id, stage_id, entered_at, entered_by, entry_amount, exited_at, exited_by, exit_amount, currency)
SELECT $1, id, pipeline_id, CASE WHEN k <= nopen THEN st[k] WHEN c < 7 THEN st[5] ELSE st[6] END,
       last - (stays - k) * step, owner, amount,
       CASE WHEN k < stays THEN last - (stays - k - 1) * step END, CASE WHEN k < stays THEN owner END,
       CASE WHEN k < stays THEN amount END, currency
  FROM gen CROSS JOIN LATERAL generate_series(1, stays) k`

func (b *funnelBench) run(ctx context.Context, cfg config.Config) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	keep := *b.keep || *b.reuse
	stores := &reminderBench{redisDB: b.redis, dbName: b.db, keep: &keep, reuse: *b.reuse}
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
	tenant, err := b.seed(ctx, bcfg)
	if err != nil {
		return err
	}
	bcfg.RatePerTenant, bcfg.RatePerKey = 10_000_000, 10_000_000
	d, err := openDeps(ctx, bcfg, quiet)
	if err != nil {
		return err
	}
	defer d.Close()
	key, err := benchAPIKey(ctx, d, tenant)
	if err != nil {
		return err
	}
	rec := &sqlRecorder{}
	d.db.AddQueryHook(rec)
	tuneServeGC(cfg) // the API in this process runs as serve runs it
	srv := buildHTTP(d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.App.Listener(ln) }()
	defer srv.App.Shutdown()
	base := "http://" + ln.Addr().String() + "/api/v1/t/bench-funnel"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
	get := func(url string) func() error {
		return func() error { return getJSONKey(client, url, key) }
	}
	pool, err := pgxpool.New(ctx, bcfg.AppDatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()

	var pipeline uuid.UUID
	var open [][]uuid.UUID // open stages by pipeline
	var total, history int
	if err := pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT id FROM pipelines WHERE tenant_id = $1 AND is_default", tenant).Scan(&pipeline); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT array_agg(s.id ORDER BY s.position) FROM pipelines p JOIN pipeline_stages s ON s.tenant_id = p.tenant_id AND s.pipeline_id = p.id
			WHERE p.tenant_id = $1 AND s.kind = 'open' GROUP BY p.id, p.position ORDER BY p.position, p.id`, tenant)
		if err != nil {
			return err
		}
		for rows.Next() {
			var ids []uuid.UUID
			if err := rows.Scan(&ids); err != nil {
				return err
			}
			open = append(open, ids)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM deals WHERE tenant_id = $1", tenant).Scan(&total); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT count(*) FROM deal_stage_history WHERE tenant_id = $1", tenant).Scan(&history)
	}); err != nil {
		return err
	}
	fmt.Printf("clientele bench -funnel: %d deals (%d stays) over %d pipelines in company bench-funnel, beside a neighbour; %d requests per path, concurrency %d\n\n",
		total, history, len(open), *b.n, *b.conc)

	// The board's floor is the very statements the board sent, recorded once
	// and replayed through pgx in a tenant transaction.
	boardURL := base + "/pipelines/" + pipeline.String() + "/board"
	for i := 0; i < 3; i++ {
		if err := get(boardURL)(); err != nil {
			return err
		}
	}
	// Transaction control is pgxTenant's, and the API key's check is the
	// request's authentication, not the board's SQL.
	var stmts []string
	for _, s := range rec.record(get(boardURL)) {
		switch w := strings.ToUpper(strings.TrimSpace(s)); {
		case w == "BEGIN" || w == "COMMIT" || w == "ROLLBACK", strings.Contains(s, "FROM api_keys"):
			continue
		}
		stmts = append(stmts, s)
	}
	if len(stmts) == 0 {
		return fmt.Errorf("bench: the board sent no statement to record")
	}
	fmt.Fprintf(os.Stderr, "bench: the board sends %d statements; the floor replays them\n", len(stmts))
	if os.Getenv("BENCH_SHOW_SQL") != "" {
		for _, s := range stmts {
			fmt.Fprintln(os.Stderr, s)
		}
	}
	boardFloor := func() error {
		return pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
			for _, s := range stmts {
				if err := drainSimple(ctx, tx, s); err != nil {
					return err
				}
			}
			return nil
		})
	}

	// Moves: a pool of open deals, each moved to the next open stage of its
	// pipeline (round the column's end back to the first), so concurrent
	// clients spread over the twelve open stages as people on boards do. The
	// floor updates the same rows' stage, position and version.
	movers, err := b.movers(ctx, pool, tenant, open, 4**b.conc)
	if err != nil {
		return err
	}
	var floorSeq atomic.Int64
	floorSeq.Store(time.Now().UnixNano() / 1000)
	moveFloor := func() error {
		mv := <-movers
		defer func() { movers <- mv }()
		next := mv.next()
		return pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE deals SET stage_id = $3, position = $4, version = version + 1, stage_entered_at = now(), updated_at = now()
				WHERE tenant_id = $1 AND id = $2`, tenant, mv.id, next, -floorSeq.Add(1))
			if err == nil {
				mv.stage = next
				mv.version++
			}
			return err
		})
	}
	moveAPI := func() error {
		mv := <-movers
		defer func() { movers <- mv }()
		next := mv.next()
		out, err := postJSONKey(client, base+"/deals/"+mv.id.String()+"/move", fmt.Sprintf(`{"stage_id":%q,"version":%d}`, next, mv.version), key)
		if err != nil {
			return err
		}
		var dl struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(out, &dl); err != nil {
			return err
		}
		mv.stage, mv.version = next, dl.Version
		return nil
	}

	// What one move sends: its statements (BEGIN with the tenant's SET
	// LOCAL is one message; the deferred writes travel with COMMIT).
	if strings.Contains("move to the next stage", *b.only) {
		sent := rec.record(moveAPI)
		if len(sent) == 0 {
			return fmt.Errorf("bench: the move sent no statement to record")
		}
		fmt.Printf("a move sends %d statements:\n", len(sent))
		for _, s := range sent {
			fmt.Printf("  %.110s\n", strings.Join(strings.Fields(s), " "))
		}
		fmt.Println()
	}

	readAPI := func() error {
		mv := <-movers
		defer func() { movers <- mv }()
		return getJSONKey(client, base+"/deals/"+mv.id.String(), key)
	}

	type result struct {
		name      string
		floor     func() error
		api       func() error
		target    float64
		floorName string
	}
	failed := false
	fmt.Printf("%-34s %10s %10s %10s %10s %8s %s\n", "scenario", "floor p50", "api p50", "floor rps", "api rps", "api/floor", "target")
	for _, s := range []result{
		{"board: 6 columns, first 50 each", boardFloor, get(boardURL), b.target.board, "its statements through pgx"},
		{"move to the next stage", moveFloor, moveAPI, b.target.move, "raw UPDATE of the row"},
		// Not a target: a read of the same deal, against the same floor,
		// is what any request costs (HTTP, the API key's check, a tenant
		// transaction) before a move does anything.
		{"move reference: GET the deal", moveFloor, readAPI, 0, "raw UPDATE of the row"},
	} {
		if !strings.Contains(s.name, *b.only) {
			continue
		}
		fl, err := latencies(s.floor, *b.n)
		if err != nil {
			return fmt.Errorf("%s floor: %w", s.name, err)
		}
		ap, err := latencies(s.api, *b.n)
		if err != nil {
			return fmt.Errorf("%s api: %w", s.name, err)
		}
		frps, err := throughput(s.floor, *b.n, *b.conc)
		if err != nil {
			return err
		}
		arps, err := throughput(s.api, *b.n, *b.conc)
		if err != nil {
			return err
		}
		verdict := "ok"
		if s.target == 0 {
			verdict = "reported"
		} else if arps/frps < s.target {
			verdict, failed = "BELOW", true
		}
		fmt.Printf("%-34s %10s %10s %10.0f %10.0f %8.0f%% >= %.0f%% of %s: %s\n", s.name, fl[len(fl)/2].Round(time.Microsecond), ap[len(ap)/2].Round(time.Microsecond),
			frps, arps, 100*arps/frps, 100*s.target, s.floorName, verdict)
	}

	// A rebuild of the whole company's figures (what a change of time zone
	// asks for; a stage reorder asks for one pipeline's) while clients keep
	// moving deals: how long it takes, and how long moves wait meanwhile
	// against moves just before it, in the same run.
	if strings.Contains("rebuild", *b.only) {
		if err := b.rebuildWhileMoving(ctx, pool, tenant, moveAPI); err != nil {
			return err
		}
	}

	// Analytics and forecast over the last twelve whole months and this one.
	now := time.Now()
	from := time.Date(now.Year()-1, now.Month(), 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	to := time.Date(now.Year(), now.Month()+1, 0, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	for _, p := range []struct{ name, path string }{{"analytics", "analytics"}, {"forecast", "forecast"}} {
		if !strings.Contains(p.name, *b.only) {
			continue
		}
		u := fmt.Sprintf("%s/pipelines/%s/%s?from=%s&to=%s", base, pipeline, p.path, from, to)
		lat, err := latencies(get(u), max(*b.n/4, 40))
		if err != nil {
			return err
		}
		p95 := lat[len(lat)*95/100]
		verdict := "ok"
		if p95 > 150*time.Millisecond {
			verdict = "ABOVE 150 ms"
			if p.name == "analytics" {
				failed = true
			}
		}
		fmt.Printf("%-34s p50 %8s  p95 %8s  (target p95 <= 150 ms for the analytics): %s\n", p.name+", one pipeline, "+from[:7]+".."+to[:7],
			lat[len(lat)/2].Round(time.Microsecond), p95.Round(time.Microsecond), verdict)
	}
	if failed {
		return fmt.Errorf("bench: a funnel target was missed")
	}
	return nil
}

// mover is one deal the move scenario moves round its pipeline's open stages.
type mover struct {
	id      uuid.UUID
	stage   uuid.UUID
	version int
	ring    []uuid.UUID
}

func (m *mover) next() uuid.UUID {
	for i, s := range m.ring {
		if s == m.stage {
			return m.ring[(i+1)%len(m.ring)]
		}
	}
	return m.ring[0]
}

func (b *funnelBench) movers(ctx context.Context, pool *pgxpool.Pool, tenant uuid.UUID, open [][]uuid.UUID, n int) (chan *mover, error) {
	out := make(chan *mover, n)
	err := pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
		for i := 0; i < n; i++ {
			ring := open[i%len(open)]
			mv := &mover{ring: ring}
			if err := tx.QueryRow(ctx, `SELECT id, stage_id, version FROM deals WHERE tenant_id = $1 AND stage_id = $2 AND deleted_at IS NULL
				ORDER BY position OFFSET $3 LIMIT 1`, tenant, ring[i%len(ring)], 100+i).Scan(&mv.id, &mv.stage, &mv.version); err != nil {
				return err
			}
			out <- mv
		}
		return nil
	})
	return out, err
}

// seed makes the companies and their deals once (a reused database keeps
// them), and refreshes the planner's statistics.
func (b *funnelBench) seed(ctx context.Context, cfg config.Config) (uuid.UUID, error) {
	tenant, _, err := ensureTenant(ctx, cfg, "bench-funnel", "Bench Funnel Co.")
	if err != nil {
		return uuid.Nil, err
	}
	noisy, _, err := ensureTenant(ctx, cfg, "bench-funnel-noise", "Bench Funnel Neighbour Co.")
	if err != nil {
		return uuid.Nil, err
	}
	conn, err := pgx.Connect(ctx, cfg.AppDatabaseURL)
	if err != nil {
		return uuid.Nil, err
	}
	defer conn.Close(ctx)
	inTenant := func(t uuid.UUID, fn func(tx pgx.Tx) error) error {
		return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{BeginQuery: db.BeginTenantSQL(t)}, fn)
	}
	now := time.Now().UTC().Truncate(time.Hour)
	owners := make([]uuid.UUID, 20)
	for i := range owners {
		owners[i] = uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("bench-funnel-owner-%d", i)))
	}
	seeded := false
	for _, t := range []struct {
		id        uuid.UUID
		deals     int
		pipelines bool
	}{{tenant, *b.deals, true}, {noisy, *b.deals / 5, false}} {
		var have int
		if err := inTenant(t.id, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT count(*) FROM deals WHERE tenant_id = $1", t.id).Scan(&have)
		}); err != nil {
			return uuid.Nil, err
		}
		if have > 0 {
			continue
		}
		seeded = true
		if err := seedCustomers(ctx, cfg, t.id, 20_000, 16); err != nil {
			return uuid.Nil, err
		}
		err := inTenant(t.id, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "UPDATE tenants SET time_zone = 'Asia/Shanghai' WHERE id = $1", t.id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "SELECT funnel_provision($1)", t.id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO exchange_rates (tenant_id, id, base, currency, valid_from, rate) VALUES ($1, $2, 'USD', 'CNY', $3, 0.14)`,
				t.id, uuid.New(), now.AddDate(-3, 0, 0).Format("2006-01-02")); err != nil {
				return err
			}
			if !t.pipelines {
				return nil
			}
			// Two more pipelines with the default stages.
			_, err := tx.Exec(ctx, `WITH np AS (
					INSERT INTO pipelines (tenant_id, id, name_en, name_zh, position)
					VALUES ($1, gen_random_uuid(), 'Renewals', '续约', 1), ($1, gen_random_uuid(), 'Channel partners', '渠道伙伴', 2)
					RETURNING id)
				INSERT INTO pipeline_stages (tenant_id, id, pipeline_id, name_en, name_zh, position, probability, kind, rotting_days)
				SELECT $1, gen_random_uuid(), np.id, s.name_en, s.name_zh, s.position, s.probability, s.kind, s.rotting_days
				  FROM np, pipeline_stages s JOIN pipelines p ON p.tenant_id = s.tenant_id AND p.id = s.pipeline_id AND p.is_default
				 WHERE s.tenant_id = $1`, t.id)
			return err
		})
		if err != nil {
			return uuid.Nil, err
		}
		start := time.Now()
		for done := 0; done < t.deals; {
			batch := min(50_000, t.deals-done)
			err := inTenant(t.id, func(tx pgx.Tx) error {
				for _, q := range []string{funnelDealsSQL, funnelHistorySQL} {
					if _, err := tx.Exec(ctx, q, t.id, done+1, done+batch, now, owners); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return uuid.Nil, fmt.Errorf("bench: generating deals: %w", err)
			}
			done += batch
			fmt.Fprintf(os.Stderr, "bench: %d/%d deals with their history (%.0f s)\n", done, t.deals, time.Since(start).Seconds())
		}
		// Statistics first, as an import leaves them (clientele_refresh_stats):
		// with none, each chunk of the rebuild below took 10 s instead of
		// 0.1 s at 500,000 deals (planned as if the tables were empty).
		if err := analyzeTables(ctx, cfg.DatabaseURL, "deals", "deal_stage_history", "pipeline_stages", "pipelines"); err != nil {
			return uuid.Nil, err
		}
		// Written around the module: the analytics figures are built from
		// the history once, as the rollup job builds a requested rebuild:
		// chunks of deals, each its own transaction.
		if _, err := funnelRebuild(ctx, func(fn func(pgx.Tx) error) error { return inTenant(t.id, fn) }, t.id, "Asia/Shanghai", nil); err != nil {
			return uuid.Nil, err
		}
	}
	if seeded {
		if err := analyzeTables(ctx, cfg.DatabaseURL, "deals", "deal_stage_history", "funnel_daily", "pipeline_stages", "pipelines", "customers"); err != nil {
			return uuid.Nil, err
		}
	}
	return tenant, nil
}

// analyzeTables vacuums and analyses tables as the database's owner.
func analyzeTables(ctx context.Context, url string, tables ...string) error {
	owner, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer owner.Close(ctx)
	for _, t := range tables {
		if _, err := owner.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return err
		}
	}
	return nil
}

// benchAPIKey makes an admin API key of the bench company, as its owner
// would.
func benchAPIKey(ctx context.Context, d *deps, tenant uuid.UUID) (string, error) {
	perms := map[string]bool{}
	for _, p := range d.modules.AllPermissions() {
		perms[p.Key] = true
	}
	ctx = authz.WithActor(ctx, authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Role: tenants.RoleOwner, Permissions: perms, Scope: authz.ScopeAll})
	_, full, err := d.access.CreateAPIKey(ctx, tenant, "bench "+time.Now().Format(time.RFC3339), "admin")
	return full, err
}

// sqlRecorder keeps the statements the app sends while it records.
type sqlRecorder struct {
	on   atomic.Bool
	mu   sync.Mutex
	seen []string
}

func (r *sqlRecorder) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context { return ctx }

func (r *sqlRecorder) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	if !r.on.Load() || e.Err != nil {
		return
	}
	r.mu.Lock()
	r.seen = append(r.seen, e.Query)
	r.mu.Unlock()
}

// record runs fn once and returns the statements the app sent meanwhile.
func (r *sqlRecorder) record(fn func() error) []string {
	r.mu.Lock()
	r.seen = nil
	r.mu.Unlock()
	r.on.Store(true)
	err := fn()
	r.on.Store(false)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// drainSimple sends a statement with its values in its text, as bun does,
// and reads every row.
func drainSimple(ctx context.Context, tx pgx.Tx, sql string) error {
	r, err := tx.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		_ = r.RawValues()
	}
	return r.Err()
}

func getJSONKey(c *http.Client, url, key string) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || len(b) < 2 || b[0] != '{' {
		return fmt.Errorf("%s: status %d: %.300s", url, resp.StatusCode, b)
	}
	return nil
}

func postJSONKey(c *http.Client, url, body, key string) ([]byte, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: status %d: %.300s", url, resp.StatusCode, b)
	}
	return b, nil
}

// funnelRebuild asks for a rebuild of the company's figures (in zone), then
// builds it as the rollup job does: chunks of RollupChunk deals per pipeline,
// each its own transaction, then one swap per pipeline. each, when set, is
// told every chunk's duration. It returns the number of chunks.
func funnelRebuild(ctx context.Context, inTenant func(func(pgx.Tx) error) error, tenant uuid.UUID, zone string, each func(time.Duration)) (int, error) {
	var pipes []uuid.UUID
	if err := inTenant(func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT funnel_daily_request($1, NULL, $2)", tenant, zone); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT pipeline_id FROM funnel_daily_rebuilds WHERE tenant_id = $1 ORDER BY pipeline_id", tenant)
		if err != nil {
			return err
		}
		pipes, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	}); err != nil {
		return 0, fmt.Errorf("bench: requesting a rebuild: %w", err)
	}
	start, chunks := time.Now(), 0
	for _, p := range pipes {
		for {
			t0 := time.Now()
			var n int
			if err := inTenant(func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, "SELECT funnel_daily_chunk($1, $2, $3)", tenant, p, funnel.RollupChunk).Scan(&n)
			}); err != nil {
				return chunks, fmt.Errorf("bench: rebuild chunk: %w", err)
			}
			if each != nil {
				each(time.Since(t0))
			}
			if n > 0 {
				chunks++
				continue
			}
			var done bool
			if err := inTenant(func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, "SELECT funnel_daily_finish($1, $2)", tenant, p).Scan(&done)
			}); err != nil {
				return chunks, fmt.Errorf("bench: rebuild swap: %w", err)
			}
			if each != nil {
				each(time.Since(t0))
			}
			if done {
				break
			}
		}
		fmt.Fprintf(os.Stderr, "bench: figures of pipeline %s rebuilt (%d chunks so far, %.0f s)\n", p, chunks, time.Since(start).Seconds())
	}
	return chunks, nil
}

// rebuildWhileMoving measures moves for a while, then rebuilds the whole
// company's figures while the same clients keep moving, and reports the
// rebuild's time and the moves' latencies in both phases.
func (b *funnelBench) rebuildWhileMoving(ctx context.Context, pool *pgxpool.Pool, tenant uuid.UUID, move func() error) error {
	type phase struct {
		mu  sync.Mutex
		lat []time.Duration
	}
	run := func(stop <-chan struct{}, ph *phase) (func() error, error) {
		var wg sync.WaitGroup
		var first atomic.Value
		for w := 0; w < *b.conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					t0 := time.Now()
					if err := move(); err != nil {
						first.CompareAndSwap(nil, err)
						return
					}
					d := time.Since(t0)
					ph.mu.Lock()
					ph.lat = append(ph.lat, d)
					ph.mu.Unlock()
				}
			}()
		}
		return func() error {
			wg.Wait()
			if err, ok := first.Load().(error); ok {
				return err
			}
			return nil
		}, nil
	}
	pct := func(l []time.Duration, p int) time.Duration {
		if len(l) == 0 {
			return 0
		}
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		return l[min(len(l)-1, len(l)*p/100)]
	}
	// Moves alone for 20 s.
	quiet := &phase{}
	stop := make(chan struct{})
	wait, _ := run(stop, quiet)
	time.Sleep(20 * time.Second)
	close(stop)
	if err := wait(); err != nil {
		return err
	}
	// The same moves while the company's figures are rebuilt.
	busy := &phase{}
	stop = make(chan struct{})
	wait, _ = run(stop, busy)
	var chunkMax time.Duration
	start := time.Now()
	chunks, err := funnelRebuild(ctx, func(fn func(pgx.Tx) error) error { return pgxTenant(ctx, pool, tenant, fn) }, tenant, "Asia/Shanghai",
		func(d time.Duration) { chunkMax = max(chunkMax, d) })
	took := time.Since(start)
	close(stop)
	if werr := wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	fmt.Printf("rebuild of the company's figures (3 pipelines, chunks of %d deals): %d chunks in %.1f s, longest chunk or swap %s\n",
		funnel.RollupChunk, chunks, took.Seconds(), chunkMax.Round(time.Millisecond))
	for _, ph := range []struct {
		name string
		p    *phase
		secs float64
	}{{"moves before it (20 s)", quiet, 20}, {"moves during it", busy, took.Seconds()}} {
		l := ph.p.lat
		fmt.Printf("  %-24s %6d moves, %6.0f/s, p50 %s, p99 %s, max %s\n", ph.name, len(l), float64(len(l))/ph.secs,
			pct(l, 50).Round(time.Microsecond), pct(l, 99).Round(time.Microsecond), pct(l, 100).Round(time.Microsecond))
	}
	fmt.Println()
	return nil
}
