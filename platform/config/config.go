// Package config loads Clientele's typed configuration from CLIENTELE_* environment
// variables, optionally from a KEY=VALUE file named by CLIENTELE_CONFIG as well
// (the environment wins). Defaults run on one machine with no setup.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the process.
type Config struct {
	Env             string // CLIENTELE_ENV: development | production | test
	HTTPAddr        string // CLIENTELE_HTTP_ADDR
	AdminAddr       string // CLIENTELE_ADMIN_ADDR: /metrics, /healthz, /readyz of serve
	WorkerAdminAddr string // CLIENTELE_WORKER_ADMIN_ADDR: the same for worker
	// CLIENTELE_PPROF_ADDR and CLIENTELE_WORKER_PPROF_ADDR: the Go profiler of
	// serve and of worker, on a loopback address only; "off" turns it off
	PprofAddr, WorkerPprofAddr string
	PublicURL                  string        // CLIENTELE_PUBLIC_URL: how users reach the app
	DatabaseURL                string        // CLIENTELE_DATABASE_URL: owner role; migrations only
	AppDatabaseURL             string        // CLIENTELE_APP_DATABASE_URL: non-owner app role
	AppDBRole                  string        // CLIENTELE_APP_DB_ROLE: created by migrate when it can
	AppDBPassword              string        // CLIENTELE_APP_DB_PASSWORD
	DBMaxConns                 int           // CLIENTELE_DB_MAX_CONNS
	ServeGCPercent             int           // CLIENTELE_SERVE_GC_PERCENT: the API process's GOGC unless GOGC is set
	ServeMemoryLimitMB         int           // CLIENTELE_SERVE_MEMORY_LIMIT_MB: the API process's soft memory limit unless GOMEMLIMIT is set; 0: none
	RedisURL                   string        // CLIENTELE_REDIS_URL
	DataDir                    string        // CLIENTELE_DATA_DIR: private services, blobs
	BlobURL                    string        // CLIENTELE_BLOB_URL: gocloud.dev/blob URL
	LogLevel                   slog.Level    // CLIENTELE_LOG_LEVEL
	LogFormat                  string        // CLIENTELE_LOG_FORMAT: json | text
	RequestTimeout             time.Duration // CLIENTELE_REQUEST_TIMEOUT
	BodyLimit                  int           // CLIENTELE_BODY_LIMIT: bytes
	ShutdownTimeout            time.Duration // CLIENTELE_SHUTDOWN_TIMEOUT
	WorkerConcurrency          int           // CLIENTELE_WORKER_CONCURRENCY
	BulkPerTenant              int           // CLIENTELE_BULK_PER_TENANT: concurrent bulk tasks per tenant
	BulkDutyPercent            int           // CLIENTELE_BULK_DUTY_PERCENT: share of time an import works between pauses (100: no pause)
	SweepInterval              time.Duration // CLIENTELE_SWEEP_INTERVAL
	ExportTTL                  time.Duration // CLIENTELE_EXPORT_TTL: how long export files stay downloadable
	KratosPublicURL            string        // CLIENTELE_KRATOS_PUBLIC_URL
	KratosAdminURL             string        // CLIENTELE_KRATOS_ADMIN_URL
	MailURL                    string        // CLIENTELE_MAIL_URL: smtp(s)://user:pass@host:port?from=...; empty writes mail to files under the data dir
	ReportFileDays             int           // CLIENTELE_REPORT_FILE_DAYS: days a delivered report's files (PNG, XLSX, PDF) stay in the report inbox
	ReportFont                 string        // CLIENTELE_REPORT_FONT: a TrueType font (.ttf/.ttc) with Chinese glyphs for scheduled reports; empty finds a system one
	MasterKey                  string        // CLIENTELE_MASTER_KEY: wraps per-tenant data keys
	RatePerKey                 int           // CLIENTELE_RATE_PER_KEY: requests a minute per API key
	RatePerTenant              int           // CLIENTELE_RATE_PER_TENANT: requests a minute per tenant
	RateBadKeyPerIP            int           // CLIENTELE_RATE_BAD_KEY_PER_IP: failed API-key attempts a minute per address
	// CLIENTELE_RATE_BAD_KEY_PER_TENANT: failed API-key attempts a minute aimed at one tenant
	RateBadKeyPerTenant int
	// CLIENTELE_RATE_REFUSAL_DELAY: a request refused by a rate limit is
	// answered after this pause (at most its Retry-After), so a client that
	// retries at once costs a request a second per connection, not a busy
	// loop; 0 answers at once
	RateRefusalDelay time.Duration
	// CLIENTELE_CLOSE_GRACE: how long a closed company can be reopened before
	// its records and files are deleted
	CloseGrace time.Duration
	// CLIENTELE_SIGNIN_PER_IDENTIFIER, CLIENTELE_SIGNIN_PER_IP and
	// CLIENTELE_SIGNIN_WINDOW: password sign-in attempts per email address and
	// per client address in a window, through the /kratos proxy
	SignInPerIdentifier, SignInPerIP int
	SignInWindow                     time.Duration
	// CLIENTELE_TRUSTED_PROXIES: addresses or CIDR ranges of the proxies in front of
	// serve (an ingress); only their X-Forwarded-* headers are believed
	TrustedProxies []string
	// CLIENTELE_WEBHOOK_ALLOW: addresses or CIDR ranges webhooks may reach
	// although they are not public (receivers on the same premises, tests);
	// plain HTTP is allowed to them too. Empty: public HTTPS only
	WebhookAllow []string
	// Deadlines fitted to each dependency, so that one that is down or hung
	// costs a request at most this much rather than the request's whole budget:
	// CLIENTELE_DB_CONNECT_TIMEOUT (one new PostgreSQL connection),
	// CLIENTELE_REDIS_TIMEOUT (one Redis command: rate limits, sign-out checks,
	// enqueueing) and CLIENTELE_KRATOS_TIMEOUT (one session check or identity call).
	DBConnectTimeout, RedisTimeout, KratosTimeout time.Duration
	// CLIENTELE_BREAKER_FAILURES consecutive failures open a dependency's breaker,
	// which then fails calls at once and probes every CLIENTELE_BREAKER_OPEN_FOR.
	BreakerFailures int
	BreakerOpenFor  time.Duration

	appURLDerived bool // AppDatabaseURL was derived from DatabaseURL
}

