package funnel

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/views"
)

// Permissions of the module. Deals follow the own / team / all scope of the
// actor's role by their owner, as customers do. Shaping the pipelines (stages,
// their order, deleting one and moving its deals) and the lost reasons changes
// every seller's board, so it is a permission of its own.
const (
	PermRead   = "deals.read"
	PermWrite  = "deals.write"
	PermManage = "deals.manage"
)

// EntityDeals is the entity of deals: the key of their custom fields, saved
// views and the records other modules link to (tasks about a deal).
const EntityDeals = "deals"

// entityCustomers is the entity of customers (modules/profiles), whose merges
// deals follow.
const entityCustomers = "customers"

// Deps are what the module needs, built in cmd.
type Deps struct {
	DB      *bun.DB
	Events  *events.Bus
	Members authz.Directory // checks owners; nil skips the check (tests)
	Fields  *fields.Service // custom fields of deals; nil: none
	Views   *views.Service  // saved views of deals; nil: none
	// Records is told, in the same transaction, when deals are removed, so
	// what other modules keep about them (tasks) follows; nil: none.
	Records *records.Registry
	// Lifecycle moves a deal's customer on: a lead becomes a prospect when
	// a deal is made for it, and a customer when a deal is won; nil: no one
	// moves.
	Lifecycle records.Lifecycle
	// Notify tells owners about their rotting deals; nil: nobody is told.
	Notify notify.Notifier
	Log    *slog.Logger
}

// Module is the funnel module.
type Module struct {
	d      Deps
	custom *fields.Binding // deals' custom fields; nil without the fields service
	// planLimits and planTrace reach the kernel's list plans (tests).
	planLimits fields.Limits
	planTrace  func(fields.Step)
}

// New builds the module.
func New(d Deps) *Module {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Module{d: d, custom: d.Fields.Bind(EntityDeals)}
}

// Name is the module's namespace: its migration folder and job prefix.
func (m *Module) Name() string { return "funnel" }

// DefaultEnabled: the funnel is on for every new company, and may be turned off.
func (m *Module) DefaultEnabled() bool { return true }

// Permissions declares what roles may be granted.
func (m *Module) Permissions() []authz.Permission {
	return []authz.Permission{
		{Key: PermRead, Label: "See deals and pipelines", LabelZH: "查看商机和销售流程"},
		{Key: PermWrite, Label: "Create, change, move and delete deals", LabelZH: "创建、修改、移动和删除商机"},
		{Key: PermManage, Label: "Set up pipelines, stages and lost reasons", LabelZH: "设置销售流程、阶段和输单原因", AdminOnly: true},
	}
}

// Provision gives a new company the default pipeline and lost reasons, in its
// signup transaction. The SQL function is the one the module's migration ran
// for the companies that existed then.
func (m *Module) Provision(ctx context.Context, tx bun.Tx, tenant uuid.UUID) error {
	_, err := tx.ExecContext(ctx, "SELECT funnel_provision(?)", tenant)
	return err
}

// RecordKinds lets other modules link to deals (tasks about a deal): a deal is
// linkable when it is not deleted and the actor may read it and sees its
// owner. The row is locked against a concurrent delete.
func (m *Module) RecordKinds() []records.Kind {
	return []records.Kind{{Entity: EntityDeals, ReadPerm: PermRead,
		Visible: func(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID) error {
			if err := authz.Require(ctx, PermRead); err != nil {
				return err
			}
			_, err := scopedDeal(ctx, tx, tenant, id, true)
			return err
		}}}
}

// RecordsMerged implements records.Dependent: when customers are merged, their
// deals move to the customer kept, in the merge's transaction, so none is left
// pointing at a merged-away customer; each moved deal gets an audit row and a
// deal.updated event.
func (m *Module) RecordsMerged(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, from []uuid.UUID, into uuid.UUID) error {
	if entity != entityCustomers {
		return nil
	}
	var moved []struct {
		ID   uuid.UUID `bun:"id"`
		From uuid.UUID `bun:"old"`
	}
	err := tx.NewRaw(`UPDATE deals d SET customer_id = ?, version = d.version + 1, updated_at = now() FROM deals o
		WHERE d.tenant_id = ? AND d.customer_id IN (?) AND o.tenant_id = d.tenant_id AND o.id = d.id RETURNING d.id, o.customer_id AS old`,
		into, tenant, bun.In(from)).Scan(ctx, &moved)
	if err != nil {
		return err
	}
	for _, x := range moved {
		if err := audit.Record(ctx, tx, audit.Entry{Action: "deal.update", Entity: "deal", EntityID: x.ID.String(),
			Before: map[string]any{"customer_id": x.From}, After: map[string]any{"customer_id": into, "merged": true}}); err != nil {
			return err
		}
		m.publish(ctx, "deal.updated", x.ID)
	}
	return nil
}

// RecordsRemoved implements records.Dependent: customers removed for good
// (an erase, a reverted import) take their deals with them, live or deleted,
// with the deals' custom-field index rows, and the registry is told so tasks
// about those deals follow. The owner calls it before deleting the customers,
// whose foreign key from deals would refuse the delete otherwise.
func (m *Module) RecordsRemoved(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, ids []uuid.UUID) error {
	if entity != entityCustomers {
		return nil
	}
	var deals []uuid.UUID
	if err := tx.NewRaw("SELECT id FROM deals WHERE tenant_id = ? AND customer_id IN (?) FOR UPDATE", tenant, bun.In(ids)).Scan(ctx, &deals); err != nil {
		return err
	}
	if len(deals) == 0 {
		return nil
	}
	for _, id := range deals {
		if err := m.custom.DeleteIndex(ctx, tx, tenant, id); err != nil {
			return err
		}
	}
	if err := uncount(ctx, tx, tenant, deals...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM deals WHERE tenant_id = ? AND id IN (?)", tenant, bun.In(deals)); err != nil {
		return err
	}
	for _, id := range deals {
		if err := audit.Record(ctx, tx, audit.Entry{Action: "deal.remove", Entity: "deal", EntityID: id.String(),
			Before: map[string]any{"deleted": false}, After: map[string]any{"removed_with_customer": true}}); err != nil {
			return err
		}
		m.publish(ctx, "deal.deleted", id)
	}
	return m.d.Records.Removed(ctx, tx, tenant, EntityDeals, deals)
}

// Lifecycle stages of customers a deal moves its customer out of.
var (
	beforeProspect = []string{"lead"}
	beforeCustomer = []string{"lead", "prospect", "at_risk", "churned"}
)

// advanceCustomer moves a deal's customer on, in the deal's transaction:
// to customer when the deal is won, else to prospect from lead.
func (m *Module) advanceCustomer(ctx context.Context, tx bun.Tx, tenant, customer uuid.UUID, won bool) error {
	if m.d.Lifecycle == nil {
		return nil
	}
	if won {
		return m.d.Lifecycle.AdvanceLifecycle(ctx, tx, tenant, customer, beforeCustomer, "customer")
	}
	return m.d.Lifecycle.AdvanceLifecycle(ctx, tx, tenant, customer, beforeProspect, "prospect")
}

func (m *Module) publish(ctx context.Context, topic string, id uuid.UUID) {
	m.d.Events.Publish(ctx, events.Event{Topic: topic, EntityID: id.String()})
}
