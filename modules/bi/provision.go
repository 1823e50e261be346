package bi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/module"
)

// The keys of the provisioned dashboards.
const (
	SalesOverview    = "sales_overview"
	CustomerInsights = "customer_insights"
	ServiceDesk      = "service"
)

// provReport is a report every company is given: its key is stable (the
// dashboard's key, a dot, the report's), so a rerun finds it.
type provReport struct {
	key    string
	en, zh string
	chart  string
	query  SavedQuery
	w, h   int
}

// provDashboard is a dashboard every company is given, of reports laid out
// left to right on the 12-column grid.
type provDashboard struct {
	key     string
	en, zh  string
	reports []provReport
}

func ask(metric string, preset string, dims ...string) SavedQuery {
	return SavedQuery{Metric: metric, Dimensions: dims, Range: Range{Preset: preset}}
}

func kpi(key, en, zh, metric, preset string) provReport {
	q := ask(metric, preset)
	q.Compare = true
	return provReport{key: key, en: en, zh: zh, chart: "kpi", query: q, w: 3, h: 2}
}

func chart(key, en, zh, kind string, q SavedQuery, w int) provReport {
	return provReport{key: key, en: en, zh: zh, chart: kind, query: q, w: w, h: 4}
}

func byTime(q SavedQuery, bucket string) SavedQuery {
	q.Dimensions = append([]string{"time"}, q.Dimensions...)
	q.Bucket = bucket
	return q
}

// provisioned are the dashboards every company gets: the sales overview,
// customer insights and the service desk, in English and Chinese. A report
// whose metric is not offered (its module off) is left out; a dashboard
// left with none is not made.
var provisioned = []provDashboard{
	{key: SalesOverview, en: "Sales overview", zh: "销售概览", reports: []provReport{
		kpi("pipeline_value", "Pipeline value", "在途商机金额", "funnel.pipeline_value", "this_month"),
		kpi("weighted_value", "Weighted pipeline value", "加权商机金额", "funnel.weighted_value", "this_month"),
		kpi("win_rate", "Win rate (this quarter)", "赢单率（本季度）", "funnel.win_rate", "this_quarter"),
		kpi("won_revenue", "Won revenue (this month)", "赢单金额（本月）", "funnel.won_revenue", "this_month"),
		chart("won_revenue_by_month", "Won revenue by month", "每月赢单金额", "bar", byTime(ask("funnel.won_revenue", "last_12_months"), "month"), 6),
		chart("win_rate_by_month", "Win rate by month", "每月赢单率", "line", byTime(ask("funnel.win_rate", "last_12_months"), "month"), 6),
		chart("deals_by_stage", "Deals by stage (created in the last 12 months)", "各阶段商机数（近 12 个月新建）", "funnel", ask("funnel.deals", "last_12_months", "stage"), 6),
		chart("pipeline_by_stage", "Pipeline value by stage", "各阶段在途商机金额", "bar", ask("funnel.pipeline_value", "this_month", "stage"), 6),
	}},
	{key: CustomerInsights, en: "Customer insights", zh: "客户洞察", reports: []provReport{
		kpi("customers", "Customers", "客户数", "profiles.customers", "this_month"),
		kpi("new_customers", "New customers (this month)", "新增客户（本月）", "profiles.new_customers", "this_month"),
		kpi("churn_rate", "Churn rate (last month)", "流失率（上月）", "profiles.churn_rate", "last_month"),
		kpi("active_customers", "Active customers", "活跃客户", "profiles.active_customers", "this_month"),
		chart("customers_by_month", "Customers by month", "每月客户数", "line", byTime(ask("profiles.customers", "last_12_months"), "month"), 6),
		chart("new_customers_by_month", "New customers by month", "每月新增客户", "bar", byTime(ask("profiles.new_customers", "last_12_months"), "month"), 6),
		chart("by_lifecycle", "Customers by lifecycle stage", "客户生命周期分布", "pie", ask("profiles.customers", "this_month", "lifecycle"), 4),
		chart("by_source", "Customers by source", "客户来源分布", "pie", ask("profiles.customers", "this_month", "source"), 4),
		chart("by_rfm_segment", "Customers by RFM segment", "RFM 客户分群", "bar", ask("profiles.customers", "this_month", "rfm_segment"), 4),
		chart("churn_rate_by_month", "Churn rate by month", "每月流失率", "line", byTime(ask("profiles.churn_rate", "last_12_months"), "month"), 6),
		chart("by_churn_risk", "Customers by churn risk", "流失风险分布", "pie", ask("profiles.customers", "this_month", "churn_risk_band"), 3),
		{key: "at_risk_by_owner", en: "Customers at risk of churning, by owner", zh: "有流失风险的客户（按负责人）", chart: "table", w: 3, h: 4,
			query: SavedQuery{Metric: "profiles.customers", Dimensions: []string{"owner"}, Range: Range{Preset: "this_month"},
				Filters: []measures.Filter{{Dimension: "churn_risk_band", Op: "in", Values: []string{"medium", "high"}}}}},
	}},
	{key: ServiceDesk, en: "Service", zh: "客户服务", reports: []provReport{
		kpi("sla_compliance", "SLA compliance (30 days)", "SLA 达成率（近 30 天）", "tickets.sla_compliance", "last_30_days"),
		kpi("csat", "Satisfaction (30 days)", "满意度（近 30 天）", "tickets.csat", "last_30_days"),
		kpi("tickets", "Tickets (30 days)", "工单数（近 30 天）", "tickets.tickets", "last_30_days"),
		kpi("complaints", "Complaints (30 days)", "投诉数（近 30 天）", "tickets.complaints", "last_30_days"),
		kpi("first_response_p50", "First response, median", "首次响应时长中位数", "tickets.first_response_p50", "last_30_days"),
		kpi("first_response_p90", "First response, 90th percentile", "首次响应时长 90 分位", "tickets.first_response_p90", "last_30_days"),
		kpi("resolution_p50", "Resolution, median", "解决时长中位数", "tickets.resolution_p50", "last_30_days"),
		kpi("resolution_p90", "Resolution, 90th percentile", "解决时长 90 分位", "tickets.resolution_p90", "last_30_days"),
		chart("tickets_by_week", "Tickets by week", "每周工单数", "stacked_bar", byTime(ask("tickets.tickets", "last_90_days", "channel"), "week"), 6),
		chart("sla_by_week", "SLA compliance by week", "每周 SLA 达成率", "line", byTime(ask("tickets.sla_compliance", "last_90_days"), "week"), 6),
		chart("tickets_by_type", "Tickets by type", "工单类型分布", "pie", ask("tickets.tickets", "last_90_days", "type"), 4),
		chart("complaints_by_channel", "Complaints by channel", "投诉渠道分布", "bar", ask("tickets.complaints", "last_90_days", "channel"), 4),
		chart("complaints_by_priority", "Complaints by priority", "投诉优先级分布", "bar", ask("tickets.complaints", "last_90_days", "priority"), 4),
	}},
}

