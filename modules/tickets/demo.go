package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/module"
)

// DemoTickets is how many tickets the demo company gets.
const DemoTickets = 300

var _ module.DemoSeeder = (*Module)(nil)

// demoRequesters write to the demo desk; the first ticket of each makes them
// a lead (or finds them, when the customers' demo has them already).
var demoRequesters = []struct{ name, email string }{
	{"王芳", "wang.fang@demo.example"}, {"李娜", "li.na@demo.example"}, {"张伟", "zhang.wei@demo.example"}, {"刘洋", "liu.yang@demo.example"},
	{"陈静", "chen.jing@demo.example"}, {"杨磊", "yang.lei@demo.example"}, {"赵敏", "zhao.min@demo.example"}, {"黄勇", "huang.yong@demo.example"},
	{"Emma Clarke", "emma.clarke@demo.example"}, {"Lucas Meyer", "lucas.meyer@demo.example"}, {"Sofia Rossi", "sofia.rossi@demo.example"},
	{"Noah Tan", "noah.tan@demo.example"}, {"Olivia Wong", "olivia.wong@demo.example"}, {"Mateo García", "mateo.garcia@demo.example"},
}

var demoSubjects = []struct{ kind, subject, body string }{
	{"question", "发票抬头如何修改？", "上个月的发票抬头写错了，请问怎么修改？"},
	{"incident", "App 登录后白屏", "更新到最新版本后，登录就是白屏，重装也没用。"},
	{"complaint", "快递延误一周", "订单显示已发货七天了还没收到，客服电话也打不通。"},
	{"feedback", "希望增加微信支付", "结账时只能用银行卡，建议支持微信支付。"},
	{"request", "申请退货", "尺码不合适，想退货换大一号。"},
	{"question", "How do I export my invoices?", "I need all invoices of this year as one file for my accountant."},
	{"incident", "Payment charged twice", "My card was charged twice for order 5521."},
	{"complaint", "Rude delivery driver", "The driver threw the parcel over the gate."},
	{"feedback", "Love the new dashboard", "The new dashboard is much clearer, thank you!"},
	{"request", "Please change my delivery address", "We moved; please send future orders to the new office."},
}

var demoReplies = []string{
	"您好，已经为您处理，请查收。", "我们正在核实，稍后回复您。", "Thanks for reaching out, we are looking into it.",
	"Your refund has been issued; it shows on your card within 5 days.", "已为您安排补发，单号稍后短信通知。",
}

// SeedDemo fills the demo company with tickets in every status, over the last
// 30 days: two SLA policies, conversations of replies and notes, first
// responses that met their target or missed it (warned and breached, with
// their alarms sent), satisfaction ratings of most solved tickets, and some
// that came through the hosted form (channel web form). Everything is written in one
// transaction through the module's own operations (so numbers, leads, audit
// and SLA follow the same rules as real tickets), acting as the system, and
// replies are not emailed. It writes nothing when the company has tickets.
func (m *Module) SeedDemo(ctx context.Context, d module.Demo) (bool, error) {
	ctx = authz.AsSystem(ctx)
	seeded := false
	err := db.InTenant(ctx, m.d.DB, d.Tenant, func(ctx context.Context, tx bun.Tx) error {
		var some bool
		if err := tx.NewRaw("SELECT EXISTS (SELECT 1 FROM tickets WHERE tenant_id = ?)", d.Tenant).Scan(ctx, &some); err != nil || some {
			return err
		}
		quiet := &Module{d: m.d, custom: m.custom}
		quiet.d.Jobs = nil // the demo's replies are not mailed to anyone
		rng := rand.New(rand.NewPCG(d.Seed, 17))
		hour, fourHours, day, threeDays := 60, 240, 1440, 4320
		if _, err := quiet.SavePolicy(ctx, d.Tenant, nil, PolicyInput{Name: "Urgent 紧急", Position: 1, Priorities: []string{"urgent", "high"}, FirstResponseMinutes: &hour, ResolutionMinutes: &fourHours}); err != nil {
			return err
		}
		if _, err := quiet.SavePolicy(ctx, d.Tenant, nil, PolicyInput{Name: "Standard 标准", Position: 2, FirstResponseMinutes: &day, ResolutionMinutes: &threeDays}); err != nil {
			return err
		}
		for i := 0; i < DemoTickets; i++ {
			if err := quiet.demoTicket(ctx, tx, d, rng, i); err != nil {
				return fmt.Errorf("tickets: demo ticket %d: %w", i, err)
			}
		}
		// The alarms still ahead get their deliveries, a job per minute they
		// fall due in, so the demo desk is warned as a real one is.
		var minutes []time.Time
		if err := tx.NewRaw(`SELECT DISTINCT date_trunc('minute', fire_at) + interval '1 minute' FROM ticket_sla_alarms
			WHERE tenant_id = ? AND fired_at IS NULL ORDER BY 1`, d.Tenant).Scan(ctx, &minutes); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		for _, at := range minutes {
			if err := m.scheduleAlarms(ctx, tx, d.Tenant, at); err != nil {
				return err
			}
		}
		seeded = true
		return nil
	})
	return seeded, err
}

