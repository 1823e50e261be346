package bi

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
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/page"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// The task types of scheduled reports.
const (
	// TypeSchedule is the minutely sweep that turns due subscriptions into
	// deliveries, in every company.
	TypeSchedule = "bi:schedule"
	// TypeDeliver renders and mails one delivery.
	TypeDeliver = "bi:deliver"
)

// MaxMailBytes caps what one report mail carries. Over it, the widget
// pictures stay out of the mail (the PDF shows them), then the PDF; the
// inbox keeps every file.
const MaxMailBytes = 15 << 20

// scheduleBatch is how many due subscriptions one transaction takes.
const scheduleBatch = 200

// scheduleJobs are the handlers of scheduled reports.
func (m *Module) scheduleJobs() []jobs.Handler {
	return []jobs.Handler{
		{Type: TypeSchedule, Queue: jobs.QueueBulk, Timeout: 5 * time.Minute, MaxRetry: -1,
			RunGlobal: func(ctx context.Context, _ json.RawMessage) error {
				_, err := m.ScheduleDue(ctx, time.Now())
				return err
			}},
		{Type: TypeDeliver, Queue: jobs.QueueBulk, Timeout: 5 * time.Minute, MaxRetry: 5, Run: m.deliver},
	}
}

// scheduleSchedules runs the sweep every minute; every scheduler replica
// enqueues the same task id for a minute, and the delivery rows make a
// second sweep add nothing.
func (m *Module) scheduleSchedules() []jobs.Schedule {
	return []jobs.Schedule{{Name: "bi-reports-minutely", Cron: "* * * * *", Type: TypeSchedule}}
}

type deliverPayload struct {
	Delivery uuid.UUID `json:"delivery"`
}

// delivery is one report for one recipient and period.
type delivery struct {
	bun.BaseModel  `bun:"table:bi_deliveries,alias:dl"`
	TenantID       uuid.UUID  `bun:"tenant_id,pk,type:uuid"`
	ID             uuid.UUID  `bun:"id,pk,type:uuid"`
	SubscriptionID uuid.UUID  `bun:"subscription_id,type:uuid"`
	Period         string     `bun:"period"`
	RecipientID    uuid.UUID  `bun:"recipient_id,type:uuid"`
	Title          string     `bun:"title"`
	Status         string     `bun:"status"`
	Reason         *string    `bun:"reason"`
	ScheduledFor   time.Time  `bun:"scheduled_for"`
	SentAt         *time.Time `bun:"sent_at"`
	FilesExpiredAt *time.Time `bun:"files_expired_at"`
	CreatedAt      time.Time  `bun:"created_at"`
}

// ScheduleDue turns every due subscription of every active company with BI
// on into deliveries, visiting only the companies that have one due. It returns how many deliveries it made.
func (m *Module) ScheduleDue(ctx context.Context, now time.Time) (int, error) {
	if m.d.Jobs == nil || m.d.Members == nil {
		return 0, nil
	}
	// The companies with a subscription due, read as the sweeper role (it
	// sees those two columns of every company), then those still active.
	var due []uuid.UUID
	err := m.d.DB.RunInTx(ctx, &sql.TxOptions{ReadOnly: true}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+jobs.SweeperRole); err != nil {
			return err
		}
		return tx.NewRaw("SELECT DISTINCT tenant_id FROM bi_subscriptions WHERE next_run_at <= ?", now).Scan(ctx, &due)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("bi: schedule: %w", err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	var tenants []uuid.UUID
	if err := m.d.DB.NewRaw("SELECT id FROM tenants WHERE status = 'active' AND id = ANY(?::uuid[]) ORDER BY id", pgdialect.Array(uuidStrings(due))).Scan(ctx, &tenants); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("bi: schedule: %w", err)
	}
	total := 0
	for _, t := range tenants {
		n, err := m.ScheduleDueIn(ctx, t, now)
		if err != nil {
			return total, fmt.Errorf("bi: schedule in %s: %w", t, err)
		}
		total += n
	}
	return total, nil
}

