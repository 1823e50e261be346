// Package webhooks tells a company's other systems what changed in Clientele:
// a tenant subscribes HTTPS URLs to event types, and every matching event is
// delivered to each, signed with the subscription's secret, retried with
// backoff for a day, and logged.
//
// Nothing is lost: the events bus hands every event to this module inside the
// transaction that caused it, which queues one delivery row per matching
// subscription with that transaction's commit (db.Defer). The rows are the
// outbox. A dispatcher (a global task, kicked after commit and found again by
// a sweep every few seconds) claims due rows with a lease, sends them, and
// records the answer; a dispatcher that dies leaves its rows to be claimed
// again when the lease ends, and a Redis that loses its tasks loses only kicks.
// A delivery whose 2xx answer was recorded is never sent again.
package webhooks

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/egress"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/notify"
)

// PermManage lets a member see and change the company's webhooks. A
// subscription receives every record of the events it names, whatever the
// scope of whoever made it, so it is an admin's power.
const PermManage = "webhooks.manage"

// Task types.
const (
	TypeDispatch = "webhooks:dispatch" // one tenant's due deliveries
	TypeSweep    = "webhooks:sweep"    // kicks every tenant with due deliveries
	TypePrune    = "webhooks:prune"    // drops delivery records past 30 days
)

// Kicker hands Asynq a global task (*jobs.Client implements it).
type Kicker interface {
	Kick(ctx context.Context, taskType, queue, id string, payload any, in time.Duration)
}

// Admins lists the members who run a company (owners and admins); tenants
// implements it and cmd passes it in.
type Admins interface {
	Admins(ctx context.Context, tenant uuid.UUID) ([]uuid.UUID, error)
}

// ObjectFunc returns a record as the API would, for an event's body: entity is
// "customers", "deals"... It returns nil and no error for a record that is
// gone or an entity it does not know.
type ObjectFunc func(ctx context.Context, tenant uuid.UUID, entity string, id uuid.UUID) (any, error)

// Deps are what the module needs, built in cmd.
type Deps struct {
	DB      *bun.DB
	Events  *events.Bus
	Jobs    Kicker
	Egress  *egress.Policy // where deliveries may go; nil: public addresses only
	Objects ObjectFunc     // nil: bodies carry ids only
	Admins  Admins         // told when a subscription is switched off; nil: nobody
	Notify  notify.Notifier
	Log     *slog.Logger

	// Timing; zero values take the production defaults.
	Timeout      time.Duration // one request; 10s
	RetryBase    time.Duration // the first retry's delay, doubled each time; 30s
	RetryMax     time.Duration // the longest delay between attempts; 2h
	RetryWindow  time.Duration // how long an event is retried; 24h
	Lease        time.Duration // how long a claimed delivery is a dispatcher's; 2m
	DisableAfter int           // consecutive failed attempts that switch a subscription off...
	DisableAge   time.Duration // ...once the first of them is this old; 50 and 24h
}

func (d *Deps) defaults() {
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&d.Timeout, 10*time.Second)
	def(&d.RetryBase, 30*time.Second)
	def(&d.RetryMax, 2*time.Hour)
	def(&d.RetryWindow, 24*time.Hour)
	def(&d.Lease, 2*time.Minute)
	if d.DisableAge < 0 {
		d.DisableAge = 0
	} else if d.DisableAge == 0 {
		d.DisableAge = 24 * time.Hour
	}
	if d.DisableAfter <= 0 {
		d.DisableAfter = 50
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Egress == nil {
		d.Egress = &egress.Policy{}
	}
}

// Module is the webhooks module.
type Module struct {
	d      Deps
	client interface {
		Do(*http.Request) (*http.Response, error)
	}

	mu    sync.Mutex
	known map[uuid.UUID]cached // does a tenant have enabled subscriptions?
}

type cached struct {
	has bool
	at  time.Time
}

// New builds the module and, with a bus, starts listening to events.
func New(d Deps) *Module {
	d.defaults()
	m := &Module{d: d, client: d.Egress.Client(d.Timeout), known: map[uuid.UUID]cached{}}
	if d.Events != nil {
		d.Events.Record("webhooks-outbox", m.record)
		d.Events.Subscribe("*", "webhooks-kick", m.kickAfterCommit)
	}
	return m
}

// Name is the module's namespace.
func (m *Module) Name() string { return "webhooks" }

// APITags describes the module's tag.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{{Name: "webhooks", Description: "Outbound webhooks (事件推送): subscriptions, signing secrets, the delivery log and replays. See docs/webhooks.md for the envelope and how to verify a signature."}}
}

// Permissions declares what roles may be granted.
func (m *Module) Permissions() []authz.Permission {
	return []authz.Permission{{Key: PermManage, Label: "Manage webhooks and see their deliveries", LabelZH: "管理 Webhook 并查看推送记录", AdminOnly: true}}
}

// Jobs declares the dispatcher, the sweep and the prune.
func (m *Module) Jobs() []jobs.Handler {
	return []jobs.Handler{
		{Type: TypeDispatch, Queue: jobs.QueueDefault, Timeout: 10 * time.Minute, MaxRetry: 1, RunGlobal: m.dispatch},
		{Type: TypeSweep, Queue: jobs.QueueDefault, Timeout: time.Minute, MaxRetry: 1, RunGlobal: m.sweep},
		{Type: TypePrune, Queue: jobs.QueueBulk, Timeout: 30 * time.Minute, RunGlobal: m.prune},
	}
}

// Schedules runs the sweep every 15 seconds and the prune daily.
func (m *Module) Schedules() []jobs.Schedule {
	return []jobs.Schedule{
		{Name: "webhooks-sweep", Cron: "@every 15s", Type: TypeSweep, Queue: jobs.QueueDefault},
		{Name: "webhooks-prune", Cron: "23 4 * * *", Type: TypePrune, Queue: jobs.QueueBulk},
	}
}
