package transfer

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
)

// Task types. The profiles:* names are those of the jobs queued before the
// engine left the profiles module; they are still handled, so nothing queued
// across an upgrade is lost.
const (
	TypeImport        = "transfer:import"
	TypeRevert        = "transfer:import-revert"
	TypeExport        = "transfer:export"
	TypeExportCleanup = "transfer:exports-cleanup"

	legacyImport        = "profiles:import"
	legacyRevert        = "profiles:import-revert"
	legacyExport        = "profiles:export"
	legacyExportCleanup = "profiles:exports-cleanup"
)

// DefaultEntity is the entity of a request that names none: the clients
// written before other entities could be imported sent customers.
const DefaultEntity = "customers"

// Jobs is what the engine needs of the job system.
type Jobs interface {
	Enqueue(ctx context.Context, tenant uuid.UUID, s jobs.Spec) (*jobs.Job, error)
	Get(ctx context.Context, tenant, id uuid.UUID) (*jobs.Job, error)
}

// Deps are what the engine needs, built in cmd.
type Deps struct {
	DB       *bun.DB
	Jobs     Jobs         // nil: uploads are refused (no worker)
	Blobs    *blob.Bucket // uploaded and exported files; nil: refused
	Events   *events.Bus
	Adapters Registry
	// Enabled says whether a module is on for a tenant; nil: always.
	Enabled func(ctx context.Context, tenant uuid.UUID, module string) (bool, error)
	// ExportTTL is how long export files are kept; zero means 7 days.
	ExportTTL time.Duration
	// BulkDutyPercent is the share of time an import spends on batches: below
	// 100, it pauses after each batch so other tenants get the database (a batch
	// of 0.5 s at 50% is followed by a 0.5 s pause, at most 1.5 s). 0 means 100.
	BulkDutyPercent int
	// Counts, when set, is asked to rebuild the company's list counts after
	// an import or a revert finishes (fields.Service.RecountSoon), once per
	// job: the plans of its lists read them (docs/list-plans.md).
	Counts Recounter
	Log    *slog.Logger
}

// Recounter rebuilds a company's list counts soon, in a job of its own.
type Recounter interface {
	RecountSoon(ctx context.Context, tenant uuid.UUID) error
}

// Engine runs imports and exports for every registered entity. It is a kernel
// module: its routes are /imports and /exports under the tenant.
type Engine struct {
	d Deps
	// statsBusy is set while an import refreshes planner statistics aside.
	statsBusy atomic.Bool
}

// New builds the engine.
func New(d Deps) *Engine {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Adapters == nil {
		d.Adapters = Registry{}
	}
	return &Engine{d: d}
}

// Name is the module name of the engine.
func (e *Engine) Name() string { return "transfer" }

// Entities lists the entities that have an adapter, sorted.
func (e *Engine) Entities() []string {
	out := make([]string, 0, len(e.d.Adapters))
	for k := range e.d.Adapters {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// APITags describes the tags of the engine's operations.
func (e *Engine) APITags() []*huma.Tag {
	return []*huma.Tag{
		{Name: "imports", Description: "Spreadsheet imports (CSV or XLSX) of customers, purchases or any entity with an adapter: upload, map, run in the background, report, revert."},
		{Name: "exports", Description: "Exports to CSV or XLSX, built in the background."},
	}
}

// Jobs declares the engine's task types.
func (e *Engine) Jobs() []jobs.Handler {
	var out []jobs.Handler
	for _, t := range []string{TypeExport, legacyExport} {
		out = append(out, jobs.Handler{Type: t, Queue: jobs.QueueBulk, Timeout: 2 * time.Hour, RunLong: e.runExport})
	}
	for _, t := range []string{TypeExportCleanup, legacyExportCleanup} {
		out = append(out, jobs.Handler{Type: t, Queue: jobs.QueueBulk, Timeout: 30 * time.Minute, RunGlobal: e.cleanupExports})
	}
	for _, t := range []string{TypeImport, legacyImport} {
		out = append(out, jobs.Handler{Type: t, Queue: jobs.QueueBulk, Timeout: 6 * time.Hour, RunLong: e.runImport})
	}
	for _, t := range []string{TypeRevert, legacyRevert} {
		out = append(out, jobs.Handler{Type: t, Queue: jobs.QueueBulk, Timeout: 6 * time.Hour, RunLong: e.runRevert})
	}
	return out
}

// Schedules declares the engine's periodic work.
func (e *Engine) Schedules() []jobs.Schedule {
	return []jobs.Schedule{{Name: "transfer-exports-cleanup", Cron: "41 * * * *", Type: TypeExportCleanup, Queue: jobs.QueueBulk}}
}

// adapter finds the entity's adapter and checks that its module is on for
// the tenant; loc names the request field for an unknown entity.
func (e *Engine) adapter(ctx context.Context, tenant uuid.UUID, entity, loc string) (Adapter, error) {
	if entity == "" {
		entity = DefaultEntity
	}
	a, ok := e.d.Adapters[entity]
	if !ok {
		return nil, errs.Field(loc, "unknown entity; use "+strings.Join(e.Entities(), " or "))
	}
	if e.d.Enabled != nil && tenant != uuid.Nil {
		on, err := e.d.Enabled(ctx, tenant, a.Module())
		if err != nil {
			return nil, err
		}
		if !on {
			return nil, errs.E(errs.Forbidden, "The %s module is turned off for this company. An admin can turn it on in Settings → Modules.", a.Module())
		}
	}
	return a, nil
}

// allowedAdapter is the adapter of the entity for a caller who may read its
// records or, with write, change them; one who may not is refused (403).
func (e *Engine) allowedAdapter(ctx context.Context, tenant uuid.UUID, entity, loc string, write bool) (Adapter, error) {
	ad, err := e.adapter(ctx, tenant, entity, loc)
	if err != nil {
		return nil, err
	}
	read, wr := ad.Permissions()
	perm := read
	if write {
		perm = wr
	}
	if err := authz.Require(ctx, perm); err != nil {
		return nil, err
	}
	return ad, nil
}

func deref(s *string) (v string) {
	if s != nil {
		v = *s
	}
	return v
}
