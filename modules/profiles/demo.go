package profiles

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// DemoCustomers is how many customers the demo company gets.
const DemoCustomers = 2000

// demoSource marks the demo's customers; their presence is the marker that the
// demo data is there, so a second `make run` adds nothing.
const demoSource = "demo"

var _ module.DemoSeeder = (*Module)(nil)

// SeedDemo fills the demo company: a few custom fields (when it has none),
// 2,000 customers in Chinese and English with tags, values and a short
// timeline, numbered purchases over the last two years, and tasks due soon and
// overdue for the owner. It writes nothing when the demo data is there already.
func (m *Module) SeedDemo(ctx context.Context, d module.Demo) (bool, error) {
	var customers, timeline bool
	if err := db.InTenant(ctx, m.d.DB, d.Tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT EXISTS (SELECT 1 FROM customers WHERE tenant_id = ?0 AND source = ?1),
			EXISTS (SELECT 1 FROM purchase_orders WHERE tenant_id = ?0 AND order_no LIKE ?2)`, d.Tenant, demoSource, demoOrderPrefix+"%").Scan(ctx, &customers, &timeline)
	}); err != nil || timeline {
		return false, err
	}
	rng := rand.New(rand.NewPCG(d.Seed, 2026))
	if customers {
		// A run cut short after the customers: finish with their timeline.
		return true, m.demoTimeline(ctx, d, rng)
	}
	if err := m.demoFields(ctx, d.Tenant); err != nil {
		return false, fmt.Errorf("profiles: demo fields: %w", err)
	}
	conn, err := pgx.Connect(ctx, d.DatabaseURL)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	if err := seedBatch(ctx, conn, d.Tenant, rng, 0, DemoCustomers, demoSource); err != nil {
		return false, fmt.Errorf("profiles: demo customers: %w", err)
	}
	if err := m.demoTimeline(ctx, d, rng); err != nil {
		return true, err
	}
	// Score the demo once the other modules' demo data (deals, tickets) is
	// in, rather than waiting for the night.
	if m.d.Jobs != nil {
		if _, err := m.d.Jobs.Enqueue(authz.AsSystem(ctx), d.Tenant, jobs.Spec{Type: TypeScore, RunAt: time.Now().Add(time.Minute), DedupeKey: "profiles-score:demo"}); err != nil {
			return true, err
		}
	}
	return true, nil
}

// demoOrderPrefix starts the demo's order numbers; their presence says the
// demo's timeline is written (it commits after the customers).
const demoOrderPrefix = "SO-"

func (m *Module) demoTimeline(ctx context.Context, d module.Demo, rng *rand.Rand) error {
	if err := db.InTenantBulk(ctx, m.d.DB, d.Tenant, func(ctx context.Context, tx bun.Tx) error {
		return demoTimeline(ctx, tx, d, rng, m.d.Tasks)
	}); err != nil {
		return fmt.Errorf("profiles: demo purchases and tasks: %w", err)
	}
	return nil
}

// demoFields creates the demo's custom fields of customers through the fields
// service, when the company has none yet.
func (m *Module) demoFields(ctx context.Context, tenant uuid.UUID) error {
	if m.d.Fields == nil {
		return nil
	}
	return db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM field_definitions WHERE tenant_id = ? AND entity = ?", tenant, EntityCustomers).Scan(ctx, &n); err != nil || n > 0 {
			return err
		}
		for _, f := range []fields.Definition{
			{Key: "tier", LabelEN: "Tier", LabelZH: "客户等级", Type: fields.Select, Options: []fields.Option{{Value: "gold", LabelEN: "Gold", LabelZH: "金牌"}, {Value: "silver", LabelEN: "Silver", LabelZH: "银牌"}, {Value: "bronze", LabelEN: "Bronze", LabelZH: "铜牌"}}, Filterable: true, Sortable: true},
			{Key: "industry", LabelEN: "Industry", LabelZH: "行业", Type: fields.Select, Options: []fields.Option{{Value: "retail", LabelEN: "Retail", LabelZH: "零售"}, {Value: "manufacturing", LabelEN: "Manufacturing", LabelZH: "制造"}, {Value: "catering", LabelEN: "Catering", LabelZH: "餐饮"}, {Value: "education", LabelEN: "Education", LabelZH: "教育"}}, Filterable: true},
			{Key: "annual_budget", LabelEN: "Annual budget", LabelZH: "年度预算", Type: fields.Currency, Filterable: true, Sortable: true},
			{Key: "first_contact", LabelEN: "First contact", LabelZH: "首次接触", Type: fields.Date, Filterable: true, Sortable: true},
			{Key: "channels", LabelEN: "Preferred channels", LabelZH: "偏好渠道", Type: fields.MultiSelect, Options: []fields.Option{{Value: "wechat", LabelEN: "WeChat", LabelZH: "微信"}, {Value: "email", LabelEN: "Email", LabelZH: "邮件"}, {Value: "phone", LabelEN: "Phone", LabelZH: "电话"}}, Filterable: true},
		} {
			f.Entity = EntityCustomers
			if _, err := m.d.Fields.Create(ctx, tx, tenant, f); err != nil {
				return err
			}
		}
		return nil
	})
}

var demoProducts = []string{"Green tea gift box 绿茶礼盒", "Oolong 250g 乌龙茶", "Tea set 茶具套装", "Jasmine tea 茉莉花茶", "Pu'er cake 普洱茶饼", "Annual subscription 年度订阅", "Office supplies 办公用品", "Wholesale order 批发订单"}

var demoTasks = []string{"Call back about the quote 回电确认报价", "Send the new price list 发送新价目表", "Follow up on the late delivery 跟进延迟发货", "Renew the annual contract 续签年度合同", "Visit the store 上门拜访", "Ask for feedback 回访满意度"}

// demoTimeline adds numbered purchases over the last two years to the demo's
// buying customers, and the owner's tasks: overdue, due this week, and done.
func demoTimeline(ctx context.Context, tx bun.Tx, d module.Demo, rng *rand.Rand, tasks records.FollowUps) error {
	type cust struct {
		ID        uuid.UUID `bun:"id"`
		Lifecycle string    `bun:"lifecycle"`
	}
	var cs []cust
	if err := tx.NewRaw("SELECT id, lifecycle FROM customers WHERE tenant_id = ? AND source = ? ORDER BY created_at, name", d.Tenant, demoSource).Scan(ctx, &cs); err != nil {
		return err
	}
	// Purchases are in the company's own currency, which the revenue
	// figures (and the provisioned dashboards) sum without converting.
	var currency string
	if err := tx.NewRaw("SELECT currency FROM tenants WHERE id = ?", d.Tenant).Scan(ctx, &currency); err != nil {
		return err
	}
	currency = strings.TrimSpace(currency)
	now := time.Now().UTC()
	twoYears := int64(2 * 365 * 24 * time.Hour)
	var purchases [][]any
	seq := 0
	for _, c := range cs {
		if c.Lifecycle == "lead" || c.Lifecycle == "prospect" {
			continue
		}
		for j, n := 0, 1+rng.IntN(6); j < n; j++ {
			seq++
			at := now.Add(-time.Duration(rng.Int64N(twoYears))).Truncate(time.Minute)
			order := fmt.Sprintf("%s%d-%06d", demoOrderPrefix, at.Year(), seq)
			product := demoProducts[rng.IntN(len(demoProducts))]
			purchases = append(purchases, []any{uuid.New(), at, c.ID, product, fmt.Sprintf("%d.%02d", 30+rng.IntN(5000), rng.IntN(100)), currency, order})
		}
	}
	if err := transfer.CopyStaged(ctx, tx, `CREATE TEMP TABLE IF NOT EXISTS demo_purchases (
		id uuid, occurred_at timestamptz, customer_id uuid, summary text, amount text, currency text, order_no text) ON COMMIT DROP`,
		transfer.Staged{Table: "demo_purchases", Cols: []string{"id", "occurred_at", "customer_id", "summary", "amount", "currency", "order_no"}, Rows: purchases}); err != nil {
		return err
	}
	for _, q := range []string{
		`INSERT INTO interactions (tenant_id, id, occurred_at, customer_id, kind, channel, summary, amount, currency, order_no)
		SELECT ?0, id, occurred_at, customer_id, 'purchase', 'shop', summary, amount::numeric, currency, order_no FROM demo_purchases`,
		`INSERT INTO purchase_orders (tenant_id, order_no, interaction_id, occurred_at, customer_id)
		SELECT ?0, order_no, id, occurred_at, customer_id FROM demo_purchases ORDER BY order_no`,
		// Churned customers were customers first and churned within the
		// last eleven months, so the churn rate has real moves to count.
		`UPDATE customer_lifecycle_history h SET to_stage = 'customer' FROM customers c
		WHERE h.tenant_id = ?0 AND c.tenant_id = ?0 AND c.id = h.customer_id AND c.source = ?1 AND c.lifecycle = 'churned'
			AND h.to_stage = 'churned' AND h.from_stage IS NULL`,
		`INSERT INTO customer_lifecycle_history (tenant_id, customer_id, from_stage, to_stage, changed_at)
		SELECT ?0, c.id, 'customer', 'churned',
			least(now(), greatest(c.created_at + interval '1 day', now() - (1 + abs(hashtext(c.id::text)) % 330) * interval '1 day'))
		FROM customers c WHERE c.tenant_id = ?0 AND c.source = ?1 AND c.lifecycle = 'churned'
			AND NOT EXISTS (SELECT 1 FROM customer_lifecycle_history h WHERE h.tenant_id = ?0 AND h.customer_id = c.id AND h.to_stage = 'churned')`,
	} {
		if _, err := db.ExecStaged(ctx, tx, q, d.Tenant, demoSource); err != nil {
			return err
		}
	}
	if d.Owner == uuid.Nil || len(cs) == 0 {
		return nil
	}
	// 12 overdue, 18 due in the coming week, 10 done: the task list and the
	// overview both have something to show. They are stored by the tasks module.
	if tasks == nil {
		return nil
	}
	fs := make([]records.FollowUp, 0, 40)
	for i := 0; i < 40; i++ {
		c := cs[rng.IntN(len(cs))]
		f := records.FollowUp{Entity: EntityCustomers, RecordID: c.ID, Title: demoTasks[rng.IntN(len(demoTasks))], Assignee: d.Owner, CreatedBy: d.Owner}
		due := now.Add(time.Duration(1+rng.IntN(7*24)) * time.Hour)
		switch {
		case i < 12:
			due = now.Add(-time.Duration(1+rng.IntN(14*24)) * time.Hour)
		case i >= 30:
			due = now.Add(-time.Duration(1+rng.IntN(30*24)) * time.Hour)
			done := due.Truncate(time.Minute)
			f.Done, f.CompletedAt = true, &done
		}
		due = due.Truncate(time.Minute)
		f.DueAt = &due
		fs = append(fs, f)
	}
	return tasks.AddFollowUps(ctx, tx, d.Tenant, fs)
}
