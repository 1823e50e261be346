package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The funnel's records of company A are out of company B's reach through
// every funnel route that takes an id, by A's slug and by B's own: each
// answers 404, with a body that would be valid for B's own records. A new
// funnel route with an id fails this test until it is listed here.
func TestFunnelRoutesKeepTenantsApart(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("funa"), slug("funb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	first := func(s, tok string) (pipeline, stage map[string]any) {
		p := a.must(200, "GET", "/api/v1/t/"+s+"/pipelines", "", tokenHdr(tok)...)["items"].([]any)[0].(map[string]any)
		return p, p["stages"].([]any)[1].(map[string]any)
	}
	pa, sta := first(sa, tokA)
	_, stb := first(sb, tokB)
	cust := a.must(201, "POST", "/api/v1/t/"+sa+"/customers", `{"name":"A 客户"}`, tokenHdr(tokA)...)["id"].(string)
	deal := a.must(201, "POST", "/api/v1/t/"+sa+"/deals", fmt.Sprintf(`{"title":"A's deal","customer_id":%q,"amount":"12.5","tags":["vip"]}`, cust), tokenHdr(tokA)...)
	reason := a.must(200, "GET", "/api/v1/t/"+sa+"/lost-reasons", "", tokenHdr(tokA)...)["items"].([]any)[0].(map[string]any)
	rate := a.must(200, "POST", "/api/v1/t/"+sa+"/exchange-rates", `{"currency":"EUR","valid_from":"2026-01-01","rate":"1.1"}`, tokenHdr(tokA)...)
	pid, sid, did, rid := pa["id"].(string), sta["id"].(string), deal["id"].(string), reason["id"].(string)

	cases := map[string]struct{ path, body string }{
		"GET /pipelines/{id}":                      {"/pipelines/" + pid, ""},
		"GET /pipelines/{id}/board":                {"/pipelines/" + pid + "/board", ""},
		"GET /pipelines/{id}/analytics":            {"/pipelines/" + pid + "/analytics", ""},
		"GET /pipelines/{id}/forecast":             {"/pipelines/" + pid + "/forecast", ""},
		"PATCH /pipelines/{id}":                    {"/pipelines/" + pid, `{"name_en":"x"}`},
		"DELETE /pipelines/{id}":                   {"/pipelines/" + pid, ""},
		"POST /pipelines/{id}/stages":              {"/pipelines/" + pid + "/stages", `{"name_en":"x"}`},
		"PATCH /pipelines/{id}/stages/{stage_id}":  {"/pipelines/" + pid + "/stages/" + sid, `{"name_en":"x"}`},
		"DELETE /pipelines/{id}/stages/{stage_id}": {"/pipelines/" + pid + "/stages/" + sid + "?target_stage_id=" + stb["id"].(string), ""},
		"PUT /pipelines/{id}/stage-order":          {"/pipelines/" + pid + "/stage-order", fmt.Sprintf(`{"stage_ids":[%q]}`, sid)},
		"GET /deals/{id}":                          {"/deals/" + did, ""},
		"GET /deals/{id}/history":                  {"/deals/" + did + "/history", ""},
		"PATCH /deals/{id}":                        {"/deals/" + did, `{"version":1,"title":"x"}`},
		"DELETE /deals/{id}":                       {"/deals/" + did, ""},
		"POST /deals/{id}/move":                    {"/deals/" + did + "/move", fmt.Sprintf(`{"stage_id":%q,"version":1}`, stb["id"])},
		"PATCH /lost-reasons/{id}":                 {"/lost-reasons/" + rid, `{"name_en":"x"}`},
		"DELETE /lost-reasons/{id}":                {"/lost-reasons/" + rid, ""},
		"DELETE /exchange-rates/{id}":              {"/exchange-rates/" + rate["id"].(string), ""},
	}
	// Every funnel route with an id in the API document is a case here.
	_, doc, _ := a.call("GET", "/api/v1/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		t.Fatal(err)
	}
	funnelPath := regexp.MustCompile(`^/api/v1/t/\{tenant\}(/(pipelines|deals|lost-reasons|exchange-rates)/\{id\}.*)$`)
	covered := 0
	for path, ops := range spec.Paths {
		mm := funnelPath.FindStringSubmatch(path)
		if mm == nil {
			continue
		}
		for method := range ops {
			key := strings.ToUpper(method) + " " + mm[1]
			if _, ok := cases[key]; !ok {
				t.Errorf("%s is not checked here", key)
			}
			covered++
		}
	}
	if covered != len(cases) {
		t.Errorf("%d funnel routes with an id in the document, %d cases", covered, len(cases))
	}
	for _, base := range []string{"/api/v1/t/" + sa, "/api/v1/t/" + sb} {
		for name, c := range cases {
			method := strings.Fields(name)[0]
			if code, body, _ := a.call(method, base+c.path, c.body, tokenHdr(tokB)...); code != 404 {
				t.Errorf("B %s on %s: %d %.300s, want 404", name, base, code, body)
			}
		}
	}
	// Nothing of A changed, and B's lists and moves do not reach A's records.
	if items := a.must(200, "GET", "/api/v1/t/"+sa+"/exchange-rates", "", tokenHdr(tokA)...)["items"].([]any); len(items) != 1 {
		t.Errorf("A's rates after B's attempts: %v", items)
	}
	if items := a.must(200, "GET", "/api/v1/t/"+sb+"/exchange-rates", "", tokenHdr(tokB)...)["items"].([]any); len(items) != 0 {
		t.Errorf("B lists A's rates: %v", items)
	}
	got := a.must(200, "GET", "/api/v1/t/"+sa+"/deals/"+did, "", tokenHdr(tokA)...)
	if got["version"].(float64) != 1 || got["title"] != "A's deal" {
		t.Fatalf("A's deal changed: %v", got)
	}
	if _, body, _ := a.call("GET", "/api/v1/t/"+sb+"/deals?customer_id="+cust, "", tokenHdr(tokB)...); strings.Contains(body, did) {
		t.Errorf("B lists A's deal: %.200s", body)
	}
	if code, body, _ := a.call("POST", "/api/v1/t/"+sb+"/deals", fmt.Sprintf(`{"title":"x","customer_id":%q}`, cust), tokenHdr(tokB)...); code != 422 || !strings.Contains(body, "body.customer_id") {
		t.Errorf("B made a deal of A's customer: %d %.200s", code, body)
	}
	if code, body, _ := a.call("POST", "/api/v1/t/"+sb+"/deals", fmt.Sprintf(`{"title":"x","customer_id":%q,"pipeline_id":%q}`, cust, pa["id"]), tokenHdr(tokB)...); code != 422 {
		t.Errorf("B used A's pipeline: %d %.200s", code, body)
	}
}

