package profiles

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/records"
)

var _ records.Lifecycle = (*Module)(nil)

// AdvanceLifecycle implements records.Lifecycle: another module's event (a
// deal made or won) moves the customer on, with the history row, audit row
// and event an edit of the lifecycle writes. It is a consequence of what the
// actor did there, so it needs no right to edit customers, only a customer
// that is live.
func (m *Module) AdvanceLifecycle(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, from []string, to string) error {
	var cur string
	err := tx.NewRaw("SELECT lifecycle FROM customers WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL FOR UPDATE", tenant, id).Scan(ctx, &cur)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (cur == to || !slices.Contains(from, cur) || !lifecycles[to])) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE customers SET lifecycle = ?, updated_at = now() WHERE tenant_id = ? AND id = ?", to, tenant, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO customer_lifecycle_history (tenant_id, customer_id, from_stage, to_stage, changed_by) VALUES (?, ?, ?, ?, ?)",
		tenant, id, cur, to, authz.RequesterID(ctx)); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "customer.update", Entity: "customer", EntityID: id.String(),
		Before: map[string]any{"lifecycle": cur}, After: map[string]any{"lifecycle": to}}); err != nil {
		return err
	}
	m.publish(ctx, "customer.updated", id)
	return nil
}
