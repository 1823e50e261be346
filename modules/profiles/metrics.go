package profiles

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/measures"
)

// customerFacts are the columns of a customer every profiles metric carries,
// for its dimensions: the customer's present owner, lifecycle, source, tags,
// province, city, custom values, and the RFM segment and churn risk of the
// last scoring run (none before the first).
const customerFacts = "c.id AS subject, c.owner_id AS owner_id, c.lifecycle AS lifecycle, c.source AS source, c.tags AS tags, " +
	"c.address ->> 'province' AS province, c.address ->> 'city' AS city, c.custom AS custom, " +
	"cs.segment AS rfm_segment, cs.churn_risk AS churn_risk"

var customerDims = []measures.Dim{
	{Key: "lifecycle", Expr: "f.lifecycle"},
	{Key: "source", Expr: "nullif(f.source, '')"},
	{Key: "tag", Expr: "f.tags", Multi: true},
	{Key: "province", Expr: "nullif(f.province, '')"},
	{Key: "city", Expr: "nullif(f.city, '')"},
	{Key: "rfm_segment", Expr: "f.rfm_segment"},
	{Key: "churn_risk_band", Expr: "CASE WHEN f.churn_risk >= 70 THEN 'high' WHEN f.churn_risk >= 40 THEN 'medium' WHEN f.churn_risk IS NOT NULL THEN 'low' END"},
}

// activeStays joins to customers (c) their stays in an active stage: the
// history row that began each (h) and the next change (nx, none while it
// lasts), ordered by time then id as the stage at an instant is read.
//
// With a tenant, the next change is found on the tenant parameter rather
// than correlated on h.tenant_id (the same index scan on one node): in the
// rollups' statements Citus refused the correlated form beside the outer
// join ("outer joins and pseudoconstant quals"). Without (uuid.Nil) it is
// correlated, which the churn rate's join with the buckets needs on Citus
// (with the parameter it is a complex join Citus refuses).
func activeStays(q *bun.SelectQuery, tenant uuid.UUID) *bun.SelectQuery {
	q = q.Join("JOIN customer_lifecycle_history AS h ON h.tenant_id = c.tenant_id AND h.customer_id = c.id AND h.to_stage IN " + activeStages)
	on := "n.tenant_id = h.tenant_id"
	var args []any
	if tenant != uuid.Nil {
		on, args = "n.tenant_id = ?", []any{tenant}
	}
	return q.Join(`LEFT JOIN LATERAL (SELECT n.changed_at FROM customer_lifecycle_history AS n
			WHERE `+on+` AND n.customer_id = h.customer_id AND (n.changed_at, n.id) > (h.changed_at, h.id)
			ORDER BY n.changed_at, n.id LIMIT 1) AS nx ON true`, args...)
}

// movedToChurned holds for a history row h that moves a customer from
// another stage to churned.
const movedToChurned = "h.to_stage = 'churned' AND h.from_stage IS NOT NULL AND h.from_stage <> 'churned'"

// movedToChurnedAs is movedToChurned for the history row aliased a.
func movedToChurnedAs(a string) string { return strings.ReplaceAll(movedToChurned, "h.", a+".") }

// historyWithin keeps, unless the frame is every day, the customers (c)
// created or with a lifecycle change in it: those whose span rows may have
// a day in it.
func historyWithin(q *bun.SelectQuery, f measures.Frame) *bun.SelectQuery {
	if f.Unbounded() {
		return q
	}
	// The few customers of the frame first (each from its own index), then
	// theirs: not a test of every customer.
	return q.Where(`c.id IN (SELECT w.customer_id FROM customer_lifecycle_history AS w WHERE w.tenant_id = ? AND w.changed_at >= ? AND w.changed_at < ?
		UNION SELECT k.id FROM customers AS k WHERE k.tenant_id = ? AND k.created_at >= ? AND k.created_at < ?)`, f.Tenant, f.From, f.To, f.Tenant, f.From, f.To)
}

// activeStages are the stages of a customer who buys from the company.
const activeStages = "('customer', 'at_risk')"

