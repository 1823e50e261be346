package devstack

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Throwaway servers for tests and fault drills: each lives in a directory of its
// own, listens on a free loopback port, and is the only thing its owner may
// stop, pause or restart. The shared development servers are never touched.

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// privatePlace is where a private server lives: the absolute form of dir, and
// a free loopback port.
func privatePlace(dir string) (abs string, port int, err error) {
	if abs, err = filepath.Abs(dir); err != nil {
		return "", 0, err
	}
	port, err = FreePort()
	return abs, port, err
}

// letPostgresReach lets the postgres user, whom the servers run as when we are
// root, pass through every directory above and at dir. It does nothing when we
// are not root.
func letPostgresReach(dir string) {
	if os.Geteuid() != 0 {
		return
	}
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			_ = os.Chmod(d, fi.Mode().Perm()|0o011)
		}
	}
}

// PrivatePostgres is a PostgreSQL cluster of our own.
type PrivatePostgres struct {
	Dir  string
	Port int
	// URL connects as the superuser "postgres" to database "postgres".
	URL  string
	sock string
	// settings are extra server settings (name=value), passed as -c at every
	// start: a drill that profiles loads pg_stat_statements this way.
	settings []string
}

// StartPrivatePostgres creates a cluster under dir (which must be empty or
// absent) and starts it on a free loopback port, with any extra server
// settings given as name=value.
func StartPrivatePostgres(ctx context.Context, dir string, settings ...string) (*PrivatePostgres, error) {
	initdb, err := pgBin("initdb")
	if err != nil {
		return nil, err
	}
	abs, port, err := privatePlace(dir)
	if err != nil {
		return nil, err
	}
	p := &PrivatePostgres{Dir: filepath.Join(abs, "pg"), Port: port, sock: filepath.Join(abs, "run"), settings: settings}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	for _, d := range []string{p.Dir, p.sock} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	letPostgresReach(abs)
	if err := chownPostgres(abs); err != nil {
		return nil, err
	}
	out, err := asPostgresUser(ctx, initdb, "-D", p.Dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale="+utf8Locale()).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("devstack: initdb: %v: %s", err, tail(out))
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PrivatePostgres) ctl(ctx context.Context, args ...string) error {
	pgctl, err := pgBin("pg_ctl")
	if err != nil {
		return err
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=100", p.Port, p.sock)
	for _, s := range p.settings {
		opts += " -c " + s
	}
	full := append([]string{"-D", p.Dir, "-l", filepath.Join(p.Dir, "server.log"), "-o", opts, "-w", "-t", "60"}, args...)
	out, err := asPostgresUser(ctx, pgctl, full...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("devstack: pg_ctl %s: %v: %s", strings.Join(args, " "), err, tail(out))
	}
	return nil
}

// Start starts the (stopped) cluster and waits until it accepts connections.
func (p *PrivatePostgres) Start(ctx context.Context) error { return p.ctl(ctx, "start") }

// Stop stops the cluster, ending its sessions (fast shutdown).
func (p *PrivatePostgres) Stop(ctx context.Context) error { return p.ctl(ctx, "-m", "fast", "stop") }

// Restart is a fast shutdown then a start, as an operator's restart would be.
func (p *PrivatePostgres) Restart(ctx context.Context) error {
	return p.ctl(ctx, "-m", "fast", "restart")
}

// Remove stops the cluster if it runs and deletes its files.
func (p *PrivatePostgres) Remove(ctx context.Context) {
	_ = p.Stop(ctx)
	_ = os.RemoveAll(filepath.Dir(p.Dir))
}

// PrivateRedis is a redis-server of our own, run as a child process so that it
// can be paused (SIGSTOP), resumed and stopped by its pid.
type PrivateRedis struct {
	Dir  string
	Port int
	URL  string // redis://127.0.0.1:port/0
	cmd  *exec.Cmd
	done chan struct{}
}

// StartPrivateRedis starts redis-server on a free loopback port with dir as its
// working directory, and waits until it answers.
func StartPrivateRedis(ctx context.Context, dir string) (*PrivateRedis, error) {
	abs, port, err := privatePlace(dir)
	if err != nil {
		return nil, err
	}
	r := &PrivateRedis{Dir: abs, Port: port, URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, err
	}
	return r, r.Start(ctx)
}

// Start (re)starts the server on its port.
func (r *PrivateRedis) Start(ctx context.Context) error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("devstack: redis-server not found; install it (`make deps` does)")
	}
	r.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(r.Port), "--dir", r.Dir,
		"--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction", "--logfile", filepath.Join(r.Dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("devstack: redis-server: %w", err)
	}
	r.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(r.cmd, r.done)
	return waitRedis(ctx, r.URL, 15*time.Second)
}

// Pid is the server's process id while it runs.
func (r *PrivateRedis) Pid() int { return r.cmd.Process.Pid }

// Pause freezes the server (SIGSTOP): connections stay open, nothing answers.
func (r *PrivateRedis) Pause() error {
	if sigstop == 0 {
		return fmt.Errorf("devstack: pausing a process is not supported on this system")
	}
	return r.cmd.Process.Signal(sigstop)
}

// Resume continues a paused server (SIGCONT).
func (r *PrivateRedis) Resume() error {
	if sigcont == 0 {
		return nil
	}
	return r.cmd.Process.Signal(sigcont)
}

// Stop ends the server (resuming it first if paused) and waits for it to exit.
func (r *PrivateRedis) Stop() error {
	if r.cmd == nil || r.cmd.Process == nil {
		return nil
	}
	select {
	case <-r.done:
		return nil
	default:
	}
	_ = r.Resume()
	_ = r.cmd.Process.Signal(sigterm)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	return nil
}
