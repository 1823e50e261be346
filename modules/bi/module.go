// Package bi is business intelligence (数据分析): the metrics every module
// contributes (platform/measures), asked by dimension and period and compared
// with the period before. It imports no module: the metrics come from the
// module set cmd hands it.
package bi

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	// Tenants' time zones must resolve in a binary built without the
	// system's zone database.
	_ "time/tzdata"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/module"
)

// Permissions of the module. Each metric also needs the read permission of
// the records it counts.
const (
	PermRead   = "bi.read"
	PermManage = "bi.manage"
)

// Deps are what the module needs, built in cmd.
type Deps struct {
	DB *bun.DB
	// Modules are the modules whose metrics BI offers (measures.Provider).
	Modules module.Set
	// Enabled gives the enablement checker once it exists; nil, or a nil
	// checker, counts every module as on (tests).
	Enabled func() *module.Enablement
	Log     *slog.Logger
	// Scheduled reports (subscriptions.go): the jobs client, the members'
	// rights and mail, and the font reports are drawn with ("" finds one
	// of FontCandidates). Without Jobs or Members nothing is scheduled.
	Jobs     Enqueuer
	Members  Members
	FontPath string
	// QueryTimeout bounds one question (0: 20 s).
	QueryTimeout time.Duration
	// FileDays is how long a delivered report's files are kept (0: 90).
	FileDays int
	// Events carries the modules' changes to the rollups (rollups.go); nil
	// leaves the rollups to the nightly reconcile.
	Events *events.Bus
	// NoRollups answers every question from the records (the BI bench's
	// floor).
	NoRollups bool
	// Registry takes the rollups' Prometheus instruments; nil: none.
	Registry prometheus.Registerer
}

// Module is the BI module.
type Module struct {
	d       Deps
	metrics *measures.Registry
	fonts   fontCache
	// provisionedAll holds the companies known to have had every
	// provisioned dashboard, so a list does not look again (provision.go).
	provisionedAll sync.Map
	prom           *rollupMetrics
	// rolled and touchers: the rolled metrics by module and the modules
	// that say which events touch them (rollups.go).
	rolled   map[string][]measures.Entry
	touchers map[string]measures.Touches
	lastKick atomic.Int64
	// Whether a rollup sweep of this process runs, and the last rollup
	// refresh's end and length, which pace the next (SweepRollups).
	sweepMu  sync.Mutex
	sweeping bool
	sweptAt  time.Time
	sweptFor time.Duration
	pause    func(ctx context.Context, d time.Duration) error
}

// New builds the module. A malformed metric declaration is a programming
// error and stops the process at start.
func New(d Deps) *Module {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	r, err := measures.Collect(d.Modules)
	if err != nil {
		panic(err)
	}
	m := &Module{d: d, metrics: r, prom: newRollupMetrics(d.Registry), rolled: rollableOf(r), pause: pause}
	m.touchers = touchers(d.Modules, m.rolled)
	if d.Events != nil {
		d.Events.Record("bi-rollups", m.recordTouch)
		d.Events.Subscribe("*", "bi-rollups-kick", m.kickAfterCommit)
	}
	return m
}

// Name is the route prefix and namespace.
func (m *Module) Name() string { return "bi" }

// DefaultEnabled: BI is on for every new company, and may be turned off.
func (m *Module) DefaultEnabled() bool { return true }

// Permissions declares what roles may be granted.
func (m *Module) Permissions() []authz.Permission {
	return []authz.Permission{
		{Key: PermRead, Label: "See reports and metrics (of the records the role may read)", LabelZH: "查看报表和指标（限角色可读的记录）"},
		{Key: PermManage, Label: "Set up BI for the company (the first day of the week)", LabelZH: "设置公司的数据分析（每周起始日）", AdminOnly: true},
	}
}

// Metrics is the registry of every module's metrics.
func (m *Module) Metrics() *measures.Registry { return m.metrics }

// Jobs declares the module's task handlers.
func (m *Module) Jobs() []jobs.Handler { return append(m.scheduleJobs(), m.rollupJobs()...) }

// Schedules declares the module's periodic tasks.
func (m *Module) Schedules() []jobs.Schedule {
	return append(m.scheduleSchedules(), m.rollupSchedules()...)
}
