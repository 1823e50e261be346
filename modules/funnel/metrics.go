package funnel

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/measures"
)

// dealFacts are the columns of a deal every funnel metric carries, for its
// dimensions: the deal's present owner, pipeline, stage, source, tags and
// custom values.
const dealFacts = "d.id AS subject, d.owner_id AS owner_id, d.pipeline_id AS pipeline_id, d.stage_id AS stage_id, " +
	"d.source AS source, d.tags AS tags, d.custom AS custom"

var dealDims = []measures.Dim{
	{Key: "pipeline", Expr: "f.pipeline_id::text"},
	{Key: "stage", Expr: "f.stage_id::text"},
	{Key: "source", Expr: "nullif(f.source, '')"},
	{Key: "tag", Expr: "f.tags", Multi: true},
}

// Measures are the metrics of the sales funnel. Deleted deals are left out;
// dimensions are the deals' present values. Money counts deals in the
// company's currency only.
func (m *Module) Measures() []measures.Metric {
	metric := func(k, en, zh, den, dzh string, u measures.Unit, a measures.Agg, stock bool, facts func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery) measures.Metric {
		return measures.Metric{Key: k, LabelEN: en, LabelZH: zh, DescEN: den, DescZH: dzh, Unit: u, Agg: a, Stock: stock,
			Perm: PermRead, Owner: "owner_id", Entity: EntityDeals, Dims: dealDims, Facts: facts}
	}
	deals := func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
		return inScope(ctx, tx.NewSelect().TableExpr("deals AS d").Where("d.tenant_id = ? AND d.deleted_at IS NULL", f.Tenant), "d.owner_id").
			ColumnExpr(dealFacts)
	}
	// open gives the deals in the company's currency as open from their
	// creation until they are won or lost, with their stage's probability.
	open := func(value string) func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
		return func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
			return deals(ctx, tx, f).Join("JOIN pipeline_stages AS s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id").
				ColumnExpr("d.created_at AS since, least(d.won_at, d.lost_at) AS until").ColumnExpr(value+" AS value").Where("d.currency = ?", f.Currency)
		}
	}
	// won gives the deals won in the period.
	won := func(value string, money bool) func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
		return func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
			q := deals(ctx, tx, f).ColumnExpr("d.won_at AS t").ColumnExpr(value+" AS value").Where("d.won_at >= ? AND d.won_at < ?", f.From, f.To)
			if money {
				q = q.Where("d.currency = ?", f.Currency)
			}
			return q
		}
	}
	// ends gives the open deals' facts whose interval ends in the range:
	// those won or lost in it, found by those moments' indexes.
	ends := func(value string) func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
		return func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
			return open(value)(ctx, tx, f).Where("((d.won_at >= ? AND d.won_at < ?) OR (d.lost_at >= ? AND d.lost_at < ?))", f.From, f.To, f.From, f.To)
		}
	}
	interval := func(m measures.Metric) measures.Metric {
		m.Interval = true
		m.Ends = ends(map[string]string{"funnel.pipeline_value": "d.amount", "funnel.weighted_value": "d.amount * s.probability / 100.0"}[m.Key])
		return m
	}
	return []measures.Metric{
		metric("funnel.deals", "New deals", "新增商机", "Deals created in the period.", "周期内新建的商机。",
			measures.Count, measures.AggCount, false,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return deals(ctx, tx, f).ColumnExpr("d.created_at AS t").Where("d.created_at >= ? AND d.created_at < ?", f.From, f.To)
			}),
		interval(metric("funnel.pipeline_value", "Pipeline value", "在途商机金额", "The amount of the deals open at the end of the period.", "周期末未成交也未输单的商机金额合计。",
			measures.Money, measures.AggSum, true, open("d.amount"))),
		interval(metric("funnel.weighted_value", "Weighted pipeline value", "加权商机金额",
			"The amount of the deals open at the end of the period, each weighted by its stage's probability.",
			"周期末在途商机金额按所在阶段的赢单概率加权的合计。",
			measures.Money, measures.AggSum, true, open("d.amount * s.probability / 100.0"))),
		metric("funnel.won_revenue", "Won revenue", "赢单金额", "The amount of the deals won in the period.", "周期内赢单的商机金额合计。",
			measures.Money, measures.AggSum, false, won("d.amount", true)),
		metric("funnel.win_rate", "Win rate", "赢单率", "Of the deals won or lost in the period, the share won.", "周期内赢单或输单的商机中，赢单的比例。",
			measures.Percent, measures.AggRatio, false,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return deals(ctx, tx, f).ColumnExpr("coalesce(d.won_at, d.lost_at) AS t, 1 AS base").
					ColumnExpr("CASE WHEN d.won_at IS NOT NULL THEN 1 ELSE 0 END AS value").
					Where("coalesce(d.won_at, d.lost_at) >= ? AND coalesce(d.won_at, d.lost_at) < ?", f.From, f.To)
			}),
		metric("funnel.avg_deal_size", "Average deal size", "平均成交金额", "The mean amount of the deals won in the period.", "周期内赢单商机的平均金额。",
			measures.Money, measures.AggAvg, false, won("d.amount", true)),
		metric("funnel.stage_conversion", "Stage conversion", "阶段转化率",
			"Of the stays in a stage begun in the period, the share the deal left for a later open stage of its pipeline or for a won stage (by the stage of the stay).",
			"周期内进入某阶段的商机中，之后进入同一流程更靠后的进行中阶段或赢单阶段的比例（按所在阶段统计）。",
			measures.Percent, measures.AggRatio, false,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return inScope(ctx, tx.NewSelect().TableExpr("deal_stage_history AS h").
					Join("JOIN deals AS d ON d.tenant_id = h.tenant_id AND d.id = h.deal_id").
					Join("LEFT JOIN pipeline_stages AS hs ON hs.tenant_id = h.tenant_id AND hs.id = h.stage_id").
					Join(`LEFT JOIN LATERAL (SELECT ns.kind, ns.position, ns.pipeline_id FROM deal_stage_history AS n
						JOIN pipeline_stages AS ns ON ns.tenant_id = n.tenant_id AND ns.id = n.stage_id
						WHERE n.tenant_id = ? AND n.deal_id = h.deal_id AND n.entered_at >= h.exited_at AND n.id <> h.id
						ORDER BY n.entered_at, n.id LIMIT 1) AS nx ON true`, f.Tenant).
					Where("h.tenant_id = ? AND d.deleted_at IS NULL AND h.entered_at >= ? AND h.entered_at < ?", f.Tenant, f.From, f.To), "d.owner_id").
					ColumnExpr("h.entered_at AS t, 1 AS base, d.id AS subject, d.owner_id AS owner_id, h.pipeline_id AS pipeline_id, h.stage_id AS stage_id, " +
						"d.source AS source, d.tags AS tags, d.custom AS custom").
					ColumnExpr(`CASE WHEN h.exited_at IS NOT NULL AND (nx.kind = 'won' OR (nx.kind = 'open' AND nx.pipeline_id = h.pipeline_id
						AND nx.position > hs.position)) THEN 1 ELSE 0 END AS value`)
			}),
		metric("funnel.cycle_length", "Sales cycle length", "销售周期", "The mean time from creating a deal to winning it, of the deals won in the period (seconds).",
			"周期内赢单的商机从创建到赢单的平均时长（秒）。",
			measures.Duration, measures.AggAvg, false, won("extract(epoch FROM d.won_at - d.created_at)", false)),
	}
}

