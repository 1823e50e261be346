// Package profiles is the customer record (客户档案): people and companies, their
// contacts, tags, lifecycle, owner and custom fields, with search that works for
// Chinese names from one character up and for email and phone prefixes, all under
// row-level security.
package profiles

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/views"
)

// Permissions of the module.
const (
	PermRead  = "profiles.read"
	PermWrite = "profiles.write"
)

// Deps are what the module needs, built in cmd.
type Deps struct {
	DB      *bun.DB
	Events  *events.Bus
	Members authz.Directory // checks owners; nil skips the check (tests)
	Fields  *fields.Service // custom fields of customers; nil: none
	Views   *views.Service  // saved views (segments) of customers; nil: none
	// Records is told, in the same transaction, when customers are erased or
	// merged, so what other modules keep about them (tasks) follows; nil: none.
	Records *records.Registry
	// Tasks stores the demo's follow-up tasks and counts open ones for the
	// overview (modules/tasks, passed in by cmd); nil: no tasks.
	Tasks records.FollowUps
	// Jobs runs the scoring and classification jobs and kicks the rules when
	// customers change; nil: no jobs (tests call the functions).
	Jobs *jobs.Client
	Log  *slog.Logger
}

// Module is the profiles module.
type Module struct {
	d      Deps
	custom *fields.Binding // customers' custom fields; nil without the fields service

	planLimits fields.Limits          // zero: the kernel's defaults; tests shrink them to reach every strategy
	planTrace  func(fields.Step)      // tests: told each strategy a planned list tries
	statsSoon  func(tables ...string) // db.RefreshStatsSoon on the module's database; tests watch it

	kickMu sync.Mutex
	kicked map[uuid.UUID]time.Time // when each company's rules were last kicked
}

// New builds the module.
func New(d Deps) *Module {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	m := &Module{d: d, custom: d.Fields.Bind(EntityCustomers), kicked: map[uuid.UUID]time.Time{}}
	m.statsSoon = func(tables ...string) { db.RefreshStatsSoon(d.DB, d.Log, tables...) }
	if d.Events != nil {
		for _, topic := range []string{"customer.created", "customer.updated", "customer.merged"} {
			d.Events.Subscribe(topic, "profiles-classify", m.kickClassify)
		}
	}
	return m
}

// Name is the route prefix and namespace.
func (m *Module) Name() string { return "profiles" }

// DefaultEnabled: customer profiles are on for every new company.
func (m *Module) DefaultEnabled() bool { return true }

// Permissions declares what roles may be granted.
func (m *Module) Permissions() []authz.Permission {
	return []authz.Permission{
		{Key: PermRead, Label: "See customers", LabelZH: "查看客户"},
		{Key: PermWrite, Label: "Create and change customers", LabelZH: "创建和修改客户"},
		{Key: PermClassify, Label: "Write customer classification rules and recompute scores", LabelZH: "编写客户自动分类规则并重算评分", AdminOnly: true},
		{Key: PermErase, Label: "Erase a person's data (GDPR/PIPL)", LabelZH: "彻底删除个人数据（GDPR/个保法）", AdminOnly: true},
	}
}

// RecordKinds lets other modules link to customers (tasks about a customer):
// a customer is linkable when it is not deleted and the actor may read it and
// sees its owner. The row is locked against a concurrent erase.
func (m *Module) RecordKinds() []records.Kind {
	return []records.Kind{{Entity: EntityCustomers, ReadPerm: PermRead,
		Visible: func(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID) error {
			if err := authz.Require(ctx, PermRead); err != nil {
				return err
			}
			_, err := m.lockVisible(ctx, tx, tenant, id)
			return err
		}}}
}
