package bi_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// count counts rows of the world's company.
func (w *world) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := testkit.Get(t).Owner.NewRaw("SELECT count(*) FROM "+table+" WHERE tenant_id = ?", w.tenant).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A company's first list of dashboards gives it the sales overview,
// customer insights and service dashboards, named in both languages, owned
// by the company and seen by every role holding bi.read; each widget
// answers without an error; a rerun adds nothing; only bi.manage changes
// them; one the company removed is not made again.
func TestProvisionedDashboards(t *testing.T) {
	m := newBI(t)
	w := newWorld(t, "Asia/Shanghai", "CNY", 11, time.Now().AddDate(-1, 0, 0), time.Now())
	viewer := w.asRole(w.members[2], "viewer", authz.ScopeAll, allPerms[0], allPerms[2], allPerms[3], allPerms[4])
	admin := w.asRole(w.members[3], "admin", authz.ScopeAll, allPerms...)

	start := time.Now()
	ds, _, err := m.ListDashboards(viewer, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	if _, _, err := m.ListDashboards(viewer, 50, ""); err != nil {
		t.Fatal(err)
	}
	t.Logf("first list (provisioning) %s, the next %s", first.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	var keys []string
	byKey := map[string]bi.Dashboard{}
	for _, d := range ds {
		if d.ProvisionKey == nil || d.OwnerID != uuid.Nil || d.NameZH == "" || d.Name == d.NameZH {
			t.Fatalf("a dashboard that is not the company's own, or named in one language: %+v", d)
		}
		keys = append(keys, *d.ProvisionKey)
		byKey[*d.ProvisionKey] = d
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "customer_insights,sales_overview,service" {
		t.Fatalf("provisioned %v", keys)
	}
	reports, dashboards, widgets := w.count(t, "bi_reports"), w.count(t, "bi_dashboards"), w.count(t, "bi_dashboard_widgets")
	if reports < 25 || widgets != reports {
		t.Fatalf("%d reports, %d widgets", reports, widgets)
	}
	for _, d := range ds {
		res, err := m.RunDashboard(viewer, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		full, _ := m.GetDashboard(viewer, d.ID)
		if len(res.Widgets) != len(full.Widgets) || len(res.Widgets) < 5 {
			t.Fatalf("%s: %d widgets answered of %d", d.Name, len(res.Widgets), len(full.Widgets))
		}
		for _, wr := range res.Widgets {
			if wr.Error != "" || wr.Result == nil || wr.NameZH == "" {
				t.Errorf("%s / %s: %q", d.Name, wr.Name, wr.Error)
			}
		}
	}

	// A rerun, and other lists, add nothing.
	if n, err := m.Provision(context.Background(), w.tenant); err != nil || n != 0 {
		t.Fatalf("a rerun made %d: %v", n, err)
	}
	if _, _, err := bi.New(bi.Deps{DB: testkit.Get(t).App, Modules: newBIModules(t), Log: testkit.Quiet}).ListReports(admin, 50, ""); err != nil {
		t.Fatal(err)
	}
	if r, d, wd := w.count(t, "bi_reports"), w.count(t, "bi_dashboards"), w.count(t, "bi_dashboard_widgets"); r != reports || d != dashboards || wd != widgets {
		t.Fatalf("a rerun changed the rows: %d %d %d, then %d %d %d", reports, dashboards, widgets, r, d, wd)
	}

	// The viewer may not change them; an admin (bi.manage) may.
	sales := byKey[bi.SalesOverview]
	full, err := m.GetDashboard(viewer, sales.ID)
	if err != nil {
		t.Fatal(err)
	}
	in := bi.DashboardInput{Name: full.Name, NameZH: full.NameZH + "（新）", Widgets: full.Widgets}
	if _, err := m.UpdateDashboard(viewer, sales.ID, in); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a viewer changed the company's dashboard: %v", err)
	}
	if _, err := m.UpdateReport(viewer, full.Widgets[0].ReportID, bi.ReportInput{Name: "x", Chart: "kpi"}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a viewer changed the company's report: %v", err)
	}
	if got, err := m.UpdateDashboard(admin, sales.ID, in); err != nil || got.NameZH != "销售概览（新）" {
		t.Fatalf("the admin's change: %+v %v", got, err)
	}
	// Narrowed to managers: the viewer no longer sees it.
	in.SharedRoles = []string{"manager"}
	if _, err := m.UpdateDashboard(admin, sales.ID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetDashboard(viewer, sales.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the viewer sees a dashboard shared with managers: %v", err)
	}
	if _, err := m.GetDashboard(w.asRole(w.members[1], "manager", authz.ScopeOwn, allPerms[0], allPerms[3]), sales.ID); err != nil {
		t.Fatal(err)
	}
	// Removed, it stays removed.
	if err := m.DeleteDashboard(admin, sales.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := bi.New(bi.Deps{DB: testkit.Get(t).App, Modules: newBIModules(t), Log: testkit.Quiet}).Provision(context.Background(), w.tenant); err != nil || n != 0 {
		t.Fatalf("a removed dashboard made again: %d %v", n, err)
	}
}

// A company with tickets off gets no service dashboard, and gets it once
// tickets are on; another company's provisioned dashboards are not found.
func TestProvisioningFollowsTheModulesOn(t *testing.T) {
	env := testkit.Get(t)
	w := newWorld(t, "America/New_York", "USD", 4, time.Now().AddDate(0, -3, 0), time.Now())
	set := newBIModules(t)
	en := module.NewEnablement(env.App, set, time.Millisecond)
	m := bi.New(bi.Deps{DB: env.App, Modules: set, Enabled: func() *module.Enablement { return en }, Log: testkit.Quiet})
	ctx := w.as(w.members[0], authz.ScopeAll, allPerms...)
	if err := en.SetEnabled(ctx, w.tenant, "tickets", false); err != nil {
		t.Fatal(err)
	}
	ds, _, err := m.ListDashboards(ctx, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, d := range ds {
		keys = append(keys, *d.ProvisionKey)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "customer_insights,sales_overview" {
		t.Fatalf("with tickets off: %v", keys)
	}
	var ticketReports int
	if err := env.Owner.NewRaw("SELECT count(*) FROM bi_reports WHERE tenant_id = ? AND query->>'metric' LIKE 'tickets.%'", w.tenant).Scan(context.Background(), &ticketReports); err != nil || ticketReports != 0 {
		t.Fatalf("%d reports of tickets made with tickets off: %v", ticketReports, err)
	}
	if err := en.SetEnabled(ctx, w.tenant, "tickets", true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if n, err := m.Provision(context.Background(), w.tenant); err != nil || n != 1 {
		t.Fatalf("tickets on: made %d: %v", n, err)
	}

	// Another company: none of these is found there.
	other := newWorld(t, "Asia/Shanghai", "CNY", 2, time.Now().AddDate(0, -1, 0), time.Now())
	octx := other.as(other.members[0], authz.ScopeAll, allPerms...)
	if _, _, err := m.ListDashboards(octx, 50, ""); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if _, err := m.GetDashboard(octx, d.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another company reads %s: %v", d.Name, err)
		}
		if _, err := m.RunDashboard(octx, d.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another company runs %s: %v", d.Name, err)
		}
	}
}

// Two first lists at once make each dashboard once: the second waits on the
// key the first claimed, then finds it taken.
func TestProvisioningTwiceAtOnceMakesOne(t *testing.T) {
	w := newWorld(t, "Asia/Shanghai", "CNY", 2, time.Now().AddDate(0, -1, 0), time.Now())
	made := make(chan int, 4)
	errc := make(chan error, 4)
	for i := 0; i < 4; i++ {
		m := newBI(t) // each its own process memory
		go func() {
			n, err := m.Provision(context.Background(), w.tenant)
			made <- n
			errc <- err
		}()
	}
	total := 0
	for i := 0; i < 4; i++ {
		total += <-made
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if total != 3 || w.count(t, "bi_dashboards") != 3 || w.count(t, "bi_provisions") != 3 {
		t.Fatalf("made %d, %d dashboards, %d keys", total, w.count(t, "bi_dashboards"), w.count(t, "bi_provisions"))
	}
}

// A widget that runs past the statement timeout says so, and the other
// widgets of the dashboard still answer: one slow question does not fail
// the dashboard. At 1 ms some questions time out and some answer; on Citus
// every statement also hops from the coordinator to a worker (on the same
// cores), so at 1 ms all time out, and longer limits are tried until some
// of each.
func TestSlowWidgetDoesNotFailTheDashboard(t *testing.T) {
	env := testkit.Get(t)
	w := newWorld(t, "Asia/Shanghai", "CNY", 12, time.Now().AddDate(-1, 0, 0), time.Now())
	admin := w.asRole(w.members[3], "admin", authz.ScopeAll, allPerms...)
	// From 1 ms up, until a limit where some widgets time out and some
	// answer: on a busy machine (or on Citus, where every read hops to a
	// worker) a dashboard's own statements may pass the shortest.
	limits := []time.Duration{time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}
	timedOut, after := 0, 0
	for _, limit := range limits {
		m := bi.New(bi.Deps{DB: env.App, Modules: newBIModules(t), Log: testkit.Quiet, QueryTimeout: limit})
		ds, _, err := m.ListDashboards(admin, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		timedOut, after = 0, 0
		short := false
		for _, d := range ds {
			res, err := m.RunDashboard(admin, d.ID)
			if err != nil && errs.CodeOf(err) == errs.Timeout {
				// A statement of the dashboard's own (a savepoint) passed
				// the limit between questions, or on Citus a cancelled
				// question broke the transaction (stoppedDashboard): try a
				// longer one.
				t.Logf("at %s the dashboard's own reads passed the limit: %v", limit, err)
				short = true
				break
			}
			if err != nil && strings.Contains(err.Error(), "SQLSTATE 25P02") {
				// The same on Citus, seen once in a loaded run of the
				// suite: a worker's own statement of the transaction was
				// cancelled there at one of these limits (every one a
				// fraction of the 20 s questions run with), and the
				// coordinator learned it as an aborted transaction. Try a
				// longer one.
				t.Logf("at %s a worker's part of the transaction was cancelled: %v", limit, err)
				short = true
				break
			}
			if err != nil {
				t.Fatalf("%s: the dashboard failed: %v", d.Name, err)
			}
			seen := false
			for _, wr := range res.Widgets {
				switch {
				case strings.Contains(wr.Error, "took longer than"):
					timedOut, seen = timedOut+1, true
				case wr.Error != "":
					t.Fatalf("%s / %s: %s", d.Name, wr.Name, wr.Error)
				case seen && wr.Result != nil:
					after++ // answered in the same transaction after a timeout
				}
			}
		}
		if !short && timedOut > 0 && after > 0 {
			t.Logf("at %s: %d widgets timed out, %d answered after one had", limit, timedOut, after)
			return
		}
	}
	t.Fatalf("at %s %d widgets timed out and %d answered after one did; want some of each", limits[len(limits)-1], timedOut, after)
}
