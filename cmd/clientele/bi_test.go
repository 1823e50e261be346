package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// BI through the API: the metrics offered, a question answered from the
// company's own records only, scope own, bad questions named, and the
// company's week start kept by those allowed to set it.
func TestBIThroughTheAPI(t *testing.T) {
	a := newApp(t)
	s, sb := slug("bi"), slug("bib")
	tok, _ := a.company(s)
	tokB, _ := a.company(sb)
	agent := a.member(s, tok, "agent")
	viewer := a.member(s, tok, "viewer")
	base, baseB := "/api/v1/t/"+s, "/api/v1/t/"+sb
	a.must(201, "POST", base+"/customers", `{"name":"Wang Fang 王芳","lifecycle":"customer"}`, tokenHdr(tok)...)
	a.must(201, "POST", base+"/customers", `{"name":"Li Lei 李雷","lifecycle":"lead"}`, tokenHdr(tok)...)
	a.must(201, "POST", baseB+"/customers", `{"name":"Other","lifecycle":"lead"}`, tokenHdr(tokB)...)

	list := a.must(200, "GET", base+"/bi/metrics", "", tokenHdr(tok)...)
	found := false
	for _, it := range list["items"].([]any) {
		m := it.(map[string]any)
		if m["key"] == "profiles.customers" && m["label_zh"] == "客户数" && m["unit"] == "count" {
			found = true
		}
	}
	if !found {
		t.Fatalf("metrics %v", list)
	}
	today := time.Now().UTC()
	rng := fmt.Sprintf(`"from":%q,"to":%q`, today.AddDate(0, 0, -30).Format("2006-01-02"), today.AddDate(0, 0, 1).Format("2006-01-02"))
	ask := func(tok, base, body string) map[string]any {
		t.Helper()
		return a.must(200, "POST", base+"/bi/query", body, tokenHdr(tok)...)
	}
	value := func(res map[string]any) string {
		rows := res["rows"].([]any)
		if len(rows) != 1 {
			t.Fatalf("rows %v", res)
		}
		return rows[0].(map[string]any)["value"].(string)
	}
	if v := value(ask(tok, base, `{"metric":"profiles.customers",`+rng+`,"compare":true}`)); v != "2" {
		t.Fatalf("company A counts %s customers", v)
	}
	if v := value(ask(tokB, baseB, `{"metric":"profiles.customers",`+rng+`}`)); v != "1" {
		t.Fatalf("company B counts %s customers", v)
	}
	// The agent owns none of them.
	if v := value(ask(agent, base, `{"metric":"profiles.customers",`+rng+`}`)); v != "0" {
		t.Fatalf("the agent (scope own) counts %s customers", v)
	}
	byStage := ask(tok, base, `{"metric":"profiles.customers","dimensions":["lifecycle"],`+rng+`}`)
	if rows := byStage["rows"].([]any); len(rows) != 2 {
		t.Fatalf("by lifecycle %v", byStage)
	}

	a.wantProblem(422, "body.metric", "POST", base+"/bi/query", `{"metric":"profiles.nope",`+rng+`}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.dimensions[0]", "POST", base+"/bi/query", `{"metric":"profiles.customers","dimensions":["priority"],`+rng+`}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.filters[0].dimension", "POST", base+"/bi/query", `{"metric":"profiles.customers","filters":[{"dimension":"x","op":"eq","values":["1"]}],`+rng+`}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.to", "POST", base+"/bi/query", `{"metric":"profiles.customers","dimensions":["time"],"bucket":"day","from":"2019-01-01","to":"2025-12-31"}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.bucket", "POST", base+"/bi/query", `{"metric":"profiles.customers","dimensions":["time"],"bucket":"fortnight",`+rng+`}`, tokenHdr(tok)...)
	a.wantProblem(422, "body.from", "POST", base+"/bi/query", `{"metric":"profiles.customers","from":"yesterday","to":"2025-12-31"}`, tokenHdr(tok)...)

	if got := a.must(200, "GET", base+"/bi/settings", "", tokenHdr(viewer)...); got["week_start"] != float64(1) {
		t.Fatalf("settings %v", got)
	}
	a.wantProblem(403, "", "PUT", base+"/bi/settings", `{"week_start":7}`, tokenHdr(viewer)...)
	a.wantProblem(422, "body.week_start", "PUT", base+"/bi/settings", `{"week_start":8}`, tokenHdr(tok)...)
	a.must(200, "PUT", base+"/bi/settings", `{"week_start":7}`, tokenHdr(tok)...)
	if got := a.must(200, "GET", baseB+"/bi/settings", "", tokenHdr(tokB)...); got["week_start"] != float64(1) {
		t.Fatalf("company B's week moved with A's: %v", got)
	}
}

// A member of company B, on B's own address, gets 404 for A's reports and
// dashboards through every BI route that takes an id.
func TestBIRoutesKeepTenantsApart(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("bia"), slug("bix")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	q := `{"metric":"profiles.customers","range":{"preset":"this_month"}}`
	rep := a.must(201, "POST", "/api/v1/t/"+sa+"/bi/reports", `{"name":"A's","chart":"kpi","query":`+q+`}`, tokenHdr(tokA)...)["id"].(string)
	dash := a.must(201, "POST", "/api/v1/t/"+sa+"/bi/dashboards", fmt.Sprintf(`{"name":"A's","widgets":[{"report_id":%q,"x":0,"y":0,"w":6,"h":4}]}`, rep), tokenHdr(tokA)...)["id"].(string)
	a.must(200, "POST", "/api/v1/t/"+sa+"/bi/dashboards/"+dash+"/run", "", tokenHdr(tokA)...)
	// B's own report, to put A's beside it on B's dashboard.
	repB := a.must(201, "POST", "/api/v1/t/"+sb+"/bi/reports", `{"name":"B's","chart":"kpi","query":`+q+`}`, tokenHdr(tokB)...)["id"].(string)

	// A's subscription, and a report delivered to A's owner.
	a.worker()
	sub := a.must(201, "POST", "/api/v1/t/"+sa+"/bi/subscriptions", fmt.Sprintf(`{"dashboard_id":%q,"frequency":"daily","time":"08:00"}`, dash), tokenHdr(tokA)...)["id"].(string)
	item := a.deliverReports(sa, tokA)
	subBody := fmt.Sprintf(`{"report_id":%q,"frequency":"daily","time":"09:00"}`, repB)
	cases := map[string]struct{ path, body string }{
		"GET /bi/subscriptions/{id}":          {"/bi/subscriptions/" + sub, ""},
		"PUT /bi/subscriptions/{id}":          {"/bi/subscriptions/" + sub, subBody},
		"DELETE /bi/subscriptions/{id}":       {"/bi/subscriptions/" + sub, ""},
		"GET /bi/inbox/{id}":                  {"/bi/inbox/" + item, ""},
		"GET /bi/inbox/{id}/files/{position}": {"/bi/inbox/" + item + "/files/0", ""},
		"GET /bi/reports/{id}":                {"/bi/reports/" + rep, ""},
		"PUT /bi/reports/{id}":                {"/bi/reports/" + rep, `{"name":"x","chart":"kpi","query":` + q + `}`},
		"DELETE /bi/reports/{id}":             {"/bi/reports/" + rep, ""},
		"POST /bi/reports/{id}/run":           {"/bi/reports/" + rep + "/run", ""},
		"GET /bi/reports/{id}/export":         {"/bi/reports/" + rep + "/export?format=xlsx", ""},
		"GET /bi/dashboards/{id}":             {"/bi/dashboards/" + dash, ""},
		"PUT /bi/dashboards/{id}":             {"/bi/dashboards/" + dash, `{"name":"x"}`},
		"DELETE /bi/dashboards/{id}":          {"/bi/dashboards/" + dash, ""},
		"POST /bi/dashboards/{id}/run":        {"/bi/dashboards/" + dash + "/run", ""},
	}
	_, doc, _ := a.call("GET", "/api/v1/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		t.Fatal(err)
	}
	biPath := regexp.MustCompile(`^/api/v1/t/\{tenant\}(/bi/.*\{id\}.*)$`)
	for path, ops := range spec.Paths {
		mm := biPath.FindStringSubmatch(path)
		if mm == nil {
			continue
		}
		for method := range ops {
			key := strings.ToUpper(method) + " " + mm[1]
			if _, ok := cases[key]; !ok {
				t.Errorf("%s is not in this test", key)
			}
		}
	}
	for name, c := range cases {
		method := strings.SplitN(name, " ", 2)[0]
		if code, out, _ := a.call(method, "/api/v1/t/"+sb+c.path, c.body, tokenHdr(tokB)...); code != 404 {
			t.Errorf("company B %s: %d %.200s, want 404", name, code, out)
		}
	}
	// A's report cannot go on B's dashboard: the id names nothing in B.
	a.wantProblem(422, "body.widgets[0].report_id", "POST", "/api/v1/t/"+sb+"/bi/dashboards",
		fmt.Sprintf(`{"name":"B's","widgets":[{"report_id":%q,"x":0,"y":0,"w":6,"h":4},{"report_id":%q,"x":0,"y":0,"w":6,"h":4}]}`, rep, repB), tokenHdr(tokB)...)
	// A's records are still there, and A changes, runs and removes them.
	a.must(200, "GET", "/api/v1/t/"+sa+"/bi/reports/"+rep, "", tokenHdr(tokA)...)
	a.must(200, "GET", "/api/v1/t/"+sa+"/bi/dashboards/"+dash, "", tokenHdr(tokA)...)
	if r := a.must(200, "PUT", "/api/v1/t/"+sa+"/bi/reports/"+rep, `{"name":"Renamed 改名","chart":"bar","query":`+q+`,"shared_roles":["agent"]}`, tokenHdr(tokA)...); r["name"] != "Renamed 改名" || r["chart"] != "bar" {
		t.Fatalf("report after PUT: %v", r)
	}
	a.wantProblem(422, "body.query.dimensions[0]", "PUT", "/api/v1/t/"+sa+"/bi/reports/"+rep,
		`{"name":"x","chart":"kpi","query":{"metric":"profiles.customers","dimensions":["priority"],"range":{"preset":"this_month"}}}`, tokenHdr(tokA)...)
	if res := a.must(200, "POST", "/api/v1/t/"+sa+"/bi/reports/"+rep+"/run", "", tokenHdr(tokA)...); res["metric"] != "profiles.customers" {
		t.Fatalf("run: %v", res)
	}
	d := a.must(200, "PUT", "/api/v1/t/"+sa+"/bi/dashboards/"+dash, fmt.Sprintf(`{"name":"Moved","refresh_seconds":60,"widgets":[{"report_id":%q,"x":6,"y":1,"w":6,"h":3}]}`, rep), tokenHdr(tokA)...)
	if ws := d["widgets"].([]any); d["name"] != "Moved" || len(ws) != 1 || ws[0].(map[string]any)["x"] != float64(6) {
		t.Fatalf("dashboard after PUT: %v", d)
	}
	if items := a.must(200, "GET", "/api/v1/t/"+sa+"/bi/reports?limit=1", "", tokenHdr(tokA)...)["items"].([]any); len(items) != 1 {
		t.Fatalf("reports %v", items)
	}
	a.must(200, "GET", "/api/v1/t/"+sa+"/bi/subscriptions/"+sub, "", tokenHdr(tokA)...)
	a.must(200, "GET", "/api/v1/t/"+sa+"/bi/inbox/"+item, "", tokenHdr(tokA)...)
	a.must(204, "DELETE", "/api/v1/t/"+sa+"/bi/dashboards/"+dash, "", tokenHdr(tokA)...)
	a.must(204, "DELETE", "/api/v1/t/"+sa+"/bi/reports/"+rep, "", tokenHdr(tokA)...)
	// Removing the dashboard ended its subscription; the inbox keeps what it delivered.
	a.wantProblem(404, "", "GET", "/api/v1/t/"+sa+"/bi/subscriptions/"+sub, "", tokenHdr(tokA)...)
	a.must(200, "GET", "/api/v1/t/"+sa+"/bi/inbox/"+item, "", tokenHdr(tokA)...)
	a.wantProblem(404, "", "GET", "/api/v1/t/"+sa+"/bi/reports/"+rep, "", tokenHdr(tokA)...)
}

// deliverReports runs the scheduled-report sweep of a company as if a week
// had passed, waits until the owner's inbox holds a report, and returns its id.
func (a *app) deliverReports(slug, tok string) string {
	a.t.Helper()
	var m *bi.Module
	for _, x := range a.d.modules {
		if b, ok := x.(*bi.Module); ok {
			m = b
		}
	}
	var tenant uuid.UUID
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", slug).Scan(context.Background(), &tenant); err != nil {
		a.t.Fatal(err)
	}
	if n, err := m.ScheduleDueIn(context.Background(), tenant, time.Now().Add(8*24*time.Hour)); err != nil || n == 0 {
		a.t.Fatalf("the sweep made %d deliveries: %v", n, err)
	}
	var id string
	testkit.Eventually(a.t, 60*time.Second, 200*time.Millisecond, "a delivered report", func() bool {
		items := a.must(200, "GET", "/api/v1/t/"+slug+"/bi/inbox", "", tokenHdr(tok)...)["items"].([]any)
		if len(items) > 0 {
			id = items[0].(map[string]any)["id"].(string)
		}
		return id != ""
	})
	return id
}

// A weekly report through the API: subscribing (yourself; a role needs
// bi.manage), bad input named, the mail in the dev sink with its picture,
// spreadsheet and PDF, and the inbox with its downloads, the recipient's
// only.
func TestScheduledReportsThroughTheAPI(t *testing.T) {
	a := newApp(t)
	a.worker()
	s := slug("bis")
	tok, _ := a.company(s)
	agent := a.member(s, tok, "agent")
	base := "/api/v1/t/" + s
	a.must(201, "POST", base+"/customers", `{"name":"Wang Fang 王芳","lifecycle":"customer"}`, tokenHdr(tok)...)
	rep := a.must(201, "POST", base+"/bi/reports", `{"name":"客户 by stage","chart":"bar","query":{"metric":"profiles.customers","dimensions":["lifecycle"],"range":{"preset":"this_month"}},"shared_roles":["agent"]}`, tokenHdr(tok)...)["id"].(string)

	a.wantProblem(422, "body.time", "POST", base+"/bi/subscriptions", fmt.Sprintf(`{"report_id":%q,"frequency":"daily","time":"24:00"}`, rep), tokenHdr(tok)...)
	a.wantProblem(422, "body.report_id", "POST", base+"/bi/subscriptions", fmt.Sprintf(`{"report_id":%q,"frequency":"daily","time":"08:00"}`, uuid.NewString()), tokenHdr(tok)...)
	a.wantProblem(422, "body.weekday", "POST", base+"/bi/subscriptions", fmt.Sprintf(`{"report_id":%q,"frequency":"weekly","time":"08:00"}`, rep), tokenHdr(tok)...)
	a.wantProblem(403, "", "POST", base+"/bi/subscriptions", fmt.Sprintf(`{"report_id":%q,"role":"viewer","frequency":"daily","time":"08:00"}`, rep), tokenHdr(agent)...)
	sub := a.must(201, "POST", base+"/bi/subscriptions", fmt.Sprintf(`{"report_id":%q,"frequency":"weekly","weekday":1,"time":"08:00"}`, rep), tokenHdr(tok)...)
	if sub["time"] != "08:00" || sub["weekday"] != float64(1) {
		t.Fatalf("subscription %v", sub)
	}
	// The agent neither sees nor changes the owner's subscription.
	a.wantProblem(404, "", "GET", base+"/bi/subscriptions/"+sub["id"].(string), "", tokenHdr(agent)...)
	if items := a.must(200, "GET", base+"/bi/subscriptions", "", tokenHdr(agent)...)["items"].([]any); len(items) != 0 {
		t.Fatalf("the agent lists %v", items)
	}

	item := a.deliverReports(s, tok)
	sink := identity.NewFileMailer(filepath.Join(a.d.cfg.DataDir, "mail"), testkit.Quiet)
	ml, err := sink.Last(a.emailOf(tok))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range ml.Attachments {
		kinds[f.ContentType]++
	}
	if !strings.Contains(ml.Subject, "客户 by stage") || kinds["image/png"] != 1 || kinds["application/pdf"] != 1 || len(ml.Attachments) != 3 {
		t.Fatalf("mail %q with %v", ml.Subject, kinds)
	}
	got := a.must(200, "GET", base+"/bi/inbox/"+item, "", tokenHdr(tok)...)
	if files := got["files"].([]any); len(files) != 3 {
		t.Fatalf("inbox item %v", got)
	}
	code, body, hdr := a.call("GET", base+"/bi/inbox/"+item+"/files/2", "", tokenHdr(tok)...)
	if code != 200 || hdr.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(body, "%PDF-") || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %s %.20q", code, hdr, body)
	}
	a.wantProblem(404, "", "GET", base+"/bi/inbox/"+item, "", tokenHdr(agent)...)
	a.wantProblem(404, "", "GET", base+"/bi/inbox/"+item+"/files/2", "", tokenHdr(agent)...)
	a.wantProblem(404, "", "GET", base+"/bi/inbox/"+item+"/files/9", "", tokenHdr(tok)...)
}

// A report exports as an XLSX of its numbers or a PNG of its chart, as a
// widget of a dashboard when one is named; a bad format or a dashboard of
// another company is named.
func TestReportExport(t *testing.T) {
	a := newApp(t)
	s, sb := slug("bie"), slug("bief")
	tok, _ := a.company(s)
	tokB, _ := a.company(sb)
	base, baseB := "/api/v1/t/"+s, "/api/v1/t/"+sb
	a.must(201, "POST", base+"/customers", `{"name":"Wang Fang 王芳","lifecycle":"customer"}`, tokenHdr(tok)...)
	q := `{"metric":"profiles.customers","dimensions":["lifecycle"],"range":{"preset":"this_month"}}`
	rep := a.must(201, "POST", base+"/bi/reports", `{"name":"By stage","name_zh":"按阶段","chart":"bar","query":`+q+`}`, tokenHdr(tok)...)["id"].(string)
	dash := a.must(201, "POST", base+"/bi/dashboards", fmt.Sprintf(`{"name":"D","range":{"preset":"last_year"},"widgets":[{"report_id":%q,"x":0,"y":0,"w":6,"h":4}]}`, rep), tokenHdr(tok)...)["id"].(string)
	dashB := a.must(201, "POST", baseB+"/bi/dashboards", `{"name":"B"}`, tokenHdr(tokB)...)["id"].(string)

	code, body, hdr := a.call("GET", base+"/bi/reports/"+rep+"/export?format=xlsx", "", tokenHdr(tok)...)
	if code != 200 || !strings.HasPrefix(body, "PK") || !strings.Contains(hdr.Get("Content-Type"), "spreadsheetml") || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("xlsx: %d %q %v", code, body[:min(len(body), 40)], hdr)
	}
	code, body, hdr = a.call("GET", base+"/bi/reports/"+rep+"/export?format=png&dashboard="+dash, "", tokenHdr(tok)...)
	if code != 200 || !strings.HasPrefix(body, "\x89PNG") || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("png: %d %q %v", code, body[:min(len(body), 40)], hdr)
	}
	a.wantProblem(422, "query.format", "GET", base+"/bi/reports/"+rep+"/export?format=pdf", "", tokenHdr(tok)...)
	// Without a format the export is a spreadsheet.
	if code, body, hdr := a.call("GET", base+"/bi/reports/"+rep+"/export", "", tokenHdr(tok)...); code != 200 || !strings.HasPrefix(body, "PK") || !strings.Contains(hdr.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("no format: %d %q %v", code, body[:min(len(body), 40)], hdr)
	}
	a.wantProblem(422, "query.dashboard", "GET", base+"/bi/reports/"+rep+"/export?format=png&dashboard="+dashB, "", tokenHdr(tok)...)
	a.wantProblem(404, "", "GET", baseB+"/bi/reports/"+rep+"/export?format=png", "", tokenHdr(tokB)...)

	// A dashboard runs for another range without changing it.
	run := a.must(200, "POST", base+"/bi/dashboards/"+dash+"/run?range=custom&from=2020-01-01&to=2020-01-31", "", tokenHdr(tok)...)
	if w := run["widgets"].([]any)[0].(map[string]any); w["result"].(map[string]any)["from"] != "2020-01-01" {
		t.Fatalf("run for another range: %v", w)
	}
	if d := a.must(200, "GET", base+"/bi/dashboards/"+dash, "", tokenHdr(tok)...); d["range"].(map[string]any)["preset"] != "last_year" {
		t.Fatalf("the dashboard's own range changed: %v", d)
	}
	a.wantProblem(422, "query.range", "POST", base+"/bi/dashboards/"+dash+"/run?range=fortnight", "", tokenHdr(tok)...)
	a.wantProblem(422, "query.to", "POST", base+"/bi/dashboards/"+dash+"/run?range=custom&from=2020-02-01&to=2020-01-01", "", tokenHdr(tok)...)
}
