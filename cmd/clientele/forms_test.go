package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/platform/config"
)

// formApp is an app whose client address comes from X-Forwarded-For, so each
// test sends from addresses of its own and the per-address limit is testable.
func formApp(t *testing.T) *app {
	return newAppWith(t, func(c *config.Config) { c.TrustedProxies = []string{"0.0.0.0/0", "::/0"} })
}

func from(ip string) []string { return []string{"X-Forwarded-For", ip} }

// A form built by company A takes a lead on its hosted page: the customer is
// created (then matched by email, then by phone), its timeline notes the
// source and UTM parameters, a task goes to the owner and a deal opens in the
// chosen stage; consent is stored with its text and time; submissions list
// it all. The honeypot, a missing consent, a bad or oversized value are
// refused naming the field, with nothing written.
func TestLeadFormSubmissionsMakeLeadsTimelineTasksAndDeals(t *testing.T) {
	a := formApp(t)
	s := slug("forma")
	tok, sess := a.company(s)
	h := tokenHdr(tok)
	base, pub := "/api/v1/t/"+s, "/api/v1/public/"+s
	a.must(201, "POST", base+"/fields/customers", `{"key":"budget","label_en":"Budget","label_zh":"预算","type":"number"}`, h...)
	pipes := a.must(200, "GET", base+"/pipelines", "", h...)["items"].([]any)
	pipe := pipes[0].(map[string]any)
	stage := pipe["stages"].([]any)[1].(map[string]any)
	var won string
	for _, st := range pipe["stages"].([]any) {
		if st.(map[string]any)["kind"] == "won" {
			won = st.(map[string]any)["id"].(string)
		}
	}
	fields := `[{"key":"name","required":true},{"key":"email","label_en":"Work email","label_zh":"工作邮箱"},{"key":"phone"},{"key":"message"},{"key":"custom.budget"}]`
	body := fmt.Sprintf(`{"name":"Trial request","fields":%s,"title_en":"Ask for a trial","title_zh":"申请试用","consent":true,
		"consent_en":"I agree that Forma Co. may contact me.","consent_zh":"我同意 Forma 公司与我联系。","create_task":true,"owner_id":%q,
		"pipeline_id":%q,"stage_id":%q}`, fields, sess.IdentityID, pipe["id"], stage["id"])

	// Bad settings are refused naming the field.
	for _, c := range []struct{ body, loc string }{
		{`{"name":"x","fields":[{"key":"name"}]}`, "body.fields"},
		{`{"name":"x","fields":[{"key":"email"},{"key":"custom.nope"}]}`, "body.fields[1].key"},
		{`{"name":"x","fields":[{"key":"email"},{"key":"email"}]}`, "body.fields[1].key"},
		{`{"name":"x","fields":[{"key":"email"}],"consent":true,"consent_en":"ok"}`, "body.consent_zh"},
		{`{"name":"x","fields":[{"key":"email"}],"redirect_url":"javascript:alert(1)"}`, "body.redirect_url"},
		{`{"name":"x","fields":[{"key":"email"}],"owner_id":"6f1c1f0e-0000-4000-8000-000000000000"}`, "body.owner_id"},
		{fmt.Sprintf(`{"name":"x","fields":[{"key":"email"}],"pipeline_id":%q,"stage_id":%q}`, pipe["id"], won), "body.stage_id"},
		{fmt.Sprintf(`{"name":"x","fields":[{"key":"email"}],"pipeline_id":%q,"stage_id":"6f1c1f0e-0000-4000-8000-000000000000"}`, pipe["id"]), "body.stage_id"},
	} {
		a.wantProblem(422, c.loc, "POST", base+"/lead-forms", c.body, h...)
	}
	form := a.must(201, "POST", base+"/lead-forms", body, h...)
	id, token := form["id"].(string), form["token"].(string)
	if !strings.Contains(form["snippet"].(string), "/lead-form/"+s+"/"+token) || !strings.HasSuffix(form["hosted_url"].(string), "/lead-form/"+s+"/"+token) {
		t.Fatalf("snippet %v", form)
	}

	page := a.must(200, "GET", pub+"/lead-forms/"+token, "", from("203.0.113.1")...)
	if page["title"] != "Ask for a trial" || page["consent"] != "I agree that Forma Co. may contact me." || len(page["fields"].([]any)) != 5 {
		t.Fatalf("hosted form %v", page)
	}
	if f := page["fields"].([]any)[1].(map[string]any); f["label"] != "Work email" || f["type"] != "email" {
		t.Errorf("email field %v", f)
	}
	if f := page["fields"].([]any)[4].(map[string]any); f["label"] != "Budget" || f["type"] != "number" {
		t.Errorf("custom field %v", f)
	}
	if zh := a.must(200, "GET", pub+"/lead-forms/"+token+"?lang=zh-CN", "", from("203.0.113.1")...); zh["title"] != "申请试用" || zh["fields"].([]any)[4].(map[string]any)["label"] != "预算" {
		t.Errorf("Chinese form %v", zh)
	}

	ip := from("203.0.113.2")
	count := func() int {
		return len(a.must(200, "GET", base+"/customers", "", h...)["items"].([]any))
	}
	before := count()
	for _, c := range []struct{ body, loc string }{
		{`{"fields":{"name":"Bot","email":"bot@example.com"},"consent":true,"website":"http://spam"}`, "body.website"},
		{`{"fields":{"name":"Wang Fang","email":"wang@example.com"}}`, "body.consent"},
		{`{"fields":{"email":"wang@example.com"},"consent":true}`, "body.fields.name"},
		{`{"fields":{"name":"Wang Fang"},"consent":true}`, "body.fields.email"},
		{`{"fields":{"name":"Wang Fang","email":"not-an-address"},"consent":true}`, "body.fields.email"},
		{`{"fields":{"name":"Wang Fang","email":"wang@example.com","custom.budget":"lots"},"consent":true}`, "body.fields.custom.budget"},
		{`{"fields":{"name":"Wang Fang","email":"wang@example.com","admin":true},"consent":true}`, "body.fields.admin"},
		{`{"fields":{"name":"` + strings.Repeat("x", 301) + `","email":"wang@example.com"},"consent":true}`, "body.fields.name"},
	} {
		a.wantProblem(422, c.loc, "POST", pub+"/lead-forms/"+token, c.body, ip...)
	}
	// Bodies over 64 KB are refused before they are read.
	if code, out, _ := a.call("POST", pub+"/lead-forms/"+token, `{"fields":{"message":"`+strings.Repeat("y", 70<<10)+`"}}`, ip...); code != 413 {
		t.Errorf("oversized submission: %d %.200s", code, out)
	}
	if n := count(); n != before {
		t.Fatalf("refused submissions wrote %d customers", n-before)
	}

	got := a.must(201, "POST", pub+"/lead-forms/"+token, `{"fields":{"name":"Wang Fang 王芳","email":"wang.fang@example.com","message":"Need 20 seats","custom.budget":5000},
		"consent":true,"source":"https://forma.example/pricing?utm_source=newsletter","referrer":"https://mail.example/","utm":{"utm_source":"newsletter","utm_campaign":"spring"}}`, from("203.0.113.3")...)
	if got["message"] == "" {
		t.Fatalf("receipt %v", got)
	}
	custs := a.must(200, "GET", base+"/customers?q=wang.fang", "", h...)["items"].([]any)
	if len(custs) != 1 {
		t.Fatalf("customers after the submission %v", custs)
	}
	cust := custs[0].(map[string]any)
	cid := cust["id"].(string)
	// A lead, moved on to prospect by the deal the form opened.
	if cust["lifecycle"] != "prospect" || cust["source"] != "web_form" || cust["owner_id"] != sess.IdentityID.String() || cust["custom"].(map[string]any)["budget"] != float64(5000) {
		t.Errorf("the lead %v", cust)
	}
	// The timeline holds the form's note and the deal it opened.
	tl := a.must(200, "GET", base+"/customers/"+cid+"/interactions", "", h...)["items"].([]any)
	var notes, dealEntries []map[string]any
	for _, x := range tl {
		switch e := x.(map[string]any); e["kind"] {
		case "note":
			notes = append(notes, e)
		case "deal":
			dealEntries = append(dealEntries, e)
		}
	}
	if len(notes) != 1 || len(dealEntries) != 1 || len(tl) != 2 {
		t.Fatalf("timeline %v", tl)
	}
	entry := notes[0]
	for _, want := range []string{"Source: https://forma.example/pricing", "utm_source: newsletter", "utm_campaign: spring", "Need 20 seats", "I agree that Forma Co."} {
		if !strings.Contains(entry["body"].(string), want) {
			t.Errorf("timeline entry lacks %q: %v", want, entry)
		}
	}
	if entry["channel"] != "web_form" || entry["summary"] != "Web form: Trial request" {
		t.Errorf("timeline entry %v", entry)
	}
	tasks := a.must(200, "GET", base+"/tasks?customer_id="+cid, "", h...)["items"].([]any)
	if len(tasks) != 1 || !strings.Contains(tasks[0].(map[string]any)["title"].(string), "Wang Fang") {
		t.Fatalf("tasks %v", tasks)
	}
	deals := a.must(200, "GET", base+"/deals?customer_id="+cid, "", h...)["items"].([]any)
	if len(deals) != 1 || deals[0].(map[string]any)["stage_id"] != stage["id"] {
		t.Fatalf("deals %v", deals)
	}

	// The same person again, by phone only after adding it by email: matched,
	// not a second lead; the phone is added to the customer.
	a.must(201, "POST", pub+"/lead-forms/"+token, `{"fields":{"name":"Fang W","email":"WANG.FANG@example.com","phone":"+86 138 0013 8000"},"consent":true}`, from("203.0.113.4")...)
	a.must(201, "POST", pub+"/lead-forms/"+token, `{"fields":{"name":"F. Wang","phone":"+86 138-0013-8000"},"consent":true,"locale":"zh-CN"}`, from("203.0.113.4")...)
	if n := count(); n != before+1 {
		t.Fatalf("matching by email and phone: %d new customers, want 1", n-before)
	}
	if c := a.must(200, "GET", base+"/customers/"+cid, "", h...); c["name"] != "Wang Fang 王芳" || len(c["phones"].([]any)) != 1 {
		t.Errorf("the matched customer %v", c)
	}

	subs := a.must(200, "GET", base+"/lead-forms/"+id+"/submissions", "", h...)["items"].([]any)
	if len(subs) != 3 {
		t.Fatalf("submissions %v", subs)
	}
	last, first := subs[0].(map[string]any), subs[2].(map[string]any)
	if last["consent_text"] != "我同意 Forma 公司与我联系。" || last["consent_at"] == nil || last["created_customer"] != false || last["customer_id"] != cid {
		t.Errorf("the last submission %v", last)
	}
	if first["created_customer"] != true || first["utm"].(map[string]any)["utm_campaign"] != "spring" || first["source"] != "https://forma.example/pricing?utm_source=newsletter" ||
		first["task_id"] == nil || first["deal_id"] == nil || first["data"].(map[string]any)["custom.budget"] != float64(5000) {
		t.Errorf("the first submission %v", first)
	}
	if f := a.must(200, "GET", base+"/lead-forms/"+id, "", h...); f["submissions"] != float64(3) {
		t.Errorf("form's count %v", f["submissions"])
	}

	// A form switched off answers 410; a rotated token's old link 404.
	a.must(200, "POST", base+"/lead-forms/"+id+"/disable", "", h...)
	a.wantProblem(410, "", "GET", pub+"/lead-forms/"+token, "", from("203.0.113.5")...)
	a.wantProblem(410, "", "POST", pub+"/lead-forms/"+token, `{"fields":{"name":"Late","email":"late@example.com"},"consent":true}`, from("203.0.113.5")...)
	a.must(200, "POST", base+"/lead-forms/"+id+"/enable", "", h...)
	rot := a.must(200, "POST", base+"/lead-forms/"+id+"/rotate-token", "", h...)
	a.wantProblem(404, "", "GET", pub+"/lead-forms/"+token, "", from("203.0.113.5")...)
	a.must(200, "GET", pub+"/lead-forms/"+rot["token"].(string), "", from("203.0.113.5")...)
	if n := count(); n != before+1 {
		t.Fatalf("closed forms wrote customers")
	}
}

