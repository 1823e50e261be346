package funnel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/module"
)

// DemoDealsPerStage is how many deals end in each stage of each demo
// pipeline.
const DemoDealsPerStage = 200

var _ module.DemoSeeder = (*Module)(nil)

var demoTitles = []string{"ERP 上线", "CRM rollout", "年度维保", "Cloud migration", "门店系统", "Data platform", "培训服务", "Security audit", "供应链咨询", "Mobile app"}

// SeedDemo gives the demo company a second pipeline (renewals) beside its
// default one and, in each, DemoDealsPerStage deals ending in every stage,
// with a year of stage history (won and lost deals closing across the
// year, open ones that entered their stage lately, some of them rotting), a
// share in a foreign currency with its exchange rate, among the demo
// customers and owned by the demo member. The deals and their history are
// written in two statements under RLS, in one transaction, so the seed takes
// a second and a run cut short leaves nothing. It writes nothing when the
// company has deals, or no customers to give them to.
func (m *Module) SeedDemo(ctx context.Context, d module.Demo) (bool, error) {
	ctx = authz.AsSystem(ctx)
	seeded := false
	err := db.InTenant(ctx, m.d.DB, d.Tenant, func(ctx context.Context, tx bun.Tx) error {
		var some bool
		if err := tx.NewRaw("SELECT EXISTS (SELECT 1 FROM deals WHERE tenant_id = ?)", d.Tenant).Scan(ctx, &some); err != nil || some {
			return err
		}
		var customers []uuid.UUID
		if err := tx.NewRaw("SELECT id FROM customers WHERE tenant_id = ? AND deleted_at IS NULL ORDER BY created_at, id LIMIT 500", d.Tenant).Scan(ctx, &customers); err != nil || len(customers) == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, "SELECT funnel_provision(?)", d.Tenant); err != nil {
			return err
		}
		pipes, err := m.ListPipelines(ctx, d.Tenant)
		if err != nil {
			return err
		}
		if len(pipes) == 1 {
			p, err := m.CreatePipeline(ctx, d.Tenant, PipelineInput{Names: Names{NameEN: "Renewals", NameZH: "续约"}})
			if err != nil {
				return err
			}
			pipes = append(pipes, *p)
		}
		var reasons []uuid.UUID
		if err := tx.NewRaw("SELECT id FROM deal_lost_reasons WHERE tenant_id = ? ORDER BY position", d.Tenant).Scan(ctx, &reasons); err != nil {
			return err
		}
		rates, _, err := loadMoney(ctx, tx, d.Tenant)
		if err != nil {
			return err
		}
		base := rates.Base
		// One foreign currency with a rate from before the history began.
		foreign, rate := "USD", "7.1"
		switch base {
		case "USD":
			foreign, rate = "EUR", "1.08"
		case "CNY":
		default:
			foreign = ""
		}
		now := time.Now().UTC().Truncate(time.Second)
		if foreign != "" {
			if _, err := tx.ExecContext(ctx, "INSERT INTO exchange_rates (tenant_id, id, base, currency, valid_from, rate) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
				d.Tenant, uuid.New(), base, foreign, now.AddDate(-2, 0, 0).Format("2006-01-02"), rate); err != nil {
				return err
			}
		}
		var owner *uuid.UUID
		if d.Owner != uuid.Nil {
			o := d.Owner
			owner = &o
		}
		rng := rand.New(rand.NewPCG(d.Seed, 16))
		var g demoRows
		for _, p := range pipes {
			var open []Stage
			for _, s := range p.Stages {
				if s.Kind == KindOpen {
					open = append(open, s)
				}
			}
			if len(open) == 0 {
				continue
			}
			for _, s := range p.Stages {
				for i := 0; i < DemoDealsPerStage; i++ {
					g.deal(rng, p, open, s, i+1, now, customers, reasons, base, foreign)
				}
			}
		}
		if _, err := db.ExecStaged(ctx, tx, `INSERT INTO deals (tenant_id, id, title, customer_id, amount, currency, expected_close, owner_id, pipeline_id, stage_id, position,
			source, lost_reason_id, won_at, lost_at, version, stage_entered_at, created_by, created_at, updated_at)
			SELECT ?, v.id::uuid, v.title, v.customer::uuid, v.amount::numeric, v.currency, v.close::date, ?, v.pipeline::uuid, v.stage::uuid, v.position::numeric,
			'demo', NULLIF(v.reason, '')::uuid, NULLIF(v.won, '')::timestamptz, NULLIF(v.lost, '')::timestamptz, 1, v.entered::timestamptz, ?, v.created::timestamptz, v.updated::timestamptz
			FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
			AS v (id, title, customer, amount, currency, close, pipeline, stage, position, reason, won, lost, entered, created, updated)`,
			d.Tenant, owner, owner, pgdialect.Array(g.id), pgdialect.Array(g.title), pgdialect.Array(g.customer), pgdialect.Array(g.amount), pgdialect.Array(g.currency),
			pgdialect.Array(g.close), pgdialect.Array(g.pipeline), pgdialect.Array(g.stage), pgdialect.Array(g.position), pgdialect.Array(g.reason),
			pgdialect.Array(g.won), pgdialect.Array(g.lost), pgdialect.Array(g.entered), pgdialect.Array(g.created), pgdialect.Array(g.updated)); err != nil {
			return fmt.Errorf("funnel: demo deals: %w", err)
		}
		if _, err := db.ExecStaged(ctx, tx, `INSERT INTO deal_stage_history (tenant_id, deal_id, pipeline_id, stage_id, entered_at, entered_by, entry_amount, exited_at, exited_by, exit_amount, currency)
			SELECT ?, v.deal::uuid, v.pipeline::uuid, v.stage::uuid, v.entered::timestamptz, ?, v.amount::numeric, NULLIF(v.exited, '')::timestamptz,
			CASE WHEN v.exited = '' THEN NULL ELSE ?::uuid END, CASE WHEN v.exited = '' THEN NULL ELSE v.amount::numeric END, v.currency
			FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS v (deal, pipeline, stage, entered, exited, amount, currency)`,
			d.Tenant, owner, owner, pgdialect.Array(g.hDeal), pgdialect.Array(g.hPipeline), pgdialect.Array(g.hStage), pgdialect.Array(g.hIn), pgdialect.Array(g.hOut),
			pgdialect.Array(g.hAmount), pgdialect.Array(g.hCurrency)); err != nil {
			return fmt.Errorf("funnel: demo history: %w", err)
		}
		if err := computeAnalytics(ctx, tx, d.Tenant); err != nil {
			return err
		}
		seeded = true
		return nil
	})
	return seeded, err
}

