package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/migrations"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/health"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/idem"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/invalidate"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/metrics"
	"github.com/clientele-crm/clientele/platform/migrate"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/transfer"
	"github.com/clientele-crm/clientele/tenants"
	"github.com/clientele-crm/clientele/web"
)

// deps is everything the processes share, opened once.
type deps struct {
	cfg        config.Config
	log        *slog.Logger
	db         *bun.DB // the non-owner app role
	redisOpt   asynq.RedisConnOpt
	redis      *redis.Client
	metrics    *metrics.Registry
	jobMetrics *jobs.Metrics
	jobs       *jobs.Client
	events     *events.Bus
	blobs      *blob.Bucket
	tenants    *tenancy.Resolver
	modules    module.Set
	enablement *module.Enablement
	access     *tenants.Service
	identities tenants.IdentityProvider
	kratos     *identity.Kratos
	directory  authz.Directory
	mailer     tenants.Mailer // the configured mail sender (the sink in development)
	fields     *fields.Service
	ready      *health.Checker
	breakers   breakers
	// breakerMetrics is nil when nothing was dialled (the offline API document).
	breakerMetrics *breaker.Metrics
	// bus carries cache invalidations between replicas; nil when nothing was
	// dialled.
	bus     *invalidate.Bus
	closers []func()
}

// breakers guard the three dependencies: while one is open, calls to it fail at
// once (503 naming it) or fall back, instead of each waiting for its deadline.
type breakers struct {
	db, redis, kratos *breaker.Breaker
}

func newBreaker(cfg config.Config, log *slog.Logger, m *breaker.Metrics, name string, timeout time.Duration, probe func(context.Context) error) *breaker.Breaker {
	return breaker.New(breaker.Options{
		Name: name, Failures: cfg.BreakerFailures, OpenFor: cfg.BreakerOpenFor,
		Probe: probe, ProbeTimeout: timeout, Metrics: m,
		OnChange: func(name string, from, to breaker.State) {
			if to == breaker.Open {
				log.Warn("dependency unavailable: calls to it now fail fast until a probe succeeds", "dependency", name, "was", from.String())
			} else if to == breaker.Closed {
				log.Info("dependency back: breaker closed", "dependency", name)
			}
		},
	})
}

func (d *deps) Close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
}

func openDeps(ctx context.Context, cfg config.Config, log *slog.Logger) (*deps, error) {
	return openDepsWith(ctx, cfg, log, nil)
}

// openDepsWith lets tests supply the identity provider.
func openDepsWith(ctx context.Context, cfg config.Config, log *slog.Logger, ids tenants.IdentityProvider) (*deps, error) {
	d := &deps{cfg: cfg, log: log, metrics: metrics.New(), events: events.New(log), identities: ids}
	bm := breaker.NewMetrics(d.metrics.Reg)
	d.breakerMetrics = bm
	d.breakers.db = newBreaker(cfg, log, bm, errs.DependencyDatabase, cfg.DBConnectTimeout, db.Probe(cfg.AppDatabaseURL))
	var err error
	d.db, err = db.OpenWith(ctx, cfg.AppDatabaseURL, db.Options{MaxConns: cfg.DBMaxConns, ConnectTimeout: cfg.DBConnectTimeout, Breaker: d.breakers.db})
	if err != nil {
		return nil, fmt.Errorf("%w (is PostgreSQL running and has `clientele migrate` created the app role? `make run` does both)", err)
	}
	d.closers = append(d.closers, func() { d.db.Close() })
	d.metrics.RegisterDB(d.db.DB, "clientele")

	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("CLIENTELE_REDIS_URL: %w", err)
	}
	d.redisOpt = asynq.RedisClientOpt{Addr: ropt.Addr, Username: ropt.Username, Password: ropt.Password, DB: ropt.DB, TLSConfig: ropt.TLSConfig}
	// Requests reach Redis through a client with short deadlines and a breaker;
	// the probe has a connection of its own, which the open breaker lets through.
	ropt = breaker.RedisOptions(ropt, cfg.RedisTimeout)
	probeOpt := *ropt
	probe := redis.NewClient(&probeOpt)
	d.closers = append(d.closers, func() { probe.Close() })
	d.breakers.redis = newBreaker(cfg, log, bm, errs.DependencyRedis, cfg.RedisTimeout, func(ctx context.Context) error { return probe.Ping(ctx).Err() })
	d.redis = redis.NewClient(ropt)
	breaker.GuardRedis(d.redis, d.breakers.redis, cfg.RedisTimeout)
	d.closers = append(d.closers, func() { d.redis.Close() })
	d.bus = invalidate.New(d.redis, log)
	busCtx, stopBus := context.WithCancel(context.WithoutCancel(ctx))
	go d.bus.Run(busCtx)
	d.closers = append(d.closers, stopBus)

	d.blobs, err = blob.Open(ctx, cfg.BlobURL)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.closers = append(d.closers, func() { d.blobs.Close() })

	key, err := masterKey(cfg, log)
	if err != nil {
		d.Close()
		return nil, err
	}
	mailer, err := newMailer(cfg, log)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("CLIENTELE_MAIL_URL: %w", err)
	}
	if err := d.wire(key, mailer); err != nil {
		d.Close()
		return nil, err
	}

	d.ready = health.New(2*time.Second, time.Second,
		health.Check{Name: "database", Fn: func(ctx context.Context) error { return d.db.PingContext(ctx) }},
		health.Check{Name: "redis", Fn: func(ctx context.Context) error { return d.redis.Ping(ctx).Err() }},
		health.Check{Name: "schema", Fn: migrate.ReadyCheck(d.db, migrations.FS)},
		health.Check{Name: "identity", Fn: d.kratos.Ready},
	)
	return d, nil
}

