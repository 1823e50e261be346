package bi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// members is the company's members as tenants would give them: their
// rights now, their roles, and mail into the test's mail sink.
type members struct {
	mu     sync.Mutex
	actors map[uuid.UUID]authz.Actor
	sink   *identity.FileMailer
	fail   atomic.Int32 // mails to refuse before accepting
	sent   atomic.Int32
}

func (f *members) MemberActor(_ context.Context, _, id uuid.UUID) (authz.Actor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.actors[id]
	if !ok {
		return authz.Actor{}, errs.E(errs.NotFound, "member not found")
	}
	return a, nil
}

func (f *members) MembersWithRole(_ context.Context, _ uuid.UUID, role string) ([]uuid.UUID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []uuid.UUID
	for id, a := range f.actors {
		if a.Role == role {
			out = append(out, id)
		}
	}
	return out, nil
}

func (f *members) MailMemberFiles(ctx context.Context, _, member uuid.UUID, m identity.Mail) error {
	if f.fail.Load() > 0 {
		f.fail.Add(-1)
		return errs.E(errs.Unavailable, "the mail server is down")
	}
	m.To = member.String() + "@example.com"
	f.sent.Add(1)
	return f.sink.Send(ctx, m)
}

func actorOf(id uuid.UUID, role string, scope authz.Scope, perms ...string) authz.Actor {
	p := map[string]bool{}
	for _, k := range perms {
		p[k] = true
	}
	return authz.Actor{ID: id, Kind: authz.ActorUser, Role: role, Permissions: p, Scope: scope}
}

func (w *world) ctxOf(a authz.Actor) context.Context {
	return tenancy.With(authz.WithActor(context.Background(), a), tenancy.Tenant{ID: w.tenant, Slug: w.slug, TimeZone: w.loc.String(), Currency: w.currency})
}

// reportWorld is a company with data, a dashboard of three reports (a line,
// a bar by province, a KPI) and its members' rights.
type reportWorld struct {
	*world
	m         *bi.Module
	who       *members
	manager   authz.Actor // member 0, scope all
	agent     authz.Actor // member 1, scope own
	admin     authz.Actor // member 3, bi.manage
	dashboard uuid.UUID
	report    uuid.UUID
}