// WithDatabaseURL points the config at another owner URL (a private cluster the dev
// stack started instead); a derived app URL follows it.
func (c Config) WithDatabaseURL(owner string) Config {
	c.DatabaseURL = owner
	if c.appURLDerived {
		if u, err := url.Parse(owner); err == nil {
			u.User = url.UserPassword(c.AppDBRole, c.AppDBPassword)
			c.AppDatabaseURL = u.String()
		}
	}
	return c
}

// Lookup reads one variable; tests pass a map instead of the environment.
type Lookup func(key string) (string, bool)

// Load reads the process environment and, when CLIENTELE_CONFIG is set, that file.
func Load() (Config, error) {
	look := os.LookupEnv
	if path, ok := os.LookupEnv("CLIENTELE_CONFIG"); ok && path != "" {
		file, err := readFile(path)
		if err != nil {
			return Config{}, err
		}
		look = func(k string) (string, bool) {
			if v, ok := os.LookupEnv(k); ok {
				return v, true
			}
			v, ok := file[k]
			return v, ok
		}
	}
	return Parse(look)
}

func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: CLIENTELE_CONFIG: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("config: %s line %d: want KEY=VALUE", filepath.Base(path), n)
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return out, sc.Err()
}

// Parse builds and validates a Config; every problem is reported, not just the first.
func Parse(look Lookup) (Config, error) {
	p := parser{look: look}
	c := Config{
		Env:                 p.str("CLIENTELE_ENV", "development"),
		HTTPAddr:            p.str("CLIENTELE_HTTP_ADDR", ":8080"),
		AdminAddr:           p.str("CLIENTELE_ADMIN_ADDR", ":9090"),
		WorkerAdminAddr:     p.str("CLIENTELE_WORKER_ADMIN_ADDR", ":9091"),
		PprofAddr:           p.loopback("CLIENTELE_PPROF_ADDR", "127.0.0.1:6060"),
		WorkerPprofAddr:     p.loopback("CLIENTELE_WORKER_PPROF_ADDR", "127.0.0.1:6061"),
		PublicURL:           p.str("CLIENTELE_PUBLIC_URL", "http://localhost:8080"),
		DatabaseURL:         p.str("CLIENTELE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clientele?sslmode=disable"),
		AppDatabaseURL:      p.str("CLIENTELE_APP_DATABASE_URL", ""),
		AppDBRole:           p.str("CLIENTELE_APP_DB_ROLE", "clientele_app"),
		AppDBPassword:       p.str("CLIENTELE_APP_DB_PASSWORD", "clientele_app"),
		DBMaxConns:          p.int("CLIENTELE_DB_MAX_CONNS", 20, 1, 1000),
		ServeGCPercent:      p.int("CLIENTELE_SERVE_GC_PERCENT", 300, 25, 2000),
		ServeMemoryLimitMB:  p.int("CLIENTELE_SERVE_MEMORY_LIMIT_MB", 512, 0, 1<<20),
		RedisURL:            p.str("CLIENTELE_REDIS_URL", "redis://127.0.0.1:6379/0"),
		DataDir:             p.str("CLIENTELE_DATA_DIR", ".clientele"),
		BlobURL:             p.str("CLIENTELE_BLOB_URL", ""),
		LogLevel:            p.level("CLIENTELE_LOG_LEVEL", slog.LevelInfo),
		LogFormat:           p.oneOf("CLIENTELE_LOG_FORMAT", "json", "json", "text"),
		RequestTimeout:      p.dur("CLIENTELE_REQUEST_TIMEOUT", 30*time.Second),
		BodyLimit:           p.int("CLIENTELE_BODY_LIMIT", 1<<20, 1024, 1<<30),
		ShutdownTimeout:     p.dur("CLIENTELE_SHUTDOWN_TIMEOUT", 25*time.Second),
		WorkerConcurrency:   p.int("CLIENTELE_WORKER_CONCURRENCY", 10, 1, 1000),
		BulkPerTenant:       p.int("CLIENTELE_BULK_PER_TENANT", 2, 1, 100),
		BulkDutyPercent:     p.int("CLIENTELE_BULK_DUTY_PERCENT", 100, 10, 100),
		SweepInterval:       p.dur("CLIENTELE_SWEEP_INTERVAL", 30*time.Second),
		ExportTTL:           p.dur("CLIENTELE_EXPORT_TTL", 7*24*time.Hour),
		KratosPublicURL:     p.str("CLIENTELE_KRATOS_PUBLIC_URL", "http://127.0.0.1:4433"),
		KratosAdminURL:      p.str("CLIENTELE_KRATOS_ADMIN_URL", "http://127.0.0.1:4434"),
		MailURL:             p.str("CLIENTELE_MAIL_URL", ""),
		ReportFont:          p.str("CLIENTELE_REPORT_FONT", ""),
		ReportFileDays:      p.int("CLIENTELE_REPORT_FILE_DAYS", 90, 1, 36500),
		MasterKey:           p.str("CLIENTELE_MASTER_KEY", ""),
		RatePerKey:          p.int("CLIENTELE_RATE_PER_KEY", 1200, 1, 1_000_000),
		RatePerTenant:       p.int("CLIENTELE_RATE_PER_TENANT", 6000, 1, 10_000_000),
		RateBadKeyPerIP:     p.int("CLIENTELE_RATE_BAD_KEY_PER_IP", 30, 1, 1_000_000),
		RateBadKeyPerTenant: p.int("CLIENTELE_RATE_BAD_KEY_PER_TENANT", 300, 1, 10_000_000),
		RateRefusalDelay:    p.durOrZero("CLIENTELE_RATE_REFUSAL_DELAY", time.Second),
		CloseGrace:          p.dur("CLIENTELE_CLOSE_GRACE", 14*24*time.Hour),
		TrustedProxies:      p.addrs("CLIENTELE_TRUSTED_PROXIES"),
		WebhookAllow:        p.addrs("CLIENTELE_WEBHOOK_ALLOW"),
		SignInPerIdentifier: p.int("CLIENTELE_SIGNIN_PER_IDENTIFIER", 10, 1, 1000),
		SignInPerIP:         p.int("CLIENTELE_SIGNIN_PER_IP", 100, 1, 1_000_000),
		SignInWindow:        p.dur("CLIENTELE_SIGNIN_WINDOW", 15*time.Minute),
		DBConnectTimeout:    p.dur("CLIENTELE_DB_CONNECT_TIMEOUT", 2*time.Second),
		RedisTimeout:        p.dur("CLIENTELE_REDIS_TIMEOUT", 500*time.Millisecond),
		KratosTimeout:       p.dur("CLIENTELE_KRATOS_TIMEOUT", 2*time.Second),
		BreakerFailures:     p.int("CLIENTELE_BREAKER_FAILURES", 3, 1, 1000),
		BreakerOpenFor:      p.dur("CLIENTELE_BREAKER_OPEN_FOR", time.Second),
	}
	c.Env = strings.ToLower(c.Env)
	switch c.Env {
	case "development", "production", "test":
	default:
		p.fail("CLIENTELE_ENV", "must be development, production or test")
	}
	p.url("CLIENTELE_DATABASE_URL", c.DatabaseURL, "postgres", "postgresql")
	p.url("CLIENTELE_REDIS_URL", c.RedisURL, "redis", "rediss")
	if c.AppDatabaseURL == "" && c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err == nil {
			u.User = url.UserPassword(c.AppDBRole, c.AppDBPassword)
			c.AppDatabaseURL = u.String()
			c.appURLDerived = true
		}
	} else {
		p.url("CLIENTELE_APP_DATABASE_URL", c.AppDatabaseURL, "postgres", "postgresql")
		// The role migrate creates is the one serve and worker log in as.
		if u, err := url.Parse(c.AppDatabaseURL); err == nil && u.User != nil {
			if _, set := look("CLIENTELE_APP_DB_ROLE"); !set && u.User.Username() != "" {
				c.AppDBRole = u.User.Username()
			}
			if pw, has := u.User.Password(); has {
				if _, set := look("CLIENTELE_APP_DB_PASSWORD"); !set {
					c.AppDBPassword = pw
				}
			}
		}
	}
	if c.BlobURL == "" {
		abs, err := filepath.Abs(filepath.Join(c.DataDir, "blobs"))
		if err != nil {
			p.fail("CLIENTELE_DATA_DIR", err.Error())
		}
		c.BlobURL = "file://" + filepath.ToSlash(abs) + "?create_dir=true"
	}
	if c.Env == "production" && c.MasterKey == "" {
		p.fail("CLIENTELE_MASTER_KEY", "is required in production (32 random bytes, base64)")
	}
	if len(p.errs) > 0 {
		return c, errors.Join(p.errs...)
	}
	return c, nil
}

