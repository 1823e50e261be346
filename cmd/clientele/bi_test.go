package main

import (
	"fmt"
	"testing"
	"time"
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
