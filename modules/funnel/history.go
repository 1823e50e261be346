package funnel

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// StageStay is one stay of a deal in a stage: when it entered and left (nil
// while it is there), who moved it each time, and its amount at each moment.
// The analytics are computed from these rows.
type StageStay struct {
	bun.BaseModel `bun:"table:deal_stage_history,alias:h"`
	TenantID      uuid.UUID  `bun:"tenant_id,type:uuid" json:"-" xml:"-"`
	ID            uuid.UUID  `bun:"id,type:uuid" json:"id"`
	DealID        uuid.UUID  `bun:"deal_id,type:uuid" json:"deal_id"`
	PipelineID    uuid.UUID  `bun:"pipeline_id,type:uuid" json:"pipeline_id"`
	StageID       uuid.UUID  `bun:"stage_id,type:uuid" json:"stage_id"`
	EnteredAt     time.Time  `bun:"entered_at" json:"entered_at"`
	EnteredBy     *uuid.UUID `bun:"entered_by,type:uuid" json:"entered_by,omitempty" doc:"who created or moved the deal into the stage"`
	EntryAmount   string     `bun:"entry_amount" json:"entry_amount" doc:"the deal's amount when it entered"`
	ExitedAt      *time.Time `bun:"exited_at" json:"exited_at,omitempty" doc:"absent while the deal is in the stage"`
	ExitedBy      *uuid.UUID `bun:"exited_by,type:uuid" json:"exited_by,omitempty"`
	ExitAmount    *string    `bun:"exit_amount" json:"exit_amount,omitempty" doc:"the deal's amount when it left"`
	Currency      string     `bun:"currency" json:"currency"`
}

// DealHistory returns every stage a deal the actor may see entered and left,
// oldest first.
func (m *Module) DealHistory(ctx context.Context, tenant, id uuid.UUID) ([]StageStay, error) {
	out := []StageStay{}
	err := m.inTx(ctx, tenant, PermRead, "deal", func(ctx context.Context, tx bun.Tx) error {
		if _, err := scopedDeal(ctx, tx, tenant, id, false); err != nil {
			return err
		}
		return tx.NewSelect().Model(&out).Where("h.tenant_id = ? AND h.deal_id = ?", tenant, id).OrderExpr("h.entered_at, h.id").Scan(ctx)
	})
	return out, err
}
