package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// Through the API: a new company's first list of dashboards holds the three
// provisioned ones in both languages, which a viewer runs but may not
// change; another company gets its own, and 404 for every one of A's
// through each route that takes an id.
func TestProvisionedDashboardsThroughTheAPI(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("bip"), slug("biq")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	viewer := a.member(sa, tokA, "viewer")
	list := func(s, tok, what string) []map[string]any {
		var out []map[string]any
		for _, it := range a.must(200, "GET", "/api/v1/t/"+s+"/bi/"+what+"?limit=200", "", tokenHdr(tok)...)["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	dashes := list(sa, viewer, "dashboards")
	var keys []string
	for _, d := range dashes {
		keys = append(keys, fmt.Sprint(d["provisioned"]))
		if d["name_zh"] == "" || d["owner_id"] != "00000000-0000-0000-0000-000000000000" {
			t.Errorf("dashboard %v", d)
		}
		run := a.must(200, "POST", "/api/v1/t/"+sa+"/bi/dashboards/"+d["id"].(string)+"/run", "", tokenHdr(viewer)...)
		for _, w := range run["widgets"].([]any) {
			if e := w.(map[string]any)["error"]; e != nil && e != "" {
				t.Errorf("%s / %v: %v", d["name"], w.(map[string]any)["name"], e)
			}
		}
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "customer_insights,sales_overview,service" {
		t.Fatalf("provisioned %v", keys)
	}
	reports := list(sa, viewer, "reports")
	if len(reports) < 25 {
		t.Fatalf("%d reports", len(reports))
	}
	dash, rep := dashes[0]["id"].(string), reports[0]["id"].(string)
	a.wantProblem(403, "", "PUT", "/api/v1/t/"+sa+"/bi/dashboards/"+dash, `{"name":"mine"}`, tokenHdr(viewer)...)
	a.wantProblem(403, "", "DELETE", "/api/v1/t/"+sa+"/bi/reports/"+rep, "", tokenHdr(viewer)...)
	a.must(200, "PUT", "/api/v1/t/"+sa+"/bi/dashboards/"+dash, `{"name":"Ours","name_zh":"我们的"}`, tokenHdr(tokA)...)

	if got := list(sb, tokB, "dashboards"); len(got) != 3 || got[0]["id"] == dash {
		t.Fatalf("company B's dashboards: %v", got)
	}
	q := `{"metric":"profiles.customers","range":{"preset":"this_month"}}`
	for name, c := range map[string]struct{ method, path, body string }{
		"GET dashboard":    {"GET", "/bi/dashboards/" + dash, ""},
		"PUT dashboard":    {"PUT", "/bi/dashboards/" + dash, `{"name":"x"}`},
		"DELETE dashboard": {"DELETE", "/bi/dashboards/" + dash, ""},
		"run dashboard":    {"POST", "/bi/dashboards/" + dash + "/run", ""},
		"GET report":       {"GET", "/bi/reports/" + rep, ""},
		"PUT report":       {"PUT", "/bi/reports/" + rep, `{"name":"x","chart":"kpi","query":` + q + `}`},
		"DELETE report":    {"DELETE", "/bi/reports/" + rep, ""},
		"run report":       {"POST", "/bi/reports/" + rep + "/run", ""},
	} {
		t.Run(name, func(t *testing.T) {
			a.wantProblem(404, "", c.method, "/api/v1/t/"+sb+c.path, c.body, tokenHdr(tokB)...)
		})
	}
	a.wantProblem(422, "body.dashboard_id", "POST", "/api/v1/t/"+sb+"/bi/subscriptions",
		fmt.Sprintf(`{"dashboard_id":%q,"frequency":"weekly","weekday":1,"time":"08:00"}`, dash), tokenHdr(tokB)...)
	// Still there for A, renamed, after B's tries.
	if got := a.must(200, "GET", "/api/v1/t/"+sa+"/bi/dashboards/"+dash, "", tokenHdr(viewer)...); got["name_zh"] != "我们的" {
		t.Fatalf("A's dashboard: %v", got)
	}
}
