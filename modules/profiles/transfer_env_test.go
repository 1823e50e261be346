package profiles_test

import (
	"log/slog"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/jobs"
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

// handlersOf are the task handlers of the module and the engine.
func handlersOf(m *profiles.Module, e *transfer.Engine) []jobs.Handler {
	return append(m.Jobs(), e.Jobs()...)
}