// wire builds the job client, the modules and tenant administration over the
// handles in d. It dials nothing, so the API document can be built offline.
func (d *deps) wire(key []byte, mailer tenants.Mailer) error {
	cfg, log := d.cfg, d.log
	d.jobMetrics = jobs.NewMetrics(d.metrics.Reg)
	d.jobs = jobs.NewClient(d.redisOpt, d.db, log)
	d.jobs.SetMetrics(d.jobMetrics)
	if d.redis != nil {
		d.jobs.UseRedis(d.redis)
	}
	d.closers = append(d.closers, func() { d.jobs.Close() })

	d.tenants = tenancy.NewResolver(d.db, 5*time.Second)
	d.mailer = mailer
	// Modules check members through a directory that tenants implements once it
	// exists; the indirection breaks the construction cycle.
	dir := &lateDirectory{}
	d.directory = dir
	var err error
	d.fields, err = fields.New(fields.Deps{DB: d.db, Members: dir, MasterKey: key, Jobs: d.jobs, Log: log, Env: cfg.Env})
	if err != nil {
		return err
	}
	features, err := buildModules(d)
	if err != nil {
		return err
	}
	// Enablement must know every module; tenants needs the others' permissions.
	d.enablement = module.NewEnablement(d.db, nil, 5*time.Second)
	// The identity breaker's probe is Kratos's own readiness, asked once the
	// client exists.
	var k *identity.Kratos
	if d.breakerMetrics != nil {
		d.breakers.kratos = newBreaker(cfg, log, d.breakerMetrics, errs.DependencyIdentity, cfg.KratosTimeout, func(ctx context.Context) error { return k.Ready(ctx) })
	}
	d.kratos = newKratos(cfg, log, d.metrics.Reg, d.redis, d.breakers.kratos, d.bus)
	k = d.kratos
	if d.identities == nil {
		d.identities = kratosIdentities{k: d.kratos}
	}
	d.access = tenants.New(tenants.Deps{
		DB: d.db, Redis: d.redis, Identities: d.identities, Mailer: mailer,
		Tenants: d.tenants, Enablement: d.enablement, Modules: features, Log: log,
		Bus: d.bus, Registry: d.metrics.Reg, Files: d.blobs,
		Limits: tenants.Limits{PublicOrigin: cfg.PublicURL, PerKey: cfg.RatePerKey, PerTenant: cfg.RatePerTenant,
			BadKeyPerIP: cfg.RateBadKeyPerIP, BadKeyPerTenant: cfg.RateBadKeyPerTenant, CloseGrace: cfg.CloseGrace},
	})
	dir.set(d.access)
	d.modules = append(module.Set{d.access}, features...)
	if err := d.modules.Validate(); err != nil {
		return err
	}
	d.enablement.SetModules(d.modules)
	d.jobs.Register(append(jobs.MaintenanceHandlers(d.db), d.modules.JobHandlers()...)...)
	return nil
}

// serveAdmin runs an admin listener until ctx ends.
func serveAdmin(ctx context.Context, addr string, h http.Handler, log *slog.Logger) func(context.Context) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener failed", "addr", addr, "error", err.Error())
		}
	}()
	return srv.Shutdown
}

