// Package forms is web-to-lead (网站获客表单): an admin builds a form from
// customer fields, Clientele hosts it (and a snippet embeds it in the
// company's site), and each submission creates or updates a customer matched
// by email or phone, notes it on the customer's timeline with its source and
// campaign, and may create a task for the owner or a deal in a chosen stage.
//
// The module knows customers only through records.Leads, tasks through
// records.FollowUps and deals through its own Deals interface, all passed in
// by cmd; it imports no other module.
package forms

import (
	"context"
	"log/slog"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/records"
)

// PermManage lets a member build forms and read their submissions. A form
// writes customers on behalf of anyone on the internet and its submissions
// hold what they sent, so it is an admin's power (as webhooks are).
const PermManage = "forms.manage"

// entityCustomers is the entity a form's custom fields belong to.
const entityCustomers = "customers"

// DealDraft is the deal a submission opens.
type DealDraft struct {
	Title    string
	Customer uuid.UUID
	Pipeline uuid.UUID
	Stage    uuid.UUID
	Owner    *uuid.UUID
	Source   string
}

// Deals opens deals for submissions without this module importing the sales
// funnel; cmd passes an adapter that also knows whether the company has the
// funnel on.
type Deals interface {
	// CheckStage refuses, as errs.Field at location, a stage that is not a
	// stage of the pipeline in the company, or a company with the funnel off.
	CheckStage(ctx context.Context, tenant, pipeline, stage uuid.UUID, location string) error
	// OpenDeal creates the deal in the caller's transaction; ok is false (and
	// nothing is made) when the company has turned the funnel off since.
	OpenDeal(ctx context.Context, tenant uuid.UUID, d DealDraft) (id uuid.UUID, ok bool, err error)
}

// Deps are what the module needs, built in cmd.
type Deps struct {
	DB        *bun.DB
	Members   authz.Directory   // checks a form's owner; nil skips the check (tests)
	Fields    *fields.Service   // the customers' custom fields a form may ask for; nil: none
	Leads     records.Leads     // customers (modules/profiles)
	FollowUps records.FollowUps // tasks (modules/tasks); nil: forms cannot create tasks
	Deals     Deals             // the sales funnel; nil: forms cannot open deals
	// Limiter limits the public routes per client address and company; nil:
	// no limit (tests).
	Limiter httpx.Limiter
	// PublicURL is the app's address, for the hosted page's link and snippet.
	PublicURL string
	Log       *slog.Logger
}

// Module is the forms module.
type Module struct{ d Deps }

// New builds the module.
func New(d Deps) *Module {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Module{d: d}
}

// Name is the namespace of the module's routes, migrations and permissions.
func (m *Module) Name() string { return "forms" }

// DefaultEnabled: forms are on for every company; a company may turn them
// off, and the hosted pages then answer 404.
func (m *Module) DefaultEnabled() bool { return true }

// Permissions declares what roles may be granted.
func (m *Module) Permissions() []authz.Permission {
	return []authz.Permission{{Key: PermManage, Label: "Build web-to-lead forms and read their submissions", LabelZH: "创建网站获客表单并查看提交记录", AdminOnly: true}}
}

// APITags describes the module's tags.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{
		{Name: "lead-forms", Description: "Web-to-lead forms (网站获客表单): the builder, the hosted page and its snippet, and submissions with consent, source and UTM parameters. See docs/forms.md."},
		{Name: "lead-form-fields", Description: "The customer fields a lead form may ask for."},
	}
}

var _ records.Dependent = (*Module)(nil)

// RecordsRemoved drops the submissions of customers removed for good: what a
// person sent goes with them (an erasure request takes it too).
func (m *Module) RecordsRemoved(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, ids []uuid.UUID) error {
	if entity != entityCustomers || len(ids) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM lead_form_submissions WHERE tenant_id = ? AND customer_id IN (?)", tenant, bun.In(ids))
	return err
}

// RecordsMerged moves the submissions of merged customers to the survivor.
func (m *Module) RecordsMerged(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, from []uuid.UUID, into uuid.UUID) error {
	if entity != entityCustomers || len(from) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, "UPDATE lead_form_submissions SET customer_id = ? WHERE tenant_id = ? AND customer_id IN (?)", into, tenant, bun.In(from))
	return err
}
