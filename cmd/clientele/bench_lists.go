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
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/fields"
)

// listsBench is `clientele bench -lists` (issue 20): the customer list with
// two filters, newest first, on a company whose data is friendly to a naive
// plan (every filter independent of the others and of time) and on one
// whose data is hostile to it (the newest matches of one filter never match
// the other, broad filters with a tiny intersection, ...), each with
// -lists-customers customers, in a database of its own. Each shape's floor
// is the best of the hand-written SQL plans for it, chosen per company in the
// same run (so the floor knows that company's data); the API is measured
// through HTTP with an admin API key.
type listsBench struct {
	on        *bool
	customers *int
	n         *int
	conc      *int
	redis     *int
	db        *string
	keep      *bool
	reuse     *bool
	only      *string
}

func listsBenchFlags(fs *flag.FlagSet) *listsBench {
	return &listsBench{
		on:        fs.Bool("lists", false, "run only the hostile-data list benchmark (issue 20): each filter shape on a friendly and a hostile company (its own database and Redis db)"),
		customers: fs.Int("lists-customers", 200_000, "customers in each of the friendly and the hostile company"),
		n:         fs.Int("lists-requests", 200, "measured requests per shape, company and side"),
		conc:      fs.Int("lists-concurrency", 4, "parallel clients in the throughput phase"),
		redis:     fs.Int("lists-redis-db", 11, "the Redis database number the list benchmark uses and flushes"),
		db:        fs.String("lists-db", "clientele_bench_lists", "the list benchmark's database"),
		keep:      fs.Bool("lists-keep-db", false, "keep the benchmark's database afterwards"),
		reuse:     fs.Bool("lists-reuse-db", false, "reuse the benchmark's database when it exists (kept by -lists-keep-db)"),
		only:      fs.String("lists-only", "", "run only the shapes whose name contains this"),
	}
}

// listsGen is every customer g of a company, oldest first (created_at grows
// with g), with its tags, tier, employees and whether its name holds 张.
// $2 = N, $3 = hostile. h(k) is a per-customer pseudo-random number in
// 0..999 for the friendly company's independent draws.
const listsGen = `
WITH gen AS (
	SELECT g, md5($1::text || ':' || g)::uuid AS id,
	       timestamptz '2025-01-01' + make_interval(secs => g * 60) AS at,
	       g::float8 / $2 AS age,
	       abs(hashtext($1::text || 'a' || g)) % 1000 AS h1, abs(hashtext($1::text || 'b' || g)) % 1000 AS h2,
	       abs(hashtext($1::text || 'c' || g)) % 1000 AS h3, abs(hashtext($1::text || 'd' || g)) % 1000 AS h4,
	       abs(hashtext($1::text || 'e' || g)) % 1000 AS h5, abs(hashtext($1::text || 'f' || g)) % 1000 AS h6,
	       abs(hashtext($1::text || 'g' || g)) % 1000 AS h7
	  FROM generate_series(1, $2::bigint) g),
c AS (
	SELECT g, id, at,
	  CASE WHEN $3 THEN age > 0.88 OR h1 < 20 ELSE h1 < 120 END AS vip,
	  CASE WHEN $3 THEN CASE WHEN age < 0.25 THEN 'gold' WHEN h2 < 300 THEN 'silver' END
	       ELSE CASE WHEN h2 < 230 THEN 'gold' WHEN h2 < 500 THEN 'silver' END END AS tier,
	  CASE WHEN $3 THEN age < 0.002 ELSE h3 < 2 END AS rare,
	  CASE WHEN $3 THEN g % 2 = 0 OR g % 5000 = 1 ELSE h4 < 300 END AS north,
	  CASE WHEN $3 THEN g % 2 = 1 ELSE h5 < 300 END AS south,
	  CASE WHEN $3 THEN CASE WHEN age < 0.10 THEN 900 + h6 % 100 ELSE h6 % 900 END ELSE h6 END AS employees,
	  CASE WHEN $3 THEN age < 0.10 AND h7 < 500 ELSE h7 < 100 END AS zhang
	  FROM gen)
`

type listShape struct {
	name  string
	query string // the list's query string
	// floors are hand-written plans for the shape; the best per company is
	// the floor. Each takes $1 = the tenant and returns the page's columns.
	floors map[string]string
}

