package profiles

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/records"
)

// Segments are the RFM segments, in the order the rules that assign them are
// tried (docs/bi.md), with their labels.
var Segments = []struct{ Key, EN, ZH string }{
	{"champions", "Champions", "重要价值客户"},
	{"loyal", "Loyal", "忠诚客户"},
	{"new", "New", "新客户"},
	{"potential", "Potential", "潜力客户"},
	{"at_risk", "At risk", "流失预警客户"},
	{"hibernating", "Hibernating", "沉睡客户"},
	{"lost", "Lost", "已流失客户"},
}

func segmentLabels(key string) (string, string) {
	for _, s := range Segments {
		if s.Key == key {
			return s.EN, s.ZH
		}
	}
	return "", ""
}

// Score is a customer's RFM scores, segment and churn risk as the last
// scoring run left them.
type Score struct {
	CustomerID     uuid.UUID  `json:"customer_id" bun:"customer_id"`
	Recency        *int       `json:"recency,omitempty" bun:"recency" minimum:"1" maximum:"5" doc:"1 to 5: the customer's quintile of the latest purchase date within the company (5: the most recent fifth); absent for a customer who never bought"`
	Frequency      *int       `json:"frequency,omitempty" bun:"frequency" minimum:"1" maximum:"5" doc:"1 to 5: quintile of the number of purchases and won deals"`
	Monetary       *int       `json:"monetary,omitempty" bun:"monetary" minimum:"1" maximum:"5" doc:"1 to 5: quintile of the money spent, in the company's currency"`
	Segment        *string    `json:"segment,omitempty" bun:"segment" enum:"champions,loyal,potential,new,at_risk,hibernating,lost"`
	SegmentEN      string     `json:"segment_label_en,omitempty" bun:"-"`
	SegmentZH      string     `json:"segment_label_zh,omitempty" bun:"-"`
	LastPurchaseAt *time.Time `json:"last_purchase_at,omitempty" bun:"last_purchase_at"`
	Purchases      int        `json:"purchases" bun:"purchases" doc:"purchases and won deals, in any currency"`
	Revenue        string     `json:"revenue" bun:"revenue" doc:"lifetime purchases and won deals in the company's currency, a decimal"`
	ChurnRisk      int        `json:"churn_risk" bun:"churn_risk" minimum:"0" maximum:"100"`
	Reasons        []Reason   `json:"reasons" bun:"reasons,type:jsonb" doc:"what makes up churn_risk, largest first"`
	ComputedAt     time.Time  `json:"computed_at" bun:"computed_at" doc:"when the scoring run that last changed these figures ran"`
}

// Reason is one part of a churn risk.
type Reason struct {
	Code    string  `json:"code" enum:"purchase_frequency_down,silent,open_complaints,sla_breached"`
	Points  int     `json:"points" doc:"what it adds to churn_risk"`
	Value   float64 `json:"value" doc:"the measure behind it: the share of the expected purchases missing (percent), the days of silence passed (60, 90 or 180), open complaints, or missed targets"`
	LabelEN string  `json:"label_en"`
	LabelZH string  `json:"label_zh"`
}

// ScoreRun says what one scoring run did.
type ScoreRun struct {
	Customers int       `json:"customers" doc:"live customers scored"`
	Changed   int       `json:"changed" doc:"scores written because they changed"`
	Removed   int       `json:"removed" doc:"scores of deleted customers dropped"`
	AsOf      time.Time `json:"as_of"`
}

