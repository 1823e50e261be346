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
	"github.com/jackc/pgx/v5/pgconn"
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
	pgURL   string
}

// Started lists what this call started ("postgres", "redis").
func (s *Stack) Started() []string { return append([]string(nil), s.started...) }

// Ensure makes both services answer, starting private ones where nothing listens.
// On failure it stops whatever it had started and returns no Stack.
func Ensure(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, err
	}
	o.DataDir = abs
	s := &Stack{o: o}
	defer func() {
		if err != nil && len(s.started) > 0 {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if serr := s.Stop(sctx); serr != nil {
				o.Logger.Warn("devstack: stopping what this attempt started", "error", serr.Error())
			}
		}
	}()
	pg, err := url.Parse(o.PostgresURL)
	if err != nil || pg.Host == "" {
		return nil, fmt.Errorf("devstack: CLIENTELE_DATABASE_URL is not a postgres:// URL")
	}
	if pg, err = s.ensurePostgres(ctx, pg); err != nil {
		return nil, err
	}
	if err := ensureDatabase(ctx, pg); err != nil {
		return nil, err
	}
	s.pgURL = pg.String()
	rd, err := url.Parse(o.RedisURL)
	if err != nil || rd.Host == "" {
		return nil, fmt.Errorf("devstack: CLIENTELE_REDIS_URL is not a redis:// URL")
	}
	if !listening(rd.Host, "6379") {
		if err := s.startRedis(ctx, rd); err != nil {
			return nil, err
		}
		s.started = append(s.started, "redis")
	}
	if err := waitRedis(ctx, o.RedisURL, 30*time.Second); err != nil {
		return nil, err
	}
	if err := s.writeEnv(); err != nil {
		return nil, err
	}
	return s, nil
}

// ensurePostgres returns the address of a PostgreSQL that lets us in: the
// configured one, or a private cluster.
func (s *Stack) ensurePostgres(ctx context.Context, pg *url.URL) (*url.URL, error) {
	if !listening(pg.Host, "5432") {
		if err := s.startPostgres(ctx, pg); err != nil {
			return nil, err
		}
		s.started = append(s.started, "postgres")
	}
	err := waitPostgres(ctx, pg, 60*time.Second)
	if err == nil {
		return pg, nil
	}
	// A PostgreSQL on this machine that answers but will not let us in is usually the
	// distribution's own cluster with password auth (a fresh apt install). Rather
	// than touch its configuration, run a private cluster beside it.
	h, _ := hostPort(pg.Host, "5432")
	if !errors.Is(err, errAuth) || !isLoopback(h) {
		return nil, err
	}
	alt := *pg
	alt.Host = net.JoinHostPort(h, fallbackPostgresPort)
	s.o.Logger.Warn("devstack: the PostgreSQL at the configured address refuses us; using a private cluster instead (set CLIENTELE_DATABASE_URL to use the other one)",
		"configured", pg.Host, "private", alt.Host, "reason", err.Error())
	if !listening(alt.Host, "") {
		if err := s.startPostgres(ctx, &alt); err != nil {
			return nil, err
		}
		s.started = append(s.started, "postgres")
	}
	if err := waitPostgres(ctx, &alt, 60*time.Second); err != nil {
		return nil, err
	}
	return &alt, nil
}

// fallbackPostgresPort is where the private cluster listens when the configured
// loopback address is taken by a PostgreSQL that refuses us.
var fallbackPostgresPort = "55432"

// PostgresURL is the owner URL in effect: the configured one, or the private
// cluster's when the configured server refused us. Callers use it, not the
// configured URL, for everything after Ensure.
func (s *Stack) PostgresURL() string { return s.pgURL }

// EnvFile is where Ensure records the addresses in effect, as KEY=VALUE lines that
// scripts source: CLIENTELE_DATABASE_URL, CLIENTELE_REDIS_URL, and the
// CLIENTELE_TEST_* server URLs the test kit reads.
func EnvFile(dataDir string) string { return filepath.Join(dataDir, "services.env") }

func (s *Stack) writeEnv() error {
	u, err := url.Parse(s.pgURL)
	if err != nil {
		return err
	}
	maint := *u
	maint.Path = "/postgres"
	rd, err := url.Parse(s.o.RedisURL)
	if err != nil {
		return err
	}
	rd.Path, rd.RawQuery = "", "" // the test kit picks its own database numbers
	body := fmt.Sprintf("CLIENTELE_DATABASE_URL=%s\nCLIENTELE_REDIS_URL=%s\nCLIENTELE_TEST_DATABASE_URL=%s\nCLIENTELE_TEST_REDIS_URL=%s\n",
		s.pgURL, s.o.RedisURL, maint.String(), rd.String())
	if err := os.MkdirAll(s.o.DataDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(EnvFile(s.o.DataDir), []byte(body), 0o600)
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
		out, err := asPostgresUser(ctx, initdb, "-D", dir, "-U", user, "--auth=trust", "-E", "UTF8", "--locale="+utf8Locale()).CombinedOutput()
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

// utf8Locale picks a UTF-8 locale the system has: with a UTF-8 LC_CTYPE, pg_trgm
// and full-text search see Chinese characters as word characters.
func utf8Locale() string {
	out, _ := exec.Command("locale", "-a").Output()
	have := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		have[strings.ToLower(l)] = true
	}
	for _, l := range []string{"C.UTF-8", "en_US.UTF-8"} {
		n := strings.ToLower(l)
		if have[n] || have[strings.Replace(n, "utf-8", "utf8", 1)] {
			return l
		}
	}
	return "C.UTF-8" // built into glibc 2.35 and later
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
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var last error
	for {
		c, err := pgx.Connect(ctx, maint.String())
		if err == nil {
			c.Close(ctx)
			return nil
		}
		last = err
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			switch {
			case pe.Code == "28P01" || pe.Code == "28000":
				return fmt.Errorf("%w: PostgreSQL at %s refuses user %q: %v. Set CLIENTELE_DATABASE_URL to a URL whose user may log in and create databases",
					errAuth, maint.Host, maint.User.Username(), err)
			case pe.Code != "57P03" && pe.Code != "53300": // not "starting up", not "too many connections"
				return fmt.Errorf("devstack: PostgreSQL at %s does not accept us: %v. Set CLIENTELE_DATABASE_URL", maint.Host, err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devstack: PostgreSQL at %s did not become ready within %s: %v. Set CLIENTELE_DATABASE_URL to a server that answers", maint.Host, within, last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// errAuth marks a server that answered and refused our credentials.
var errAuth = errors.New("devstack: authentication refused")

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
		return fmt.Errorf("devstack: CLIENTELE_REDIS_URL: %w", err)
	}
	opt.MaxRetries = -1
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		err = c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		// A reply from the server (NOAUTH, WRONGPASS, a bad DB index) will not change
		// by waiting; only LOADING and connection errors might.
		var re redis.Error
		if errors.As(err, &re) && !strings.HasPrefix(re.Error(), "LOADING") {
			return fmt.Errorf("devstack: Redis at %s refuses PING: %v. Set CLIENTELE_REDIS_URL (with the password, redis://:PASSWORD@host:port/0, if it needs one)", opt.Addr, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devstack: Redis at %s did not answer PING within %s: %v. Set CLIENTELE_REDIS_URL to a server that answers", opt.Addr, within, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}