const listCols = `c.id, c.kind, c.name, c.company_id, c.emails, c.phones, c.address, c.owner_id, c.tags,
	c.lifecycle, c.source, c.custom, c.created_at, c.updated_at`

func tagSet(tag string) string {
	return "SELECT customer_id FROM customer_tags WHERE tenant_id = $1 AND tag = '" + tag + "'"
}

// The probes are scalar subqueries: the planner evaluates them once per
// candidate row (an index probe) and cannot turn them into a hash of the
// whole set, which is what a hand plan that drives from one set means.
func tagProbe(tag string) string {
	return "(SELECT true FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.tag = '" + tag + "' AND ct.customer_id = c.id)"
}

func fiSet(key, cond string) string {
	return "SELECT record_id FROM field_index WHERE tenant_id = $1 AND entity = 'customers' AND field_key = '" + key + "' AND " + cond
}

func fiProbe(key, cond string) string {
	return "(SELECT true FROM field_index fi WHERE fi.tenant_id = c.tenant_id AND fi.entity = 'customers' AND fi.field_key = '" + key + "' AND fi.record_id = c.id AND fi." + cond + " LIMIT 1)"
}

// twoSetFloors are the hand plans for a list on two sets A and B (the
// driver of a walk, walkTable/walkCond, when B can be walked newest first):
// walk B newest first probing A, or hashing A; read the ids of the
// intersection (hashed) and only those rows; read the ids of one set and
// probe the other.
func twoSetFloors(walkTable, walkCond, aSet, aProbe, bSet, bProbe string) map[string]string {
	base := "SELECT " + listCols + " FROM customers c WHERE c.tenant_id = $1 AND c.deleted_at IS NULL AND "
	order := " ORDER BY c.created_at DESC, c.id DESC LIMIT 51"
	f := map[string]string{
		"intersect": base + "c.id = ANY (ARRAY(" + aSet + " INTERSECT " + bSet + "))" + order,
		"drive a":   base + "c.id = ANY (ARRAY(" + aSet + ")) AND " + bProbe + order,
		"drive b":   base + "c.id = ANY (ARRAY(" + bSet + ")) AND " + aProbe + order,
	}
	if walkTable != "" {
		walk := "SELECT " + listCols + " FROM " + walkTable + ` dt JOIN customers c ON c.tenant_id = dt.tenant_id AND c.id = dt.customer_id
			WHERE dt.tenant_id = $1 AND ` + walkCond + ` AND c.deleted_at IS NULL AND `
		order := " ORDER BY dt.created_at DESC, dt.customer_id DESC LIMIT 51"
		f["walk b, probe a"] = walk + aProbe + order
		f["walk b, hash a"] = walk + "CASE WHEN dt.customer_id IN (" + aSet + ") THEN true END" + order
	}
	return f
}

func listShapes() []listShape {
	vip, vipP, vipW := tagSet("vip"), tagProbe("vip"), "dt.tag = 'vip'"
	zhang := "SELECT customer_id FROM customer_terms WHERE tenant_id = $1 AND term = 'n:张'"
	zhangP := "(SELECT true FROM customer_terms t WHERE t.tenant_id = c.tenant_id AND t.customer_id = c.id AND t.term = 'n:张')"
	sorted := "SELECT " + listCols + ` FROM customers c JOIN field_index fi ON fi.tenant_id = c.tenant_id AND fi.record_id = c.id
		AND fi.entity = 'customers' AND fi.field_key = 'employees' AND fi.ord = 0 AND fi.v_num IS NOT NULL
		WHERE c.tenant_id = $1 AND c.deleted_at IS NULL AND `
	sortedOrder := " ORDER BY fi.v_num DESC, fi.record_id DESC LIMIT 51"
	return []listShape{
		{"two filters anti-correlated in time", "custom.tier=gold&tag=vip",
			twoSetFloors("customer_tags", vipW, fiSet("tier", "v_text = 'gold'"), fiProbe("tier", "v_text = 'gold'"), vip, vipP)},
		{"one broad and one narrow filter", "tag=vip&tag=rare",
			twoSetFloors("customer_tags", vipW, tagSet("rare"), tagProbe("rare"), vip, vipP)},
		{"two broad filters, tiny intersection", "tag=north&tag=south",
			twoSetFloors("customer_tags", "dt.tag = 'north'", tagSet("south"), tagProbe("south"), tagSet("north"), tagProbe("north"))},
		{"custom-field range with a tag", "custom.employees[between]=900,999&tag=vip",
			twoSetFloors("customer_tags", vipW, fiSet("employees", "v_num BETWEEN 900 AND 999"), fiProbe("employees", "v_num BETWEEN 900 AND 999"), vip, vipP)},
		{"search with a filter", "q=%E5%BC%A0&tag=vip", func() map[string]string {
			f := twoSetFloors("customer_tags", vipW, zhang, zhangP, vip, vipP)
			for k, v := range twoSetFloors("customer_terms", "dt.term = 'n:张'", vip, vipP, zhang, zhangP) {
				f["term: "+k] = v
			}
			return f
		}()},
		{"sorted by a custom field, with a tag", "tag=vip&sort=-custom.employees", map[string]string{
			"walk the field": sorted + vipP + sortedOrder,
			"drive the tag":  sorted + "c.id = ANY (ARRAY(" + vip + "))" + sortedOrder,
		}},
	}
}

