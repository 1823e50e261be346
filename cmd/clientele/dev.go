package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/devstack"
)

func devOptions(cfg config.Config, log *slog.Logger) devstack.Options {
	return devstack.Options{DataDir: cfg.DataDir, PostgresURL: cfg.DatabaseURL, RedisURL: cfg.RedisURL, Logger: log}
}

// runDev is the one-machine default: services, schema, demo data, then serve and
// worker in one process. What it started it stops on exit.
func runDev(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	stack, err := devstack.Ensure(ctx, devOptions(cfg, log))
	if err != nil {
		return err
	}
	cfg = cfg.WithDatabaseURL(stack.PostgresURL())
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := stack.Stop(sctx); err != nil {
			log.Warn("dev: stopping services", "error", err.Error())
		}
	}()
	if err := runMigrate(ctx, cfg, log); err != nil {
		return err
	}
	if err := runSeed(ctx, cfg, log); err != nil {
		return err
	}
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	s := buildHTTP(d)
	w := buildWorker(d)
	started := "none (reused what was running)"
	if st := stack.Started(); len(st) > 0 {
		started = fmt.Sprint(st)
	}
	fmt.Fprintf(os.Stderr, `
  Clientele is running.
    App:            %s
    API reference:  %s/api/v1/docs
    OpenAPI:        %s/api/v1/openapi.json
    Metrics:        http://localhost%s/metrics   (also /healthz, /readyz, /debug/pprof/)
    Demo company:   %s/api/v1/t/demo/...
    Started here:   %s
  Press Ctrl+C to stop.

`, cfg.PublicURL, cfg.PublicURL, cfg.PublicURL, cfg.AdminAddr, cfg.PublicURL, started)
	return serveUntilDone(ctx, d, s, w)
}

func runServices(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: clientele services start|stop")
	}
	switch args[0] {
	case "start":
		stack, err := devstack.Ensure(ctx, devOptions(cfg, log))
		if err != nil {
			return err
		}
		if st := stack.Started(); len(st) > 0 {
			fmt.Printf("services: started %v under %s (stop with `clientele services stop`)\n", st, cfg.DataDir)
		} else {
			fmt.Println("services: PostgreSQL and Redis already answer; nothing started")
		}
		return nil
	case "stop":
		return devstack.StopPrivate(ctx, devOptions(cfg, log))
	}
	return fmt.Errorf("usage: clientele services start|stop")
}