// scoreSQL builds the one statement that scores every live customer of a
// company and writes what changed. Purchases (interactions of kind purchase)
// and the sales other modules signal (won deals) make up recency, frequency
// and monetary value; each is ranked within the company and cut into
// quintiles by rank, so equal values share a score. Churn risk adds up four
// reasons. Fixed values travel as bound arguments; signal queries are the
// other modules' bun queries, appended as subqueries. It returns the number of
// scores written, counted from RETURNING rather than taken from the command
// tag: on Citus an INSERT ... SELECT that is pulled to the coordinator reports
// the rows it sent, not the rows ON CONFLICT ... WHERE let through.
func (m *Module) scoreSQL(tx bun.IDB, tenant uuid.UUID, asOf time.Time, currency string) (string, []any) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "?" }
	union := func(kind records.SignalKind, own string, ownArgs ...any) string {
		parts := []string{}
		if own != "" {
			parts = append(parts, own)
			args = append(args, ownArgs...)
		}
		for _, s := range m.d.Records.Signals(kind) {
			parts = append(parts, "SELECT customer_id, at, amount, currency FROM ("+arg(s.Query(tx, tenant, asOf))+") AS s")
		}
		if len(parts) == 0 {
			return "SELECT NULL::uuid AS customer_id, NULL::timestamptz AS at, NULL::numeric AS amount, NULL::text AS currency WHERE false"
		}
		return strings.Join(parts, "\n UNION ALL ")
	}
	var b strings.Builder
	b.WriteString("WITH sales AS (")
	b.WriteString(union(records.SignalSale, "SELECT i.customer_id, i.occurred_at AS at, i.amount::numeric AS amount, i.currency::text AS currency FROM interactions AS i WHERE i.tenant_id = ? AND i.kind = 'purchase' AND i.occurred_at <= ?", tenant, asOf))
	b.WriteString("),\nagg AS (SELECT s.customer_id, max(s.at) AS last_at, count(*)::int AS n, coalesce(sum(s.amount) FILTER (WHERE s.currency = " + arg(currency) + "), 0) AS revenue,")
	b.WriteString(" count(*) FILTER (WHERE s.at > " + arg(asOf) + "::timestamptz - interval '90 days') AS recent,")
	b.WriteString(" count(*) FILTER (WHERE s.at <= " + arg(asOf) + "::timestamptz - interval '90 days' AND s.at > " + arg(asOf) + "::timestamptz - interval '455 days') AS prior FROM sales AS s GROUP BY s.customer_id),\n")
	b.WriteString("live AS (SELECT c.id, c.created_at FROM customers AS c WHERE c.tenant_id = " + arg(tenant) + " AND c.deleted_at IS NULL),\n")
	b.WriteString(`rfm AS (SELECT a.*,
	1 + (5 * (rank() OVER (ORDER BY a.last_at) - 1)) / count(*) OVER () AS r,
	1 + (5 * (rank() OVER (ORDER BY a.n) - 1)) / count(*) OVER () AS f,
	1 + (5 * (rank() OVER (ORDER BY a.revenue) - 1)) / count(*) OVER () AS m
	FROM agg AS a JOIN live AS l ON l.id = a.customer_id),
`)
	b.WriteString("act AS (SELECT x.customer_id, max(x.at) AS at FROM (")
	b.WriteString(union(records.SignalActivity, "SELECT i.customer_id, i.occurred_at AS at, NULL::numeric AS amount, NULL::text AS currency FROM interactions AS i WHERE i.tenant_id = ? AND i.occurred_at <= ?", tenant, asOf))
	b.WriteString(") AS x GROUP BY x.customer_id),\n")
	b.WriteString("cmp AS (SELECT x.customer_id, count(*) AS n FROM (" + union(records.SignalOpenComplaint, "") + ") AS x GROUP BY x.customer_id),\n")
	b.WriteString("brk AS (SELECT x.customer_id, count(*) AS n FROM (" + union(records.SignalSLABreach, "") + ") AS x WHERE x.at > " + arg(asOf) + "::timestamptz - interval '90 days' GROUP BY x.customer_id),\n")
	b.WriteString(`parts AS (SELECT l.id AS customer_id, r.r, r.f, r.m, r.last_at, coalesce(r.n, 0) AS n, coalesce(r.revenue, 0) AS revenue,
	CASE WHEN coalesce(r.prior, 0) >= 2 AND r.recent * 365 < r.prior * 90
		THEN round(100 - 100.0 * r.recent * 365 / (r.prior * 90)) ELSE 0 END AS drop_pct,
	extract(epoch FROM ` + arg(asOf) + `::timestamptz - coalesce(greatest(act.at, r.last_at), l.created_at)) / 86400 AS silent_days,
	coalesce(cmp.n, 0) AS complaints, coalesce(brk.n, 0) AS breaches
	FROM live AS l LEFT JOIN rfm AS r ON r.customer_id = l.id LEFT JOIN act ON act.customer_id = l.id
	LEFT JOIN cmp ON cmp.customer_id = l.id LEFT JOIN brk ON brk.customer_id = l.id),
points AS (SELECT p.*,
	round(30 * p.drop_pct / 100)::int AS p_freq,
	CASE WHEN p.silent_days >= 180 THEN 180 WHEN p.silent_days >= 90 THEN 90 WHEN p.silent_days >= 60 THEN 60 ELSE 0 END AS silent_bucket,
	CASE WHEN p.silent_days >= 180 THEN 35 WHEN p.silent_days >= 90 THEN 20 WHEN p.silent_days >= 60 THEN 10 ELSE 0 END AS p_silent,
	least(30, 15 * p.complaints)::int AS p_cmp, least(20, 10 * p.breaches)::int AS p_brk
	FROM parts AS p),
scored AS (SELECT q.customer_id, q.r, q.f, q.m,
	CASE WHEN q.r IS NULL THEN NULL
		WHEN q.r >= 4 AND q.f >= 4 AND q.m >= 4 THEN 'champions'
		WHEN q.r >= 3 AND q.f >= 4 THEN 'loyal'
		WHEN q.r >= 4 AND q.f = 1 THEN 'new'
		WHEN q.r >= 3 THEN 'potential'
		WHEN q.f >= 3 THEN 'at_risk'
		WHEN q.r = 2 THEN 'hibernating'
		ELSE 'lost' END AS segment,
	q.last_at, q.n, q.revenue,
	least(100, q.p_freq + q.p_silent + q.p_cmp + q.p_brk) AS risk,
	to_jsonb(array_remove(ARRAY[
		CASE WHEN q.p_cmp > 0 THEN jsonb_build_object('code', 'open_complaints', 'points', q.p_cmp, 'value', q.complaints,
			'label_en', format('%s open complaint(s)', q.complaints), 'label_zh', format('%s 个投诉尚未解决', q.complaints)) END,
		CASE WHEN q.p_silent > 0 THEN jsonb_build_object('code', 'silent', 'points', q.p_silent, 'value', q.silent_bucket,
			'label_en', format('No activity for over %s days', q.silent_bucket), 'label_zh', format('超过 %s 天没有任何互动', q.silent_bucket)) END,
		CASE WHEN q.p_freq > 0 THEN jsonb_build_object('code', 'purchase_frequency_down', 'points', q.p_freq, 'value', q.drop_pct,
			'label_en', format('Buying less often: %s%% fewer purchases in the last 90 days than the year before', q.drop_pct),
			'label_zh', format('购买频率下降：近 90 天的购买比此前一年的水平少 %s%%', q.drop_pct)) END,
		CASE WHEN q.p_brk > 0 THEN jsonb_build_object('code', 'sla_breached', 'points', q.p_brk, 'value', q.breaches,
			'label_en', format('%s missed service target(s) in the last 90 days', q.breaches), 'label_zh', format('近 90 天有 %s 次服务未达标（SLA）', q.breaches)) END
	]::jsonb[], NULL)) AS reasons
	FROM points AS q),
w AS (INSERT INTO customer_scores AS cs (tenant_id, customer_id, recency, frequency, monetary, segment, last_purchase_at, purchases, revenue, churn_risk, reasons, computed_at)
SELECT ` + arg(tenant) + `, s.customer_id, s.r, s.f, s.m, s.segment, s.last_at, s.n, s.revenue, s.risk, s.reasons, ` + arg(asOf) + ` FROM scored AS s
ON CONFLICT (tenant_id, customer_id) DO UPDATE SET recency = EXCLUDED.recency, frequency = EXCLUDED.frequency, monetary = EXCLUDED.monetary,
	segment = EXCLUDED.segment, last_purchase_at = EXCLUDED.last_purchase_at, purchases = EXCLUDED.purchases, revenue = EXCLUDED.revenue,
	churn_risk = EXCLUDED.churn_risk, reasons = EXCLUDED.reasons, computed_at = EXCLUDED.computed_at
WHERE (cs.recency, cs.frequency, cs.monetary, cs.segment, cs.last_purchase_at, cs.purchases, cs.revenue, cs.churn_risk, cs.reasons)
	IS DISTINCT FROM (EXCLUDED.recency, EXCLUDED.frequency, EXCLUDED.monetary, EXCLUDED.segment, EXCLUDED.last_purchase_at, EXCLUDED.purchases, EXCLUDED.revenue, EXCLUDED.churn_risk, EXCLUDED.reasons)
RETURNING 1)
SELECT count(*) FROM w`)
	return b.String(), args
}