func (b *listsBench) run(ctx context.Context, cfg config.Config) error {
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
	bcfg.RatePerTenant, bcfg.RatePerKey = 10_000_000, 10_000_000
	d, err := openDeps(ctx, bcfg, quiet)
	if err != nil {
		return err
	}
	defer d.Close()
	companies := []struct {
		slug    string
		hostile bool
		id      uuid.UUID
		key     string
	}{{slug: "bench-friendly"}, {slug: "bench-hostile", hostile: true}}
	for i := range companies {
		c := &companies[i]
		if c.id, err = b.seed(ctx, bcfg, d, c.slug, c.hostile); err != nil {
			return err
		}
		if c.key, err = benchAPIKey(ctx, d, c.id); err != nil {
			return err
		}
	}
	tuneServeGC(cfg) // the API in this process runs as serve runs it
	srv := buildHTTP(d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.App.Listener(ln) }()
	defer srv.App.Shutdown()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
	pool, err := pgxpool.New(ctx, bcfg.AppDatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()

	fmt.Printf("clientele bench -lists: %d customers in each company (friendly, hostile), %d requests per path, concurrency %d\n\n", *b.customers, *b.n, *b.conc)
	fmt.Printf("%-40s %-9s %-10s %9s %9s %9s %9s %9s %9s\n", "shape", "company", "floor", "floor p50", "api p50", "api p95", "floor rps", "api rps", "api/floor")
	missed := false
	for _, s := range listShapes() {
		if !strings.Contains(s.name, *b.only) {
			continue
		}
		var p50 [2]time.Duration
		for ci, c := range companies {
			api := func() error {
				return getJSONKey(client, "http://"+ln.Addr().String()+"/api/v1/t/"+c.slug+"/customers?limit=50&"+s.query, c.key)
			}
			// Only hand plans that give the API's rows are floors (and at
			// least one must).
			wrong, err := b.sameRows(ctx, pool, client, ln.Addr().String(), c.slug, c.key, c.id, s)
			if err != nil {
				return err
			}
			best, bestName := time.Duration(1<<62), ""
			names := make([]string, 0, len(s.floors))
			for name := range s.floors {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if wrong[name] {
					continue // a plan that answers something else is no floor
				}
				// Three runs first: a plan whose fastest of them is five
				// times the best p50 so far cannot be the floor, and at a
				// million customers such a plan takes seconds a run, so
				// it is not timed 20 times.
				run := b.floor(ctx, pool, c.id, s.floors[name])
				fastest, err := quickest(run, 3)
				if err != nil {
					return fmt.Errorf("%s %s floor %q: %w", s.name, c.slug, name, err)
				}
				if best < time.Duration(1<<62) && fastest > 5*best {
					fmt.Fprintf(os.Stderr, "bench: %s, %s: hand plan %q fastest of 3 runs %s, over 5x the best: not timed further\n", s.name, c.slug, name, fastest.Round(10*time.Microsecond))
					continue
				}
				lat, err := latencies(run, 20)
				if err != nil {
					return fmt.Errorf("%s %s floor %q: %w", s.name, c.slug, name, err)
				}
				fmt.Fprintf(os.Stderr, "bench: %s, %s: hand plan %q p50 %s\n", s.name, c.slug, name, lat[len(lat)/2].Round(10*time.Microsecond))
				if m := lat[len(lat)/2]; m < best {
					best, bestName = m, name
				}
			}
			floor := b.floor(ctx, pool, c.id, s.floors[bestName])
			fl, err := latencies(floor, *b.n)
			if err != nil {
				return err
			}
			ap, err := latencies(api, *b.n)
			if err != nil {
				return err
			}
			frps, err := throughput(floor, *b.n, *b.conc)
			if err != nil {
				return err
			}
			arps, err := throughput(api, *b.n, *b.conc)
			if err != nil {
				return err
			}
			p50[ci] = ap[len(ap)/2]
			p95 := ap[len(ap)*95/100]
			share := arps / frps
			verdict := ""
			if share < 0.5 {
				verdict += " BELOW 50% of floor"
				missed = true
			}
			if p95 > 50*time.Millisecond {
				verdict += " p95 ABOVE 50 ms"
				missed = true
			}
			fmt.Printf("%-40s %-9s %-10s %9s %9s %9s %9.0f %9.0f %8.0f%%%s\n", s.name, strings.TrimPrefix(c.slug, "bench-"), bestName,
				fl[len(fl)/2].Round(10*time.Microsecond), p50[ci].Round(10*time.Microsecond), p95.Round(10*time.Microsecond), frps, arps, 100*share, verdict)
		}
		ratio := float64(p50[1]) / float64(p50[0])
		verdict := "ok"
		if ratio > 3 {
			verdict, missed = "ABOVE 3x", true
		}
		fmt.Printf("%-40s hostile/friendly api p50: %.2fx (target <= 3x): %s\n", "", ratio, verdict)
	}
	if missed {
		fmt.Println("\nbench -lists: a target was missed (see above)")
	}
	return nil
}

func (b *listsBench) floor(ctx context.Context, pool *pgxpool.Pool, tenant uuid.UUID, sql string) func() error {
	return func() error {
		return pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error { return drain(ctx, tx, sql, tenant) })
	}
}

