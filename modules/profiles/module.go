// Package profiles is the customer record (客户档案): people and companies, their
// contacts, tags, lifecycle, owner and custom fields, with search that works for
// Chinese names from one character up and for email and phone prefixes, all under
// row-level security.
package profiles

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/fields"
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
	Jobs    Enqueuer        // reminders; nil disables them
	Members authz.Directory // checks owners and assignees; nil skips the check (tests)
	Mail    MemberMailer    // reminder emails; nil sends none
	Fields  *fields.Service // custom fields of customers; nil: none
	Views   *views.Service  // saved views (segments) of customers; nil: none
	Log     *slog.Logger
}

// MemberMailer emails a member of a tenant (tenants knows their address).
type MemberMailer interface {
	MailMember(ctx context.Context, tenant, member uuid.UUID, subject, text string) error
}

// Module is the profiles module.
type Module struct {
	d      Deps
	custom *fields.Binding // customers' custom fields; nil without the fields service
}

// New builds the module.
func New(d Deps) *Module {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Module{d: d, custom: d.Fields.Bind(EntityCustomers)}
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
		{Key: PermErase, Label: "Erase a person's data (GDPR/PIPL)", LabelZH: "彻底删除个人数据（GDPR/个保法）"},
	}
}
