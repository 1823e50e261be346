package bi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// invalidAt fails unless err is an invalid-input error naming loc, whose
// message holds each of the words.
func invalidAt(t *testing.T, err error, loc string, words ...string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Invalid || len(e.Errors) == 0 || e.Errors[0].Location != loc {
		t.Fatalf("want invalid at %s, got %v", loc, err)
	}
	for _, w := range words {
		if !strings.Contains(e.Errors[0].Message, w) {
			t.Fatalf("the message %q does not say %q", e.Errors[0].Message, w)
		}
	}
}

// Bad questions are refused naming the part that is wrong.
func TestBadQuestionsNameTheProblem(t *testing.T) {
	m := newBI(t)
	w := newWorld(t, "Asia/Shanghai", "CNY", 3, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	ctx := w.as(uuid.New(), authz.ScopeAll, allPerms...)
	q := func(mut func(r *measures.Request)) error {
		r := measures.Request{Metric: "profiles.customers", From: "2026-01-01", To: "2026-01-31"}
		mut(&r)
		_, err := m.RunQuery(ctx, r, "body")
		return err
	}
	invalidAt(t, q(func(r *measures.Request) { r.Metric = "profiles.nope" }), "body.metric", "unknown metric", "profiles.customers")
	invalidAt(t, q(func(r *measures.Request) { r.Dimensions = []string{"colour"} }), "body.dimensions[0]", "unknown dimension")
	invalidAt(t, q(func(r *measures.Request) { r.Dimensions = []string{"priority"} }), "body.dimensions[0]", "does not allow", "priority")
	invalidAt(t, q(func(r *measures.Request) { r.Dimensions = []string{"custom.note"} }), "body.dimensions[0]", "only select fields")
	invalidAt(t, q(func(r *measures.Request) { r.Dimensions = []string{"custom.ghost"} }), "body.dimensions[0]", "no custom field")
	invalidAt(t, q(func(r *measures.Request) { r.Dimensions = []string{"owner", "owner"} }), "body.dimensions[1]", "twice")
	invalidAt(t, q(func(r *measures.Request) { r.Dimensions = []string{"owner", "team", "tag"} }), "body.dimensions", "at most 2")
	invalidAt(t, q(func(r *measures.Request) { r.Bucket = "day" }), "body.bucket", "time")
	invalidAt(t, q(func(r *measures.Request) { r.Dimensions, r.Bucket = []string{"time"}, "fortnight" }), "body.bucket")
	invalidAt(t, q(func(r *measures.Request) {
		r.Filters = []measures.Filter{{Dimension: "shoe_size", Op: "eq", Values: []string{"9"}}}
	}), "body.filters[0].dimension", "unknown dimension")
	invalidAt(t, q(func(r *measures.Request) {
		r.Filters = []measures.Filter{{Dimension: "channel", Op: "eq", Values: []string{"x"}}}
	}), "body.filters[0].dimension", "does not allow")
	invalidAt(t, q(func(r *measures.Request) {
		r.Filters = []measures.Filter{{Dimension: "source", Op: "like", Values: []string{"x"}}}
	}), "body.filters[0].op")
	invalidAt(t, q(func(r *measures.Request) {
		r.Filters = []measures.Filter{{Dimension: "source", Op: "eq", Values: []string{"a", "b"}}}
	}), "body.filters[0].values")
	invalidAt(t, q(func(r *measures.Request) {
		r.Filters = []measures.Filter{{Dimension: "time", Op: "eq", Values: []string{"a"}}}
	}), "body.filters[0].dimension", "range")
	invalidAt(t, q(func(r *measures.Request) { r.From = "2026-13-01" }), "body.from", "YYYY-MM-DD")
	invalidAt(t, q(func(r *measures.Request) { r.From, r.To = "2026-02-01", "2026-01-01" }), "body.to", "before")
	invalidAt(t, q(func(r *measures.Request) {
		r.Dimensions, r.Bucket, r.From, r.To = []string{"time"}, "day", "2020-01-01", "2025-12-31"
	}), "body.to", "over the limit")
	invalidAt(t, q(func(r *measures.Request) { r.From, r.To = "1990-01-01", "2025-12-31" }), "body.to", "over the limit")
	invalidAt(t, q(func(r *measures.Request) { r.WeekStart = 9 }), "body.week_start")
	// Five years by day is within the limit.
	if err := q(func(r *measures.Request) {
		r.Dimensions, r.Bucket, r.From, r.To = []string{"time"}, "day", "2021-01-01", "2025-12-31"
	}); err != nil {
		t.Fatal(err)
	}
	// Values that look like SQL are values.
	res, err := m.RunQuery(ctx, measures.Request{Metric: "profiles.customers", From: "2026-01-01", To: "2026-01-31", Dimensions: []string{"custom.tier"},
		Filters: []measures.Filter{{Dimension: "custom.tier", Op: "in", Values: []string{"gold", "') OR true --"}}, {Dimension: "tag", Op: "ne", Values: []string{"x'); DROP TABLE customers; --"}}}}, "body")
	if err != nil || len(res.Rows) > 1 || (len(res.Rows) == 1 && res.Rows[0].Keys[0] != "gold") {
		t.Fatalf("filtered: %+v %v", res, err)
	}
	if _, err := m.SetSettings(ctx, bi.Settings{WeekStart: 0}); err == nil {
		t.Fatal("week start 0 was taken")
	}
}

// A metric whose module is off for the company is not offered, and asking
// it is an unknown metric; one whose records the caller may not read is
// not offered either, and asking it is forbidden.
func TestMetricsOfModulesOffAreNotOffered(t *testing.T) {
	env := testkit.Get(t)
	m := newBI(t)
	w := newWorld(t, "Asia/Shanghai", "CNY", 5, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	set := newBIModules(t)
	en := module.NewEnablement(env.App, set, time.Millisecond)
	off := bi.New(bi.Deps{DB: env.App, Modules: set, Enabled: func() *module.Enablement { return en }, Log: testkit.Quiet})
	ctx := w.as(uuid.New(), authz.ScopeAll, allPerms...)
	if err := en.SetEnabled(ctx, w.tenant, "profiles", false); err != nil {
		t.Fatal(err)
	}
	keys := func(m *bi.Module, ctx context.Context) string {
		infos, err := m.ListMetrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, i := range infos {
			ks = append(ks, i.Key)
		}
		return strings.Join(ks, ",")
	}
	if got := keys(off, ctx); strings.Contains(got, "profiles.") || strings.Contains(got, "purchases.") || !strings.Contains(got, "funnel.deals") {
		t.Fatalf("profiles off, offered %s", got)
	}
	_, err := off.RunQuery(ctx, measures.Request{Metric: "profiles.customers", From: "2026-01-01", To: "2026-01-31"}, "body")
	invalidAt(t, err, "body.metric", "unknown metric")
	if got := keys(m, ctx); !strings.Contains(got, "profiles.customers") {
		t.Fatalf("without enablement every metric is offered: %s", got)
	}
	// Without tickets.read: no tickets metrics, and asking one is forbidden.
	nt := w.as(uuid.New(), authz.ScopeAll, bi.PermRead, profiles.PermRead)
	if got := keys(m, nt); strings.Contains(got, "tickets.") || strings.Contains(got, "funnel.") {
		t.Fatalf("offered without the permission: %s", got)
	}
	_, err = m.RunQuery(nt, measures.Request{Metric: "tickets.tickets", From: "2026-01-01", To: "2026-01-31"}, "body")
	if !errs.Is(err, errs.Forbidden) {
		t.Fatalf("without tickets.read: %v", err)
	}
	// Without bi.read: nothing.
	if _, err := m.ListMetrics(w.as(uuid.New(), authz.ScopeAll, profiles.PermRead)); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("without bi.read: %v", err)
	}
	// The custom select fields are offered as dimensions, with labels.
	infos, _ := m.ListMetrics(ctx)
	found := false
	for _, i := range infos {
		for _, d := range i.Dimensions {
			if i.Key == "profiles.customers" && d.Key == "custom.tier" && d.LabelZH == "选项" {
				found = true
			}
			if d.Key == "custom.note" {
				t.Fatalf("a text field offered as a dimension of %s", i.Key)
			}
		}
	}
	if !found {
		t.Fatal("custom.tier is not offered")
	}
}

// careless is a module whose metric forgets the tenant filter.
type careless struct{}

func (careless) Name() string { return "careless" }
func (careless) Measures() []measures.Metric {
	return []measures.Metric{{Key: "careless.customers", LabelEN: "All customers", LabelZH: "全部客户", Unit: measures.Count, Agg: measures.AggCount,
		Perm: bi.PermRead, Facts: func(_ context.Context, tx bun.IDB, _ measures.Frame) *bun.SelectQuery {
			return tx.NewSelect().TableExpr("customers AS c").ColumnExpr("c.created_at AS t")
		}}}
}

// A metric that forgets the tenant filter still counts only the asking
// company's rows: questions run in the tenant transaction, under RLS.
func TestQuestionsRunUnderRLS(t *testing.T) {
	env := testkit.Get(t)
	m := bi.New(bi.Deps{DB: env.App, Modules: module.Set{careless{}}, Log: testkit.Quiet})
	lo, hi := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	a, b := newWorld(t, "Asia/Shanghai", "CNY", 11, lo, hi), newWorld(t, "Asia/Shanghai", "CNY", 12, lo, hi)
	var all int
	if err := env.Owner.NewRaw("SELECT count(*) FROM customers").Scan(context.Background(), &all); err != nil {
		t.Fatal(err)
	}
	if all <= len(a.cust) {
		t.Fatalf("only %d customers in the database", all)
	}
	for _, w := range []*world{a, b} {
		res, err := m.RunQuery(w.as(uuid.New(), authz.ScopeAll, bi.PermRead), measures.Request{Metric: "careless.customers", From: "2025-12-01", To: "2026-02-28"}, "body")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := *res.Rows[0].Value, fmt.Sprintf("%d", len(w.cust)); got != want {
			t.Fatalf("counted %s customers, the company has %s (the database %d)", got, want, all)
		}
	}
}