// servePprof runs the profiler on a loopback address (config refuses any
// other) when one is set; a second process on the same machine finds the port
// taken, logs it and goes on without.
func servePprof(ctx context.Context, addr string, log *slog.Logger) func() {
	if addr == "" {
		return func() {}
	}
	stop := serveAdmin(ctx, addr, httpx.PprofHandler(), log)
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = stop(sctx)
	}
}

func buildHTTP(d *deps) *httpx.Server {
	s := httpx.New(httpx.Options{
		Log:            d.log,
		Metrics:        d.metrics,
		Tenants:        d.tenants,
		Enablement:     d.enablement,
		Modules:        d.modules,
		Guard:          d.access.Guard,
		BodyLimit:      d.cfg.BodyLimit,
		UploadLimit:    transfer.ImportMaxBytes + 1<<20,
		RequestTimeout: d.cfg.RequestTimeout,
		PublicURL:      d.cfg.PublicURL,
		TrustedProxies: d.cfg.TrustedProxies,
		Idempotency:    idemStore(d),
	})
	d.access.PublicRoutes(s)
	// Same-origin Kratos for the browser flows; only its public API is reachable.
	s.App.All("/kratos/*", d.kratos.ProxyHandler())
	// The web app for every other GET, so client-side routes survive a reload.
	s.Finish(web.Handler())
	return s
}

func buildWorker(d *deps) *jobs.Server {
	handlers := append(jobs.MaintenanceHandlers(d.db), d.modules.JobHandlers()...)
	schedules := append(jobs.MaintenanceSchedules(), d.modules.JobSchedules()...)
	return jobs.NewServer(jobs.ServerOptions{
		Redis:           d.redisOpt,
		DB:              d.db,
		Concurrency:     d.cfg.WorkerConcurrency,
		BulkPerTenant:   d.cfg.BulkPerTenant,
		ShutdownTimeout: d.cfg.ShutdownTimeout,
		Logger:          d.log,
		Metrics:         d.jobMetrics,
		Handlers:        handlers,
		Schedules:       schedules,
		SweepInterval:   d.cfg.SweepInterval,
	})
}

// idemStore keeps Idempotency-Key results; nil when no database was opened
// (the offline API document).
func idemStore(d *deps) *idem.Store {
	if d.db == nil {
		return nil
	}
	return &idem.Store{DB: d.db}
}

// lateDirectory forwards to tenants (members, their mail) once it is built.
type lateDirectory struct{ d *tenants.Service }

func (l *lateDirectory) set(d *tenants.Service) { l.d = d }

// Limit counts a public request against a per-minute limit (tenants' limiter).
func (l *lateDirectory) Limit(ctx context.Context, key string, max int) error {
	return l.d.Limit(ctx, key, max)
}

func (l *lateDirectory) MailMember(ctx context.Context, tenant, member uuid.UUID, subject, text string) error {
	return l.d.MailMember(ctx, tenant, member, subject, text)
}

func (l *lateDirectory) IsTeam(ctx context.Context, tenant, id uuid.UUID) (bool, error) {
	return l.d.IsTeam(ctx, tenant, id)
}

func (l *lateDirectory) TeamMembers(ctx context.Context, tenant, team uuid.UUID) ([]uuid.UUID, error) {
	return l.d.TeamMembers(ctx, tenant, team)
}

func (l *lateDirectory) Admins(ctx context.Context, tenant uuid.UUID) ([]uuid.UUID, error) {
	return l.d.Admins(ctx, tenant)
}

func (l *lateDirectory) IsMember(ctx context.Context, tenant, id uuid.UUID) (bool, error) {
	return l.d.IsMember(ctx, tenant, id)
}

// masterKey is CLIENTELE_MASTER_KEY (32 bytes, base64). Outside production an
// absent key is generated once into the data directory, so sealed custom values
// survive restarts of a development machine.
func masterKey(cfg config.Config, log *slog.Logger) ([]byte, error) {
	if cfg.MasterKey != "" {
		k, err := base64.StdEncoding.DecodeString(cfg.MasterKey)
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("CLIENTELE_MASTER_KEY must be 32 random bytes in base64 (openssl rand -base64 32)")
		}
		return k, nil
	}
	if cfg.Env == "production" {
		return nil, fmt.Errorf("CLIENTELE_MASTER_KEY is required in production")
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	if b, err := os.ReadFile(path); err == nil {
		if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err == nil && len(k) == 32 {
			return k, nil
		}
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err == nil {
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(k)), 0o600); err != nil {
			log.Warn("fields: could not store the development master key; sealed values will not survive a restart", "error", err.Error())
		}
	}
	return k, nil
}
