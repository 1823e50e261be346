package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/devstack"
	"github.com/clientele-crm/clientele/platform/identity"
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
	stopKratos, err := ensureKratos(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopKratos()
	if err := runSeed(ctx, cfg, log); err != nil {
		return err
	}
	login, err := seedDemoLogin(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("seed demo login: %w", err)
	}
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	// Sample data is a convenience: when it cannot be written the app still runs.
	if err := seedDemoData(ctx, d); err != nil {
		log.Warn("dev: the demo company's sample data was not written", "error", err.Error())
	}
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
    Metrics:        http://localhost%s/metrics   (also /healthz, /readyz)
    Profiler:       %s
    Demo company:   %s/api/v1/t/demo/...
    Log in:         email %s, password %s
                    (API: POST /kratos/self-service/login/api flow, then send X-Session-Token)
    Mail (dev):     %s
    Started here:   %s
  Press Ctrl+C to stop.

`, cfg.PublicURL, cfg.PublicURL, cfg.PublicURL, cfg.AdminAddr, pprofShown(cfg.PprofAddr), cfg.PublicURL, login.Email, login.Password, filepath.Join(cfg.DataDir, "mail"), started)
	return serveUntilDone(ctx, d, s, w)
}

// ensureKratos reuses a Kratos that answers at the configured admin URL, or starts
// one on its own database beside ours, and returns how to stop what it started.
func ensureKratos(ctx context.Context, cfg config.Config, log *slog.Logger) (func(), error) {
	k := newKratos(cfg, log, nil, nil, nil, nil)
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := k.Ready(rctx)
	cancel()
	if err == nil {
		return func() {}, nil
	}
	bin, err := identity.FindBinary(ctx)
	if err != nil {
		return nil, err
	}
	dbURL, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	// Kratos keeps identities in a database of its own beside ours; a stack on
	// another database (a test or e2e run) gets its own Kratos database too.
	if name := strings.TrimPrefix(dbURL.Path, "/"); name == "" || name == "clientele" {
		dbURL.Path = "/kratos"
	} else {
		dbURL.Path = "/" + name + "_kratos"
	}
	pub, adm := portOf(cfg.KratosPublicURL, 4433), portOf(cfg.KratosAdminURL, 4434)
	// With no mail server configured, the codes Kratos mails (recovery,
	// verification) land beside the app's own dev mail.
	mailDir := ""
	if cfg.MailURL == "" {
		mailDir = filepath.Join(cfg.DataDir, "mail")
	}
	p, err := identity.StartKratos(ctx, identity.StartOptions{
		Binary: bin, DatabaseURL: dbURL.String(), DataDir: filepath.Join(cfg.DataDir, "kratos"),
		PublicPort: pub, AdminPort: adm, UIURL: cfg.PublicURL, PublicBaseURL: strings.TrimRight(cfg.PublicURL, "/") + "/kratos/",
		Dev: true, Logger: log, MailDir: mailDir,
	})
	if err != nil {
		return nil, err
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = p.Stop(sctx)
	}, nil
}

func portOf(raw string, def int) int {
	u, err := url.Parse(raw)
	if err != nil {
		return def
	}
	if n, err := strconv.Atoi(u.Port()); err == nil {
		return n
	}
	return def
}

func runServices(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	const usage = "usage: clientele services [--citus] start|stop"
	citus := false
	if len(args) > 0 && (args[0] == "--citus" || args[0] == "-citus") {
		citus, args = true, args[1:]
	}
	if len(args) != 1 {
		return errors.New(usage)
	}
	if citus {
		o := devstack.CitusOptions{DataDir: cfg.DataDir, BasePort: citusPort()}
		switch args[0] {
		case "start":
			started, err := devstack.StartCitus(ctx, o)
			if err != nil {
				return err
			}
			if started {
				fmt.Printf("services: started the Citus cluster (a coordinator and %d workers) under %s; coordinator %s (stop with `clientele services --citus stop`)\n", devstack.CitusWorkers, cfg.DataDir, o.CitusURL())
			} else {
				fmt.Printf("services: the Citus cluster already answers at %s; nothing started\n", o.CitusURL())
			}
			return nil
		case "stop":
			return devstack.StopCitus(ctx, o)
		}
		return errors.New(usage)
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
	return errors.New(usage)
}

// citusPort is the private Citus coordinator's port, CLIENTELE_CITUS_PORT or the default.
func citusPort() int {
	if n, err := strconv.Atoi(os.Getenv("CLIENTELE_CITUS_PORT")); err == nil && n > 0 {
		return n
	}
	return devstack.CitusBasePort
}

func pprofShown(addr string) string {
	if addr == "" {
		return "off"
	}
	return "http://" + addr + "/debug/pprof/ (loopback only)"
}