// Measures are the metrics of customers and their purchases. Customers
// soft-deleted are left out; dimensions are the customers' present values.
// Money counts purchases in the company's currency only.
func (m *Module) Measures() []measures.Metric {
	type factsFn = func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery
	base := func(k, en, zh, den, dzh string, u measures.Unit, a measures.Agg, stock bool, facts factsFn, spans ...factsFn) measures.Metric {
		var sp factsFn
		if len(spans) > 0 {
			sp = spans[0]
		}
		return measures.Metric{Key: k, LabelEN: en, LabelZH: zh, DescEN: den, DescZH: dzh, Unit: u, Agg: a, Stock: stock,
			Perm: PermRead, Owner: "owner_id", Entity: EntityCustomers, Dims: customerDims, Facts: facts, Spans: sp,
			// "At-risk customers by owner" (the customer insights dashboard).
			Pairs: [][2]string{{"owner", "churn_risk_band"}}}
	}
	customers := func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
		return inScope(ctx, tx.NewSelect().TableExpr("customers AS c").
			Join("LEFT JOIN customer_scores AS cs ON cs.tenant_id = c.tenant_id AND cs.customer_id = c.id").
			Where("c.tenant_id = ? AND c.deleted_at IS NULL", f.Tenant), "c.owner_id")
	}
	purchases := append(append([]measures.Dim{}, customerDims...), measures.Dim{Key: "channel", Expr: "nullif(f.channel, '')"})
	purchaseFacts := func(money bool) func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
		return func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
			q := customers(ctx, tx, f).Join("JOIN interactions AS i ON i.tenant_id = c.tenant_id AND i.customer_id = c.id").
				ColumnExpr("i.occurred_at AS t, i.amount AS value, i.channel AS channel").ColumnExpr(customerFacts).
				Where("i.kind = 'purchase' AND i.occurred_at >= ? AND i.occurred_at < ?", f.From, f.To)
			if money {
				q = q.Where("i.currency = ?", f.Currency)
			}
			return q
		}
	}
	ms := []measures.Metric{
		base("profiles.customers", "Customers", "客户数",
			"Customers at the end of each period, by their present values (the distribution by lifecycle, source, tag, owner, province, city or a select field).",
			"每个周期末的客户数，按客户当前的属性分布（生命周期、来源、标签、负责人、省份、城市或单选字段）。",
			measures.Count, measures.AggCount, true,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return customers(ctx, tx, f).ColumnExpr("c.created_at AS since, NULL::timestamptz AS until").ColumnExpr(customerFacts)
			}),
		base("profiles.new_customers", "New customers", "新增客户",
			"Customers created in the period.", "周期内新建的客户。",
			measures.Count, measures.AggCount, false,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return customers(ctx, tx, f).ColumnExpr("c.created_at AS t").ColumnExpr(customerFacts).
					Where("c.created_at >= ? AND c.created_at < ?", f.From, f.To)
			}),
		base("profiles.active_customers", "Active customers", "活跃客户",
			"Customers whose lifecycle stage was customer or at risk at the end of the period.",
			"周期末生命周期阶段为“客户”或“有流失风险”的客户。",
			measures.Count, measures.AggCount, true,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				// Each stay in an active stage, until the next change.
				return activeStays(customers(ctx, tx, f), f.Tenant).ColumnExpr("h.changed_at AS since, nx.changed_at AS until").ColumnExpr(customerFacts)
			}),
		base("profiles.churned_customers", "Churned customers", "流失客户",
			"Customers who moved to the churned stage in the period.", "周期内转入“已流失”阶段的客户。",
			measures.Count, measures.AggDistinct, false,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return customers(ctx, tx, f).Join("JOIN customer_lifecycle_history AS h ON h.tenant_id = c.tenant_id AND h.customer_id = c.id").
					ColumnExpr("h.changed_at AS t").ColumnExpr(customerFacts).
					Where(movedToChurned).Where("h.changed_at >= ? AND h.changed_at < ?", f.From, f.To)
			},
			// Rolled up: each move to churned, spanning from the customer's
			// move to churned before it (a customer counts once, on the
			// first move in the bucket).
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return historyWithin(customers(ctx, tx, f), f).
					Join("JOIN customer_lifecycle_history AS h ON h.tenant_id = c.tenant_id AND h.customer_id = c.id").
					Join(`LEFT JOIN LATERAL (SELECT p.changed_at FROM customer_lifecycle_history AS p
						WHERE p.tenant_id = ? AND p.customer_id = h.customer_id AND (p.changed_at, p.id) < (h.changed_at, h.id) AND `+movedToChurnedAs("p")+`
						ORDER BY p.changed_at DESC, p.id DESC LIMIT 1) AS pv ON true`, f.Tenant).
					ColumnExpr("h.changed_at AS t, pv.changed_at AS since, NULL::timestamptz AS until").ColumnExpr(customerFacts).
					Where(movedToChurned)
			}),
		base("profiles.churn_rate", "Churn rate", "流失率",
			"Of the customers active at the start of the period, the share who moved to churned within it.",
			"周期初的活跃客户中，在周期内转入“已流失”的比例。",
			measures.Percent, measures.AggRatio, true,
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				// The stay in an active stage that covers the bucket's start,
				// and whether a move to churned follows within the bucket
				// (looked up only when the stay ends inside it).
				return activeStays(customers(ctx, tx, f), uuid.Nil).Join("JOIN buckets AS b ON c.created_at < b.lo AND h.changed_at < b.lo AND (nx.changed_at IS NULL OR nx.changed_at >= b.lo)").
					ColumnExpr("b.lo AS t, 1 AS base").ColumnExpr(customerFacts).
					ColumnExpr(`CASE WHEN nx.changed_at < b.hi AND EXISTS (SELECT 1 FROM customer_lifecycle_history AS h WHERE h.tenant_id = c.tenant_id AND h.customer_id = c.id
						AND ` + movedToChurned + ` AND h.changed_at >= b.lo AND h.changed_at < b.hi) THEN 1 ELSE 0 END AS value`)
			},
			// Rolled up: each active stay, from when it began (not before
			// the customer was created) until it ended, with t the first
			// move to churned from its end on. A bucket's customers active
			// at its start are the stays spanning that moment, and those of
			// them who churned within it the stays whose t falls in it (no
			// change comes between a stay's start and its end).
			func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return historyWithin(activeStays(customers(ctx, tx, f), f.Tenant), f).
					Join(`LEFT JOIN LATERAL (SELECT min(m.changed_at) AS at FROM customer_lifecycle_history AS m
						WHERE m.tenant_id = ? AND m.customer_id = c.id AND `+movedToChurnedAs("m")+` AND m.changed_at >= nx.changed_at) AS ch ON true`, f.Tenant).
					ColumnExpr(`greatest(h.changed_at, c.created_at) AS since,
						CASE WHEN nx.changed_at IS NOT NULL THEN greatest(nx.changed_at, h.changed_at, c.created_at) END AS until, ch.at AS t`).
					ColumnExpr(customerFacts)
			}),
	}
	for i := range ms {
		if ms[i].Key == "profiles.customers" || ms[i].Key == "profiles.active_customers" {
			ms[i].Interval = true
		}
		if ms[i].Key == "profiles.active_customers" {
			// The stays that end in the range: each change in it, and the
			// change before it when that began an active stay.
			ms[i].Ends = func(ctx context.Context, tx bun.IDB, f measures.Frame) *bun.SelectQuery {
				return customers(ctx, tx, f).
					Join("JOIN customer_lifecycle_history AS n ON n.tenant_id = c.tenant_id AND n.customer_id = c.id AND n.changed_at >= ? AND n.changed_at < ?", f.From, f.To).
					Join(`JOIN LATERAL (SELECT p.changed_at, p.to_stage FROM customer_lifecycle_history AS p
						WHERE p.tenant_id = n.tenant_id AND p.customer_id = n.customer_id AND (p.changed_at, p.id) < (n.changed_at, n.id)
						ORDER BY p.changed_at DESC, p.id DESC LIMIT 1) AS h ON h.to_stage IN ` + activeStages).
					ColumnExpr("h.changed_at AS since, n.changed_at AS until").ColumnExpr(customerFacts)
			}
		}
	}
	// The average order value is the revenue's sum over its count: it is
	// answered from the revenue's rollup rows, one build and one refresh
	// of a day's purchases fewer.
	rolledAs := func(key string, mt measures.Metric) measures.Metric {
		mt.RolledAs = key
		return mt
	}
	purchase := func(k, en, zh, den, dzh string, u measures.Unit, a measures.Agg, money bool) measures.Metric {
		mt := base(k, en, zh, den, dzh, u, a, false, purchaseFacts(money))
		mt.Dims = purchases
		return mt
	}
	return append(ms,
		purchase("purchases.revenue", "Revenue", "销售额", "The sum of purchases in the company's currency.", "以公司币种计的购买金额合计。",
			measures.Money, measures.AggSum, true),
		purchase("purchases.orders", "Orders", "订单数", "The number of purchases.", "购买次数。",
			measures.Count, measures.AggCount, false),
		rolledAs("purchases.revenue", purchase("purchases.aov", "Average order value", "平均订单金额", "The mean purchase in the company's currency.", "以公司币种计的平均每笔购买金额。",
			measures.Money, measures.AggAvg, true)),
		purchase("purchases.repeat_rate", "Repeat-purchase rate", "复购率",
			"Of the customers who bought in the period, the share who bought twice or more in it.",
			"周期内有购买的客户中，购买两次及以上的比例。",
			measures.Percent, measures.AggRepeat, false),
	)
}

// RollupTouch: a customer's events and a purchase's (named by its customer)
// change that customer's facts; an import or its revert changes any.
func (m *Module) RollupTouch(topic string) (subject, whole bool) {
	switch {
	case strings.HasPrefix(topic, "customer."), strings.HasPrefix(topic, "interaction."):
		return true, false
	case topic == EntityCustomers+".imported", topic == EntityPurchases+".imported",
		topic == EntityCustomers+".import_reverted", topic == EntityPurchases+".import_reverted",
		topic == EntityCustomers+".scored", topic == EntityCustomers+".classified":
		return false, true
	}
	return false, false
}
