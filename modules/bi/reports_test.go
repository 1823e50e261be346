package bi_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// asRole is a request of w's company by a member with a role.
func (w *world) asRole(id uuid.UUID, role string, scope authz.Scope, perms ...string) context.Context {
	p := map[string]bool{}
	for _, k := range perms {
		p[k] = true
	}
	ctx := authz.WithActor(context.Background(), authz.Actor{ID: id, Kind: authz.ActorUser, Role: role, Permissions: p, Scope: scope})
	return tenancy.With(ctx, tenancy.Tenant{ID: w.tenant, Slug: w.slug, TimeZone: w.loc.String(), Currency: w.currency})
}

// Saved reports answer like the question they keep, for whoever runs them
// within that member's own scope; they are private unless shared with a
// role, and only their owner (or bi.manage) changes them. Dashboards hold
// reports the saver can see and answer each widget with their own range
// and filters.
func TestReportsAndDashboards(t *testing.T) {
	m := newBI(t)
	w := newWorld(t, "Asia/Shanghai", "CNY", 21, time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	read := []string{bi.PermRead, profiles.PermRead}
	owner := w.asRole(w.members[0], "manager", authz.ScopeAll, read...)
	agent := w.asRole(w.members[1], "agent", authz.ScopeOwn, read...)
	viewer := w.asRole(w.members[2], "viewer", authz.ScopeAll, read...)
	admin := w.asRole(w.members[3], "admin", authz.ScopeAll, append(read, bi.PermManage)...)

	q := bi.SavedQuery{Metric: "profiles.new_customers", Dimensions: []string{"time"}, Bucket: "month", Compare: true,
		Range: bi.Range{Preset: "custom", From: "2026-01-01", To: "2026-03-31"}}
	rep, err := m.CreateReport(owner, bi.ReportInput{Name: "New customers 新客户", Chart: "line", Query: q})
	if err != nil {
		t.Fatal(err)
	}
	same := func(ctx context.Context, id uuid.UUID) {
		t.Helper()
		got, err := m.RunReport(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.RunQuery(ctx, measures.Request{Metric: q.Metric, Dimensions: q.Dimensions, Bucket: q.Bucket, Compare: true, From: "2026-01-01", To: "2026-03-31"}, "body")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Rows, want.Rows) {
			t.Fatalf("the report answers %+v, the question %+v", got.Rows, want.Rows)
		}
	}
	same(owner, rep.ID)

	// Bad questions are refused at the report's query.
	for loc, in := range map[string]bi.SavedQuery{
		"body.query.metric":        {Metric: "nope", Range: bi.Range{Preset: "this_month"}},
		"body.query.dimensions[0]": {Metric: "profiles.customers", Dimensions: []string{"priority"}, Range: bi.Range{Preset: "this_month"}},
		"body.query.range.preset":  {Metric: "profiles.customers", Range: bi.Range{Preset: "someday"}},
		"body.query.range.from":    {Metric: "profiles.customers", Range: bi.Range{Preset: "custom"}},
		"body.query.to":            {Metric: "profiles.customers", Dimensions: []string{"time"}, Bucket: "day", Range: bi.Range{Preset: "custom", From: "2010-01-01", To: "2026-01-01"}},
	} {
		_, err := m.CreateReport(owner, bi.ReportInput{Name: "bad", Chart: "kpi", Query: in})
		invalidAt(t, err, loc)
	}
	_, err = m.CreateReport(owner, bi.ReportInput{Name: "bad", Chart: "kpi", Query: q, SharedRoles: []string{"Not A Role"}})
	invalidAt(t, err, "body.shared_roles[0]")

	// Private: the agent neither sees nor runs it.
	if _, err := m.GetReport(agent, rep.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the agent reads a private report: %v", err)
	}
	if _, err := m.RunReport(agent, rep.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the agent runs a private report: %v", err)
	}
	if items, _, _ := m.ListReports(agent, 50, ""); len(ownReports(items)) != 0 {
		t.Fatalf("the agent lists %v", items)
	}
	// Shared with agents: the agent runs it within their own scope.
	if _, err := m.UpdateReport(owner, rep.ID, bi.ReportInput{Name: rep.Name, Chart: "bar", Query: q, SharedRoles: []string{"agent"}}); err != nil {
		t.Fatal(err)
	}
	if items, _, _ := m.ListReports(agent, 50, ""); len(ownReports(items)) != 1 {
		t.Fatalf("the agent lists %v", items)
	}
	same(agent, rep.ID)
	all, _ := m.RunReport(owner, rep.ID)
	own, _ := m.RunReport(agent, rep.ID)
	if reflect.DeepEqual(all.Rows, own.Rows) {
		t.Fatalf("the agent's scope own sees what the manager sees: %+v", own.Rows)
	}
	// The agent may not change it; the viewer (another role) does not see it; an admin changes it.
	if _, err := m.UpdateReport(agent, rep.ID, bi.ReportInput{Name: "mine", Chart: "bar", Query: q}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("the agent changes the report: %v", err)
	}
	if err := m.DeleteReport(viewer, rep.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the viewer removes a report not shared with them: %v", err)
	}
	if _, err := m.UpdateReport(admin, rep.ID, bi.ReportInput{Name: "Renamed", Chart: "bar", Query: q, SharedRoles: []string{"agent"}}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("an admin changes a report not shared with them: %v", err)
	}

	// A dashboard of the report, with its own range and a filter.
	own2, err := m.CreateReport(viewer, bi.ReportInput{Name: "Viewer's", Chart: "kpi", Query: bi.SavedQuery{Metric: "profiles.customers", Range: bi.Range{Preset: "this_year"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.CreateDashboard(owner, bi.DashboardInput{Name: "Sales", Widgets: []bi.Widget{{ReportID: own2.ID, X: 0, Y: 0, W: 6, H: 4}}})
	invalidAt(t, err, "body.widgets[0].report_id", "no report you can see")
	_, err = m.CreateDashboard(owner, bi.DashboardInput{Name: "Sales", Widgets: []bi.Widget{{ReportID: rep.ID, X: 8, Y: 0, W: 6, H: 4}}})
	invalidAt(t, err, "body.widgets[0].w")
	_, err = m.CreateDashboard(owner, bi.DashboardInput{Name: "Sales", RefreshSeconds: 5})
	invalidAt(t, err, "body.refresh_seconds")
	dash, err := m.CreateDashboard(owner, bi.DashboardInput{Name: "Sales 销售", RefreshSeconds: 300, SharedRoles: []string{"agent"},
		Range:   &bi.Range{Preset: "custom", From: "2026-02-01", To: "2026-02-28"},
		Filters: []measures.Filter{{Dimension: "source", Op: "eq", Values: []string{"web"}}, {Dimension: "priority", Op: "eq", Values: []string{"urgent"}}},
		Widgets: []bi.Widget{{ReportID: rep.ID, X: 0, Y: 0, W: 6, H: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	// Whether each may change it: its owner and bi.manage may, the agent it is shared with may not.
	if !dash.CanEdit {
		t.Fatal("the new dashboard says its owner may not change it")
	}
	for _, c := range []struct {
		who  string
		ctx  context.Context
		want bool
	}{{"owner", owner, true}, {"agent", agent, false}} {
		d, err := m.GetDashboard(c.ctx, dash.ID)
		if err != nil || d.CanEdit != c.want {
			t.Fatalf("the %s reads can_edit %v (%v), want %v", c.who, d != nil && d.CanEdit, err, c.want)
		}
		items, _, err := m.ListDashboards(c.ctx, 50, "")
		found := false
		for _, x := range items {
			if x.ID == dash.ID {
				found = true
				if x.CanEdit != c.want {
					t.Fatalf("the %s lists can_edit %v, want %v", c.who, x.CanEdit, c.want)
				}
			}
		}
		if err != nil || !found {
			t.Fatalf("the %s does not list the dashboard: %v", c.who, err)
		}
	}
	// The company's own: only bi.manage changes them.
	for _, c := range []struct {
		who  string
		ctx  context.Context
		want bool
	}{{"owner", owner, false}, {"admin", admin, true}} {
		items, _, err := m.ListDashboards(c.ctx, 50, "")
		n := 0
		for _, x := range items {
			if x.ProvisionKey == nil {
				continue
			}
			n++
			if x.CanEdit != c.want {
				t.Fatalf("the %s lists the company's %s with can_edit %v", c.who, *x.ProvisionKey, x.CanEdit)
			}
			if d, err := m.GetDashboard(c.ctx, x.ID); err != nil || d.CanEdit != c.want {
				t.Fatalf("the %s reads the company's %s with can_edit %v (%v)", c.who, *x.ProvisionKey, d != nil && d.CanEdit, err)
			}
		}
		if err != nil || n == 0 {
			t.Fatalf("the %s lists none of the company's dashboards: %v", c.who, err)
		}
	}
	run, err := m.RunDashboard(owner, dash.ID)
	if err != nil || len(run.Widgets) != 1 || run.Widgets[0].Result == nil {
		t.Fatalf("run %+v %v", run, err)
	}
	want, _ := m.RunQuery(owner, measures.Request{Metric: q.Metric, Dimensions: q.Dimensions, Bucket: q.Bucket, Compare: true, From: "2026-02-01", To: "2026-02-28",
		Filters: []measures.Filter{{Dimension: "source", Op: "eq", Values: []string{"web"}}}}, "body")
	if !reflect.DeepEqual(run.Widgets[0].Result.Rows, want.Rows) || run.AsOf.IsZero() {
		t.Fatalf("the widget answers %+v, want %+v", run.Widgets[0].Result.Rows, want.Rows)
	}
	// Unshared again: the agent's dashboard is gone, and once shared the widget says why it is empty.
	if _, err := m.UpdateReport(owner, rep.ID, bi.ReportInput{Name: rep.Name, Chart: "bar", Query: q}); err != nil {
		t.Fatal(err)
	}
	run, err = m.RunDashboard(agent, dash.ID)
	if err != nil || run.Widgets[0].Result != nil || run.Widgets[0].Error == "" {
		t.Fatalf("the agent runs a widget of a report not shared with them: %+v %v", run, err)
	}
	if _, err := m.UpdateDashboard(agent, dash.ID, bi.DashboardInput{Name: "x"}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("the agent changes the dashboard: %v", err)
	}
	moved, err := m.UpdateDashboard(owner, dash.ID, bi.DashboardInput{Name: "Sales", Widgets: []bi.Widget{{ReportID: rep.ID, X: 6, Y: 2, W: 6, H: 3}}})
	if err != nil || len(moved.Widgets) != 1 || moved.Widgets[0].X != 6 {
		t.Fatalf("moved %+v %v", moved, err)
	}
	// Removing the report takes it off the dashboard.
	if err := m.DeleteReport(owner, rep.ID); err != nil {
		t.Fatal(err)
	}
	if d, err := m.GetDashboard(owner, dash.ID); err != nil || len(d.Widgets) != 0 {
		t.Fatalf("after the report went: %+v %v", d, err)
	}
	if err := m.DeleteDashboard(owner, dash.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetDashboard(owner, dash.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a removed dashboard: %v", err)
	}
	if items, _, err := m.ListDashboards(owner, 50, ""); err != nil || len(items) != 3 {
		t.Fatalf("dashboards %v %v", items, err)
	}
}

// ownReports leaves out the company's provisioned reports.
func ownReports(rs []bi.Report) []bi.Report {
	var out []bi.Report
	for _, r := range rs {
		if r.ProvisionKey == nil {
			out = append(out, r)
		}
	}
	return out
}