// Redacted returns the config with secrets hidden, for logging at start.
func (c Config) Redacted() map[string]any {
	return map[string]any{
		"env": c.Env, "http_addr": c.HTTPAddr, "admin_addr": c.AdminAddr,
		"database": redactURL(c.DatabaseURL), "app_database": redactURL(c.AppDatabaseURL),
		"redis": redactURL(c.RedisURL), "blob": redactURL(c.BlobURL),
		"request_timeout": c.RequestTimeout.String(), "body_limit": c.BodyLimit,
		"worker_concurrency": c.WorkerConcurrency, "bulk_per_tenant": c.BulkPerTenant,
		"bulk_duty_percent": c.BulkDutyPercent, "trusted_proxies": c.TrustedProxies,
		"webhook_allow": c.WebhookAllow,
	}
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

type parser struct {
	look Lookup
	errs []error
}

func (p *parser) fail(key, msg string) { p.errs = append(p.errs, fmt.Errorf("%s %s", key, msg)) }

func (p *parser) str(key, def string) string {
	if v, ok := p.look(key); ok {
		return strings.TrimSpace(v)
	}
	return def
}

func (p *parser) int(key string, def, min, max int) int {
	v, ok := p.look(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		p.fail(key, fmt.Sprintf("must be a whole number, got %q", v))
		return def
	}
	if n < min || n > max {
		p.fail(key, fmt.Sprintf("must be between %d and %d, got %d", min, max, n))
		return def
	}
	return n
}

func (p *parser) dur(key string, def time.Duration) time.Duration {
	v, ok := p.look(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		p.fail(key, fmt.Sprintf("must be a positive duration such as 30s, got %q", v))
		return def
	}
	return d
}

// durOrZero is dur that also takes 0 (off).
func (p *parser) durOrZero(key string, def time.Duration) time.Duration {
	v, ok := p.look(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		p.fail(key, fmt.Sprintf("must be a duration such as 1s, or 0 for none, got %q", v))
		return def
	}
	return d
}

func (p *parser) level(key string, def slog.Level) slog.Level {
	v, ok := p.look(key)
	if !ok || v == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.fail(key, fmt.Sprintf("must be debug, info, warn or error, got %q", v))
		return def
	}
	return l
}

