package funnel

import (
	"context"
	"math/big"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Board is a pipeline as columns: each stage with its figures and the first
// page of its deals in position order. A column loads more through the deal
// list (stage_id, sort=position, the column's next_cursor).
type Board struct {
	Pipeline *Pipeline     `json:"pipeline"`
	Currency string        `json:"currency" doc:"the company's currency, which every column's amount and weighted are in"`
	Rates    []RateUsed    `json:"rates" doc:"the exchange rates the conversions used: each deal converts with the rate in force on its expected close date (today, in the company's time zone, when it has none)"`
	Columns  []BoardColumn `json:"columns"`
}

// BoardColumn is one stage on the board. Its figures count every deal of the stage
// the filter and the actor's scope let through, not only the page shown.
type BoardColumn struct {
	StageID    uuid.UUID    `json:"stage_id"`
	Count      int          `json:"count"`
	Rotting    int          `json:"rotting" doc:"deals unchanged for longer than the stage's rotting limit"`
	Amount     string       `json:"amount" doc:"the sum of the column's deals in the company's currency"`
	Weighted   string       `json:"weighted" doc:"the sum weighted by the stage's probability, in the company's currency"`
	Totals     []BoardTotal `json:"totals" doc:"the sums in each deal currency, before conversion"`
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
// Every figure is also converted into the company's currency, each deal with
// the rate in force on its expected close date; a missing rate is a 409
// naming the currency.
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
		rates, loc, err := loadMoney(ctx, tx, tenant)
		if err != nil {
			return err
		}
		base := rates.Base
		today := time.Now().In(loc).Format("2006-01-02")
		b.Currency = base
		var figures []struct {
			StageID  uuid.UUID `bun:"stage_id"`
			Currency string    `bun:"currency"`
			Day      *Date     `bun:"on_day"`
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
			ColumnExpr("CASE WHEN d.currency = ? THEN NULL ELSE coalesce(d.expected_close, ?::date) END AS on_day", base, today).
			ColumnExpr("count(*) FILTER (WHERE s.rotting_days IS NOT NULL AND d.updated_at < now() - make_interval(days => s.rotting_days)) AS rotting").
			ColumnExpr("sum(d.amount)::text AS amount, sum(d.amount * s.probability / 100)::text AS weighted").
			GroupExpr("d.stage_id, d.currency, on_day").OrderExpr("d.stage_id, d.currency, on_day").Scan(ctx, &figures)
		if err != nil {
			return err
		}
		type sums struct {
			amount, weighted money
			byCur            map[string]*[2]money
			curs             []string
		}
		per := map[uuid.UUID]*sums{}
		b.Columns = make([]BoardColumn, len(p.Stages))
		at := map[uuid.UUID]*BoardColumn{}
		for i, s := range p.Stages {
			b.Columns[i] = BoardColumn{StageID: s.ID, Totals: []BoardTotal{}, Deals: []Deal{}}
			at[s.ID] = &b.Columns[i]
		}
		for _, x := range figures {
			c := at[x.StageID]
			if c == nil {
				continue
			}
			day := Date(today)
			if x.Day != nil {
				day = *x.Day
			}
			f, err := rates.At(x.Currency, day)
			if err != nil {
				return err
			}
			s := per[x.StageID]
			if s == nil {
				s = &sums{byCur: map[string]*[2]money{}}
				per[x.StageID] = s
			}
			s.amount.add(x.Amount, f)
			s.weighted.add(x.Weighted, f)
			one := big.NewRat(1, 1)
			t := s.byCur[x.Currency]
			if t == nil {
				t = &[2]money{}
				s.byCur[x.Currency] = t
				s.curs = append(s.curs, x.Currency)
			}
			t[0].add(x.Amount, one)
			t[1].add(x.Weighted, one)
			c.Count += x.Count
			c.Rotting += x.Rotting
		}
		for i := range b.Columns {
			c := &b.Columns[i]
			s := per[c.StageID]
			if s == nil {
				c.Amount, c.Weighted = "0.0000", "0.0000"
				continue
			}
			c.Amount, c.Weighted = s.amount.String(), s.weighted.String()
			for _, cur := range s.curs {
				t := s.byCur[cur]
				c.Totals = append(c.Totals, BoardTotal{Currency: cur, Amount: t[0].String(), Weighted: t[1].String()})
			}
		}
		b.Rates = rates.Used()
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
