package tickets

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/records"
)

// stillOpen are the statuses of a ticket still being worked on.
const stillOpen = "('new', 'open', 'pending', 'on_hold')"

// CustomerSignals gives the customers' churn risk (profiles) the service
// desk's view of each requester: tickets opened (activity), complaints still
// open, and service targets missed. Tickets merged into another count in the
// one they went to.
func (m *Module) CustomerSignals() []records.Signal {
	base := func(tx bun.IDB, tenant uuid.UUID, asOf time.Time) *bun.SelectQuery {
		return tx.NewSelect().TableExpr("tickets AS t").
			Where("t.tenant_id = ? AND t.merged_into_id IS NULL AND t.created_at <= ?", tenant, asOf)
	}
	return []records.Signal{
		{Kind: records.SignalActivity, Query: func(tx bun.IDB, tenant uuid.UUID, asOf time.Time) *bun.SelectQuery {
			return base(tx, tenant, asOf).ColumnExpr("t.requester_id AS customer_id, t.created_at AS at, NULL::numeric AS amount, NULL::text AS currency")
		}},
		{Kind: records.SignalOpenComplaint, Query: func(tx bun.IDB, tenant uuid.UUID, asOf time.Time) *bun.SelectQuery {
			return base(tx, tenant, asOf).ColumnExpr("t.requester_id AS customer_id, t.created_at AS at, NULL::numeric AS amount, NULL::text AS currency").
				Where("t.type = 'complaint' AND t.status IN " + stillOpen)
		}},
		{Kind: records.SignalSLABreach, Query: func(tx bun.IDB, tenant uuid.UUID, asOf time.Time) *bun.SelectQuery {
			// A target is missed when its due time passed before the reply
			// (or the solve) came, or passed with none yet; a paused clock
			// has not run out.
			const frMissed = "t.first_response_due_at < coalesce(t.first_responded_at, ?)"
			const resMissed = "t.resolution_due_at < coalesce(t.solved_at, CASE WHEN t.sla_paused_at IS NULL THEN ?::timestamptz END)"
			return base(tx, tenant, asOf).
				ColumnExpr("t.requester_id AS customer_id, least(CASE WHEN "+frMissed+" THEN t.first_response_due_at END, CASE WHEN "+resMissed+" THEN t.resolution_due_at END) AS at, NULL::numeric AS amount, NULL::text AS currency", asOf, asOf).
				Where("("+frMissed+" OR "+resMissed+")", asOf, asOf)
		}},
	}
}