// gridOf places reports left to right, a new row when one is full.
func gridOf(rs []provReport) []Widget {
	var out []Widget
	x, y, rowH := 0, 0, 0
	for _, r := range rs {
		if x+r.w > 12 {
			x, y, rowH = 0, y+rowH, 0
		}
		out = append(out, Widget{X: x, Y: y, W: r.w, H: r.h})
		x += r.w
		rowH = max(rowH, r.h)
	}
	return out
}

// ensureProvisioned gives the company, in tx, the provisioned dashboards it
// has not had yet, whose metrics' modules are on; it reports how many it
// made. Each is made once, recorded by key in bi_provisions: a dashboard
// the company removed is not made again, and one left out while its module
// was off is made once the module is on. Two callers at once serialise on
// the key's row; the second makes nothing.
func (m *Module) ensureProvisioned(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (int, error) {
	if _, ok := m.provisionedAll.Load(tenant); ok {
		return 0, nil
	}
	ctx = authz.AsSystem(ctx)
	var done []string
	if err := tx.NewRaw("SELECT key FROM bi_provisions WHERE tenant_id = ?", tenant).Scan(ctx, &done); err != nil {
		return 0, err
	}
	had := map[string]bool{}
	for _, k := range done {
		had[k] = true
	}
	var todo []provDashboard
	for _, pd := range provisioned {
		if !had[pd.key] {
			todo = append(todo, pd)
		}
	}
	if len(todo) == 0 {
		m.provisionedAll.Store(tenant, true)
		return 0, nil
	}
	on, err := m.modulesOn(ctx, tenant)
	if err != nil {
		return 0, err
	}
	made := 0
	for _, pd := range todo {
		var rs []provReport
		for _, r := range pd.reports {
			if e, ok := m.metrics.Find(r.query.Metric); ok && on(e.Module) {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		ok, err := m.provisionDashboard(ctx, tx, tenant, pd, rs)
		if err != nil {
			return made, err
		}
		if ok {
			made++
		}
	}
	return made, nil
}

// modulesOn says which modules are on for the company (every one without
// an enablement checker).
func (m *Module) modulesOn(ctx context.Context, tenant uuid.UUID) (func(string) bool, error) {
	if m.d.Enabled == nil || m.d.Enabled() == nil {
		return func(string) bool { return true }, nil
	}
	st, err := m.d.Enabled().States(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return func(name string) bool { return st[name] }, nil
}

// provisionDashboard makes one provisioned dashboard of rs, owned by the
// company and shared with everyone holding bi.read; false when another
// transaction made it first.
func (m *Module) provisionDashboard(ctx context.Context, tx bun.Tx, tenant uuid.UUID, pd provDashboard, rs []provReport) (bool, error) {
	d := &Dashboard{TenantID: tenant, ID: uuid.New(), Name: pd.en, NameZH: pd.zh, Filters: orEmpty(nil), SharedRoles: []string{}}
	res, err := tx.ExecContext(ctx, "INSERT INTO bi_provisions (tenant_id, key, dashboard_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", tenant, pd.key, d.ID)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	now := time.Now().UTC()
	key := pd.key
	d.ProvisionKey, d.CreatedAt, d.UpdatedAt = &key, now, now
	ws := gridOf(rs)
	for i, r := range rs {
		q, err := json.Marshal(r.query)
		if err != nil {
			return false, err
		}
		// A report kept from an earlier run (its dashboard removed, the
		// company's record of it lost) is reused rather than doubled.
		var id uuid.UUID
		if err := tx.NewRaw(`INSERT INTO bi_reports (tenant_id, id, name, name_zh, chart, query, owner_id, shared_roles, provision_key, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?::jsonb, ?, '{}', ?, ?, ?)
			ON CONFLICT (tenant_id, provision_key) WHERE provision_key IS NOT NULL DO UPDATE SET provision_key = EXCLUDED.provision_key
			RETURNING id`, tenant, uuid.New(), r.en, r.zh, r.chart, string(q), uuid.Nil, pd.key+"."+r.key, now, now).Scan(ctx, &id); err != nil {
			return false, err
		}
		ws[i].ReportID = id
	}
	d.Widgets = ws
	if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
		return false, err
	}
	if err := writeWidgets(ctx, tx, d, true); err != nil {
		return false, err
	}
	return true, audit.Record(ctx, tx, audit.Entry{Action: "dashboard.provision", Entity: "dashboard", EntityID: d.ID.String(), After: d})
}

// Provision gives the company the provisioned dashboards it has not had
// yet (the demo seeding and tests; members get them on first listing
// dashboards or reports). It reports how many it made.
func (m *Module) Provision(ctx context.Context, tenant uuid.UUID) (int, error) {
	n := 0
	err := db.InTenant(authz.AsSystem(ctx), m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		n, err = m.ensureProvisioned(ctx, tx, tenant)
		return err
	})
	return n, err
}

// ProvisionedDashboard is the id of the company's provisioned dashboard of
// key; false when it has none (not made, or removed).
func (m *Module) ProvisionedDashboard(ctx context.Context, tx bun.IDB, tenant uuid.UUID, key string) (uuid.UUID, bool, error) {
	var ids []uuid.UUID
	if err := tx.NewRaw("SELECT id FROM bi_dashboards WHERE tenant_id = ? AND provision_key = ?", tenant, key).Scan(ctx, &ids); err != nil || len(ids) == 0 {
		return uuid.Nil, false, err
	}
	return ids[0], true, nil
}

var _ module.DemoSeeder = (*Module)(nil)

// SeedDemo gives the demo company its provisioned dashboards, which show
// the other modules' demo data, and subscribes its owner to the sales
// overview every Monday at 08:00. Idempotent: a second run adds nothing.
func (m *Module) SeedDemo(ctx context.Context, d module.Demo) (bool, error) {
	made, err := m.Provision(ctx, d.Tenant)
	if err != nil {
		return false, err
	}
	subscribed := false
	if d.Owner != uuid.Nil {
		err = db.InTenant(authz.AsSystem(ctx), m.d.DB, d.Tenant, func(ctx context.Context, tx bun.Tx) error {
			dash, ok, err := m.ProvisionedDashboard(ctx, tx, d.Tenant, SalesOverview)
			if err != nil || !ok {
				return err
			}
			var have bool
			if err := tx.NewRaw("SELECT EXISTS (SELECT 1 FROM bi_subscriptions WHERE tenant_id = ? AND dashboard_id = ? AND member_id = ?)",
				d.Tenant, dash, d.Owner).Scan(ctx, &have); err != nil || have {
				return err
			}
			var zone string
			if err := tx.NewRaw("SELECT time_zone FROM tenants WHERE id = ?", d.Tenant).Scan(ctx, &zone); err != nil {
				return err
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				return err
			}
			monday, at := 1, 8*60
			now := time.Now().UTC()
			owner := d.Owner
			s := &Subscription{TenantID: d.Tenant, ID: uuid.New(), DashboardID: &dash, MemberID: &owner, Frequency: "weekly", Weekday: &monday,
				AtMinute: at, NextRunAt: nextRun(now, loc, "weekly", monday, 0, at), CreatedBy: owner, CreatedAt: now, UpdatedAt: now}
			if _, err := tx.NewInsert().Model(s).Exec(ctx); err != nil {
				return err
			}
			subscribed = true
			s.fill()
			return audit.Record(ctx, tx, audit.Entry{Action: "subscription.create", Entity: "report_subscription", EntityID: s.ID.String(), After: s})
		})
	}
	if err != nil {
		return false, err
	}
	// The demo's dashboards answer from rollups at once: the other modules'
	// demo data is in (BI seeds last).
	for module := range m.rollable() {
		if _, err := m.RefreshRollups(ctx, d.Tenant, module); err != nil {
			return false, err
		}
	}
	return made > 0 || subscribed, nil
}
