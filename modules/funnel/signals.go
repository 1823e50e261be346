package funnel

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/records"
)

// CustomerSignals gives the customers' scores (profiles) the deals: a won
// deal is a sale for RFM, and any deal's last move breaks a customer's
// silence. Deleted deals are left out.
func (m *Module) CustomerSignals() []records.Signal {
	return []records.Signal{
		{Kind: records.SignalSale, Query: func(tx bun.IDB, tenant uuid.UUID, asOf time.Time) *bun.SelectQuery {
			return tx.NewSelect().TableExpr("deals AS d").
				ColumnExpr("d.customer_id, d.won_at AS at, d.amount::numeric AS amount, d.currency::text AS currency").
				Where("d.tenant_id = ? AND d.deleted_at IS NULL AND d.won_at IS NOT NULL AND d.won_at <= ?", tenant, asOf)
		}},
		{Kind: records.SignalActivity, Query: func(tx bun.IDB, tenant uuid.UUID, asOf time.Time) *bun.SelectQuery {
			return tx.NewSelect().TableExpr("deals AS d").
				ColumnExpr("d.customer_id, least(greatest(d.created_at, d.stage_entered_at, d.won_at, d.lost_at), ?) AS at, NULL::numeric AS amount, NULL::text AS currency", asOf).
				Where("d.tenant_id = ? AND d.deleted_at IS NULL AND d.created_at <= ?", tenant, asOf)
		}},
	}
}