// RollupTouch: a deal's events change that deal's facts; an import or its
// revert changes any.
func (m *Module) RollupTouch(topic string) (subject, whole bool) {
	switch {
	case strings.HasPrefix(topic, "deal."):
		return true, false
	case topic == EntityDeals+".imported", topic == EntityDeals+".import_reverted":
		return false, true
	}
	return false, false
}

// ValueNames names the pipelines and stages a metric counts by id, in
// English and Chinese, for the reports BI renders on the server. Ids that
// are not uuids, or not the company's, are left out.
func (m *Module) ValueNames(ctx context.Context, tx bun.IDB, tenant uuid.UUID, dimension string, ids []string) (map[string][2]string, error) {
	table := ""
	switch dimension {
	case "stage":
		table = "pipeline_stages"
	case "pipeline":
		table = "pipelines"
	default:
		return map[string][2]string{}, nil // not a dimension of ids the funnel names
	}
	var keys []uuid.UUID
	for _, s := range ids {
		if id, err := uuid.Parse(s); err == nil {
			keys = append(keys, id)
		}
	}
	out := map[string][2]string{}
	if len(keys) == 0 {
		return out, nil
	}
	var rows []struct {
		ID     uuid.UUID `bun:"id"`
		NameEN string    `bun:"name_en"`
		NameZH string    `bun:"name_zh"`
	}
	if err := tx.NewSelect().TableExpr(table).Column("id", "name_en", "name_zh").
		Where("tenant_id = ? AND id IN (?)", tenant, bun.In(keys)).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("funnel: value names: %w", err)
	}
	for _, r := range rows {
		out[r.ID.String()] = [2]string{r.NameEN, r.NameZH}
	}
	return out, nil
}
