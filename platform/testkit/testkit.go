// Package testkit gives each test package a fresh, migrated PostgreSQL database and
// its own Redis database number, and helpers to make tenants and call the app.
//
//	func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }
//	func TestX(t *testing.T) { env := testkit.Get(t); tenant := env.NewTenant(t) ... }
//
// CLIENTELE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
// names a maintenance database of a server where the user may create databases;
// CLIENTELE_TEST_REDIS_URL (default redis://127.0.0.1:6379) a Redis server.
//
// CLIENTELE_TEST_CITUS_URL, when set, names the maintenance database of a Citus
// coordinator instead (`make test-citus` sets it): each package then gets its own
// database on the coordinator and on every worker registered in that maintenance
// database, with the extension created and the workers registered, and migrate
// distributes the schema by tenant_id.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/migrations"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/devstack"
	"github.com/clientele-crm/clientele/platform/migrate"
)

// Env is the per-package test environment.
type Env struct {
	Config  config.Config
	Owner   *bun.DB // owner role: setup, lint, assertions that must see every tenant
	App     *bun.DB // the non-owner app role, as serve and worker use it
	Redis   *redis.Client
	RedisDB int
	DBName  string
	// Citus is set when the package runs on a Citus cluster; Workers are its
	// workers (host:port).
	Citus     bool
	Workers   []string
	serverURL string
}

var env *Env

// Main creates the environment, runs the package's tests and drops it again.
func Main(m *testing.M) int {
	ctx := context.Background()
	e, cleanup, err := setup(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testkit: %v\n", err)
		return 1
	}
	env = e
	code := m.Run()
	cleanup()
	return code
}

// Get returns the package's environment; the package must use Main in TestMain.
func Get(t testing.TB) *Env {
	t.Helper()
	if env == nil {
		t.Fatal("testkit: call os.Exit(testkit.Main(m)) from TestMain")
	}
	return env
}

