// Package module is the contract between the kernel and the feature modules. A
// module is a value implementing Module plus any optional capability; the kernel
// finds capabilities by type assertion. cmd lists the modules in one place.
package module

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/jobs"
)

// Module names a module: its route prefix, migration folder, and job and
// permission namespace.
type Module interface{ Name() string }

// Router registers HTTP operations. api is scoped to /api/v1/t/{tenant} and already
// resolves the tenant and checks that the module is on for it; r is the raw Fiber
// router for the few things Huma cannot express (streams, uploads).
type Router interface {
	Routes(api huma.API, r fiber.Router)
}

// PublicRouter registers operations for people who do not sign in (a
// survey link, a hosted form) on the api the kernel hands it, under
// /api/v1/public/{tenant}; the module checks its own tokens and limits.
type PublicRouter interface {
	PublicRoutes(api huma.API)
}

// Documenter describes the tags of a module's operations for the API document.
// Tenant-scoped operations are tagged by the first segment of their path
// (/customers/{id} is "customers"), so a module describes those segments.
type Documenter interface{ APITags() []*huma.Tag }

// Worker declares the Asynq task types a module handles.
type Worker interface{ Jobs() []jobs.Handler }

// Scheduler declares periodic tasks.
type Scheduler interface{ Schedules() []jobs.Schedule }

// Permissions declares what a module's roles may be granted.
type Permissions interface{ Permissions() []authz.Permission }

// Provisioner sets up a new tenant's defaults, inside the signup transaction.
type Provisioner interface {
	Provision(ctx context.Context, tx bun.Tx, tenant uuid.UUID) error
}

// Demo is what a DemoSeeder gets: the demo company, the member its sample
// tasks are assigned to (uuid.Nil when there is none yet) and the app role's
// database URL, for a bulk connection of its own (COPY into staging tables).
type Demo struct {
	Tenant      uuid.UUID
	Owner       uuid.UUID
	DatabaseURL string
	Seed        uint64 // the random seed: the same seed gives the same data
}

// DemoSeeder contributes sample data to the demo company `make run` opens. It
// must be idempotent: when its data is there already it returns false and
// writes nothing. It writes under RLS, inside tenant transactions.
type DemoSeeder interface {
	SeedDemo(ctx context.Context, d Demo) (seeded bool, err error)
}

// Entity is a kind of record a module owns and lists (customers; later deals,
// tickets). Declaring one gives it custom fields and saved views from the
// kernel, with no code of its own beyond what is named here.
type Entity struct {
	Name    string // "customers": the key of its custom fields and saved views
	LabelEN string // shown where admins pick an entity
	LabelZH string
	// Table holds the records: tenant_id, id and a jsonb column `custom`
	// (conversions rewrite values there). Empty means Name.
	Table string
	// Read is the permission to see the records, and so their saved views.
	Read string
	// Columns a list of this entity can show, in their default order; a saved
	// view keeps a subset ("custom.<key>" names a custom field).
	Columns []Column
	// Sorts are the standard sort keys of the list; "custom.<key>" of a
	// sortable custom field is always allowed too.
	Sorts []string
	// Query, when set, checks the filters saved views keep and counts what
	// they match; without it the entity has no saved views.
	Query ListQuery
	// Tags, when the entity has tags as rows (tenant_id, tag, record id), lets
	// the kernel count each tag per company for the list's plan choice
	// (fields.Recount); nil: the entity's tags are not counted.
	Tags *TagTable
}

// TagTable names an entity's tag rows: one row per record and tag.
type TagTable struct {
	Table string // e.g. "customer_tags"
	ID    string // the record id column, e.g. "customer_id"
}

// TableName is the records table of the entity.
func (e Entity) TableName() string {
	if e.Table != "" {
		return e.Table
	}
	return e.Name
}

// Column is one column a list can show.
type Column struct {
	Key     string `json:"key"`
	LabelEN string `json:"label_en"`
	LabelZH string `json:"label_zh"`
}

// ListQuery is an entity's list filter in the form saved views keep it: the
// list endpoint's own query string (tag=vip&lifecycle=customer), so a view
// means exactly what the same list URL means.
type ListQuery interface {
	// CheckQuery validates a filter; errors name loc and the parameter in it.
	CheckQuery(raw, loc string) error
	// CountQuery counts the records the filter matches within the actor's scope.
	CountQuery(ctx context.Context, tenant uuid.UUID, raw string) (int, error)
}

// Entities declares the entities a module owns.
type Entities interface{ Entities() []Entity }

// Optional marks a module a tenant may turn off; the kernel's are always on.
type Optional interface{ DefaultEnabled() bool }

// Set is the ordered list of modules wired in cmd.
type Set []Module