// demoTicket makes one ticket, walks it to a status through the rules, and
// moves its whole history back to when it was opened.
func (m *Module) demoTicket(ctx context.Context, tx bun.Tx, d module.Demo, rng *rand.Rand, i int) error {
	who := demoRequesters[rng.IntN(len(demoRequesters))]
	s := demoSubjects[rng.IntN(len(demoSubjects))]
	in := TicketInput{Subject: s.subject, Description: s.body, RequesterEmail: who.email, RequesterName: who.name,
		Channel: channels[rng.IntN(len(channels))], Type: s.kind, Priority: priorities[rng.IntN(len(priorities))], Tags: []string{"demo"}}
	if d.Owner != uuid.Nil && i%4 != 0 {
		owner := d.Owner
		in.AssigneeID = &owner
	}
	t, err := m.CreateTicket(ctx, d.Tenant, in)
	if err != nil {
		return err
	}
	// Where it ends: every status, most of them done.
	target := []string{"new", "open", "open", "pending", "on_hold", "solved", "solved", "closed", "closed", "closed"}[rng.IntN(10)]
	if target != "new" {
		if _, _, err := m.AddMessage(ctx, d.Tenant, t.ID, MessageInput{Kind: "note", Body: "已确认订单信息 / order details checked"}); err != nil {
			return err
		}
		if _, _, err := m.AddMessage(ctx, d.Tenant, t.ID, MessageInput{Kind: "reply", Body: demoReplies[rng.IntN(len(demoReplies))]}); err != nil {
			return err
		}
	}
	steps := map[string][]string{"pending": {"pending"}, "on_hold": {"on_hold"}, "solved": {"solved"}, "closed": {"solved", "closed"}}[target]
	for _, st := range steps {
		if _, err := m.ChangeStatus(ctx, d.Tenant, t.ID, st, 0); err != nil {
			return err
		}
	}
	// Opened up to 30 days ago; the first reply came after 5 minutes to 2
	// days, so some met their target and some missed it.
	age := time.Duration(rng.IntN(30*24*60)) * time.Minute
	respond := min(time.Duration(5+rng.IntN(48*60))*time.Minute, age)
	// A time moved back by ?0 (and on by ?1), reckoned in UTC: timestamptz
	// minus an interval is STABLE (it depends on the session's time zone),
	// which Citus refuses over a column in an UPDATE; timestamp minus an
	// interval is immutable, and the intervals here are whole seconds, so
	// the result is the same.
	back := func(col string) string { return "((" + col + " AT TIME ZONE 'UTC') - ?0::interval) AT TIME ZONE 'UTC'" }
	backThen := func(col string) string {
		return "((" + col + " AT TIME ZONE 'UTC') - ?0::interval + ?1::interval) AT TIME ZONE 'UTC'"
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET created_at = `+back("created_at")+`, updated_at = `+back("updated_at")+`,
		first_response_due_at = `+back("first_response_due_at")+`, resolution_due_at = `+back("resolution_due_at")+`,
		first_response_warn_at = `+back("first_response_warn_at")+`, resolution_warn_at = `+back("resolution_warn_at")+`,
		next_response_started_at = `+back("next_response_started_at")+`, next_response_warn_at = `+back("next_response_warn_at")+`,
		next_response_due_at = `+back("next_response_due_at")+`, sla_due_at = `+back("sla_due_at")+`,
		sla_paused_at = `+backThen("sla_paused_at")+`, first_responded_at = CASE WHEN first_responded_at IS NULL THEN NULL ELSE `+backThen("created_at")+` END,
		solved_at = `+backThen("solved_at")+`, closed_at = `+backThen("closed_at")+`
		WHERE tenant_id = ?2 AND id = ?3`, fmt.Sprintf("%d seconds", int64(age/time.Second)), fmt.Sprintf("%d seconds", int64(respond/time.Second)), d.Tenant, t.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ticket_messages SET created_at = `+backThen("created_at")+` WHERE tenant_id = ?2 AND ticket_id = ?3`,
		fmt.Sprintf("%d seconds", int64(age/time.Second)), fmt.Sprintf("%d seconds", int64(respond/time.Second)), d.Tenant, t.ID); err != nil {
		return err
	}
	// The SLA as the desk would have lived it: alarms whose time passed were
	// sent (warned), targets missed are recorded breaches; those ahead wait.
	// The clock goes in as a value: Citus refuses now() in an UPDATE's CASE.
	if _, err := tx.ExecContext(ctx, `UPDATE ticket_sla_alarms SET fire_at = `+back("fire_at")+`,
		fired_at = CASE WHEN `+back("fire_at")+` <= ?3 THEN `+back("fire_at")+` END WHERE tenant_id = ?1 AND ticket_id = ?2`,
		fmt.Sprintf("%d seconds", int64(age/time.Second)), d.Tenant, t.ID, time.Now()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_sla_breaches (tenant_id, ticket_id, metric, cycle, policy_id, due_at)
		SELECT t.tenant_id, t.id, x.metric, 0, t.sla_policy_id, x.due FROM tickets t,
		LATERAL (VALUES ('first_response', t.first_response_due_at, t.first_responded_at), ('resolution', t.resolution_due_at, t.solved_at)) AS x(metric, due, met)
		WHERE t.tenant_id = ? AND t.id = ? AND x.due IS NOT NULL AND coalesce(x.met, now()) > x.due ON CONFLICT DO NOTHING`, d.Tenant, t.ID); err != nil {
		return err
	}
	// Most solved tickets were rated through their survey link.
	if (target == "solved" || target == "closed") && rng.IntN(3) > 0 {
		rating := []int{5, 5, 4, 4, 4, 3, 2, 1}[rng.IntN(8)]
		comment := []string{"", "", "很满意，谢谢！", "Quick and friendly.", "处理有点慢", "Problem solved, thanks."}[rng.IntN(6)]
		if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_csat (tenant_id, ticket_id, state, sent_at, expires_at, rating, comment, rated_at)
			SELECT tenant_id, id, 'rated', solved_at, solved_at + interval '7 days', ?, ?, solved_at + interval '2 hours' FROM tickets WHERE tenant_id = ? AND id = ?
			ON CONFLICT (tenant_id, ticket_id) DO NOTHING`, rating, comment, d.Tenant, t.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE tickets SET csat_rating = ?, csat_comment = ?, csat_rated_at = ((solved_at AT TIME ZONE 'UTC') + interval '2 hours') AT TIME ZONE 'UTC' WHERE tenant_id = ? AND id = ?",
			rating, comment, d.Tenant, t.ID); err != nil {
			return err
		}
	}
	return nil
}
