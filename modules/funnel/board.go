package funnel

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Board is a pipeline as columns: each stage with its figures and the first
// page of its deals in position order. A column loads more through the deal
// list (stage_id, sort=position, the column's next_cursor).
type Board struct {
	Pipeline *Pipeline     `json:"pipeline"`
	Columns  []BoardColumn `json:"columns"`
}

// BoardColumn is one stage on the board. Its figures count every deal of the stage
// the filter and the actor's scope let through, not only the page shown.
type BoardColumn struct {
	StageID    uuid.UUID    `json:"stage_id"`
	Count      int          `json:"count"`
	Rotting    int          `json:"rotting" doc:"deals unchanged for longer than the stage's rotting limit"`
	Totals     []BoardTotal `json:"totals" doc:"sums per currency; conversion into the company's base currency comes with the exchange rates"`
	Deals      []Deal       `json:"deals"`
	NextCursor string       `json:"next_cursor,omitempty" doc:"more of the column: list deals with stage_id, sort=position and this cursor"`
}

// BoardTotal is a column's sum in one currency, and the sum weighted by the
// stage's probability.
type BoardTotal struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount" bun:"amount"`
	Weighted string `json:"weighted" bun:"weighted"`
}

// LoadBoard returns a pipeline's board: per stage the count, the rotting
// count and the totals of the deals f lets through, and the first limit of
// them in position order. One transaction, so the figures and the pages agree.
func (m *Module) LoadBoard(ctx context.Context, tenant, pipeline uuid.UUID, f Filter, limit int) (*Board, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	f.Pipeline, f.Stages, f.Sort, f.Cursor, f.Limit = &pipeline, nil, "position", "", limit
	b := &Board{}
	err := m.inTx(ctx, tenant, PermRead, "board", func(ctx context.Context, tx bun.Tx) error {
		p, err := loadPipeline(ctx, tx, tenant, pipeline, false)
		if err != nil {
			return err
		}
		b.Pipeline = p
		var figures []struct {
			StageID  uuid.UUID `bun:"stage_id"`
			Currency string    `bun:"currency"`
			Count    int       `bun:"n"`
			Rotting  int       `bun:"rotting"`
			Amount   string    `bun:"amount"`
			Weighted string    `bun:"weighted"`
		}
		q, err := m.dealQuery(ctx, tx, tx.NewSelect().TableExpr("deals AS d"), tenant, f)
		if err != nil {
			return err
		}
		err = q.Join("JOIN pipeline_stages AS s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id").
			ColumnExpr("d.stage_id, d.currency, count(*) AS n").
			ColumnExpr("count(*) FILTER (WHERE s.rotting_days IS NOT NULL AND d.updated_at < now() - make_interval(days => s.rotting_days)) AS rotting").
			ColumnExpr("sum(d.amount)::text AS amount, round(sum(d.amount * s.probability / 100), 4)::text AS weighted").
			GroupExpr("d.stage_id, d.currency").OrderExpr("d.stage_id, d.currency").Scan(ctx, &figures)
		if err != nil {
			return err
		}
		b.Columns = make([]BoardColumn, len(p.Stages))
		at := map[uuid.UUID]*BoardColumn{}
		for i, s := range p.Stages {
			b.Columns[i] = BoardColumn{StageID: s.ID, Totals: []BoardTotal{}, Deals: []Deal{}}
			at[s.ID] = &b.Columns[i]
		}
		for _, x := range figures {
			if c := at[x.StageID]; c != nil {
				c.Count += x.Count
				c.Rotting += x.Rotting
				c.Totals = append(c.Totals, BoardTotal{Currency: x.Currency, Amount: x.Amount, Weighted: x.Weighted})
			}
		}
		for i := range b.Columns {
			c := &b.Columns[i]
			if c.Count == 0 {
				continue
			}
			cf := f
			cf.Stages = []uuid.UUID{c.StageID}
			if c.Deals, c.NextCursor, err = m.listPage(ctx, tx, tenant, cf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}