func (p *parser) oneOf(key, def string, allowed ...string) string {
	v := strings.ToLower(p.str(key, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(key, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), v))
	return def
}

// loopback reads a listen address that must stay on this machine (the profiler
// shows memory and command lines); "off" or empty means no listener.
func (p *parser) loopback(key, def string) string {
	v := p.str(key, def)
	if v == "" || strings.EqualFold(v, "off") {
		return ""
	}
	host, _, err := net.SplitHostPort(v)
	ip, perr := netip.ParseAddr(host)
	if err != nil || (host != "localhost" && (perr != nil || !ip.IsLoopback())) {
		p.fail(key, fmt.Sprintf("must be a loopback address such as 127.0.0.1:6060 (reach it with kubectl port-forward), or off; got %q", v))
		return ""
	}
	return v
}

// addrs reads a comma-separated list of IP addresses and CIDR ranges.
func (p *parser) addrs(key string) []string {
	var out []string
	for _, a := range strings.Split(p.str(key, ""), ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, err := netip.ParsePrefix(a); err != nil {
			if _, err := netip.ParseAddr(a); err != nil {
				p.fail(key, fmt.Sprintf("must be IP addresses or CIDR ranges separated by commas (10.0.0.0/8,192.168.1.10), got %q", a))
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

func (p *parser) url(key, v string, schemes ...string) {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		p.fail(key, fmt.Sprintf("must be a URL like %s://host:port/..., got an unparseable value", schemes[0]))
		return
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return
		}
	}
	p.fail(key, fmt.Sprintf("must use scheme %s", strings.Join(schemes, " or ")))
}
