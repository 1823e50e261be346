package profiles_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// engineFor is the transfer engine with the module's adapters, as cmd wires
// it: the import and export tests of customers run through it.
func engineFor(m *profiles.Module, db *bun.DB, js transfer.Jobs, bucket *blob.Bucket, log *slog.Logger) *transfer.Engine {
	reg, err := transfer.Collect([]any{m})
	if err != nil {
		panic(err)
	}
	return transfer.New(transfer.Deps{DB: db, Jobs: js, Blobs: bucket, Adapters: reg, Log: log})
}

// handlersOf are the task handlers of the engine (profiles has none of its own).
func handlersOf(_ *profiles.Module, e *transfer.Engine) []jobs.Handler {
	return e.Jobs()
}

// reportLine is a line of an import's error report as stored.
type reportLine struct {
	Row     int64  `bun:"row_no"`
	Outcome string `bun:"outcome"`
	Column  string `bun:"column_name"`
	Reason  string `bun:"reason"`
}

// reportOf is an import's error report, in file order.
func reportOf(t *testing.T, env *testkit.Env, tenant, id uuid.UUID) []reportLine {
	t.Helper()
	var out []reportLine
	env.InTenant(t, tenant, func(c context.Context, tx bun.Tx) error {
		return tx.NewSelect().Table("import_problems").Column("row_no", "outcome", "column_name", "reason").
			Where("tenant_id = ? AND import_id = ?", tenant, id).OrderExpr("row_no, seq").Scan(c, &out)
	})
	return out
}

// transferRig is what a transfer test runs on: a job client on the package's
// Redis, a blob store in memory, the module and the engine over db.
type transferRig struct {
	quiet  *slog.Logger
	ropt   asynq.RedisClientOpt
	client *jobs.Client
	bucket *blob.Bucket
	m      *profiles.Module
	eng    *transfer.Engine
}

func newTransferRig(t *testing.T, env *testkit.Env, db *bun.DB, quiet *slog.Logger, d profiles.Deps) *transferRig {
	t.Helper()
	ro, _ := redis.ParseURL(env.Config.RedisURL)
	r := &transferRig{quiet: quiet, ropt: asynq.RedisClientOpt{Addr: ro.Addr, DB: ro.DB}}
	r.client = jobs.NewClient(r.ropt, db, quiet)
	t.Cleanup(func() { r.client.Close() })
	var err error
	if r.bucket, err = blob.Open(context.Background(), "mem://"); err != nil {
		t.Fatal(err)
	}
	d.DB, d.Log = db, quiet
	r.m = profiles.New(d)
	r.eng = engineFor(r.m, db, r.client, r.bucket, quiet)
	r.client.Register(handlersOf(r.m, r.eng)...)
	return r
}

// serve runs a worker for the module and the engine until the test ends.
func (r *transferRig) serve(t *testing.T, db *bun.DB, sweep time.Duration) *jobs.Server {
	t.Helper()
	srv := jobs.NewServer(jobs.ServerOptions{Redis: r.ropt, DB: db, Concurrency: 2, Logger: r.quiet, Handlers: handlersOf(r.m, r.eng),
		SweepInterval: sweep, NoScheduler: true, PollInterval: 50 * time.Millisecond, ShutdownTimeout: 2 * time.Second})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv
}
