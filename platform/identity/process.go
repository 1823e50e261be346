package identity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clientele-crm/clientele/platform/devstack"
)

// StartOptions describe a Kratos process for dev and tests.
type StartOptions struct {
	Binary      string // the kratos executable; empty: FindBinary
	DatabaseURL string // postgres URL of Kratos's own database, created when missing
	DataDir     string // kratos.yml, the identity schema, secrets.json and kratos.log live here
	PublicPort  int    // 0: a free loopback port
	AdminPort   int    // 0: a free loopback port
	UIURL       string // the app, e.g. http://localhost:8080; flows send browsers to its SPA routes
	// PublicBaseURL is how browsers reach the public API, e.g.
	// http://localhost:8080/kratos/ behind the app's proxy. Default: the direct URL.
	PublicBaseURL string
	Dev           bool          // --dev (cookies over plain HTTP) and bcrypt cost 4
	Secrets       *Secrets      // default: generated once into DataDir/secrets.json
	ReadyTimeout  time.Duration // default 60 s
	Logger        *slog.Logger  // optional
	// MailDir, when set, runs Kratos's courier (--watch-courier) against an
	// in-process SMTP sink that writes each mail there: the recovery and
	// verification codes of the browser flows, readable in dev and tests.
	MailDir string
}

// Process is a running Kratos server.
type Process struct {
	o         StartOptions
	cfgPath   string
	logPath   string
	dsn       string
	publicURL string
	adminURL  string
	hc        *http.Client
	sink      *SMTPSink

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartKratos renders the configuration into DataDir, migrates Kratos's database,
// starts `kratos serve` with its output in DataDir/kratos.log and waits until both
// APIs answer ready. On failure nothing it started keeps running, and the error
// quotes the end of the log.
func StartKratos(ctx context.Context, o StartOptions) (*Process, error) {
	if err := o.prepare(ctx); err != nil {
		return nil, err
	}
	var sink *SMTPSink
	smtpURI := ""
	if o.MailDir != "" {
		var err error
		if sink, err = StartSMTPSink(o.MailDir, o.Logger); err != nil {
			return nil, err
		}
		smtpURI = sink.URI()
	}
	closeSink := func() {
		if sink != nil {
			_ = sink.Close()
		}
	}
	cfg, err := o.kratosConfig(smtpURI)
	if err != nil {
		closeSink()
		return nil, err
	}
	p := &Process{
		sink:      sink,
		o:         o,
		cfgPath:   filepath.Join(o.DataDir, "kratos.yml"),
		logPath:   filepath.Join(o.DataDir, "kratos.log"),
		dsn:       o.DatabaseURL,
		publicURL: "http://" + hostPort("127.0.0.1", o.PublicPort),
		adminURL:  "http://" + hostPort("127.0.0.1", o.AdminPort),
		hc:        &http.Client{Timeout: 10 * time.Second},
	}
	if err := os.WriteFile(p.cfgPath, cfg, 0o600); err != nil {
		closeSink()
		return nil, fmt.Errorf("identity: start kratos: %w", err)
	}
	if err := p.migrate(ctx); err != nil {
		closeSink()
		return nil, err
	}
	if err := p.serve(ctx); err != nil {
		closeSink()
		return nil, err
	}
	return p, nil
}

// prepare fills in o's defaults, checks it, and readies what Kratos needs:
// its directory (made absolute), its binary, its database and two ports.
func (o *StartOptions) prepare(ctx context.Context) error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	if o.DatabaseURL == "" {
		return errors.New("identity: start kratos: DatabaseURL is required")
	}
	if o.DataDir == "" {
		return errors.New("identity: start kratos: DataDir is required")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return err
	}
	o.DataDir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("identity: start kratos: %w", err)
	}
	if o.Binary == "" {
		if o.Binary, err = FindBinary(ctx); err != nil {
			return err
		}
	}
	if err := ensureDatabase(ctx, o.DatabaseURL); err != nil {
		return err
	}
	for _, port := range []*int{&o.PublicPort, &o.AdminPort} {
		if *port == 0 {
			if *port, err = devstack.FreePort(); err != nil {
				return fmt.Errorf("identity: start kratos: pick a port: %w", err)
			}
		}
	}
	return nil
}

