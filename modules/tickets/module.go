// Package tickets is customer service (客户服务): every question, complaint and
// piece of feedback becomes a ticket with a per-company number (#1001, #1002,
// ...), a requester who is a customer, an owner, a status that follows rules,
// and a conversation of public replies (emailed to the requester) and internal
// notes. It learns about customers only through platform/records (the
// requester by id, or an email or phone matched to one or made into a lead),
// and about members and teams through the platform's directories; no other
// module imports it.
package tickets

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/invalidate"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/views"
)

// Permissions of the module. Each action on a ticket also needs that the
// ticket is within the actor's scope (see visibleTickets).
const (
	PermRead   = "tickets.read"
	PermWrite  = "tickets.write"
	PermManage = "tickets.manage"
)

// EntityTickets is the entity of tickets: custom fields, saved views and
// tasks about a ticket know them by this name.
const EntityTickets = "tickets"

// entityCustomers is the entity of requesters (modules/profiles).
const entityCustomers = "customers"

// Enqueuer records background jobs in the caller's transaction (platform/jobs.Client).
type Enqueuer interface {
	Enqueue(ctx context.Context, tenant uuid.UUID, s jobs.Spec) (*jobs.Job, error)
}

// Deps are what the module needs, built in cmd.
type Deps struct {
	DB      *bun.DB
	Events  *events.Bus
	Members authz.Directory // checks assignees; nil skips the check (tests)
	Teams   authz.Teams     // checks teams; nil skips the check (tests)
	Fields  *fields.Service // custom fields of tickets; nil: none
	Views   *views.Service  // saved views of tickets; nil: none
	// Records checks requesters given by id (the customers entity) and is told
	// when tickets are removed; nil: requesters by id cannot be checked.
	Records *records.Registry
	// People matches a requester's email or phone to a customer, or makes a
	// lead (modules/profiles, passed in by cmd); nil: requesters by id only.
	People records.People
	Jobs   Enqueuer        // emails public replies; nil: replies are not emailed
	Mail   identity.Mailer // the configured mail sender (the mail sink in development)
	// Notify tells assignees and team leads of SLA warnings and breaches;
	// nil: breaches are recorded, nobody is told.
	Notify notify.Notifier
	// PublicURL is the app's address, for the links in survey mail.
	PublicURL string
	// Limiter limits the public routes (survey links, the hosted form) per
	// client address and company; nil: no limit (tests).
	Limiter Limiter
	// Blobs keeps the files attached to tickets (platform/blob); nil:
	// attachments are refused.
	Blobs *blob.Bucket
	Log   *slog.Logger
	// Bus carries the invalidations of the SLA policies and calendars kept in
	// memory; nil: they are read on every use.
	Bus *invalidate.Bus
}

// Module is the tickets module.
type Module struct {
	d      Deps
	custom *fields.Binding // tickets' custom fields; nil without the fields service
	sla    *slaCache       // companies' SLA policies and calendars; nil without a bus
	// planLimits and planTrace reach the kernel's list plans (tests).
	planLimits fields.Limits
	planTrace  func(fields.Step)
}

// New builds the module.
func New(d Deps) *Module {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	m := &Module{d: d, custom: d.Fields.Bind(EntityTickets)}
	if d.Bus != nil {
		m.sla = newSLACache(d.Bus)
	}
	return m
}

// Name is the namespace of the module's routes, jobs and permissions.
func (m *Module) Name() string { return "tickets" }

// DefaultEnabled: service tickets are on for every new company; a company may
// turn them off.
func (m *Module) DefaultEnabled() bool { return true }

// Permissions declares what roles may be granted.
func (m *Module) Permissions() []authz.Permission {
	return []authz.Permission{
		{Key: PermRead, Label: "See tickets and their conversations", LabelZH: "查看工单及其对话"},
		{Key: PermWrite, Label: "Create tickets, reply, add notes and change their status", LabelZH: "创建工单、回复、添加备注和更改状态"},
		{Key: PermManage, Label: "Manage the service desk: SLA policies, calendars, teams' availability and the public form", LabelZH: "管理客服中心：SLA 策略、工作日历、团队值班和公开表单"},
	}
}

// RecordKinds lets other modules link to tickets (tasks about a ticket): a
// ticket is linkable when the actor may read tickets and the ticket is within
// their scope. The row is locked against a concurrent removal.
func (m *Module) RecordKinds() []records.Kind {
	return []records.Kind{{Entity: EntityTickets, ReadPerm: PermRead,
		Visible: func(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID) error {
			if err := authz.Require(ctx, PermRead); err != nil {
				return err
			}
			_, err := scopedTicket(ctx, tx, tenant, id, true)
			return err
		}}}
}
