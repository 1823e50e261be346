package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/clientele-crm/clientele/migrations"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/migrate"
)

// runMigrate applies the migrations. On a database with the citus extension (or
// with --citus, which creates it) it also distributes the schema by tenant_id.
func runMigrate(ctx context.Context, cfg config.Config, log *slog.Logger, args ...string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	citus := fs.Bool("citus", false, "distribute the schema on a Citus coordinator, creating the citus extension if missing (detected without the flag when it exists)")
	shards := fs.Int("citus-shard-count", 0, "shard count for newly distributed tables (default: the server's citus.shard_count, 32)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	owner, err := db.Open(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return err
	}
	defer owner.Close()
	applied, err := migrate.Up(ctx, owner, migrations.FS, migrate.Options{AppRole: cfg.AppDBRole, AppPassword: cfg.AppDBPassword, Logger: log,
		Citus: *citus, CitusShardCount: *shards})
	if err != nil {
		return err
	}
	log.Info("migrate: done", "applied", len(applied))
	return nil
}

func runServe(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	tuneServeGC(cfg)
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	return serveUntilDone(ctx, d, buildHTTP(d), nil)
}

func runWorker(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	jobs.RegisterQueueMetrics(d.metrics.Reg, d.redisOpt)
	w := buildWorker(d)
	if err := w.Start(); err != nil {
		return err
	}
	stopAdmin := serveAdmin(ctx, cfg.WorkerAdminAddr, httpx.AdminHandler(d.metrics, d.ready), log)
	stopPprof := servePprof(ctx, cfg.WorkerPprofAddr, log)
	defer stopPprof()
	log.Info("worker: running", "admin", cfg.WorkerAdminAddr)
	<-ctx.Done()
	log.Info("worker: shutting down; in-flight tasks finish or go back to the queue")
	d.ready.Drain()
	w.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return stopAdmin(sctx)
}

// serveUntilDone runs the HTTP server (and the worker, when given) until ctx ends,
// then drains: readiness fails first, in-flight requests finish, then tasks.
func serveUntilDone(ctx context.Context, d *deps, s *httpx.Server, w *jobs.Server) error {
	cfg, log := d.cfg, d.log
	if w != nil {
		jobs.RegisterQueueMetrics(d.metrics.Reg, d.redisOpt)
		if err := w.Start(); err != nil {
			return err
		}
	}
	stopAdmin := serveAdmin(ctx, cfg.AdminAddr, httpx.AdminHandler(d.metrics, d.ready), log)
	stopPprof := servePprof(ctx, cfg.PprofAddr, log)
	defer stopPprof()
	errc := make(chan error, 1)
	go func() { errc <- s.App.Listen(cfg.HTTPAddr) }()
	log.Info("serve: listening", "http", cfg.HTTPAddr, "admin", cfg.AdminAddr)
	select {
	case err := <-errc:
		if w != nil {
			w.Shutdown()
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("serve: shutting down; finishing in-flight requests")
	d.ready.Drain()
	if cfg.Env == "production" {
		time.Sleep(3 * time.Second) // let load balancers see the failing readiness
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err := s.App.ShutdownWithContext(sctx)
	if w != nil {
		w.Shutdown()
	}
	if aerr := stopAdmin(sctx); err == nil && !errors.Is(aerr, context.Canceled) {
		err = aerr
	}
	return err
}

// tuneServeGC sets the API process's garbage collector. A request allocates a
// few hundred kilobytes that die with it and the live heap stays small, so
// Go's default (a collection each time the heap doubles) spent 14% of the
// API's CPU in the tickets inbox benchmark; at 300 the heap may grow to four
// times the live data before a collection, and the soft memory limit makes
// the collector work harder before the heap nears the pod's limit. GOGC and
// GOMEMLIMIT, when set, win (the runtime has read them already).
func tuneServeGC(cfg config.Config) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.ServeGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" && cfg.ServeMemoryLimitMB > 0 {
		debug.SetMemoryLimit(int64(cfg.ServeMemoryLimitMB) << 20)
	}
}
