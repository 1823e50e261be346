package devstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
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
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !listening("127.0.0.1:"+portOf(o.PostgresURL), "") {
		t.Fatal("Stop stopped a PostgreSQL it did not start")
	}
}

func portOf(u string) string {
	_, p, _ := net.SplitHostPort(u[len("postgres://postgres@"):][:len("127.0.0.1:5432")])
	return p
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Where nothing answers, private instances start under the data dir, work, and
// stop again.
func TestEnsureStartsAndStopsPrivateServices(t *testing.T) {
	if _, err := pgBin("initdb"); err != nil {
		t.Skip("skipped: no PostgreSQL server binaries here: " + err.Error())
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("skipped: no redis-server binary here")
	}
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// The postgres user must reach the temp dir.
		_ = os.Chmod(filepath.Dir(dir), 0o755)
		_ = os.Chmod(dir, 0o755)
	}
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
	if err != nil {
		if s != nil {
			_ = s.Stop(ctx)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = StopPrivate(context.Background(), o) })
	if got := s.Started(); len(got) != 2 {
		t.Fatalf("started %v, want postgres and redis", got)
	}
	// The server accepts connections as the configured user.
	if err := waitPostgres(ctx, mustURL(o.PostgresURL), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// A second Ensure reuses what the first started.
	s2, err := Ensure(ctx, o)
	if err != nil || len(s2.Started()) != 0 {
		t.Fatalf("second ensure: %v %v", s2.Started(), err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if listening(fmt.Sprintf("127.0.0.1:%d", pgPort), "") || listening(fmt.Sprintf("127.0.0.1:%d", rdPort), "") {
		t.Fatal("private services still answer after Stop")
	}
}