// ScoreCustomers recomputes the RFM scores, segments and churn risk of every
// live customer of the company as of asOf, in the transaction tx: one
// statement writes the scores that changed, a second drops those of deleted
// customers. Running it twice changes nothing the second time.
func (m *Module) ScoreCustomers(ctx context.Context, tx bun.IDB, tenant uuid.UUID, asOf time.Time) (*ScoreRun, error) {
	run := &ScoreRun{AsOf: asOf.UTC()}
	var currency string
	if err := tx.NewRaw("SELECT currency FROM tenants WHERE id = ?", tenant).Scan(ctx, &currency); err != nil {
		return nil, fmt.Errorf("profiles: score: currency: %w", err)
	}
	q, args := m.scoreSQL(tx, tenant, run.AsOf, currency)
	// Every join of the statement is over the whole company: hash joins
	// are right whatever the statistics say. Right after a large import,
	// before autovacuum analyses, the planner takes the tables for empty
	// and picks nested loops, which made 100,000 customers run for minutes
	// instead of seconds (the anti-join that drops deleted customers' scores
	// alone took 15 s for 20,000 as a nested loop over a sequential scan).
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_nestloop = off"); err != nil {
		return nil, fmt.Errorf("profiles: score: %w", err)
	}
	if err := tx.NewRaw(q, args...).Scan(ctx, &run.Changed); err != nil {
		return nil, fmt.Errorf("profiles: score: %w", err)
	}
	res, err := tx.NewRaw(`DELETE FROM customer_scores AS s WHERE s.tenant_id = ? AND NOT EXISTS
		(SELECT 1 FROM customers AS c WHERE c.tenant_id = s.tenant_id AND c.id = s.customer_id AND c.deleted_at IS NULL)`, tenant).Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("profiles: score: drop deleted: %w", err)
	}
	n, _ := res.RowsAffected()
	run.Removed = int(n)
	if _, err := tx.ExecContext(ctx, "SET LOCAL enable_nestloop TO DEFAULT"); err != nil {
		return nil, fmt.Errorf("profiles: score: %w", err)
	}
	if err := tx.NewRaw("SELECT count(*) FROM customers WHERE tenant_id = ? AND deleted_at IS NULL", tenant).Scan(ctx, &run.Customers); err != nil {
		return nil, fmt.Errorf("profiles: score: count: %w", err)
	}
	if run.Changed > 0 || run.Removed > 0 {
		// Scores moved in bulk: readers that keep copies (BI's rollups)
		// read them again.
		m.publish(ctx, "customers.scored", tenant)
	}
	return run, nil
}