// Validate refuses duplicate or malformed names.
func (s Set) Validate() error {
	seen := map[string]bool{}
	for _, m := range s {
		n := m.Name()
		if n == "" || n != sanitize(n) {
			return fmt.Errorf("module: bad name %q", n)
		}
		if seen[n] {
			return fmt.Errorf("module: %q listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

// Names lists the module names, sorted.
func (s Set) Names() []string {
	out := make([]string, 0, len(s))
	for _, m := range s {
		out = append(out, m.Name())
	}
	sort.Strings(out)
	return out
}

// Find returns the module with that name.
func (s Set) Find(name string) (Module, bool) {
	for _, m := range s {
		if m.Name() == name {
			return m, true
		}
	}
	return nil, false
}

// DemoSeeders are the modules that contribute demo data, in order.
func (s Set) DemoSeeders() []DemoSeeder {
	var out []DemoSeeder
	for _, m := range s {
		if d, ok := m.(DemoSeeder); ok {
			out = append(out, d)
		}
	}
	return out
}

// Entities gathers every module's entities, in module order. A name declared
// twice is an error.
func (s Set) Entities() ([]Entity, error) {
	var out []Entity
	seen := map[string]string{}
	for _, m := range s {
		em, ok := m.(Entities)
		if !ok {
			continue
		}
		for _, e := range em.Entities() {
			if e.Name == "" || e.Name != sanitize(e.Name) {
				return nil, fmt.Errorf("module %s: bad entity name %q", m.Name(), e.Name)
			}
			if by, dup := seen[e.Name]; dup {
				return nil, fmt.Errorf("module: entity %q declared by both %s and %s", e.Name, by, m.Name())
			}
			seen[e.Name] = m.Name()
			out = append(out, e)
		}
	}
	return out, nil
}

// JobHandlers gathers every module's task handlers.
func (s Set) JobHandlers() []jobs.Handler { return gather(s, Worker.Jobs) }

// JobSchedules gathers every module's periodic tasks.
func (s Set) JobSchedules() []jobs.Schedule { return gather(s, Scheduler.Schedules) }

// AllPermissions gathers every module's permissions.
func (s Set) AllPermissions() []authz.Permission { return gather(s, Permissions.Permissions) }

// gather collects, in module order, what give returns for each module that
// implements I.
func gather[I any, T any](s Set, give func(I) []T) []T {
	var out []T
	for _, m := range s {
		if x, ok := m.(I); ok {
			out = append(out, give(x)...)
		}
	}
	return out
}

func sanitize(n string) string {
	b := []byte{}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' {
			b = append(b, c)
		}
	}
	return string(b)
}

// Enablement answers whether a module is on for a tenant. A tenant without a row
// for a module gets the module's default. Answers are cached briefly per process;
// SetEnabled clears this process's cache, other replicas catch up within the TTL.
type Enablement struct {
	db      *bun.DB
	modules Set
	ttl     time.Duration
	mu      sync.RWMutex
	cache   map[uuid.UUID]cached
}

type cached struct {
	on  map[string]bool
	exp time.Time
}

// NewEnablement builds the checker for the wired modules.
func NewEnablement(d *bun.DB, modules Set, ttl time.Duration) *Enablement {
	return &Enablement{db: d, modules: modules, ttl: ttl, cache: map[uuid.UUID]cached{}}
}

// SetModules completes the module list once every module is built (tenant
// administration needs the others' permissions before it exists itself).
func (e *Enablement) SetModules(s Set) {
	e.mu.Lock()
	e.modules = s
	e.cache = map[uuid.UUID]cached{}
	e.mu.Unlock()
}

// Defaults returns each module's default state.
func (e *Enablement) Defaults() map[string]bool {
	out := map[string]bool{}
	for _, m := range e.modules {
		on := true
		if o, ok := m.(Optional); ok {
			on = o.DefaultEnabled()
		}
		out[m.Name()] = on
	}
	return out
}

type row struct {
	Module  string `bun:"module"`
	Enabled bool   `bun:"enabled"`
}

// States returns every module's state for the tenant.
func (e *Enablement) States(ctx context.Context, tenant uuid.UUID) (map[string]bool, error) {
	e.mu.RLock()
	c, ok := e.cache[tenant]
	e.mu.RUnlock()
	if ok && time.Now().Before(c.exp) {
		return copyStates(c.on), nil
	}
	on := e.Defaults()
	err := db.InTenant(ctx, e.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		var rows []row
		if err := tx.NewSelect().Table("tenant_modules").Column("module", "enabled").
			Where("tenant_id = ?", tenant).Scan(ctx, &rows); err != nil {
			return err
		}
		for _, r := range rows {
			if _, known := on[r.Module]; known {
				on[r.Module] = r.Enabled
			}
		}
		return nil
	})
	if err != nil {
		return nil, errs.From(err)
	}
	e.mu.Lock()
	if len(e.cache) > 50000 {
		e.cache = map[uuid.UUID]cached{}
	}
	e.cache[tenant] = cached{on: on, exp: time.Now().Add(e.ttl)}
	e.mu.Unlock()
	return copyStates(on), nil
}

// copyStates hands out a copy: callers may change it, the cache must not change.
func copyStates(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Enabled reports whether the module is on for the tenant.
func (e *Enablement) Enabled(ctx context.Context, tenant uuid.UUID, name string) (bool, error) {
	st, err := e.States(ctx, tenant)
	if err != nil {
		return false, err
	}
	return st[name], nil
}

// SetEnabled turns a module on or off for the tenant, inside the caller's tenant
// transaction when ctx has one.
func (e *Enablement) SetEnabled(ctx context.Context, tenant uuid.UUID, name string, on bool) error {
	if _, ok := e.modules.Find(name); !ok {
		return errs.Field("body.module", fmt.Sprintf("unknown module %q; known modules: %v", name, e.modules.Names()))
	}
	err := db.InTenant(ctx, e.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		// updated_at comes through EXCLUDED: Citus refuses a non-immutable
		// function (now()) in DO UPDATE SET on a distributed table.
		_, err := tx.ExecContext(ctx, `INSERT INTO tenant_modules (tenant_id, module, enabled, updated_at) VALUES (?, ?, ?, now())
			ON CONFLICT (tenant_id, module) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at`, tenant, name, on)
		db.AfterCommit(ctx, func(context.Context) {
			e.mu.Lock()
			delete(e.cache, tenant)
			e.mu.Unlock()
		})
		return err
	})
	if err != nil {
		return errs.From(err)
	}
	return nil
}