// Over HTTP: a stale version gets 409 with the deal as it is, bad input gets
// a problem naming the field, the list pages as CSV too, and a member whose
// role sees only their own deals does not reach a colleague's.
func TestFunnelOverHTTP(t *testing.T) {
	a := newApp(t)
	s := slug("funnel")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	cust := a.must(201, "POST", base+"/customers", `{"name":"李雷"}`, tokenHdr(tok)...)["id"].(string)
	deal := a.must(201, "POST", base+"/deals", fmt.Sprintf(`{"title":"Pilot","customer_id":%q,"amount":"1000","currency":"cny"}`, cust), tokenHdr(tok)...)
	id := deal["id"].(string)
	a.must(200, "PATCH", base+"/deals/"+id, `{"version":1,"amount":"1200"}`, tokenHdr(tok)...)
	code, body, hdr := a.call("PATCH", base+"/deals/"+id, `{"version":1,"amount":"1300"}`, tokenHdr(tok)...)
	if code != 409 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") || !strings.Contains(body, `"current"`) || !strings.Contains(body, `"1200.0000"`) {
		t.Fatalf("stale write: %d %s", code, body)
	}
	for _, c := range []struct{ method, path, body, loc string }{
		{"POST", "/deals", fmt.Sprintf(`{"title":"x","customer_id":%q,"amount":"-1"}`, cust), "body.amount"},
		{"POST", "/deals", fmt.Sprintf(`{"title":"x","customer_id":%q,"amount":"ten"}`, cust), "body.amount"},
		{"POST", "/deals", fmt.Sprintf(`{"title":"x","customer_id":%q,"currency":"XYZ"}`, cust), "body.currency"},
		{"GET", "/deals?colour=red", "", "query.colour"},
		{"GET", "/deals?status=maybe", "", "query.status"},
		{"GET", "/deals?sort=colour", "", "query.sort"},
		{"GET", "/deals?won_at%5Bgte%5D=yesterday", "", "query.won_at[gte]"},
		{"GET", "/deals?closed_at%5Blt%5D=2026-01-01", "", "query.closed_at[lt]"},
		{"GET", "/deals?open_at=soon", "", "query.open_at"},
		{"GET", "/deals?currency=XYZ", "", "query.currency"},
		{"GET", "/deals?source%5Bempty%5D=false", "", "query.source[empty]"},
		{"GET", "/pipelines/" + deal["pipeline_id"].(string) + "/board?lost_at%5Bgte%5D=x", "", "query.lost_at[gte]"},
		{"POST", "/deals/" + id + "/move", `{"stage_id":"` + id + `","version":2}`, "body.stage_id"},
		{"POST", "/exchange-rates", `{"currency":"XYZ","valid_from":"2027-01-01","rate":"7"}`, "body.currency"},
		{"POST", "/exchange-rates", `{"currency":"EUR","valid_from":"2027-01-01","rate":"-7"}`, "body.rate"},
		{"POST", "/exchange-rates", `{"currency":"EUR","valid_from":"2027-01-01","rate":"seven"}`, "body.rate"},
		{"POST", "/exchange-rates", `{"currency":"EUR","valid_from":"someday","rate":"7"}`, "body.valid_from"},
		{"GET", "/pipelines/" + deal["pipeline_id"].(string) + "/analytics?from=2026-02-30", "", "query.from"},
		{"GET", "/pipelines/" + deal["pipeline_id"].(string) + "/forecast?from=2026-03-01&to=2026-02-01", "", "query.to"},
		{"GET", "/pipelines/" + deal["pipeline_id"].(string) + "/forecast?from=2020-01-01&to=2026-02-01", "", "query.to"},
	} {
		code, body, hdr := a.call(c.method, base+c.path, c.body, tokenHdr(tok)...)
		if code != 422 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") || !strings.Contains(body, c.loc) {
			t.Errorf("%s %s: %d %.300s, want 422 naming %s", c.method, c.path, code, body, c.loc)
		}
	}
	// The company's currency is USD: the CNY deal has no rate, and the board
	// says so naming the currency instead of counting it 1:1; with a rate it
	// converts and names the rate.
	pipe := a.must(200, "GET", base+"/pipelines", "", tokenHdr(tok)...)["items"].([]any)[0].(map[string]any)["id"].(string)
	code, body, hdr = a.call("GET", base+"/pipelines/"+pipe+"/board", "", tokenHdr(tok)...)
	if code != 409 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") || !strings.Contains(body, `"CNY"`) {
		t.Fatalf("board without a rate: %d %s", code, body)
	}
	a.must(200, "POST", base+"/exchange-rates", `{"currency":"CNY","valid_from":"2000-01-01","rate":"0.14"}`, tokenHdr(tok)...)
	board := a.must(200, "GET", base+"/pipelines/"+pipe+"/board", "", tokenHdr(tok)...)
	if col := board["columns"].([]any)[0].(map[string]any); board["currency"] != "USD" || col["amount"] != "168.0000" || len(board["rates"].([]any)) != 1 {
		t.Fatalf("converted board: %v", board)
	}
	a.must(200, "POST", base+"/deals/"+id+"/move", fmt.Sprintf(`{"stage_id":%q,"version":2}`, stageNamed(t, a, base, tok, "Won")), tokenHdr(tok)...)
	an := a.must(200, "GET", base+"/pipelines/"+pipe+"/analytics", "", tokenHdr(tok)...)
	if an["won"].(float64) != 1 || an["won_amount"] != "168.0000" || an["currency"] != "USD" || len(an["stages"].([]any)) != 6 {
		t.Fatalf("analytics: %v", an)
	}
	fc := a.must(200, "GET", base+"/pipelines/"+pipe+"/forecast", "", tokenHdr(tok)...)
	if months := fc["months"].([]any); len(months) != 12 || months[11].(map[string]any)["won"] != "168.0000" {
		t.Fatalf("forecast: %v", fc)
	}
	code, body, hdr = a.call("GET", base+"/deals", "", append(tokenHdr(tok), "Accept", "text/csv")...)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(body, "Pilot") {
		t.Fatalf("csv list: %d %s", code, body)
	}
	// An agent's role sees only their own deals: a colleague's is not found
	// by any action, and their own is.
	agent := a.member(s, tok, "agent")
	if n := len(a.must(200, "GET", base+"/deals", "", tokenHdr(agent)...)["items"].([]any)); n != 0 {
		t.Errorf("an agent lists %d deals of others", n)
	}
	a.must(404, "GET", base+"/deals/"+id, "", tokenHdr(agent)...)
	a.must(404, "PATCH", base+"/deals/"+id, `{"version":2,"title":"mine now"}`, tokenHdr(agent)...)
	a.must(404, "POST", base+"/deals/"+id+"/move", fmt.Sprintf(`{"stage_id":%q,"version":2}`, deal["stage_id"]), tokenHdr(agent)...)
	a.must(404, "DELETE", base+"/deals/"+id, "", tokenHdr(agent)...)
	a.must(403, "POST", base+"/lost-reasons", `{"name_en":"x"}`, tokenHdr(agent)...)
	// A deal needs a customer the agent may see: one of their own.
	if code, body, _ := a.call("POST", base+"/deals", fmt.Sprintf(`{"title":"Mine","customer_id":%q}`, cust), tokenHdr(agent)...); code != 422 || !strings.Contains(body, "body.customer_id") {
		t.Errorf("an agent made a deal of a customer they may not see: %d %.200s", code, body)
	}
	theirs := a.must(201, "POST", base+"/customers", `{"name":"韩梅梅"}`, tokenHdr(agent)...)["id"].(string)
	mine := a.must(201, "POST", base+"/deals", fmt.Sprintf(`{"title":"Mine","customer_id":%q}`, theirs), tokenHdr(agent)...)["id"].(string)
	a.must(200, "GET", base+"/deals/"+mine, "", tokenHdr(agent)...)
	if n := len(a.must(200, "GET", base+"/deals", "", tokenHdr(tok)...)["items"].([]any)); n != 2 {
		t.Errorf("the owner lists %d deals, want 2", n)
	}
	// Erasing a person takes their deals with them, through the records
	// registry cmd wires, in the erase's transaction.
	person := a.must(201, "POST", base+"/customers", `{"name":"Erase Me 删除我","kind":"person"}`, tokenHdr(tok)...)["id"].(string)
	gone := a.must(201, "POST", base+"/deals", fmt.Sprintf(`{"title":"Theirs","customer_id":%q}`, person), tokenHdr(tok)...)["id"].(string)
	a.must(204, "POST", base+"/customers/"+person+"/erase", "", tokenHdr(tok)...)
	a.must(404, "GET", base+"/deals/"+gone, "", tokenHdr(tok)...)
	a.must(200, "GET", base+"/deals/"+id, "", tokenHdr(tok)...)
}