// A form token of company A creates nothing in company B, under B's slug or
// any other, and reads nothing; B's members reach none of A's forms through
// any route with an id; a manager (no forms.manage) reaches none at all.
func TestLeadFormsKeepTenantsApart(t *testing.T) {
	a := formApp(t)
	sa, sb := slug("leada"), slug("leadb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	form := a.must(201, "POST", "/api/v1/t/"+sa+"/lead-forms", `{"name":"A's form","fields":[{"key":"email","required":true}]}`, tokenHdr(tokA)...)
	id, token := form["id"].(string), form["token"].(string)
	ip := from("198.51.100.7")
	a.must(201, "POST", "/api/v1/public/"+sa+"/lead-forms/"+token, `{"fields":{"email":"a.lead@example.com"}}`, ip...)

	pubB := "/api/v1/public/" + sb + "/lead-forms/" + token
	a.wantProblem(404, "", "GET", pubB, "", ip...)
	a.wantProblem(404, "", "POST", pubB, `{"fields":{"email":"cross@example.com"}}`, ip...)
	a.wantProblem(404, "", "POST", "/api/v1/public/"+sa+"/lead-forms/lf_forged", `{"fields":{"email":"cross@example.com"}}`, ip...)
	a.wantProblem(404, "", "POST", "/api/v1/public/no-such-company-zz/lead-forms/"+token, `{"fields":{"email":"cross@example.com"}}`, ip...)
	if items := a.must(200, "GET", "/api/v1/t/"+sb+"/customers", "", tokenHdr(tokB)...)["items"].([]any); len(items) != 0 {
		t.Errorf("B has customers from A's form: %v", items)
	}

	cases := map[string]struct{ path, body string }{
		"GET /lead-forms/{id}":               {"/lead-forms/" + id, ""},
		"PUT /lead-forms/{id}":               {"/lead-forms/" + id, `{"name":"taken","fields":[{"key":"email"}]}`},
		"DELETE /lead-forms/{id}":            {"/lead-forms/" + id, ""},
		"POST /lead-forms/{id}/enable":       {"/lead-forms/" + id + "/enable", ""},
		"POST /lead-forms/{id}/disable":      {"/lead-forms/" + id + "/disable", ""},
		"POST /lead-forms/{id}/rotate-token": {"/lead-forms/" + id + "/rotate-token", ""},
		"GET /lead-forms/{id}/submissions":   {"/lead-forms/" + id + "/submissions", ""},
	}
	_, doc, _ := a.call("GET", "/api/v1/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		t.Fatal(err)
	}
	withID := regexp.MustCompile(`^/api/v1/t/\{tenant\}(/lead-forms/\{id\}.*)$`)
	covered := 0
	for path, ops := range spec.Paths {
		mm := withID.FindStringSubmatch(path)
		if mm == nil {
			continue
		}
		for method := range ops {
			if _, ok := cases[strings.ToUpper(method)+" "+mm[1]]; !ok {
				t.Errorf("%s %s is not checked here", strings.ToUpper(method), mm[1])
			}
			covered++
		}
	}
	if covered != len(cases) {
		t.Errorf("%d lead-form routes with an id in the document, %d cases", covered, len(cases))
	}
	for _, b := range []string{"/api/v1/t/" + sa, "/api/v1/t/" + sb} {
		for name, c := range cases {
			if code, out, _ := a.call(strings.Fields(name)[0], b+c.path, c.body, tokenHdr(tokB)...); code != 404 {
				t.Errorf("B %s on %s: %d %.300s, want 404", name, b, code, out)
			}
		}
	}
	if items := a.must(200, "GET", "/api/v1/t/"+sb+"/lead-forms", "", tokenHdr(tokB)...)["items"].([]any); len(items) != 0 {
		t.Errorf("B lists %d forms", len(items))
	}
	// A manager's and an agent's roles do not include forms.manage.
	for _, role := range []string{"manager", "agent"} {
		m := a.member(sa, tokA, role)
		a.wantProblem(403, "", "GET", "/api/v1/t/"+sa+"/lead-forms", "", tokenHdr(m)...)
		a.wantProblem(403, "", "POST", "/api/v1/t/"+sa+"/lead-forms", `{"name":"x","fields":[{"key":"email"}]}`, tokenHdr(m)...)
		a.wantProblem(403, "", "GET", "/api/v1/t/"+sa+"/lead-forms/"+id+"/submissions", "", tokenHdr(m)...)
	}
	admin := a.member(sa, tokA, "admin")
	a.must(200, "GET", "/api/v1/t/"+sa+"/lead-forms/"+id+"/submissions", "", tokenHdr(admin)...)
	// A's form is as it was.
	if f := a.must(200, "GET", "/api/v1/t/"+sa+"/lead-forms/"+id, "", tokenHdr(tokA)...); f["name"] != "A's form" || f["token"] != token || f["enabled"] != true {
		t.Errorf("A's form changed: %v", f)
	}
}

// The hosted form takes 10 submissions a minute from one address; another
// address is still served. (With no owner on the customer or the form, the
// tasks go to whoever built the form.)
func TestLeadFormRateLimitPerAddress(t *testing.T) {
	a := formApp(t)
	s := slug("leadr")
	tok, _ := a.company(s)
	token := a.must(201, "POST", "/api/v1/t/"+s+"/lead-forms", `{"name":"Flood","fields":[{"key":"email","required":true}],"create_task":true}`, tokenHdr(tok)...)["token"].(string)
	url := "/api/v1/public/" + s + "/lead-forms/" + token
	limited := 0
	for i := 0; i < 12; i++ {
		code, _, hd := a.call("POST", url, `{"fields":{"email":"flood@example.com"}}`, from("192.0.2.77")...)
		if code == 429 && hd.Get("Retry-After") != "" {
			limited++
		} else if code != 201 {
			t.Fatalf("submission %d: %d", i, code)
		}
	}
	if limited != 2 {
		t.Errorf("%d of 12 submissions limited, want 2", limited)
	}
	a.must(201, "POST", url, `{"fields":{"email":"other@example.com"}}`, from("192.0.2.78")...)
	tasks := a.must(200, "GET", "/api/v1/t/"+s+"/tasks?limit=200", "", tokenHdr(tok)...)["items"].([]any)
	if len(tasks) != 11 || !strings.Contains(tasks[0].(map[string]any)["title"].(string), "@example.com") {
		t.Errorf("the form builder's tasks: %d %v", len(tasks), tasks)
	}
}
