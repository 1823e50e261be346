package profiles

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// PermErase is needed to erase a person for GDPR/PIPL.
const PermErase = "profiles.erase"

// Erase removes a person for good: the row, their timeline, tasks, search terms
// and contacts; and it anonymises their personal data in the audit history, which
// keeps who did what and when, but no longer what the values were.
func (m *Module) Erase(ctx context.Context, tenant, id uuid.UUID) error {
	if err := authz.Require(ctx, PermErase); err != nil {
		return err
	}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		c, err := scopedCustomer(ctx, tx, tenant, id, anyState, true)
		if err != nil {
			return err
		}
		if c.Kind != "person" {
			return errs.E(errs.Conflict, "Only a person can be erased; delete a company instead.")
		}
		if err := deleteSearchRows(ctx, tx, tenant, []uuid.UUID{id}); err != nil {
			return err
		}
		// Others' rows about the customer go first: some hold a foreign key
		// to it (deals), which the delete would otherwise break.
		if err := m.d.Records.Removed(ctx, tx, tenant, EntityCustomers, []uuid.UUID{id}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = ? AND id = ?", tenant, id); err != nil {
			return err
		}
		if err := m.custom.DeleteIndex(ctx, tx, tenant, id); err != nil {
			return err
		}
		// Keep the shape of the history (action, actor, time), drop the values.
		if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET diff = (SELECT coalesce(jsonb_object_agg(k, '{"from":"[erased]","to":"[erased]"}'::jsonb), '{}'::jsonb) FROM jsonb_object_keys(diff) k)
			WHERE tenant_id = ? AND entity = 'customer' AND entity_id = ?`, tenant, id.String()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "customer.erase", Entity: "customer", EntityID: id.String(),
			After: map[string]any{"erased": true}})
	})
	if err != nil {
		return db.Classify(err, "customer")
	}
	m.publish(ctx, "customer.deleted", id)
	return nil
}

func (m *Module) eraseRoutes(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "erase-customer", Method: http.MethodPost, Path: "/customers/{id}/erase", DefaultStatus: 204,
		Summary: "Erase a person (GDPR/PIPL)", Description: "Hard delete with their timeline and tasks; their personal data in the audit history is anonymised. Needs profiles.erase.",
		Responses: httpx.Refusals(map[int]string{409: "The customer is a company; only a person can be erased."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.Erase(ctx, t.ID, in.ID)
		}))
}