// Quiet is a logger that drops everything, for code under test that wants one.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// AsynqOpt is the asynq connection to the package's own Redis database.
func (e *Env) AsynqOpt(t testing.TB) asynq.RedisClientOpt {
	t.Helper()
	o, err := redis.ParseURL(e.Config.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	return asynq.RedisClientOpt{Addr: o.Addr, DB: o.DB}
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// citusShards is the shard count of a test database on Citus: few shards keep the
// per-package schema quick to create, and two or more per worker still spread
// tenants over both workers.
const citusShards = 4

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

func setup(ctx context.Context) (*Env, func(), error) {
	base := getenv("CLIENTELE_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	citusURL := os.Getenv("CLIENTELE_TEST_CITUS_URL")
	var workers []string
	if citusURL != "" {
		base = citusURL
		var err error
		if workers, err = devstack.CitusWorkerAddrs(ctx, base); err != nil {
			return nil, nil, fmt.Errorf("CLIENTELE_TEST_CITUS_URL: %w (run `make citus`)", err)
		}
	}
	admin, err := db.Open(ctx, base, 2)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s (set CLIENTELE_TEST_DATABASE_URL, or run `make test`, which starts PostgreSQL): %w", redact(base), err)
	}
	pkg := unsafeChars.ReplaceAllString(strings.ToLower(filepath.Base(mustWd())), "_")
	name := fmt.Sprintf("clientele_t_%s_%s", trunc(pkg, 30), randHex(4))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		admin.Close()
		return nil, nil, fmt.Errorf("create database: %w", err)
	}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	cleanups = append(cleanups, func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(c, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "testkit: drop %s: %v\n", name, err)
		}
		admin.Close()
		if len(workers) > 0 {
			if err := devstack.DropCitusDatabase(c, base, workers, name); err != nil {
				fmt.Fprintf(os.Stderr, "testkit: drop %s on the workers: %v\n", name, err)
			}
		}
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	ownerURL := u.String()
	if citusURL != "" {
		if err := devstack.PrepareCitusDatabase(ctx, ownerURL, workers, true); err != nil {
			cleanup()
			return nil, nil, err
		}
	}

	redisBase := getenv("CLIENTELE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
	rdb, release, err := claimRedis(ctx, redisBase)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	cleanups = append(cleanups, release)

	cfg, err := config.Parse(func(k string) (string, bool) {
		switch k {
		case "CLIENTELE_ENV":
			return "test", true
		case "CLIENTELE_DATABASE_URL":
			return ownerURL, true
		case "CLIENTELE_REDIS_URL":
			return fmt.Sprintf("%s/%d", strings.TrimRight(redisBase, "/"), rdb.Options().DB), true
		case "CLIENTELE_DATA_DIR":
			return filepath.Join(os.TempDir(), name), true
		case "CLIENTELE_RATE_REFUSAL_DELAY":
			// Tests count refusals by the hundred; the pause has a test of its own.
			return "0", true
		}
		return "", false
	})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	cleanups = append(cleanups, func() { os.RemoveAll(cfg.DataDir) })

	owner, err := db.Open(ctx, ownerURL, 4)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	cleanups = append(cleanups, func() { owner.Close() })
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := migrate.Up(ctx, owner, migrations.FS, migrate.Options{AppRole: cfg.AppDBRole, AppPassword: cfg.AppDBPassword, Logger: quiet,
		Citus: citusURL != "", CitusShardCount: citusShards}); err != nil {
		cleanup()
		return nil, nil, err
	}
	app, err := db.Open(ctx, cfg.AppDatabaseURL, 8)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("connect as app role: %w", err)
	}
	cleanups = append(cleanups, func() { app.Close() })
	return &Env{Config: cfg, Owner: owner, App: app, Redis: rdb, RedisDB: rdb.Options().DB, DBName: name,
		Citus: citusURL != "", Workers: workers, serverURL: base}, cleanup, nil
}

// claimRedis takes a free database number 1..15 with a lease key in database 0, so
// that concurrent packages and concurrent runs never share one.
func claimRedis(ctx context.Context, base string) (*redis.Client, func(), error) {
	opt, err := redis.ParseURL(base)
	if err != nil {
		return nil, nil, fmt.Errorf("CLIENTELE_TEST_REDIS_URL: %w", err)
	}
	opt.DB = 0
	lease := redis.NewClient(opt)
	if err := lease.Ping(ctx).Err(); err != nil {
		lease.Close()
		return nil, nil, fmt.Errorf("redis at %s (set CLIENTELE_TEST_REDIS_URL, or run `make test`): %w", base, err)
	}
	token := randHex(8)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for n := 1; n <= 15; n++ {
			key := fmt.Sprintf("clientele:testkit:db:%d", n)
			ok, err := lease.SetNX(ctx, key, token, 30*time.Minute).Result()
			if err != nil {
				lease.Close()
				return nil, nil, err
			}
			if !ok {
				continue
			}
			o := *opt
			o.DB = n
			c := redis.NewClient(&o)
			c.FlushDB(ctx)
			release := func() {
				c.FlushDB(context.Background())
				c.Close()
				if v, _ := lease.Get(context.Background(), key).Result(); v == token {
					lease.Del(context.Background(), key)
				}
				lease.Close()
			}
			return c, release, nil
		}
		if time.Now().After(deadline) {
			lease.Close()
			return nil, nil, fmt.Errorf("testkit: all 15 Redis test databases are leased; stale leases expire after 30 minutes")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Tenant is a tenant made for a test.
type Tenant struct {
	ID   uuid.UUID
	Slug string
	Name string
}

// NewTenant inserts a tenant with a unique slug.
func (e *Env) NewTenant(t testing.TB) Tenant {
	t.Helper()
	tn := Tenant{ID: uuid.New(), Slug: "t-" + randHex(6)}
	tn.Name = "Test " + tn.Slug
	if _, err := e.Owner.ExecContext(context.Background(),
		"INSERT INTO tenants (id, slug, name) VALUES (?, ?, ?)", tn.ID, tn.Slug, tn.Name); err != nil {
		t.Fatalf("testkit: new tenant: %v", err)
	}
	return tn
}

// TeamFixture is three members of a tenant and two teams: Ann is in North,
// Bo in North and South, Cai in none (for what counts by the owner's team).
type TeamFixture struct {
	Ann, Bo, Cai, North, South uuid.UUID
}

// NewTeams inserts the TeamFixture's members and teams into tenant.
func (e *Env) NewTeams(t testing.TB, tenant uuid.UUID) TeamFixture {
	t.Helper()
	f := TeamFixture{Ann: uuid.New(), Bo: uuid.New(), Cai: uuid.New(), North: uuid.New(), South: uuid.New()}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO memberships (tenant_id, identity_id, role, email) VALUES (?, ?, 'member', 'ann@example.com'), (?, ?, 'member', 'bo@example.com'), (?, ?, 'member', 'cai@example.com')",
			[]any{tenant, f.Ann, tenant, f.Bo, tenant, f.Cai}},
		{"INSERT INTO teams (tenant_id, id, name) VALUES (?, ?, 'North'), (?, ?, 'South')", []any{tenant, f.North, tenant, f.South}},
		{"INSERT INTO team_members (tenant_id, team_id, identity_id) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)",
			[]any{tenant, f.North, f.Ann, tenant, f.North, f.Bo, tenant, f.South, f.Bo}},
	} {
		if _, err := e.Owner.ExecContext(context.Background(), q.sql, q.args...); err != nil {
			t.Fatalf("testkit: teams: %v", err)
		}
	}
	return f
}

// InTenant runs fn in tn's transaction as the app role, acting as the system
// (a test's own setup is nobody's request), failing the test on error.
func (e *Env) InTenant(t testing.TB, tn uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) {
	t.Helper()
	if err := db.InTenant(authz.AsSystem(context.Background()), e.App, tn, fn); err != nil {
		t.Fatalf("testkit: in tenant: %v", err)
	}
}

// OpenOwnerDB opens another connection pool to the package database as owner.
func (e *Env) OpenOwnerDB(t testing.TB) *bun.DB {
	t.Helper()
	d, err := db.Open(context.Background(), e.Config.DatabaseURL, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// CreateScratchDB makes another empty database on the same server, dropped at the
// end of the test, and returns its owner URL: for tests of migrate itself.
func (e *Env) CreateScratchDB(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	admin, err := db.Open(ctx, e.serverURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	name := e.DBName + "_s" + randHex(3)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
		if e.Citus {
			_ = devstack.DropCitusDatabase(context.Background(), e.serverURL, e.Workers, name)
		}
	})
	u, _ := url.Parse(e.serverURL)
	u.Path = "/" + name
	if e.Citus {
		if err := devstack.PrepareCitusDatabase(ctx, u.String(), e.Workers, true); err != nil {
			t.Fatal(err)
		}
	}
	return u.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func mustWd() string {
	wd, err := os.Getwd()
	if err != nil {
		return "pkg"
	}
	return wd
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(database url)"
	}
	return u.Redacted()
}

// Eventually polls cond every interval until it holds, and fails the test
// with msg if it does not hold within the time given.
func Eventually(t testing.TB, within, every time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(every)
	}
}

// Call sends one request to a Fiber app through app.Test and returns the status and
// body. Headers are name/value pairs; a non-empty body is sent as JSON.
func Call(t testing.TB, app interface {
	Test(*http.Request, ...int) (*http.Response, error)
}, method, path, body string, headers ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := app.Test(req, 30000)
	if err != nil {
		t.Fatalf("testkit: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Distribute makes a table a test created itself a Citus table like the schema's
// own, distributed by tenant_id and co-located with them, when the package runs
// on Citus; on one node it does nothing. Tests call it after CREATE TABLE.
func (e *Env) Distribute(t testing.TB, table string) {
	t.Helper()
	if !e.Citus {
		return
	}
	ctx := context.Background()
	var done bool
	// Distributed already (hash, 'h'): a table with a foreign key to a
	// reference table (tenants) is made a Citus local table ('n') the moment
	// it is created, which still needs distributing.
	if err := e.Owner.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = ?::regclass AND partmethod = 'h')", table).Scan(&done); err != nil {
		t.Fatalf("testkit: distribute %s: %v", table, err)
	}
	if done {
		return
	}
	if _, err := e.Owner.ExecContext(ctx, "SELECT create_distributed_table(?::regclass, 'tenant_id', colocate_with => 'customers')", table); err != nil {
		t.Fatalf("testkit: distribute %s: %v", table, err)
	}
}

// ExecEach runs a script as the owner one statement at a time (it splits on
// semicolons outside $$-quoted bodies). Citus forwards some DDL on a distributed
// table (policies, grants) to the workers as the text of the whole message, which
// the workers refuse when it holds several statements.
func (e *Env) ExecEach(ctx context.Context, script string) error {
	conn, err := e.Owner.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, stmt := range splitStatements(script) {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", strings.TrimSpace(stmt), err)
		}
	}
	return nil
}

// splitStatements splits SQL on semicolons that are outside $$ bodies and outside
// -- comments; enough for migrations and test scripts, not a SQL parser.
func splitStatements(script string) []string {
	var out []string
	var b strings.Builder
	inDollar := false
	for _, line := range strings.SplitAfter(script, "\n") {
		code := line
		if i := strings.Index(line, "--"); i >= 0 && !inDollar {
			code = line[:i] + "\n"
		}
		for i := 0; i < len(code); i++ {
			if strings.HasPrefix(code[i:], "$$") {
				inDollar = !inDollar
				b.WriteString("$$")
				i++
				continue
			}
			if code[i] == ';' && !inDollar {
				out = append(out, b.String())
				b.Reset()
				continue
			}
			b.WriteByte(code[i])
		}
	}
	return append(out, b.String())
}