// demoRows are the demo's deals and stays as columns, for two INSERT ...
// SELECT unnest statements.
// Every value is text ("" for NULL), cast in the statement.
type demoRows struct {
	id, customer, pipeline, stage, reason    []string
	title, amount, currency, close, position []string
	won, lost, entered, created, updated     []string
	hDeal, hPipeline, hStage, hIn, hOut      []string
	hAmount, hCurrency                       []string
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// deal adds one deal ending in stage `end`: it starts in the first open
// stage and walks the open stages up to end (or to a random one before a
// won or lost end), spending days in each; closed deals close across the
// last year, open ones arrived in their stage within the last weeks, and one
// in eight of those has had no activity past the stage's rotting limit.
func (g *demoRows) deal(rng *rand.Rand, p Pipeline, open []Stage, end Stage, pos int, now time.Time,
	customers, reasons []uuid.UUID, base, foreign string) {
	id := uuid.New()
	path := open
	switch end.Kind {
	case KindOpen:
		for i, s := range open {
			if s.ID == end.ID {
				path = open[:i+1]
			}
		}
	default:
		path = open[:1+rng.IntN(len(open))]
	}
	steps := len(path)
	if end.Kind != KindOpen {
		steps++
	}
	// When it reaches its last stage: closed ones across the year, open ones
	// lately; the earlier stays come before, a few days to weeks each.
	var last time.Time
	if end.Kind == KindOpen {
		last = now.Add(-time.Duration(rng.IntN(20*24)+1) * time.Hour)
		if rng.IntN(8) == 0 && end.RottingDays != nil {
			last = now.AddDate(0, 0, -(*end.RottingDays + 1 + rng.IntN(20)))
		}
	} else {
		last = now.Add(-time.Duration(rng.IntN(360*24)+1) * time.Hour)
	}
	times := make([]time.Time, steps)
	times[steps-1] = last
	for i := steps - 2; i >= 0; i-- {
		times[i] = times[i+1].Add(-time.Duration(24+rng.IntN(21*24)) * time.Hour)
	}
	currency := base
	if foreign != "" && rng.IntN(10) == 0 {
		currency = foreign
	}
	amount := fmt.Sprintf("%d.00", (5+rng.IntN(500))*1000)
	var close string
	switch end.Kind {
	case KindOpen:
		close = now.AddDate(0, 0, 7+rng.IntN(150)).Format("2006-01-02")
	default:
		close = last.Format("2006-01-02")
	}
	var won, lost, reason string
	switch end.Kind {
	case KindWon:
		won = ts(last)
	case KindLost:
		lost = ts(last)
		if len(reasons) > 0 {
			reason = reasons[rng.IntN(len(reasons))].String()
		}
	}
	g.id = append(g.id, id.String())
	g.title = append(g.title, fmt.Sprintf("%s #%d", demoTitles[rng.IntN(len(demoTitles))], len(g.id)))
	g.customer = append(g.customer, customers[rng.IntN(len(customers))].String())
	g.amount = append(g.amount, amount)
	g.currency = append(g.currency, currency)
	g.close = append(g.close, close)
	g.pipeline = append(g.pipeline, p.ID.String())
	g.stage = append(g.stage, end.ID.String())
	g.position = append(g.position, fmt.Sprint(pos))
	g.reason = append(g.reason, reason)
	g.won = append(g.won, won)
	g.lost = append(g.lost, lost)
	g.entered = append(g.entered, ts(last))
	g.created = append(g.created, ts(times[0]))
	g.updated = append(g.updated, ts(last))
	stages := append([]Stage{}, path...)
	if end.Kind != KindOpen {
		stages = append(stages, end)
	}
	for i, s := range stages {
		var out string
		if i+1 < len(stages) {
			out = ts(times[i+1])
		}
		g.hDeal = append(g.hDeal, id.String())
		g.hPipeline = append(g.hPipeline, p.ID.String())
		g.hStage = append(g.hStage, s.ID.String())
		g.hIn = append(g.hIn, ts(times[i]))
		g.hOut = append(g.hOut, out)
		g.hAmount = append(g.hAmount, amount)
		g.hCurrency = append(g.hCurrency, currency)
	}
}
