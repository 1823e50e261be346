// Package devstack makes PostgreSQL and Redis answer on one machine: it reuses
// what already answers at the configured addresses and otherwise starts private
// instances under the data directory, which it alone stops again.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Options say where the services should answer and where private ones live.
type Options struct {
	DataDir     string // private clusters live under DataDir/postgres and DataDir/redis
	PostgresURL string // owner URL; its database is created when missing
	RedisURL    string
	Logger      *slog.Logger
}

// Stack is what Ensure found or started.
type Stack struct {
	o       Options
	started []string
}

// Started lists what this call started ("postgres", "redis").
func (s *Stack) Started() []string { return append([]string(nil), s.started...) }

// Ensure makes both services answer, starting private ones where nothing listens.
func Ensure(ctx context.Context, o Options) (*Stack, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, err
	}
	o.DataDir = abs
	s := &Stack{o: o}
	pg, err := url.Parse(o.PostgresURL)
	if err != nil || pg.Host == "" {
		return nil, fmt.Errorf("devstack: CLIENTELE_DATABASE_URL is not a postgres:// URL")
	}
	if !listening(pg.Host, "5432") {
		if err := s.startPostgres(ctx, pg); err != nil {
			return s, err
		}
		s.started = append(s.started, "postgres")
	}
	if err := waitPostgres(ctx, pg, 60*time.Second); err != nil {
		return s, err
	}
	if err := ensureDatabase(ctx, pg); err != nil {
		return s, err
	}
	rd, err := url.Parse(o.RedisURL)
	if err != nil || rd.Host == "" {
		return s, fmt.Errorf("devstack: CLIENTELE_REDIS_URL is not a redis:// URL")
	}
	if !listening(rd.Host, "6379") {
		if err := s.startRedis(ctx, rd); err != nil {
			return s, err
		}
		s.started = append(s.started, "redis")
	}
	if err := waitRedis(ctx, o.RedisURL, 30*time.Second); err != nil {
		return s, err
	}
	return s, nil
}

// Stop stops only what Ensure started, never anything it reused.
func (s *Stack) Stop(ctx context.Context) error {
	var errs []error
	for i := len(s.started) - 1; i >= 0; i-- {
		switch s.started[i] {
		case "postgres":
			errs = append(errs, stopPostgres(ctx, s.o.DataDir))
		case "redis":
			errs = append(errs, stopRedis(filepath.Join(s.o.DataDir, "redis")))
		}
	}
	s.started = nil
	return errors.Join(errs...)
}

// StopPrivate stops the private instances under DataDir if they run, identified
// by their pid files; it touches nothing else.
func StopPrivate(ctx context.Context, o Options) error {
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return err
	}
	var errs []error
	if _, err := os.Stat(filepath.Join(abs, "postgres", "postmaster.pid")); err == nil {
		errs = append(errs, stopPostgres(ctx, abs))
	}
	if _, err := os.Stat(filepath.Join(abs, "redis", "redis.pid")); err == nil {
		errs = append(errs, stopRedis(filepath.Join(abs, "redis")))
	}
	return errors.Join(errs...)
}

func hostPort(hostport, defPort string) (string, string) {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport, defPort
	}
	return h, p
}

