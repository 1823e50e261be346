package main

import (
	"strings"
	"testing"
)

// Deal imports and exports through the wired app: a deal file finds its
// customer by the email the customer was made with, among the customers the
// importer may see (an agent's file naming the owner's customer fails that
// row); another company's member gets 404 on every route of the import, and
// does not list it.
func TestDealImportsKeepTenantsApart(t *testing.T) {
	a := newApp(t)
	a.worker()
	sa, sb := slug("deala"), slug("dealb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	base := "/api/v1/t/" + sa
	agent := a.member(sa, tokA, "agent")
	a.must(201, "POST", base+"/customers", `{"name":"Acme 甲","emails":["Buyer@Example.com"]}`, tokenHdr(agent)...)
	a.must(201, "POST", base+"/customers", `{"name":"Owner's","emails":["theirs@example.com"]}`, tokenHdr(tokA)...)
	id := a.uploadAs(201, sa, tokenHdr(agent), "deals", "deals.csv", "标题,客户邮箱,阶段,金额\nBig one,buyer@example.com,需求确认,1200.50\nTheirs,theirs@example.com,Lead,1\n")["id"].(string)
	start := `{"mapping":{"标题":"title","客户邮箱":"customer","阶段":"stage","金额":"amount"},"mode":"create"}`
	for _, b := range []string{"/api/v1/t/" + sa, "/api/v1/t/" + sb} {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/imports/" + id, ""},
			{"GET", "/imports/" + id + "/errors", ""},
			{"POST", "/imports/" + id + "/start", start},
			{"POST", "/imports/" + id + "/cancel", ""},
			{"POST", "/imports/" + id + "/revert", ""},
		} {
			if code, body, _ := a.call(c.method, b+c.path, c.body, tokenHdr(tokB)...); code != 404 {
				t.Errorf("B %s %s%s: %d %.200s, want 404", c.method, b, c.path, code, body)
			}
		}
		if _, body, _ := a.call("GET", b+"/imports?entity=deals", "", tokenHdr(tokB)...); strings.Contains(body, id) {
			t.Errorf("B lists A's deal import at %s", b)
		}
	}
	a.must(202, "POST", base+"/imports/"+id+"/start", start, tokenHdr(agent)...)
	v := a.waitImport(base, id, "completed", tokenHdr(agent))
	if v["created"] != float64(1) || v["failed"] != float64(1) || v["entity"] != "deals" {
		t.Fatalf("deal import: %v", v)
	}
	items := a.must(200, "GET", base+"/deals", "", tokenHdr(tokA)...)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["title"] != "Big one" || items[0].(map[string]any)["amount"] != "1200.5000" {
		t.Fatalf("deals after the import: %v", items)
	}
	if items := a.must(200, "GET", "/api/v1/t/"+sb+"/deals", "", tokenHdr(tokB)...)["items"].([]any); len(items) != 0 {
		t.Fatalf("B sees deals: %v", items)
	}
	if exp := a.must(202, "POST", base+"/exports", `{"entity":"deals","filter":"status=open"}`, tokenHdr(tokA)...); exp["entity"] != "deals" {
		t.Errorf("deal export: %v", exp)
	}
	a.must(422, "POST", base+"/exports", `{"entity":"deals","filter":"colour=red"}`, tokenHdr(tokA)...)
	a.must(202, "POST", base+"/imports/"+id+"/revert", "", tokenHdr(agent)...)
	a.waitImport(base, id, "reverted", tokenHdr(agent))
	if items := a.must(200, "GET", base+"/deals", "", tokenHdr(tokA)...)["items"].([]any); len(items) != 0 {
		t.Fatalf("deals after the revert: %v", items)
	}
}
