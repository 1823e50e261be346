package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// Customer scores and classification rules through the API: only admins
// write rules, a bad condition names the filter, the dry run counts what the
// run changes, the score filters work on the list, and another company's
// rule or customer is 404 through every route that takes an id, even under
// one's own company.
func TestClassificationRulesThroughTheAPI(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("rfa"), slug("rfb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	base := "/api/v1/t/" + sa
	agent := a.member(sa, tokA, "agent")
	for i := 0; i < 3; i++ {
		a.must(201, "POST", base+"/customers", fmt.Sprintf(`{"name":"客户 %d","tags":["lead-%d"]}`, i, i), tokenHdr(tokA)...)
	}
	cust := a.must(201, "POST", base+"/customers", `{"name":"Scored"}`, tokenHdr(tokA)...)["id"].(string)

	rule := `{"name":"Unscored are new","condition":"rfm.segment[empty]=true","action":"add_tag","value":"unscored"}`
	if code, out, _ := a.call("POST", base+"/classification-rules", rule, tokenHdr(agent)...); code != 403 {
		t.Errorf("an agent made a rule: %d %s", code, out)
	}
	a.wantProblem(422, "body.condition.rfm.segment[eq]", "POST", base+"/classification-rules",
		`{"name":"x","condition":"rfm.segment=kings","action":"add_tag","value":"x"}`, tokenHdr(tokA)...)
	a.wantProblem(422, "body.condition.bogus", "POST", base+"/classification-rules",
		`{"name":"x","condition":"bogus=1","action":"add_tag","value":"x"}`, tokenHdr(tokA)...)
	a.wantProblem(422, "body.value", "POST", base+"/classification-rules",
		`{"name":"x","condition":"tag=vip","action":"set_lifecycle","value":"royalty"}`, tokenHdr(tokA)...)
	a.wantProblem(422, "body.field", "POST", base+"/classification-rules",
		`{"name":"x","condition":"tag=vip","action":"set_field","field":"nope","value":"gold"}`, tokenHdr(tokA)...)
	r := a.must(201, "POST", base+"/classification-rules", rule, tokenHdr(tokA)...)
	id := r["id"].(string)
	if r["enabled"] != false {
		t.Errorf("a new rule is enabled: %v", r)
	}
	dry := a.must(200, "POST", base+"/classification-rules/"+id+"/dry-run", "", tokenHdr(tokA)...)
	run := a.must(200, "POST", base+"/classification-rules/"+id+"/run", "", tokenHdr(tokA)...)
	if dry["changed"] != float64(4) || run["changed"] != dry["changed"] {
		t.Errorf("dry run %v, run %v", dry, run)
	}
	list := a.must(200, "GET", base+"/customers?tag=unscored&rfm.segment[empty]=true&churn_risk[lt]=50", "", tokenHdr(tokA)...)["items"].([]any)
	if len(list) != 4 {
		t.Errorf("the list by the rule's tag and score filters: %d", len(list))
	}
	a.wantProblem(422, "query.churn_risk[gte]", "GET", base+"/customers?churn_risk[gte]=lots", "", tokenHdr(tokA)...)
	// Not scored yet: 404 that says so; after a scoring job, the scores.
	a.wantProblem(404, "", "GET", base+"/customers/"+cust+"/scores", "", tokenHdr(tokA)...)
	// A complaint still open reaches the churn risk through the tickets'
	// signal.
	a.must(201, "POST", base+"/tickets", fmt.Sprintf(`{"subject":"投诉","channel":"email","type":"complaint","requester_id":%q}`, cust), tokenHdr(tokA)...)
	job := a.must(202, "POST", base+"/customers/scores/recompute", "", tokenHdr(tokA)...)
	a.worker()
	a.waitStatus(base+"/jobs/"+job["job_id"].(string), "succeeded", tokenHdr(tokA))
	s := a.must(200, "GET", base+"/customers/"+cust+"/scores", "", tokenHdr(tokA)...)
	if rs, ok := s["reasons"].([]any); !ok || len(rs) != 1 || rs[0].(map[string]any)["code"] != "open_complaints" || s["churn_risk"] != float64(15) {
		t.Errorf("scores: %v", s)
	}
	if code, _, _ := a.call("POST", base+"/customers/scores/recompute", "", tokenHdr(agent)...); code != 403 {
		t.Errorf("an agent recomputed the scores: %d", code)
	}

	// Every route of the rules with an id, and the customer's scores, as
	// company B's admin under B's own slug.
	cases := map[string]struct{ path, body string }{
		"GET /classification-rules/{id}":          {"/classification-rules/" + id, ""},
		"PATCH /classification-rules/{id}":        {"/classification-rules/" + id, `{"name":"mine now"}`},
		"DELETE /classification-rules/{id}":       {"/classification-rules/" + id, ""},
		"POST /classification-rules/{id}/dry-run": {"/classification-rules/" + id + "/dry-run", ""},
		"POST /classification-rules/{id}/run":     {"/classification-rules/" + id + "/run", ""},
		"GET /customers/{id}/scores":              {"/customers/" + cust + "/scores", ""},
	}
	_, doc, _ := a.call("GET", "/api/v1/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		t.Fatal(err)
	}
	ruleRe := regexp.MustCompile(`^/api/v1/t/\{tenant\}(/classification-rules/.*\{id\}.*|/customers/\{id\}/scores)$`)
	for path, ops := range spec.Paths {
		if mm := ruleRouteOf(ruleRe, path); mm != "" {
			for method := range ops {
				if _, ok := cases[strings.ToUpper(method)+" "+mm]; !ok {
					t.Errorf("%s %s is not in this test", method, mm)
				}
			}
		}
	}
	for name, c := range cases {
		method := strings.SplitN(name, " ", 2)[0]
		if code, out, _ := a.call(method, "/api/v1/t/"+sb+c.path, c.body, tokenHdr(tokB)...); code != 404 {
			t.Errorf("company B %s: %d %.200s, want 404", name, code, out)
		}
	}
	if items := a.must(200, "GET", "/api/v1/t/"+sb+"/classification-rules", "", tokenHdr(tokB)...)["items"].([]any); len(items) != 0 {
		t.Errorf("company B lists %d rules", len(items))
	}
	// A's rule is untouched, and A removes it.
	if got := a.must(200, "GET", base+"/classification-rules/"+id, "", tokenHdr(tokA)...); got["name"] != "Unscored are new" {
		t.Errorf("A's rule after B's attempts: %v", got)
	}
	a.must(204, "DELETE", base+"/classification-rules/"+id, "", tokenHdr(tokA)...)
}

func ruleRouteOf(re *regexp.Regexp, path string) string {
	if mm := re.FindStringSubmatch(path); mm != nil {
		return mm[1]
	}
	return ""
}
