package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// needBinaries skips a test that must start servers on a machine without them.
func needBinaries(t *testing.T) {
	t.Helper()
	if _, err := pgBin("initdb"); err != nil {
		t.Skip("skipped: no PostgreSQL server binaries here: " + err.Error())
	}
	if _, err := pgBin("pg_ctl"); err != nil {
		t.Skip("skipped: no PostgreSQL server binaries here: " + err.Error())
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("skipped: no redis-server binary on PATH")
	}
}

// tempDir is a temp dir the postgres system user can reach when we run as root.
func tempDir(t *testing.T) string {
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		_ = os.Chmod(filepath.Dir(dir), 0o755)
		_ = os.Chmod(dir, 0o755)
	}
	return dir
}

// What already answers is reused and never stopped.
func TestEnsureReusesRunningServices(t *testing.T) {
	o := Options{
		DataDir:     t.TempDir(),
		PostgresURL: env("CLIENTELE_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		RedisURL:    env("CLIENTELE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
		Logger:      quiet,
	}
	s, err := Ensure(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Started()) != 0 {
		t.Fatalf("started %v although services answer", s.Started())
	}
	if s.PostgresURL() != o.PostgresURL {
		t.Fatalf("PostgresURL %s, want the configured %s", s.PostgresURL(), o.PostgresURL)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := StopPrivate(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if !listening(mustURL(t, o.PostgresURL).Host, "5432") {
		t.Fatal("Stop stopped a PostgreSQL it did not start")
	}
	if err := waitRedis(context.Background(), o.RedisURL, 5*time.Second); err != nil {
		t.Fatalf("Stop stopped a Redis it did not start: %v", err)
	}
	envFile, err := os.ReadFile(EnvFile(o.DataDir))
	if err != nil || !strings.Contains(string(envFile), "CLIENTELE_DATABASE_URL="+o.PostgresURL+"\n") {
		t.Fatalf("env file: %q %v", envFile, err)
	}
}

// The target database is created when missing, and again found on the next call.
func TestEnsureCreatesTheDatabase(t *testing.T) {
	base := mustURL(t, env("CLIENTELE_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"))
	name := fmt.Sprintf("devstack_ensure_%d", time.Now().UnixNano())
	target := *base
	target.Path = "/" + name
	ctx := context.Background()
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base.String())
		if err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	o := Options{DataDir: t.TempDir(), PostgresURL: target.String(), RedisURL: env("CLIENTELE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), Logger: quiet}
	for i := 0; i < 2; i++ {
		if _, err := Ensure(ctx, o); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	c, err := pgx.Connect(ctx, target.String())
	if err != nil {
		t.Fatalf("the target database does not exist: %v", err)
	}
	c.Close(ctx)
}

// Where nothing answers, private instances start under the data dir, work, and
// stop again; a second Ensure reuses them without owning them.
func TestEnsureStartsAndStopsPrivateServices(t *testing.T) {
	needBinaries(t)
	dir := tempDir(t)
	pgPort, rdPort := freePort(t), freePort(t)
	o := Options{
		DataDir:     filepath.Join(dir, "data"),
		PostgresURL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/devstack_test?sslmode=disable", pgPort),
		RedisURL:    fmt.Sprintf("redis://127.0.0.1:%d/0", rdPort),
		Logger:      quiet,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := Ensure(ctx, o)
	t.Cleanup(func() { _ = StopPrivate(context.Background(), o) })
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(s.Started()); got != "[postgres redis]" {
		t.Fatalf("started %s, want [postgres redis]", got)
	}
	for _, p := range []string{"postgres/PG_VERSION", "postgres/postmaster.pid", "redis/redis.pid"} {
		if _, err := os.Stat(filepath.Join(o.DataDir, p)); err != nil {
			t.Fatalf("private instance not under the data dir: %v", err)
		}
	}

	// The target database exists, is UTF-8, and pg_trgm splits Chinese text.
	c, err := pgx.Connect(ctx, o.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	var enc string
	if err := c.QueryRow(ctx, "SHOW server_encoding").Scan(&enc); err != nil || enc != "UTF8" {
		t.Fatalf("server_encoding %q %v", enc, err)
	}
	if _, err := c.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm"); err != nil {
		t.Logf("pg_trgm not installed, CJK check skipped: %v", err)
	} else {
		var n int
		if err := c.QueryRow(ctx, "SELECT cardinality(show_trgm('演示贸易公司'))").Scan(&n); err != nil || n == 0 {
			t.Fatalf("pg_trgm sees no trigrams in Chinese text (locale not UTF-8?): %d %v", n, err)
		}
	}
	c.Close(ctx)

	// Redis keeps nothing on disk and never evicts queued work.
	opt, _ := redis.ParseURL(o.RedisURL)
	rc := redis.NewClient(opt)
	cfg, err := rc.ConfigGet(ctx, "*").Result()
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if cfg["maxmemory-policy"] != "noeviction" || cfg["save"] != "" || cfg["appendonly"] != "no" || cfg["bind"] != "127.0.0.1" {
		t.Fatalf("redis config: policy=%q save=%q appendonly=%q bind=%q", cfg["maxmemory-policy"], cfg["save"], cfg["appendonly"], cfg["bind"])
	}

	// A second Ensure reuses what the first started, and its Stop leaves it running.
	s2, err := Ensure(ctx, o)
	if err != nil || len(s2.Started()) != 0 {
		t.Fatalf("second ensure: %v %v", s2, err)
	}
	if err := s2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !listening(fmt.Sprintf("127.0.0.1:%d", pgPort), "") || !listening(fmt.Sprintf("127.0.0.1:%d", rdPort), "") {
		t.Fatal("a Stack that reused the services stopped them")
	}

	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if listening(fmt.Sprintf("127.0.0.1:%d", pgPort), "") || listening(fmt.Sprintf("127.0.0.1:%d", rdPort), "") {
		t.Fatal("private services still answer after Stop")
	}

	// The cluster survives a restart: the next Ensure starts it again without initdb,
	// and StopPrivate (what `clientele services stop` runs) stops both by pid file.
	s3, err := Ensure(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(s3.Started()); got != "[postgres redis]" {
		t.Fatalf("restart started %s", got)
	}
	if err := StopPrivate(ctx, o); err != nil {
		t.Fatal(err)
	}
	if listening(fmt.Sprintf("127.0.0.1:%d", pgPort), "") || listening(fmt.Sprintf("127.0.0.1:%d", rdPort), "") {
		t.Fatal("private services still answer after StopPrivate")
	}
	// With nothing running, StopPrivate is a no-op.
	if err := StopPrivate(ctx, o); err != nil {
		t.Fatal(err)
	}
}

// startLockedRedis runs a Redis that wants a password we do not send.
func startLockedRedis(t *testing.T, dir string) string {
	t.Helper()
	port := freePort(t)
	rdir := filepath.Join(dir, "locked-redis")
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", fmt.Sprint(port),
		"--dir", rdir, "--pidfile", filepath.Join(rdir, "redis.pid"), "--logfile", filepath.Join(rdir, "redis.log"),
		"--save", "", "--requirepass", "s3cret").CombinedOutput()
	if err != nil {
		t.Fatalf("redis-server: %v %s", err, out)
	}
	t.Cleanup(func() { _ = stopRedis(rdir) })
	deadline := time.Now().Add(10 * time.Second)
	for !listening(fmt.Sprintf("127.0.0.1:%d", port), "") {
		if time.Now().After(deadline) {
			t.Fatal("locked redis did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
}

// A Redis that answers but refuses us is an error that names the variable to set,
// and what Ensure started before it failed is stopped again.
func TestEnsureRefusedRedisNamesTheVariableAndStopsWhatItStarted(t *testing.T) {
	needBinaries(t)
	dir := tempDir(t)
	pgPort := freePort(t)
	o := Options{
		DataDir:     filepath.Join(dir, "data"),
		PostgresURL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/devstack_test?sslmode=disable", pgPort),
		RedisURL:    startLockedRedis(t, dir),
		Logger:      quiet,
	}
	t.Cleanup(func() { _ = StopPrivate(context.Background(), o) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	s, err := Ensure(ctx, o)
	if err == nil {
		t.Fatal("Ensure accepted a Redis that wants a password")
	}
	if s != nil {
		t.Fatal("Ensure returned a Stack with its error")
	}
	if !strings.Contains(err.Error(), "CLIENTELE_REDIS_URL") || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("error does not say what is wrong and what to set: %v", err)
	}
	if time.Since(t0) > 25*time.Second {
		t.Fatalf("a refusal took %s; it should not wait out the readiness timeout", time.Since(t0))
	}
	if listening(fmt.Sprintf("127.0.0.1:%d", pgPort), "") {
		t.Fatal("the PostgreSQL this failed call started is still running")
	}
}

// startLockedPostgres runs a cluster with password auth and a password we do not
// know, like a fresh distribution install.
func startLockedPostgres(t *testing.T, ctx context.Context, dir string) int {
	t.Helper()
	initdb, _ := pgBin("initdb")
	pgctl, _ := pgBin("pg_ctl")
	locked := filepath.Join(dir, "locked")
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := chownPostgres(locked); err != nil {
		t.Fatal(err)
	}
	if out, err := asPostgresUser(ctx, initdb, "-D", locked, "-U", "postgres", "--auth=scram-sha-256", "--pwfile="+pw).CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v %s", err, out)
	}
	port := freePort(t)
	sock := filepath.Join(dir, "sock")
	if err := os.MkdirAll(sock, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chownPostgres(sock); err != nil {
		t.Fatal(err)
	}
	// -l matters: without it the server inherits our output pipe and
	// CombinedOutput never returns.
	if out, err := asPostgresUser(ctx, pgctl, "-D", locked, "-l", filepath.Join(locked, "server.log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, sock), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl start: %v %s", err, out)
	}
	t.Cleanup(func() {
		_ = asPostgresUser(context.Background(), pgctl, "-D", locked, "-m", "immediate", "-w", "stop").Run()
	})
	return port
}

// A PostgreSQL on this machine that answers at the configured address but refuses
// our credentials (a fresh distribution cluster with password auth) is left alone,
// and a private cluster serves instead; the addresses in effect are written for
// scripts.
func TestEnsureFallsBackWhenTheServerRefusesUs(t *testing.T) {
	needBinaries(t)
	dir := tempDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lockedPort := startLockedPostgres(t, ctx, dir)

	// The refusal itself is an error that names the variable to set.
	err := waitPostgres(ctx, mustURL(t, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable", lockedPort)), 20*time.Second)
	if err == nil || !strings.Contains(err.Error(), "CLIENTELE_DATABASE_URL") {
		t.Fatalf("refusal error: %v", err)
	}

	saved := fallbackPostgresPort
	fallbackPostgresPort = fmt.Sprint(freePort(t))
	t.Cleanup(func() { fallbackPostgresPort = saved })
	o := Options{
		DataDir:     filepath.Join(dir, "data"),
		PostgresURL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/fallback_test?sslmode=disable", lockedPort),
		RedisURL:    env("CLIENTELE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
		Logger:      quiet,
	}
	s, err := Ensure(ctx, o)
	t.Cleanup(func() { _ = StopPrivate(context.Background(), o) })
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("postgres://postgres@127.0.0.1:%s/fallback_test?sslmode=disable", fallbackPostgresPort)
	if s.PostgresURL() != want {
		t.Fatalf("effective URL %s, want the private cluster's %s", s.PostgresURL(), want)
	}
	if got := fmt.Sprint(s.Started()); got != "[postgres]" {
		t.Fatalf("started %s, want [postgres]", got)
	}
	c, err := pgx.Connect(ctx, s.PostgresURL())
	if err != nil {
		t.Fatalf("the effective URL does not work: %v", err)
	}
	c.Close(ctx)
	envFile, err := os.ReadFile(EnvFile(o.DataDir))
	if err != nil || !strings.Contains(string(envFile), "CLIENTELE_DATABASE_URL="+want+"\n") ||
		!strings.Contains(string(envFile), "CLIENTELE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:"+fallbackPostgresPort+"/postgres?sslmode=disable\n") {
		t.Fatalf("env file: %s %v", envFile, err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if listening("127.0.0.1:"+fallbackPostgresPort, "") {
		t.Fatal("the private cluster still answers after Stop")
	}
	if !listening(fmt.Sprintf("127.0.0.1:%d", lockedPort), "") {
		t.Fatal("the refusing cluster was stopped; it was not ours")
	}
}