func listening(hostport, defPort string) bool {
	h, p := hostPort(hostport, defPort)
	c, err := net.DialTimeout("tcp", net.JoinHostPort(h, p), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func isLoopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// pgBin finds a PostgreSQL server binary on PATH or in Debian's versioned dirs.
func pgBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("devstack: %s not found; install PostgreSQL (`make deps` does: apt-get install postgresql)", name)
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// asPostgresUser runs a PostgreSQL binary as the postgres system user when we are
// root, because the server refuses to run as root.
func asPostgresUser(ctx context.Context, bin string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		if rp, err := exec.LookPath("runuser"); err == nil {
			return exec.CommandContext(ctx, rp, append([]string{"-u", "postgres", "--", bin}, args...)...)
		}
		return exec.CommandContext(ctx, "su", "postgres", "-s", "/bin/sh", "-c", shellQuote(append([]string{bin}, args...)))
	}
	return exec.CommandContext(ctx, bin, args...)
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func chownPostgres(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("devstack: running as root needs the postgres system user (installed with the postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func (s *Stack) startPostgres(ctx context.Context, pg *url.URL) error {
	h, p := hostPort(pg.Host, "5432")
	if !isLoopback(h) {
		return fmt.Errorf("devstack: nothing answers at %s and it is not this machine; start PostgreSQL there or set CLIENTELE_DATABASE_URL", pg.Host)
	}
	initdb, err := pgBin("initdb")
	if err != nil {
		return err
	}
	pgctl, err := pgBin("pg_ctl")
	if err != nil {
		return err
	}
	dir := filepath.Join(s.o.DataDir, "postgres")
	sock := filepath.Join(s.o.DataDir, "run")
	if err := os.MkdirAll(sock, 0o755); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		// The postgres user must be able to reach the data dir.
		for d := s.o.DataDir; d != "/" && d != "."; d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
				_ = os.Chmod(d, fi.Mode().Perm()|0o011)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := chownPostgres(dir); err != nil {
			return err
		}
		user := pg.User.Username()
		if user == "" {
			user = "postgres"
		}
		s.o.Logger.Info("devstack: creating a private PostgreSQL cluster", "dir", dir)
		locale := "C.UTF-8" // a UTF-8 LC_CTYPE lets pg_trgm see Chinese characters
		out, err := asPostgresUser(ctx, initdb, "-D", dir, "-U", user, "--auth=trust", "-E", "UTF8", "--locale="+locale).CombinedOutput()
		if err != nil {
			return fmt.Errorf("devstack: initdb: %v: %s", err, tail(out))
		}
	}
	if err := chownPostgres(sock); err != nil {
		return err
	}
	s.o.Logger.Info("devstack: starting private PostgreSQL", "addr", net.JoinHostPort(h, p))
	opts := fmt.Sprintf("-c listen_addresses=%s -p %s -k %s -c fsync=off -c max_connections=200", h, p, sock)
	out, err := asPostgresUser(ctx, pgctl, "-D", dir, "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("devstack: pg_ctl start: %v: %s (log: %s)", err, tail(out), filepath.Join(dir, "server.log"))
	}
	return nil
}

func stopPostgres(ctx context.Context, dataDir string) error {
	pgctl, err := pgBin("pg_ctl")
	if err != nil {
		return err
	}
	dir := filepath.Join(dataDir, "postgres")
	out, err := asPostgresUser(ctx, pgctl, "-D", dir, "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "not running") && !strings.Contains(string(out), "No such file") {
		return fmt.Errorf("devstack: pg_ctl stop: %v: %s", err, tail(out))
	}
	return nil
}

func (s *Stack) startRedis(ctx context.Context, rd *url.URL) error {
	h, p := hostPort(rd.Host, "6379")
	if !isLoopback(h) {
		return fmt.Errorf("devstack: nothing answers at %s and it is not this machine; start Redis there or set CLIENTELE_REDIS_URL", rd.Host)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("devstack: redis-server not found; install it (`make deps` does: apt-get install redis-server)")
	}
	dir := filepath.Join(s.o.DataDir, "redis")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	s.o.Logger.Info("devstack: starting private Redis", "addr", net.JoinHostPort(h, p))
	out, err := exec.CommandContext(ctx, bin, "--daemonize", "yes", "--bind", h, "--port", p,
		"--dir", dir, "--pidfile", filepath.Join(dir, "redis.pid"), "--logfile", filepath.Join(dir, "redis.log"),
		"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction").CombinedOutput()
	if err != nil {
		return fmt.Errorf("devstack: redis-server: %v: %s", err, tail(out))
	}
	return nil
}

func stopRedis(dir string) error {
	pidFile := filepath.Join(dir, "redis.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("devstack: bad redis pid file %s", pidFile)
	}
	// Only signal the process if it is the redis-server we started.
	if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err != nil || !strings.Contains(string(cmd), "redis-server") {
		_ = os.Remove(pidFile)
		return nil
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := proc.Signal(sigterm); err != nil {
		return nil
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = os.Remove(pidFile)
	return nil
}

func waitPostgres(ctx context.Context, pg *url.URL, within time.Duration) error {
	maint := *pg
	maint.Path = "/postgres"
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		c, err := pgx.Connect(ctx, maint.String())
		if err == nil {
			c.Close(ctx)
			return nil
		}
		last = err
		if !strings.Contains(err.Error(), "connect") && !strings.Contains(err.Error(), "starting up") {
			break // an answer that is not "not yet": auth or config
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("devstack: PostgreSQL at %s does not accept us: %v. Set CLIENTELE_DATABASE_URL to a URL whose user may create databases", maint.Host, last)
}

func ensureDatabase(ctx context.Context, pg *url.URL) error {
	name := strings.TrimPrefix(pg.Path, "/")
	if name == "" || name == "postgres" {
		return nil
	}
	maint := *pg
	maint.Path = "/postgres"
	c, err := pgx.Connect(ctx, maint.String())
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	var exists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("devstack: create database %s: %w", name, err)
	}
	return nil
}

func waitRedis(ctx context.Context, raw string, within time.Duration) error {
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return err
	}
	c := redis.NewClient(opt)
	defer c.Close()
	deadline := time.Now().Add(within)
	for {
		err = c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || strings.Contains(err.Error(), "NOAUTH") || strings.Contains(err.Error(), "WRONGPASS") {
			return fmt.Errorf("devstack: Redis at %s does not answer PING: %v. Set CLIENTELE_REDIS_URL", opt.Addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