// stageNamed is the id of the default pipeline's stage of that English name.
func stageNamed(t *testing.T, a *app, base, tok, name string) string {
	t.Helper()
	p := a.must(200, "GET", base+"/pipelines", "", tokenHdr(tok)...)["items"].([]any)[0].(map[string]any)
	for _, s := range p["stages"].([]any) {
		if s := s.(map[string]any); s["name_en"] == name {
			return s["id"].(string)
		}
	}
	t.Fatalf("no stage %s", name)
	return ""
}

// A deal made for a lead makes it a prospect, and winning a deal makes its
// customer a customer, through the lifecycle cmd wires from the customers
// module into the funnel; a merge of customers takes their deals along.
func TestDealsMoveTheirCustomerAlong(t *testing.T) {
	a := newApp(t)
	s := slug("funlife")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	lifecycle := func(id string) string {
		return a.must(200, "GET", base+"/customers/"+id, "", tokenHdr(tok)...)["lifecycle"].(string)
	}
	lead := a.must(201, "POST", base+"/customers", `{"name":"Lead 线索客户","lifecycle":"lead"}`, tokenHdr(tok)...)["id"].(string)
	churned := a.must(201, "POST", base+"/customers", `{"name":"Churned 流失客户","lifecycle":"churned"}`, tokenHdr(tok)...)["id"].(string)
	deal := a.must(201, "POST", base+"/deals", fmt.Sprintf(`{"title":"First","customer_id":%q}`, lead), tokenHdr(tok)...)
	if got := lifecycle(lead); got != "prospect" {
		t.Fatalf("a lead with a deal is %s, want prospect", got)
	}
	// A deal for a churned customer does not make it a prospect.
	back := a.must(201, "POST", base+"/deals", fmt.Sprintf(`{"title":"Win-back","customer_id":%q}`, churned), tokenHdr(tok)...)
	if got := lifecycle(churned); got != "churned" {
		t.Fatalf("a churned customer with a new deal is %s", got)
	}
	won := stageNamed(t, a, base, tok, "Won")
	a.must(200, "POST", base+"/deals/"+deal["id"].(string)+"/move", fmt.Sprintf(`{"stage_id":%q,"version":1}`, won), tokenHdr(tok)...)
	a.must(200, "POST", base+"/deals/"+back["id"].(string)+"/move", fmt.Sprintf(`{"stage_id":%q,"version":1}`, won), tokenHdr(tok)...)
	if l, c := lifecycle(lead), lifecycle(churned); l != "customer" || c != "customer" {
		t.Fatalf("after the wins: %s and %s, want customer", l, c)
	}
	// Merging the churned one into the lead moves its deal there.
	a.must(200, "POST", base+"/customers/merge", fmt.Sprintf(`{"winner_id":%q,"loser_ids":[%q]}`, lead, churned), tokenHdr(tok)...)
	if got := a.must(200, "GET", base+"/deals/"+back["id"].(string), "", tokenHdr(tok)...); got["customer_id"] != lead {
		t.Fatalf("the merged customer's deal points at %v", got["customer_id"])
	}
	if n := len(a.must(200, "GET", base+"/deals?customer_id="+lead, "", tokenHdr(tok)...)["items"].([]any)); n != 2 {
		t.Fatalf("the kept customer has %d deals, want 2", n)
	}
}

