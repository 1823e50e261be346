// Command clientele is the one binary of Clientele: serve, worker, migrate, dev,
// and the admin verbs. This package only wires: config -> platform -> tenants ->
// modules -> run.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/logx"
)

const usage = `clientele: multi-tenant CRM

Usage:
  clientele serve              HTTP API, web app and /kratos proxy; admin port with /metrics, /healthz, /readyz; pprof on loopback
  clientele worker             background jobs (imports, exports, reports, reminders) and schedules
  clientele migrate [--citus]  apply pending migrations (under an advisory lock) and exit; on Citus
                               (detected, or --citus) distribute tenant tables by tenant_id
  clientele dev                one-machine default: start or reuse PostgreSQL and Redis, migrate, seed, serve + worker
  clientele seed [--tenant SLUG --customers N]  the demo tenant (idempotent), or N generated customers
  clientele tenant create SLUG NAME | tenant list
  clientele tenant export SLUG [-o FILE]  the company's complete archive (zip: every row, file, member, setting; manifest, SHA-256 per entry)
  clientele tenant import ARCHIVE --as NEWSLUG [--name NAME]  check an archive, then restore it into a new company in one transaction
  clientele tenant compare A B  check two archives and tell how they differ beyond what a restore changes (docs/operations.md)
  clientele services [--citus] start|stop  make PostgreSQL and Redis answer (private instances under the data dir) / stop those;
                                   with --citus, a private Citus coordinator and two workers
  clientele bench [-rows N] [-requests N]  raw SQL floor vs the same read through the HTTP API
  clientele drill tenant-move  on Citus: move a busy tenant to its own shard on another worker, with a write ledger
  clientele openapi [-version 3.1|3.0] [-o FILE]  print the API document; needs no database
  clientele drill postgres|redis|kratos [-writers N] [-keep]  fault drill on a private stack: break the dependency under writers, check nothing acknowledged is lost, no 500, fast failures, recovery

Configuration comes from CLIENTELE_* environment variables (see README.md).
`

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Print(usage)
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(os.Stderr, "clientele: configuration is invalid:\n%v\n", err)
		os.Exit(2)
	}
	log := logx.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	args := os.Args[2:]
	switch os.Args[1] {
	case "serve":
		err = runServe(ctx, cfg, log)
	case "worker":
		err = runWorker(ctx, cfg, log)
	case "migrate":
		err = runMigrate(ctx, cfg, log, args...)
	case "dev":
		err = runDev(ctx, cfg, log)
	case "seed":
		err = runSeedCommand(ctx, cfg, log, args)
	case "tenant":
		err = runTenant(ctx, cfg, log, args)
	case "services":
		err = runServices(ctx, cfg, log, args)
	case "bench":
		err = runBench(ctx, cfg, log, args)
	case "drill":
		err = runDrill(ctx, cfg, log, args)
	case "openapi":
		err = runOpenAPI(cfg, args, os.Stdout)
	default:
		fmt.Fprintf(os.Stderr, "clientele: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("clientele: "+os.Args[1]+" failed", "error", err.Error())
		fmt.Fprintf(os.Stderr, "clientele %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
