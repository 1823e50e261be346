package funnel

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/records"
)

var _ records.Timeline = (*Module)(nil)

// CustomerTimeline gives the customers module a customer's deals for its
// timeline: every stage a deal entered (its creation, its moves, its win or
// loss), from the stage history, for the live deals in the actor's scope.
// An actor who may not read deals gets none.
func (m *Module) CustomerTimeline(ctx context.Context, tx bun.Tx, tenant, customer uuid.UUID, q records.TimelineQuery) ([]records.TimelineEntry, error) {
	if authz.Require(ctx, PermRead) != nil {
		return nil, nil
	}
	if q.Limit <= 0 || q.Limit > 201 {
		q.Limit = 51
	}
	var rows []struct {
		ID      uuid.UUID  `bun:"id"`
		At      time.Time  `bun:"entered_at"`
		By      *uuid.UUID `bun:"entered_by"`
		DealID  uuid.UUID  `bun:"deal_id"`
		Title   string     `bun:"title"`
		StageEN string     `bun:"name_en"`
		StageZH string     `bun:"name_zh"`
		Kind    string     `bun:"kind"`
		First   bool       `bun:"first"`
		Amount  string     `bun:"amount"`
		Cur     string     `bun:"currency"`
	}
	sq := tx.NewSelect().TableExpr("deal_stage_history AS h").
		Join("JOIN deals AS d ON d.tenant_id = h.tenant_id AND d.id = h.deal_id").
		Join("LEFT JOIN pipeline_stages AS s ON s.tenant_id = h.tenant_id AND s.id = h.stage_id").
		ColumnExpr("h.id, h.entered_at, h.entered_by, h.deal_id, d.title, coalesce(s.name_en, '') AS name_en, coalesce(s.name_zh, '') AS name_zh, coalesce(s.kind, '') AS kind").
		ColumnExpr("NOT EXISTS (SELECT 1 FROM deal_stage_history p WHERE p.tenant_id = h.tenant_id AND p.deal_id = h.deal_id AND p.entered_at < h.entered_at) AS first").
		ColumnExpr("h.entry_amount::text AS amount, h.currency").
		Where("h.tenant_id = ? AND d.customer_id = ? AND d.deleted_at IS NULL", tenant, customer)
	if !q.From.IsZero() {
		sq = sq.Where("h.entered_at >= ?", q.From)
	}
	if !q.To.IsZero() {
		sq = sq.Where("h.entered_at < ?", q.To)
	}
	if !q.BeforeAt.IsZero() {
		sq = sq.Where("(h.entered_at, h.id) < (?, ?)", q.BeforeAt, q.BeforeID)
	}
	if err := inScope(ctx, sq, "d.owner_id").OrderExpr("h.entered_at DESC, h.id DESC").Limit(q.Limit).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("funnel: customer timeline: %w", err)
	}
	out := make([]records.TimelineEntry, len(rows))
	for i, r := range rows {
		stage := r.StageEN
		if r.StageZH != "" && r.StageZH != r.StageEN {
			stage += " · " + r.StageZH
		}
		var summary string
		switch {
		case r.First:
			summary = fmt.Sprintf("New deal 新商机: %s (%s)", r.Title, stage)
		case r.Kind == KindWon:
			summary = fmt.Sprintf("Deal won 赢单: %s", r.Title)
		case r.Kind == KindLost:
			summary = fmt.Sprintf("Deal lost 输单: %s", r.Title)
		default:
			summary = fmt.Sprintf("Deal moved to %s 商机推进: %s", stage, r.Title)
		}
		amount, cur := r.Amount, r.Cur
		out[i] = records.TimelineEntry{ID: r.ID, At: r.At, Kind: "deal", Summary: summary, ActorID: r.By,
			Amount: &amount, Currency: &cur, Link: "/deals?deal=" + r.DealID.String()}
	}
	return out, nil
}