// kratosConfig writes the identity schema (and the secrets, unless o brings
// them) into the data directory and renders kratos.yml.
func (o *StartOptions) kratosConfig(smtpURI string) ([]byte, error) {
	secrets := o.Secrets
	if secrets == nil {
		s, err := LoadOrCreateSecrets(filepath.Join(o.DataDir, "secrets.json"))
		if err != nil {
			return nil, err
		}
		secrets = &s
	}
	schemaPath := filepath.Join(o.DataDir, "identity.schema.json")
	if err := os.WriteFile(schemaPath, IdentitySchema(), 0o600); err != nil {
		return nil, fmt.Errorf("identity: start kratos: %w", err)
	}
	cost := 12
	if o.Dev {
		cost = 4
	}
	return RenderKratosConfig(KratosConfig{
		SMTPURI:           smtpURI,
		PublicBaseURL:     o.PublicBaseURL,
		PublicPort:        o.PublicPort,
		AdminPort:         o.AdminPort,
		UIURL:             o.UIURL,
		CookieSecrets:     secrets.Cookie,
		CipherSecrets:     secrets.Cipher,
		BcryptCost:        cost,
		IdentitySchemaURL: (&url.URL{Scheme: "file", Path: filepath.ToSlash(schemaPath)}).String(),
	})
}

// PublicURL is the public API, reached directly (not through the app's proxy).
func (p *Process) PublicURL() string { return p.publicURL }

// AdminURL is the admin API.
func (p *Process) AdminURL() string { return p.adminURL }

// LogPath is where Kratos writes its output.
func (p *Process) LogPath() string { return p.logPath }

// env is all Kratos sees of the environment: Kratos reads any variable named
// like a config key (LOG_LEVEL, PORT, ...), so the caller's must not leak in.
func (p *Process) env() []string {
	env := []string{"DSN=" + p.dsn}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (p *Process) openLog() (*os.File, error) {
	return os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

func (p *Process) migrate(ctx context.Context) error {
	logf, err := p.openLog()
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "\n==> kratos migrate sql (%s)\n", time.Now().UTC().Format(time.RFC3339))
	// Kratos retries an unreachable database for minutes; ours answered already.
	mctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(mctx, p.o.Binary, "migrate", "sql", "-e", "--yes", "-c", p.cfgPath)
	cmd.Env = p.env()
	cmd.Dir = p.o.DataDir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("identity: kratos migrate sql failed (%v); end of %s:\n%s", err, p.logPath, tailFile(p.logPath, 20))
	}
	return nil
}

func (p *Process) serve(ctx context.Context) error {
	logf, err := p.openLog()
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "\n==> kratos serve (%s)\n", time.Now().UTC().Format(time.RFC3339))
	args := []string{"serve", "-c", p.cfgPath, "--sqa-opt-out"}
	if p.o.Dev {
		args = append(args, "--dev")
	}
	if p.sink != nil {
		if err := p.sink.open(); err != nil { // closed by an earlier Stop
			return err
		}
		args = append(args, "--watch-courier")
	}
	// Not CommandContext: the server outlives the ctx that started it.
	cmd := exec.Command(p.o.Binary, args...)
	cmd.Env = p.env()
	cmd.Dir = p.o.DataDir
	// A file, never a pipe: nothing here has to drain Kratos's output.
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("identity: start kratos: %w", err)
	}
	logf.Close() // the child holds its own descriptor
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()

	deadline := time.Now().Add(p.o.ReadyTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.ready(ctx) {
			p.o.Logger.Info("identity: kratos ready", "public", p.publicURL, "admin", p.adminURL, "log", p.logPath)
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("identity: kratos exited before it was ready (%s); end of %s:\n%s", cmd.ProcessState, p.logPath, tailFile(p.logPath, 20))
		case <-ctx.Done():
			p.Stop(context.Background())
			return fmt.Errorf("identity: waiting for kratos: %w", ctx.Err())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			p.Stop(context.Background())
			return fmt.Errorf("identity: kratos was not ready within %s (it retries an unreachable database for minutes); end of %s:\n%s",
				p.o.ReadyTimeout, p.logPath, tailFile(p.logPath, 20))
		}
	}
}