// sameRows checks that the API's first page and every hand plan give the
// same customers in the same order.
func (b *listsBench) sameRows(ctx context.Context, pool *pgxpool.Pool, client *http.Client, addr, slug, key string, tenant uuid.UUID, s listShape) (wrong map[string]bool, err error) {
	wrong = map[string]bool{}
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/t/"+slug+"/customers?limit=50&"+s.query, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	var api []string
	if err := getIDs(client, req, &api); err != nil {
		return nil, err
	}
	for name, sql := range s.floors {
		var got []string
		if err := pgxTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
			// A hand plan can be hopeless on a company's data (one walked
			// for over half an hour at a million customers): past the cap
			// it is no floor, and the others are still timed.
			if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", handPlanCap.Milliseconds())); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "SELECT id::text FROM ("+sql+") x", tenant)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				got = append(got, id)
			}
			return rows.Err()
		}); err != nil {
			if db.PgCode(err) == "57014" {
				fmt.Fprintf(os.Stderr, "bench: %s on %s: the hand plan %q ran past %s: no floor\n", s.name, slug, name, handPlanCap)
				wrong[name] = true
				continue
			}
			return nil, err
		}
		if len(got) > 50 {
			got = got[:50]
		}
		if strings.Join(got, ",") != strings.Join(api, ",") {
			fmt.Fprintf(os.Stderr, "bench: %s on %s: the API's page (%d rows) differs from the hand plan %q (%d rows)\n", s.name, slug, len(api), name, len(got))
			wrong[name] = true
		}
	}
	if len(wrong) == len(s.floors) {
		return nil, fmt.Errorf("bench: %s on %s: no hand plan gives the API's page", s.name, slug)
	}
	return wrong, nil
}