func newReportWorld(t *testing.T, seed uint64, enq bi.Enqueuer) *reportWorld {
	t.Helper()
	w := newWorld(t, "Asia/Shanghai", "CNY", seed, time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	read := []string{bi.PermRead, profiles.PermRead}
	who := &members{actors: map[uuid.UUID]authz.Actor{}, sink: identity.NewFileMailer(t.TempDir(), testkit.Quiet)}
	rw := &reportWorld{world: w, who: who,
		manager: actorOf(w.members[0], "manager", authz.ScopeAll, read...),
		agent:   actorOf(w.members[1], "agent", authz.ScopeOwn, read...),
		admin:   actorOf(w.members[3], "admin", authz.ScopeAll, append(read, bi.PermManage)...)}
	for _, a := range []authz.Actor{rw.manager, rw.agent, rw.admin} {
		who.actors[a.ID] = a
	}
	rw.m = bi.New(bi.Deps{DB: testkit.Get(t).App, Modules: newBIModules(t), Log: testkit.Quiet, Jobs: enq, Members: who})
	ctx := w.ctxOf(rw.manager)
	rng := bi.Range{Preset: "custom", From: "2026-01-01", To: "2026-03-31"}
	var ids []uuid.UUID
	for _, in := range []bi.ReportInput{
		{Name: "新客户 New customers", Chart: "line", Query: bi.SavedQuery{Metric: "profiles.new_customers", Dimensions: []string{"time"}, Bucket: "month", Range: rng}},
		{Name: "客户分布 Customers by province", Chart: "bar", Query: bi.SavedQuery{Metric: "profiles.customers", Dimensions: []string{"province"}, Range: rng}},
		{Name: "客户总数 Customers", Chart: "kpi", Query: bi.SavedQuery{Metric: "profiles.customers", Compare: true, Range: rng}},
	} {
		in.SharedRoles = []string{"agent", "admin"}
		r, err := rw.m.CreateReport(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	rw.report = ids[0]
	d, err := rw.m.CreateDashboard(ctx, bi.DashboardInput{Name: "销售周报 Weekly", SharedRoles: []string{"agent", "admin"}, Widgets: []bi.Widget{
		{ReportID: ids[0], X: 0, Y: 0, W: 6, H: 4}, {ReportID: ids[1], X: 6, Y: 0, W: 6, H: 4}, {ReportID: ids[2], X: 0, Y: 4, W: 4, H: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	rw.dashboard = d.ID
	return rw
}

// due makes a subscription fall due a minute ago.
func (rw *reportWorld) due(t *testing.T, sub uuid.UUID) time.Time {
	t.Helper()
	at := time.Now().Add(-time.Minute).Truncate(time.Second).UTC()
	if _, err := testkit.Get(t).Owner.ExecContext(context.Background(), "UPDATE bi_subscriptions SET next_run_at = ? WHERE tenant_id = ? AND id = ?", at, rw.tenant, sub); err != nil {
		t.Fatal(err)
	}
	return at
}

func checkAttachments(t *testing.T, ml identity.Mail, pngs int) {
	t.Helper()
	var nPNG, nXLSX, nPDF int
	for _, a := range ml.Attachments {
		switch a.ContentType {
		case "image/png":
			img, err := png.Decode(bytes.NewReader(a.Data))
			if err != nil || img.Bounds().Dx() < 400 {
				t.Fatalf("%s does not decode as a picture: %v", a.Name, err)
			}
			nPNG++
		case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
			f, err := excelize.OpenReader(bytes.NewReader(a.Data))
			if err != nil {
				t.Fatalf("%s does not open: %v", a.Name, err)
			}
			rows, err := f.GetRows(f.GetSheetName(0))
			if err != nil || len(rows) < 2 || !strings.Contains(rows[0][0], "组件") {
				t.Fatalf("%s rows %v: %v", a.Name, rows, err)
			}
			nXLSX++
		case "application/pdf":
			if !bytes.HasPrefix(a.Data, []byte("%PDF-")) || !bytes.Contains(a.Data, []byte("/Type /Page")) || !bytes.Contains(a.Data, []byte("%%EOF")) {
				t.Fatalf("%s is not a PDF with pages (%d bytes)", a.Name, len(a.Data))
			}
			nPDF++
		}
	}
	if nPNG != pngs || nXLSX != 1 || nPDF != 1 {
		t.Fatalf("the mail carries %d pictures, %d spreadsheets, %d PDFs: %+v", nPNG, nXLSX, nPDF, ml.Attachments)
	}
}

// A weekly dashboard subscription lands once in the mail sink with a
// picture per widget, the spreadsheet and the PDF, through the real job
// worker, even with two schedulers sweeping at once; the report inbox
// holds it, for its recipient only.
func TestScheduledReportLandsOnceInTheMailSink(t *testing.T) {
	env := testkit.Get(t)
	client := jobstest.Client(t, env.App)
	rw := newReportWorld(t, 31, client)
	client.Register(rw.m.Jobs()...)
	ctx := rw.ctxOf(rw.manager)
	// The schedule's slot is the local minute that has just passed, so the
	// slot due now and the next one are a week apart at any hour of any day
	// (a slot later today would come round in hours, not a week).
	slot := time.Now().In(rw.loc).Add(-2 * time.Minute).Truncate(time.Minute)
	wd := int(slot.Weekday())
	if wd == 0 {
		wd = 7
	}
	hm := slot.Format("15:04")
	sub, err := rw.m.CreateSubscription(ctx, bi.SubscriptionInput{DashboardID: &rw.dashboard, Frequency: "weekly", Weekday: wd, Time: hm})
	if err != nil {
		t.Fatal(err)
	}
	if sub.MemberID == nil || *sub.MemberID != rw.manager.ID || sub.Time != hm || !sub.NextRunAt.After(time.Now()) {
		t.Fatalf("subscription %+v", sub)
	}
	at := rw.due(t, sub.ID)

	// Two schedulers sweep at once: one delivery.
	var made atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := rw.m.ScheduleDueIn(context.Background(), rw.tenant, time.Now())
			if err != nil {
				t.Error(err)
			}
			made.Add(int32(n))
		}()
	}
	wg.Wait()
	if made.Load() != 1 {
		t.Fatalf("two schedulers made %d deliveries, want 1", made.Load())
	}
	// The subscription moved on to next week; a scheduler that saw the old
	// time (set back by hand) finds the period taken.
	again, _ := rw.m.GetSubscription(ctx, sub.ID)
	if d := again.NextRunAt.Sub(at); d < 6*24*time.Hour || d > 8*24*time.Hour {
		t.Fatalf("next run %v after %v", again.NextRunAt, at)
	}
	if _, err := env.Owner.ExecContext(context.Background(), "UPDATE bi_subscriptions SET next_run_at = ? WHERE tenant_id = ? AND id = ?", at, rw.tenant, sub.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := rw.m.ScheduleDueIn(context.Background(), rw.tenant, time.Now()); err != nil || n != 0 {
		t.Fatalf("the same period again made %d (%v)", n, err)
	}

	jobstest.Worker(t, jobs.ServerOptions{Handlers: rw.m.Jobs(), SweepInterval: -1, NoScheduler: true})
	to := rw.manager.ID.String() + "@example.com"
	var ml identity.Mail
	testkit.Eventually(t, 60*time.Second, 200*time.Millisecond, "the report mail", func() bool {
		ml, err = rw.who.sink.Last(to)
		return err == nil
	})
	if !strings.Contains(ml.Subject, "销售周报 Weekly") || !strings.Contains(ml.Text, "客户分布 Customers by province") {
		t.Fatalf("mail %q\n%s", ml.Subject, ml.Text)
	}
	checkAttachments(t, ml, 3)
	// BI_REPORT_DIR=<dir> keeps the files, to look at them.
	if dir := os.Getenv("BI_REPORT_DIR"); dir != "" {
		for _, a := range ml.Attachments {
			if err := os.WriteFile(filepath.Join(dir, a.Name), a.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := rw.who.sent.Load(); n != 1 {
		t.Fatalf("%d mails sent, want 1", n)
	}

	// The inbox: the recipient's only.
	items, _, err := rw.m.ListInbox(ctx, 50, "")
	if err != nil || len(items) != 1 || len(items[0].Files) != 5 {
		t.Fatalf("inbox %+v %v", items, err)
	}
	pdf, err := rw.m.GetInboxFile(ctx, items[0].ID, 4)
	if err != nil || pdf.ContentType != "application/pdf" || !bytes.Equal(pdf.Data, ml.Attachments[4].Data) {
		t.Fatalf("inbox pdf %v", err)
	}
	other := rw.ctxOf(rw.admin)
	if mine, _, err := rw.m.ListInbox(other, 50, ""); err != nil || len(mine) != 0 {
		t.Fatalf("another member's inbox %+v %v", mine, err)
	}
	if _, err := rw.m.GetInboxItem(other, items[0].ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another member reads the delivery: %v", err)
	}
	if _, err := rw.m.GetInboxFile(other, items[0].ID, 0); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another member downloads the file: %v", err)
	}

	// Past the retention (90 days by default) the files go; the inbox keeps
	// the report and says when they went. Within it nothing goes.
	if n, err := rw.m.ExpireFiles(context.Background(), time.Now().Add(89*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("within the retention %d deliveries lost their files (%v)", n, err)
	}
	if n, err := rw.m.ExpireFiles(context.Background(), time.Now().Add(91*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("past the retention %d deliveries lost their files (%v), want 1", n, err)
	}
	items, _, err = rw.m.ListInbox(ctx, 50, "")
	if err != nil || len(items) != 1 || len(items[0].Files) != 0 || items[0].FilesExpiredAt == nil {
		t.Fatalf("inbox after the retention %+v %v", items, err)
	}
	if _, err := rw.m.GetInboxFile(ctx, items[0].ID, 4); !errs.Is(err, errs.NotFound) || !strings.Contains(err.Error(), "removed after 90 days") {
		t.Fatalf("an expired file: %v", err)
	}
	if n, err := rw.m.ExpireFiles(context.Background(), time.Now().Add(200*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("a second run expired %d again (%v)", n, err)
	}
}

func deliverHandler(m *bi.Module) jobs.Handler {
	for _, h := range m.Jobs() {
		if h.Type == bi.TypeDeliver {
			return h
		}
	}
	panic("no delivery handler")
}

// enqueued records deliveries' jobs without running them.
type enqueued struct {
	mu   sync.Mutex
	jobs []*jobs.Job
}

func (e *enqueued) Enqueue(_ context.Context, tenant uuid.UUID, s jobs.Spec) (*jobs.Job, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := &jobs.Job{TenantID: tenant, ID: uuid.New(), Type: s.Type, Status: jobs.StatusQueued}
	j.Payload, _ = jsonOf(s.Payload)
	e.jobs = append(e.jobs, j)
	return j, nil
}

// run runs a delivery job as the worker would: in a tenant transaction,
// as the system, rolled back when it fails.
func run(t *testing.T, m *bi.Module, j *jobs.Job) error {
	ctx := tenancy.With(authz.AsSystem(context.Background()), tenancy.Tenant{ID: j.TenantID})
	return db.InTenant(ctx, testkit.Get(t).App, j.TenantID, func(ctx context.Context, tx bun.Tx) error {
		return deliverHandler(m).Run(ctx, tx, j)
	})
}

// A send that fails rolls the delivery back; its retry mails once, and a
// duplicate run of the job afterwards sends nothing. A role subscription
// reaches each member of the role with their own rights: the agent's copy
// counts only their own customers, and a member without bi.read gets none.
func TestFailedSendRetriedDoesNotDouble(t *testing.T) {
	q := &enqueued{}
	rw := newReportWorld(t, 32, q)
	sub, err := rw.m.CreateSubscription(rw.ctxOf(rw.manager), bi.SubscriptionInput{ReportID: &rw.report, Frequency: "daily", Time: "07:30"})
	if err != nil {
		t.Fatal(err)
	}
	rw.due(t, sub.ID)
	if n, err := rw.m.ScheduleDue(context.Background(), time.Now()); err != nil || n != 1 || len(q.jobs) != 1 {
		t.Fatalf("scheduled %d (%v), %d jobs", n, err, len(q.jobs))
	}
	j := q.jobs[0]
	rw.who.fail.Store(1)
	if err := run(t, rw.m, j); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("the failed send: %v", err)
	}
	if items, _, _ := rw.m.ListInbox(rw.ctxOf(rw.manager), 10, ""); len(items) != 0 {
		t.Fatalf("a failed send left %d inbox items", len(items))
	}
	for i := 0; i < 3; i++ { // the retry, then duplicates
		if err := run(t, rw.m, j); err != nil {
			t.Fatal(err)
		}
	}
	if n := rw.who.sent.Load(); n != 1 {
		t.Fatalf("%d mails, want 1", n)
	}
	ml, err := rw.who.sink.Last(rw.manager.ID.String() + "@example.com")
	if err != nil {
		t.Fatal(err)
	}
	checkAttachments(t, ml, 1)
	items, _, err := rw.m.ListInbox(rw.ctxOf(rw.manager), 10, "")
	if err != nil || len(items) != 1 || len(items[0].Files) != 3 {
		t.Fatalf("inbox %+v %v", items, err)
	}
	if ml.MessageID != "report."+items[0].ID.String() {
		t.Fatalf("the mail's Message-ID %q does not name its delivery %s", ml.MessageID, items[0].ID)
	}

	// A role: each recipient with their own rights.
	nobody := uuid.New()
	rw.who.mu.Lock()
	rw.who.actors[nobody] = actorOf(nobody, "agent", authz.ScopeOwn, profiles.PermRead) // no bi.read
	rw.who.mu.Unlock()
	rsub, err := rw.m.CreateSubscription(rw.ctxOf(rw.admin), bi.SubscriptionInput{ReportID: &rw.report, Role: "agent", Frequency: "monthly", MonthDay: 31, Time: "23:59"})
	if err != nil {
		t.Fatal(err)
	}
	rw.due(t, rsub.ID)
	q.jobs = nil
	if n, err := rw.m.ScheduleDue(context.Background(), time.Now()); err != nil || n != 2 {
		t.Fatalf("the role's deliveries: %d (%v)", n, err)
	}
	for _, j := range q.jobs {
		if err := run(t, rw.m, j); err != nil {
			t.Fatal(err)
		}
	}
	if n := rw.who.sent.Load(); n != 2 {
		t.Fatalf("%d mails after the role's, want 2 (the member without bi.read gets none)", n)
	}
	got, err := rw.who.sink.Last(rw.agent.ID.String() + "@example.com")
	if err != nil {
		t.Fatal(err)
	}
	want, err := rw.m.RunReport(rw.ctxOf(rw.agent), rw.report)
	if err != nil {
		t.Fatal(err)
	}
	all, err := rw.m.RunReport(rw.ctxOf(rw.manager), rw.report)
	if err != nil {
		t.Fatal(err)
	}
	sheetSum := func(ml identity.Mail) string {
		for _, a := range ml.Attachments {
			if strings.HasSuffix(a.Name, ".xlsx") {
				f, err := excelize.OpenReader(bytes.NewReader(a.Data))
				if err != nil {
					t.Fatal(err)
				}
				rows, _ := f.GetRows(f.GetSheetName(0))
				var vs []string
				for _, r := range rows[1:] {
					vs = append(vs, r[6])
				}
				return strings.Join(vs, ",")
			}
		}
		return ""
	}
	var wantVals, allVals []string
	for _, r := range want.Rows {
		wantVals = append(wantVals, *r.Value)
	}
	for _, r := range all.Rows {
		allVals = append(allVals, *r.Value)
	}
	if g := sheetSum(got); g != strings.Join(wantVals, ",") || g == strings.Join(allVals, ",") {
		t.Fatalf("the agent's copy holds %s; their own numbers are %v, everyone's %v", g, wantVals, allVals)
	}
}

// Subscriptions belong to their recipient: a member subscribes only
// themselves and sees only their own; bi.manage subscribes roles and sees
// all. Another company's subscription is 404, bad input names the field.
func TestSubscriptionsScopeAndBadInput(t *testing.T) {
	rw := newReportWorld(t, 33, &enqueued{})
	mgr, agent, admin := rw.ctxOf(rw.manager), rw.ctxOf(rw.agent), rw.ctxOf(rw.admin)
	mine, err := rw.m.CreateSubscription(mgr, bi.SubscriptionInput{ReportID: &rw.report, Frequency: "daily", Time: "09:15"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rw.m.CreateSubscription(agent, bi.SubscriptionInput{ReportID: &rw.report, Role: "manager", Frequency: "daily", Time: "09:15"}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("an agent subscribes a role: %v", err)
	}
	for name, call := range map[string]func() error{
		"get": func() error { _, err := rw.m.GetSubscription(agent, mine.ID); return err },
		"update": func() error {
			_, err := rw.m.UpdateSubscription(agent, mine.ID, bi.SubscriptionInput{ReportID: &rw.report, Frequency: "daily", Time: "10:00"})
			return err
		},
		"delete": func() error { return rw.m.DeleteSubscription(agent, mine.ID) },
	} {
		if err := call(); !errs.Is(err, errs.NotFound) {
			t.Fatalf("the agent's %s of the manager's subscription: %v", name, err)
		}
	}
	if list, _, err := rw.m.ListSubscriptions(agent, 50, ""); err != nil || len(list) != 0 {
		t.Fatalf("the agent lists %+v %v", list, err)
	}
	if list, _, err := rw.m.ListSubscriptions(admin, 50, ""); err != nil || len(list) != 1 {
		t.Fatalf("bi.manage lists %+v %v", list, err)
	}
	if s, err := rw.m.UpdateSubscription(admin, mine.ID, bi.SubscriptionInput{ReportID: &rw.report, Role: "manager", Frequency: "weekly", Weekday: 1, Time: "06:00"}); err != nil || s.Role == nil || *s.Role != "manager" {
		t.Fatalf("bi.manage turns it into a role's: %+v %v", s, err)
	}

	// Another company: 404 for its subscription, and its report names
	// nothing here.
	other := newReportWorld(t, 34, &enqueued{})
	theirs, err := other.m.CreateSubscription(other.ctxOf(other.manager), bi.SubscriptionInput{DashboardID: &other.dashboard, Frequency: "daily", Time: "09:00"})
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"get": func() error { _, err := rw.m.GetSubscription(admin, theirs.ID); return err },
		"update": func() error {
			_, err := rw.m.UpdateSubscription(admin, theirs.ID, bi.SubscriptionInput{ReportID: &rw.report, Frequency: "daily", Time: "10:00"})
			return err
		},
		"delete": func() error { return rw.m.DeleteSubscription(admin, theirs.ID) },
	} {
		if err := call(); !errs.Is(err, errs.NotFound) {
			t.Fatalf("%s of another company's subscription: %v", name, err)
		}
	}
	unknown := uuid.New()
	for loc, in := range map[string]bi.SubscriptionInput{
		"body.report_id":    {ReportID: &unknown, Frequency: "daily", Time: "09:00"},
		"body.dashboard_id": {DashboardID: &other.dashboard, Frequency: "daily", Time: "09:00"},
		"body.time":         {ReportID: &rw.report, Frequency: "daily", Time: "25:00"},
		"body.weekday":      {ReportID: &rw.report, Frequency: "weekly", Time: "09:00"},
		"body.month_day":    {ReportID: &rw.report, Frequency: "monthly", Time: "09:00"},
		"body.frequency":    {ReportID: &rw.report, Frequency: "hourly", Time: "09:00"},
		"body.role":         {ReportID: &rw.report, Role: "Not A Role", Frequency: "daily", Time: "09:00"},
	} {
		ctx := mgr
		if loc == "body.role" {
			ctx = admin
		}
		_, err := rw.m.CreateSubscription(ctx, in)
		invalidAt(t, err, loc)
	}
	var both bi.SubscriptionInput = bi.SubscriptionInput{ReportID: &rw.report, DashboardID: &rw.dashboard, Frequency: "daily", Time: "09:00"}
	_, err = rw.m.CreateSubscription(mgr, both)
	invalidAt(t, err, "body.report_id")
}

// The next run falls on the schedule's local day and time, the last day of
// a short month for a day it lacks, across daylight-saving changes.
func TestNextRun(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		after       time.Time
		loc         *time.Location
		freq        string
		wd, md, min int
		want        string
	}{
		{time.Date(2026, 12, 6, 0, 0, 0, 0, sh), sh, "daily", 0, 0, 8 * 60, "2026-12-06 08:00 CST"},
		{time.Date(2026, 12, 6, 8, 0, 0, 0, sh), sh, "daily", 0, 0, 8 * 60, "2026-12-07 08:00 CST"},
		{time.Date(2026, 12, 6, 9, 0, 0, 0, sh), sh, "weekly", 1, 0, 8 * 60, "2026-12-07 08:00 CST"}, // a Sunday; next Monday
		{time.Date(2026, 12, 7, 9, 0, 0, 0, sh), sh, "weekly", 1, 0, 8 * 60, "2026-12-14 08:00 CST"},
		{time.Date(2027, 2, 1, 0, 0, 0, 0, sh), sh, "monthly", 0, 31, 18 * 60, "2027-02-28 18:00 CST"},
		{time.Date(2027, 3, 1, 0, 0, 0, 0, sh), sh, "monthly", 0, 31, 18 * 60, "2027-03-31 18:00 CST"},
		{time.Date(2026, 3, 7, 12, 0, 0, 0, ny), ny, "daily", 0, 0, 9 * 60, "2026-03-08 09:00 EDT"},   // after the spring change
		{time.Date(2026, 10, 31, 12, 0, 0, 0, ny), ny, "daily", 0, 0, 9 * 60, "2026-11-01 09:00 EST"}, // after the autumn change
		{time.Date(2026, 3, 8, 0, 0, 0, 0, ny), ny, "daily", 0, 0, 2*60 + 30, "2026-03-08 03:30 EDT"}, // a time the change skips
	} {
		got := bi.NextRun(c.after, c.loc, c.freq, c.wd, c.md, c.min).In(c.loc).Format("2006-01-02 15:04 MST")
		if got != c.want {
			t.Errorf("%s %s after %v: %s, want %s", c.freq, c.loc, c.after, got, c.want)
		}
	}
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }
