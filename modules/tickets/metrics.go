package tickets

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/measures"
)

// ticketFacts are the columns of a ticket every tickets metric carries, for
// its dimensions: its present assignee, team, channel, priority, type,
// status and custom values.
const ticketFacts = "t.id AS subject, t.assignee_id AS assignee_id, t.team_id AS team_id, t.channel AS channel, " +
	"t.priority AS priority, t.type AS type, t.status AS status, t.custom AS custom"

var ticketDims = []measures.Dim{
	{Key: "channel", Expr: "f.channel"},
	{Key: "priority", Expr: "f.priority"},
	{Key: "type", Expr: "f.type"},
	{Key: "status", Expr: "f.status"},
}

// Measures are the metrics of the service desk, over the tickets the actor
// sees; a ticket merged into another is counted in the one it went to.
// Durations are in seconds, around the clock. CSAT is the mean rating (1 to
// 5) of the tickets rated in the period.
func (m *Module) Measures() []measures.Metric {
	metric := func(k, en, zh, den, dzh string, u measures.Unit, a measures.Agg, facts func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery) measures.Metric {
		return measures.Metric{Key: k, LabelEN: en, LabelZH: zh, DescEN: den, DescZH: dzh, Unit: u, Agg: a,
			Perm: PermRead, Owner: "assignee_id", Team: "team_id", Entity: EntityTickets, Dims: ticketDims, Facts: facts}
	}
	// The median and the 90th percentile of the same durations are one
	// sample: one sort of the values answers both.
	sample := func(name string, m measures.Metric) measures.Metric {
		m.Sample = name
		return m
	}
	tickets := func(ctx context.Context, tx bun.IDB, f measures.Frame, at string) *bun.SelectQuery {
		return visibleTickets(ctx, tx.NewSelect().TableExpr("tickets AS t").Where("t.tenant_id = ? AND t.merged_into_id IS NULL", f.Tenant)).
			ColumnExpr(ticketFacts).ColumnExpr(at+" AS t").Where(at+" >= ? AND "+at+" < ?", f.From, f.To)
	}
	created := func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
		return tickets(ctx, tx, f, "t.created_at")
	}
	responded := func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
		return tickets(ctx, tx, f, "t.first_responded_at").ColumnExpr("extract(epoch FROM t.first_responded_at - t.created_at) AS value")
	}
	solved := func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
		return tickets(ctx, tx, f, "t.solved_at").ColumnExpr("extract(epoch FROM t.solved_at - t.created_at) AS value")
	}
	return []measures.Metric{
		metric("tickets.tickets", "Tickets", "工单数", "Tickets opened in the period.", "周期内新建的工单。",
			measures.Count, measures.AggCount, created),
		sample("tickets.first_response", metric("tickets.first_response_p50", "First response time (median)", "首次响应时长（中位数）",
			"The median time to the first public reply, of the tickets first answered in the period (seconds).",
			"周期内首次回复的工单从创建到首次公开回复的时长中位数（秒）。",
			measures.Duration, measures.AggP50, responded)),
		sample("tickets.first_response", metric("tickets.first_response_p90", "First response time (90th percentile)", "首次响应时长（90 分位）",
			"The 90th percentile of the time to the first public reply, of the tickets first answered in the period (seconds).",
			"周期内首次回复的工单从创建到首次公开回复的时长的 90 分位数（秒）。",
			measures.Duration, measures.AggP90, responded)),
		sample("tickets.resolution", metric("tickets.resolution_p50", "Resolution time (median)", "解决时长（中位数）",
			"The median time from opening to solving, of the tickets solved in the period (seconds).",
			"周期内解决的工单从创建到解决的时长中位数（秒）。",
			measures.Duration, measures.AggP50, solved)),
		sample("tickets.resolution", metric("tickets.resolution_p90", "Resolution time (90th percentile)", "解决时长（90 分位）",
			"The 90th percentile of the time from opening to solving, of the tickets solved in the period (seconds).",
			"周期内解决的工单从创建到解决的时长的 90 分位数（秒）。",
			measures.Duration, measures.AggP90, solved)),
		metric("tickets.sla_compliance", "SLA compliance", "SLA 达成率",
			"Of the tickets with an SLA solved in the period, the share that met every target they had (first response and resolution).",
			"周期内解决且有 SLA 的工单中，达成全部目标（首次响应和解决）的比例。",
			measures.Percent, measures.AggRatio,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return tickets(ctx, tx, f, "t.solved_at").ColumnExpr("1 AS base").
					ColumnExpr(`CASE WHEN (t.resolution_due_at IS NULL OR t.solved_at <= t.resolution_due_at)
						AND (t.first_response_due_at IS NULL OR t.first_responded_at <= t.first_response_due_at) THEN 1 ELSE 0 END AS value`).
					Where("(t.resolution_due_at IS NOT NULL OR t.first_response_due_at IS NOT NULL)")
			}),
		metric("tickets.csat", "Satisfaction (CSAT)", "客户满意度（CSAT）",
			"The mean satisfaction rating, 1 to 5, of the tickets rated in the period.",
			"周期内评价的工单的平均满意度评分（1 至 5 分）。",
			measures.Score, measures.AggAvg,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return tickets(ctx, tx, f, "t.csat_rated_at").ColumnExpr("t.csat_rating AS value").Where("t.csat_rating IS NOT NULL")
			}),
		metric("tickets.complaints", "Complaints", "投诉数", "Tickets of the type complaint opened in the period.", "周期内新建的投诉类工单。",
			measures.Count, measures.AggCount,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return created(ctx, tx, f).Where("t.type = 'complaint'")
			}),
	}
}

// RollupTouch: a ticket's events change that ticket's facts; an import or
// its revert changes any.
func (m *Module) RollupTouch(topic string) (subject, whole bool) {
	switch {
	case strings.HasPrefix(topic, "ticket."):
		return true, false
	case topic == EntityTickets+".imported", topic == EntityTickets+".import_reverted":
		return false, true
	}
	return false, false
}