// CustomerScore reads the scores of a customer the actor may see: NotFound
// for another company's customer, one outside the actor's scope, or one not
// scored yet.
func (m *Module) CustomerScore(ctx context.Context, tenant, id uuid.UUID) (*Score, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	var s Score
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := scopedCustomer(ctx, tx, tenant, id, liveOnly, false); err != nil {
			return err
		}
		var raw json.RawMessage
		err := tx.NewRaw(`SELECT customer_id, recency, frequency, monetary, segment, last_purchase_at, purchases, revenue::text, churn_risk, reasons, computed_at
			FROM customer_scores WHERE tenant_id = ? AND customer_id = ?`, tenant, id).
			Scan(ctx, &s.CustomerID, &s.Recency, &s.Frequency, &s.Monetary, &s.Segment, &s.LastPurchaseAt, &s.Purchases, &s.Revenue, &s.ChurnRisk, &raw, &s.ComputedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "This customer has no scores yet: they are computed nightly, or when an admin recomputes them.")
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &s.Reasons)
	})
	if err != nil {
		return nil, db.Classify(err, "customer")
	}
	if s.Reasons == nil {
		s.Reasons = []Reason{}
	}
	if s.Segment != nil {
		s.SegmentEN, s.SegmentZH = segmentLabels(*s.Segment)
	}
	return &s, nil
}