func (p *Process) ready(ctx context.Context) bool {
	for _, u := range []string{p.publicURL + "/health/ready", p.adminURL + "/admin/health/ready"} {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
		resp, err := p.hc.Do(req)
		cancel()
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
	}
	return true
}

// Stop ends Kratos: SIGTERM, then SIGKILL when it has not exited by ctx's
// deadline (10 s when ctx has none). Stopping a stopped process does nothing.
func (p *Process) Stop(ctx context.Context) error {
	if p.sink != nil {
		// Kratos goes first; the sink closes once it has.
		defer p.sink.Close()
	}
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if signalResume != 0 {
		_ = cmd.Process.Signal(signalResume) // a paused Kratos would never see SIGTERM
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("identity: kratos (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
	}
	return fmt.Errorf("identity: kratos ignored SIGTERM and was killed")
}

// Pause freezes Kratos (SIGSTOP): its ports still accept connections but
// nothing answers, as with a hung server. For fault drills and tests.
func (p *Process) Pause() error { return p.signal(signalPause) }

// Resume continues a paused Kratos (SIGCONT).
func (p *Process) Resume() error { return p.signal(signalResume) }

// Pid is the Kratos server's process id, 0 when it is not running.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *Process) signal(sig syscall.Signal) error {
	if sig == 0 {
		return errors.New("identity: pausing a process is not supported on this system")
	}
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil {
		return errors.New("identity: kratos is not running")
	}
	return cmd.Process.Signal(sig)
}

// Restart stops Kratos and serves again with the same configuration, ports and
// database (no migration).
func (p *Process) Restart(ctx context.Context) error {
	if err := p.Stop(ctx); err != nil {
		return err
	}
	return p.serve(ctx)
}

// FindBinary locates the Kratos server: $CLIENTELE_KRATOS_BIN when set, else what
// scripts/kratos.sh prints (it builds the binary once from cmd/kratos), found by
// walking up from the working directory to the repository root.
func FindBinary(ctx context.Context) (string, error) {
	if b := os.Getenv("CLIENTELE_KRATOS_BIN"); b != "" {
		if st, err := os.Stat(b); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("identity: CLIENTELE_KRATOS_BIN=%s is not an executable file", b)
		}
		return b, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		script := filepath.Join(dir, "scripts", "kratos.sh")
		if _, err := os.Stat(filepath.Join(dir, "cmd", "kratos", "go.mod")); err == nil {
			if _, err := os.Stat(script); err == nil {
				var out, stderr bytes.Buffer
				cmd := exec.CommandContext(ctx, "bash", script)
				cmd.Stdout, cmd.Stderr = &out, &stderr
				if err := cmd.Run(); err != nil {
					return "", fmt.Errorf("identity: scripts/kratos.sh could not provide a Kratos binary (%v):\n%s", err, lastLines(stderr.String(), 30))
				}
				return strings.TrimSpace(out.String()), nil
			}
		}
		if parent := filepath.Dir(dir); parent == dir {
			break
		}
	}
	return "", errors.New("identity: no Kratos binary: set CLIENTELE_KRATOS_BIN, or run from the repository, where scripts/kratos.sh builds one from cmd/kratos")
}

// ensureDatabase creates the database a postgres URL names when it is missing,
// connecting to the server's maintenance database to do so.
func ensureDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return errors.New("identity: kratos DatabaseURL must be a postgres:// URL")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return errors.New("identity: kratos DatabaseURL names no database")
	}
	maint := *u
	maint.Path = "/postgres"
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, maint.String())
	if err != nil {
		return fmt.Errorf("identity: connect to PostgreSQL at %s for Kratos's database: %w", u.Host, err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(cctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("identity: look up Kratos's database: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		return fmt.Errorf("identity: create Kratos's database %s: %w", name, err)
	}
	return nil
}

// tailFile returns the last n lines of a file, for error messages.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	return lastLines(string(b), n)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