// seed makes the company with n customers once, defines its fields, fills the
// tag, term and index rows, and counts it.
func (b *listsBench) seed(ctx context.Context, cfg config.Config, d *deps, slug string, hostile bool) (uuid.UUID, error) {
	tenant, _, err := ensureTenant(ctx, cfg, slug, strings.ToUpper(slug[:1])+slug[1:])
	if err != nil {
		return uuid.Nil, err
	}
	sys := authz.AsSystem(ctx)
	var have int
	if err := db.InTenant(sys, d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM customers WHERE tenant_id = ?", tenant).Scan(ctx, &have)
	}); err != nil {
		return uuid.Nil, err
	}
	if have > 0 {
		return tenant, nil
	}
	if err := db.InTenant(sys, d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		for _, def := range []fields.Definition{
			{Key: "tier", LabelEN: "Tier", Type: fields.Select, Options: []fields.Option{{Value: "gold"}, {Value: "silver"}}, Filterable: true},
			{Key: "employees", LabelEN: "Employees", Type: fields.Number, Filterable: true, Sortable: true},
		} {
			def.Entity = profiles.EntityCustomers
			if _, err := d.fields.Create(ctx, tx, tenant, def); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return uuid.Nil, err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "bench: generating %d customers for %s…\n", *b.customers, slug)
	conn, err := pgx.Connect(ctx, cfg.AppDatabaseURL)
	if err != nil {
		return uuid.Nil, err
	}
	defer conn.Close(ctx)
	stmts := []string{
		listsGen + `INSERT INTO customers (tenant_id, id, kind, name, tags, lifecycle, source, custom, created_at, updated_at)
		SELECT $1::uuid, id, 'person', CASE WHEN zhang THEN '张 ' ELSE 'Customer ' END || g,
		       array_remove(ARRAY[CASE WHEN vip THEN 'vip' END, CASE WHEN rare THEN 'rare' END, CASE WHEN north THEN 'north' END, CASE WHEN south THEN 'south' END], NULL),
		       'customer', 'bench', jsonb_strip_nulls(jsonb_build_object('tier', tier, 'employees', employees)), at, at FROM c`,
		`INSERT INTO customer_tags (tenant_id, tag, created_at, customer_id)
		SELECT tenant_id, t, created_at, id FROM customers, unnest(tags) t WHERE tenant_id = $1`,
		`INSERT INTO customer_terms (tenant_id, term, created_at, customer_id)
		SELECT tenant_id, 'n:' || lower(w), created_at, id FROM customers, unnest(string_to_array(name, ' ')) w WHERE tenant_id = $1`,
		`INSERT INTO field_index (tenant_id, entity, field_key, record_id, ord, v_text)
		SELECT tenant_id, 'customers', 'tier', id, 0, custom->>'tier' FROM customers WHERE tenant_id = $1 AND custom ? 'tier'`,
		`INSERT INTO field_index (tenant_id, entity, field_key, record_id, ord, v_num)
		SELECT tenant_id, 'customers', 'employees', id, 0, (custom->>'employees')::numeric FROM customers WHERE tenant_id = $1`,
	}
	for i, stmt := range stmts {
		args := []any{tenant}
		if i == 0 {
			args = append(args, *b.customers, hostile)
		}
		if err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{BeginQuery: db.BeginTenantSQL(tenant)}, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, stmt, args...)
			return err
		}); err != nil {
			return uuid.Nil, fmt.Errorf("bench: seed %s: %w", slug, err)
		}
	}
	admin, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return uuid.Nil, err
	}
	defer admin.Close(ctx)
	for _, t := range []string{"customers", "customer_tags", "customer_terms", "field_index"} {
		if _, err := admin.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return uuid.Nil, err
		}
	}
	if err := d.fields.Recount(ctx, tenant); err != nil {
		return uuid.Nil, err
	}
	fmt.Fprintf(os.Stderr, "bench: %s seeded in %s\n", slug, time.Since(start).Round(time.Second))
	return tenant, nil
}

// getIDs reads the ids of a list page.
func getIDs(c *http.Client, req *http.Request, out *[]string) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: status %d: %.300s", req.URL, resp.StatusCode, body)
	}
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return err
	}
	for _, it := range page.Items {
		*out = append(*out, it.ID)
	}
	return nil
}

// handPlanCap bounds one run of a hand plan when the bench checks its rows.
const handPlanCap = 2 * time.Minute

// quickest is the fastest of runs calls of fn, after one to warm up.
func quickest(fn func() error, runs int) (time.Duration, error) {
	if err := fn(); err != nil {
		return 0, err
	}
	best := time.Duration(1 << 62)
	for range runs {
		t := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		best = min(best, time.Since(t))
	}
	return best, nil
}