// A customer's deals appear on its timeline, through the registry that cmd
// fills (neither module imports the other): created, moved and won, newest
// first among its interactions, by kind, and paged without gaps or repeats.
func TestDealsAppearOnTheirCustomersTimeline(t *testing.T) {
	a := newApp(t)
	s := slug("funline")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	cust := a.must(201, "POST", base+"/customers", `{"name":"Timeline 时间线客户"}`, tokenHdr(tok)...)["id"].(string)
	a.must(201, "POST", base+"/customers/"+cust+"/interactions", `{"kind":"note","summary":"first call notes"}`, tokenHdr(tok)...)
	deal := a.must(201, "POST", base+"/deals", fmt.Sprintf(`{"title":"ERP 上线","customer_id":%q,"amount":"1200.50"}`, cust), tokenHdr(tok)...)
	id := deal["id"].(string)
	a.must(200, "POST", base+"/deals/"+id+"/move", fmt.Sprintf(`{"stage_id":%q,"version":1}`, stageNamed(t, a, base, tok, "Qualified")), tokenHdr(tok)...)
	a.must(200, "POST", base+"/deals/"+id+"/move", fmt.Sprintf(`{"stage_id":%q,"version":2}`, stageNamed(t, a, base, tok, "Won")), tokenHdr(tok)...)
	items := func(query string) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, it := range a.must(200, "GET", base+"/customers/"+cust+"/interactions"+query, "", tokenHdr(tok)...)["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	all := items("")
	var kinds, summaries []string
	for _, it := range all {
		kinds = append(kinds, it["kind"].(string))
		summaries = append(summaries, it["summary"].(string))
	}
	if strings.Join(kinds, ",") != "deal,deal,deal,note" || !strings.HasPrefix(summaries[0], "Deal won") ||
		!strings.HasPrefix(summaries[1], "Deal moved to Qualified") || !strings.HasPrefix(summaries[2], "New deal") {
		t.Fatalf("timeline: %v %v", kinds, summaries)
	}
	if all[0]["link"] != "/deals?deal="+id || all[2]["amount"] != "1200.5000" {
		t.Fatalf("a deal entry: %v", all[0])
	}
	if got := items("?kind=deal"); len(got) != 3 {
		t.Fatalf("kind=deal: %d entries", len(got))
	}
	if got := items("?kind=note"); len(got) != 1 || got[0]["kind"] != "note" {
		t.Fatalf("kind=note: %v", got)
	}
	// Pages of two meet every entry once.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; pages < 5; pages++ {
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		body := a.must(200, "GET", base+"/customers/"+cust+"/interactions"+q, "", tokenHdr(tok)...)
		for _, it := range body["items"].([]any) {
			k := it.(map[string]any)["id"].(string)
			if seen[k] {
				t.Fatalf("entry %s on two pages", k)
			}
			seen[k] = true
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = url.QueryEscape(next)
	}
	if len(seen) != 4 {
		t.Fatalf("paged through %d entries, want 4", len(seen))
	}
}