// ScheduleDueIn is ScheduleDue for one company. In one transaction per
// batch it locks the due subscriptions (SKIP LOCKED: a scheduler running
// beside it takes the others), makes one delivery per recipient for the
// period that fell due (a unique key: a repeat makes none), enqueues its job
// in the same transaction, and moves the subscription to its next run. A
// period missed while no scheduler ran is sent once, late; the periods
// before it are not made up.
func (m *Module) ScheduleDueIn(ctx context.Context, tenant uuid.UUID, now time.Time) (int, error) {
	if m.d.Jobs == nil || m.d.Members == nil {
		return 0, nil
	}
	ctx = authz.AsSystem(ctx)
	total := 0
	for {
		n, more := 0, false
		err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			var off int
			if err := tx.NewRaw("SELECT count(*) FROM tenant_modules WHERE tenant_id = ? AND module = ? AND NOT enabled", tenant, m.Name()).Scan(ctx, &off); err != nil || off > 0 {
				return err
			}
			var subs []Subscription
			if err := tx.NewSelect().Model(&subs).Where("s.tenant_id = ? AND s.next_run_at <= ?", tenant, now).
				OrderExpr("s.next_run_at, s.id").Limit(scheduleBatch + 1).For("UPDATE SKIP LOCKED").Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if len(subs) == 0 {
				return nil
			}
			if more = len(subs) > scheduleBatch; more {
				subs = subs[:scheduleBatch]
			}
			_, loc, err := tenantOf(ctx, tx, tenancy.Tenant{ID: tenant})
			if err != nil {
				return err
			}
			for i := range subs {
				k, err := m.scheduleOne(ctx, tx, &subs[i], loc, now)
				if err != nil {
					return err
				}
				n += k
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

func (m *Module) scheduleOne(ctx context.Context, tx bun.Tx, s *Subscription, loc *time.Location, now time.Time) (int, error) {
	due := s.NextRunAt
	period := due.In(loc).Format("2006-01-02")
	var name string
	var err error
	if s.ReportID != nil {
		err = tx.NewRaw("SELECT name FROM bi_reports WHERE tenant_id = ? AND id = ?", s.TenantID, *s.ReportID).Scan(ctx, &name)
	} else {
		err = tx.NewRaw("SELECT name FROM bi_dashboards WHERE tenant_id = ? AND id = ?", s.TenantID, *s.DashboardID).Scan(ctx, &name)
	}
	if err != nil {
		return 0, err
	}
	var recipients []uuid.UUID
	if s.MemberID != nil {
		recipients = []uuid.UUID{*s.MemberID}
	} else if s.Role != nil {
		if recipients, err = m.d.Members.MembersWithRole(ctx, s.TenantID, *s.Role); err != nil {
			return 0, err
		}
	}
	made := 0
	for _, r := range recipients {
		var id uuid.UUID
		err := tx.NewRaw(`INSERT INTO bi_deliveries (tenant_id, id, subscription_id, period, recipient_id, title, scheduled_for)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, subscription_id, period, recipient_id) DO NOTHING RETURNING id`,
			s.TenantID, uuid.New(), s.ID, period, r, name, due).Scan(ctx, &id)
		if errors.Is(err, sql.ErrNoRows) {
			continue // this period was scheduled for them already
		}
		if err != nil {
			return made, err
		}
		if _, err := m.d.Jobs.Enqueue(ctx, s.TenantID, jobs.Spec{Type: TypeDeliver, Queue: jobs.QueueBulk,
			Payload: deliverPayload{Delivery: id}, DedupeKey: "bi-deliver:" + id.String()}); err != nil {
			return made, err
		}
		made++
	}
	next := nextRun(maxTime(now, due), loc, s.Frequency, deref(s.Weekday), deref(s.MonthDay), s.AtMinute)
	_, err = tx.ExecContext(ctx, "UPDATE bi_subscriptions SET next_run_at = ? WHERE tenant_id = ? AND id = ?", next, s.TenantID, s.ID)
	return made, err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// deliver renders one delivery with its recipient's own rights and scope,
// stores its files for the inbox, marks it sent and mails it, all in the
// job's transaction: a failed mail rolls everything back for the retry, and
// a delivery found sent already (a duplicate task, a second worker) does
// nothing. The one window left is a worker that dies after the mail server
// took the mail and before the commit: that retry mails again, under the
// same Message-ID.
func (m *Module) deliver(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
	var p deliverPayload
	if err := j.Decode(&p); err != nil || p.Delivery == uuid.Nil {
		return errs.E(errs.Invalid, "malformed report delivery payload")
	}
	if m.d.Members == nil {
		return errs.E(errs.Unavailable, "scheduled reports are not wired")
	}
	d := &delivery{}
	err := tx.NewSelect().Model(d).Where("dl.tenant_id = ? AND dl.id = ?", j.TenantID, p.Delivery).For("UPDATE").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil || d.Status != "pending" {
		return err
	}
	skip := func(reason string) error {
		_, err := tx.ExecContext(ctx, "UPDATE bi_deliveries SET status = 'skipped', reason = ? WHERE tenant_id = ? AND id = ?", reason, d.TenantID, d.ID)
		return err
	}
	s := &Subscription{}
	if err := tx.NewSelect().Model(s).Where("s.tenant_id = ? AND s.id = ?", d.TenantID, d.SubscriptionID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return skip("unsubscribed")
		}
		return err
	}
	actor, err := m.d.Members.MemberActor(ctx, d.TenantID, d.RecipientID)
	if errs.Is(err, errs.NotFound) {
		return skip("no longer a member")
	}
	if err != nil {
		return err
	}
	rctx := authz.WithActor(ctx, actor)
	if _, ok := tenancy.From(rctx); !ok {
		rctx = tenancy.With(rctx, tenancy.Tenant{ID: d.TenantID})
	}
	b, err := m.renderDelivery(rctx, s, d)
	if code := errs.CodeOf(err); code == errs.NotFound || code == errs.Forbidden {
		return skip("the recipient may not see it: " + errs.From(err).Detail)
	}
	if err != nil {
		return err
	}
	for i, f := range b.files {
		if _, err := tx.ExecContext(ctx, "INSERT INTO bi_delivery_files (tenant_id, delivery_id, position, name, content_type, size, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
			d.TenantID, d.ID, i, f.Name, f.ContentType, len(f.Data), f.Data); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE bi_deliveries SET status = 'sent', sent_at = now() WHERE tenant_id = ? AND id = ?", d.TenantID, d.ID); err != nil {
		return err
	}
	// The delivery names the mail: the one resend a crash after the send can
	// cause carries the same Message-ID, and mail clients show it once.
	return m.d.Members.MailMemberFiles(ctx, d.TenantID, d.RecipientID, identity.Mail{Subject: b.subject, Text: b.text, Attachments: b.mailed,
		MessageID: "report." + d.ID.String()})
}

type bundle struct {
	subject, text string
	files         []identity.Attachment // all, for the inbox
	mailed        []identity.Attachment // what fits in the mail
}

// renderDelivery runs the report or dashboard as the recipient in ctx and
// renders its pictures, spreadsheet and PDF.
func (m *Module) renderDelivery(ctx context.Context, s *Subscription, d *delivery) (*bundle, error) {
	var ws []widgetNumbers
	name := d.Title
	asOf := time.Now().UTC()
	if s.ReportID != nil {
		r, err := m.GetReport(ctx, *s.ReportID)
		if err != nil {
			return nil, err
		}
		res, err := m.RunReport(ctx, r.ID)
		w := widgetNumbers{Name: bothNames(r.Name, r.NameZH), Chart: r.Chart, Metric: m.metricLabel(r.Query.Metric)}
		switch {
		case err == nil:
			w.Result = res
		case errs.CodeOf(err) == errs.Invalid || errs.CodeOf(err) == errs.Forbidden:
			w.Problem = errs.From(err).Detail
		default:
			return nil, err
		}
		name = bothNames(r.Name, r.NameZH)
		ws = append(ws, w)
	} else {
		dash, err := m.GetDashboard(ctx, *s.DashboardID)
		if err != nil {
			return nil, err
		}
		res, err := m.RunDashboard(ctx, dash.ID)
		if err != nil {
			return nil, err
		}
		name, asOf = bothNames(dash.Name, dash.NameZH), res.AsOf
		for _, wr := range res.Widgets {
			w := widgetNumbers{Name: bothNames(wr.Name, wr.NameZH), Chart: wr.Chart, Result: wr.Result, Problem: wr.Error}
			if wr.Result != nil {
				w.Metric = m.metricLabel(wr.Result.Metric)
			}
			if w.Name == "" {
				w.Name = "—"
			}
			ws = append(ws, w)
		}
	}
	if err := m.nameWidgets(ctx, ws); err != nil {
		return nil, err
	}
	sub := fmt.Sprintf("%s · %s", d.Period, asOf.Format("2006-01-02 15:04 UTC"))
	b := &bundle{subject: fmt.Sprintf("%s — %s (report 报表)", name, d.Period)}
	var pics []identity.Attachment
	for i := range ws {
		w := &ws[i]
		if w.Result == nil {
			continue
		}
		line := w.Metric
		if w.Result.From != "" {
			line += fmt.Sprintf(" · %s – %s", w.Result.From, w.Result.To)
		}
		png, err := m.renderWidget(w.Name, line, w.Chart, w.Result, w.Names)
		if err != nil {
			return nil, err
		}
		w.PNG = png
		pics = append(pics, identity.Attachment{Name: fileName(fmt.Sprintf("%02d %s", i+1, w.Name), ".png"), ContentType: "image/png", Data: png})
	}
	xlsx, err := numbersXLSX(ws)
	if err != nil {
		return nil, err
	}
	pdf, err := m.dashboardPDF(name, sub, ws, asOf)
	if err != nil {
		return nil, err
	}
	sheetF := identity.Attachment{Name: fileName(name, ".xlsx"), ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: xlsx}
	pdfF := identity.Attachment{Name: fileName(name, ".pdf"), ContentType: "application/pdf", Data: pdf}
	b.files = append(append(append([]identity.Attachment{}, pics...), sheetF), pdfF)
	size := func(as []identity.Attachment) int {
		n := 0
		for _, a := range as {
			n += len(a.Data)
		}
		return n
	}
	var left []string
	switch {
	case size(b.files) <= MaxMailBytes:
		b.mailed = b.files
	case len(xlsx)+len(pdf) <= MaxMailBytes:
		b.mailed = []identity.Attachment{sheetF, pdfF}
		left = append(left, "the widget pictures (the PDF shows them) 组件图片（见 PDF）")
	default:
		b.mailed = []identity.Attachment{sheetF}
		left = append(left, "the widget pictures and the PDF 组件图片和 PDF")
	}
	var t strings.Builder
	fmt.Fprintf(&t, "%s\n%s\n\n", name, sub)
	for _, w := range ws {
		switch {
		case w.Result == nil:
			fmt.Fprintf(&t, "- %s: %s\n", w.Name, w.Problem)
		default:
			fmt.Fprintf(&t, "- %s (%s): %d rows 行\n", w.Name, w.Metric, len(w.Result.Rows))
		}
	}
	fmt.Fprintf(&t, "\nThe numbers are in the attached spreadsheet and PDF, counted with your own rights and scope.\n数据见附件中的表格和 PDF，按您本人的权限和可见范围统计。\n")
	if len(left) > 0 {
		fmt.Fprintf(&t, "\nLeft out of this mail to keep it under %d MB, and kept in your report inbox: %s.\n此邮件未附带（可在报表收件箱查看）：%s。\n",
			MaxMailBytes>>20, strings.Join(left, ", "), strings.Join(left, "，"))
	}
	fmt.Fprintf(&t, "\nReport inbox 报表收件箱: /bi/inbox/%s\n", d.ID)
	b.text = t.String()
	return b, nil
}

func (m *Module) metricLabel(key string) string {
	if e, ok := m.metrics.Find(key); ok {
		return e.LabelEN + " / " + e.LabelZH
	}
	return key
}

// InboxFile describes a file of a delivered report.
type InboxFile struct {
	Position    int    `json:"position"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

// InboxItem is a report delivered to the caller.
type InboxItem struct {
	ID             uuid.UUID   `json:"id"`
	SubscriptionID uuid.UUID   `json:"subscription_id"`
	Title          string      `json:"title"`
	Period         string      `json:"period" doc:"the day, in the company's time zone, the report was due"`
	ScheduledFor   time.Time   `json:"scheduled_for"`
	SentAt         *time.Time  `json:"sent_at"`
	Files          []InboxFile `json:"files"`
	FilesExpiredAt *time.Time  `json:"files_expired_at,omitempty" doc:"when the files were removed, as they are after the company's retention (CLIENTELE_REPORT_FILE_DAYS); the mail kept its copy"`
}

func inboxNotFound() error { return errs.E(errs.NotFound, "report not found in your inbox") }

// ListInbox lists the reports delivered to the caller, newest first.
func (m *Module) ListInbox(ctx context.Context, limit int, cursor string) ([]InboxItem, string, error) {
	after, err := page.Start[page.After](cursor)
	if err != nil {
		return nil, "", err
	}
	var out []InboxItem
	err = tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		var rows []delivery
		q := tx.NewSelect().Model(&rows).Where("dl.tenant_id = ? AND dl.recipient_id = ? AND dl.status = 'sent'", tn.ID, authz.ActorFrom(ctx).ID).
			OrderExpr("dl.scheduled_for DESC, dl.id DESC").Limit(limit + 1)
		if after != nil {
			q = q.Where("(dl.scheduled_for, dl.id) < (?, ?)", after.At, after.ID)
		}
		if err := q.Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var err error
		out, err = withFiles(ctx, tx, tn.ID, rows)
		return err
	})
	if err != nil {
		return nil, "", errs.From(err)
	}
	out, next := page.Cut(out, limit, func(i InboxItem) any { return page.After{At: i.ScheduledFor, ID: i.ID} })
	return out, next, nil
}

func withFiles(ctx context.Context, tx bun.Tx, tenant uuid.UUID, rows []delivery) ([]InboxItem, error) {
	out := make([]InboxItem, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var files []struct {
		DeliveryID uuid.UUID `bun:"delivery_id"`
		InboxFile
	}
	if err := tx.NewRaw("SELECT delivery_id, position, name, content_type, size FROM bi_delivery_files WHERE tenant_id = ? AND delivery_id IN (?) ORDER BY delivery_id, position",
		tenant, bun.In(ids)).Scan(ctx, &files); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	by := map[uuid.UUID][]InboxFile{}
	for _, f := range files {
		by[f.DeliveryID] = append(by[f.DeliveryID], f.InboxFile)
	}
	for _, r := range rows {
		fs := by[r.ID]
		if fs == nil {
			fs = []InboxFile{}
		}
		out = append(out, InboxItem{ID: r.ID, SubscriptionID: r.SubscriptionID, Title: r.Title, Period: r.Period, ScheduledFor: r.ScheduledFor, SentAt: r.SentAt, Files: fs,
			FilesExpiredAt: r.FilesExpiredAt})
	}
	return out, nil
}

// GetInboxItem reads one report delivered to the caller; anyone else's is
// NotFound, bi.manage or not.
func (m *Module) GetInboxItem(ctx context.Context, id uuid.UUID) (*InboxItem, error) {
	var out *InboxItem
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		var rows []delivery
		if err := tx.NewSelect().Model(&rows).Where("dl.tenant_id = ? AND dl.id = ? AND dl.recipient_id = ? AND dl.status = 'sent'", tn.ID, id, authz.ActorFrom(ctx).ID).
			Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if len(rows) == 0 {
			return inboxNotFound()
		}
		items, err := withFiles(ctx, tx, tn.ID, rows)
		if err != nil {
			return err
		}
		out = &items[0]
		return nil
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

// InboxFileData is a delivered file's bytes.
type InboxFileData struct {
	InboxFile
	Data []byte
}

// GetInboxFile reads one file of a report delivered to the caller.
func (m *Module) GetInboxFile(ctx context.Context, id uuid.UUID, position int) (*InboxFileData, error) {
	out := &InboxFileData{}
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		err := tx.NewRaw(`SELECT f.position, f.name, f.content_type, f.size, f.data FROM bi_delivery_files f
			JOIN bi_deliveries d ON d.tenant_id = f.tenant_id AND d.id = f.delivery_id
			WHERE f.tenant_id = ? AND f.delivery_id = ? AND f.position = ? AND d.recipient_id = ? AND d.status = 'sent'`,
			tn.ID, id, position, authz.ActorFrom(ctx).ID).Scan(ctx, &out.Position, &out.Name, &out.ContentType, &out.Size, &out.Data)
		if errors.Is(err, sql.ErrNoRows) {
			var expired bool
			if err := tx.NewRaw("SELECT EXISTS (SELECT 1 FROM bi_deliveries WHERE tenant_id = ? AND id = ? AND recipient_id = ? AND files_expired_at IS NOT NULL)",
				tn.ID, id, authz.ActorFrom(ctx).ID).Scan(ctx, &expired); err == nil && expired {
				return errs.E(errs.NotFound, "this report's files were removed after %d days, as the company keeps them; the mail it came in has a copy, and its dashboard shows the numbers now", m.fileDays())
			}
			return errs.E(errs.NotFound, "file not found in your inbox")
		}
		return err
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// bothNames is a name in English and Chinese for the mail, which goes to
// readers of either language: "Sales overview 销售概览".
func bothNames(en, zh string) string {
	if zh == "" || zh == en {
		return en
	}
	return en + " " + zh
}

// TypeExpireFiles removes delivered reports' files past their retention.
const TypeExpireFiles = "bi:expire-report-files"

func (m *Module) fileDays() int {
	if m.d.FileDays > 0 {
		return m.d.FileDays
	}
	return 90
}

// ExpireFiles removes the files of the reports delivered more than the
// retention ago, company by company, each in a transaction of its own, and
// marks those deliveries so the inbox says why they have no files. It
// returns how many deliveries lost their files.
func (m *Module) ExpireFiles(ctx context.Context, now time.Time) (int, error) {
	var tenants []uuid.UUID
	if err := m.d.DB.NewRaw("SELECT id FROM tenants WHERE status = 'active' ORDER BY id").Scan(ctx, &tenants); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	cut := now.Add(-time.Duration(m.fileDays()) * 24 * time.Hour)
	total := 0
	for _, tenant := range tenants {
		err := db.InTenant(authz.AsSystem(ctx), m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			var ids []uuid.UUID
			if err := tx.NewRaw(`UPDATE bi_deliveries SET files_expired_at = ? WHERE tenant_id = ? AND status = 'sent'
				AND sent_at < ? AND files_expired_at IS NULL RETURNING id`, now, tenant, cut).Scan(ctx, &ids); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if len(ids) == 0 {
				return nil
			}
			total += len(ids)
			_, err := tx.NewRaw("DELETE FROM bi_delivery_files WHERE tenant_id = ? AND delivery_id IN (?)", tenant, bun.In(ids)).Exec(ctx)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("bi: expire report files: %w", err)
		}
	}
	return total, nil
}
