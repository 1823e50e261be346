package main

import (
	"fmt"
	"strings"
	"testing"
)

// Saved views of the customers list: a segment is one, a view keeps a sort and
// columns too, private views are their owner's, and tenant B reaches none of
// tenant A's views through any route that takes a view id.
func TestSavedViewsKeepTenantsApart(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("views-a"), slug("views-b")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	colleague := a.member(sa, tokA, "manager")
	baseA, baseB := "/api/v1/t/"+sa, "/api/v1/t/"+sb

	// The lists with views and the entities with custom fields come from the modules.
	code, body, _ := a.call("GET", baseA+"/views/entities", "", tokenHdr(tokA)...)
	if code != 200 || !strings.Contains(body, `"name":"customers"`) || !strings.Contains(body, `"key":"lifecycle"`) {
		t.Fatalf("view entities: %d %s", code, body)
	}
	code, body, _ = a.call("GET", baseA+"/fields", "", tokenHdr(tokA)...)
	if code != 200 || !strings.Contains(body, `{"name":"customers","label_en":"Customers","label_zh":"客户"}`) {
		t.Fatalf("field entities: %d %s", code, body)
	}

	for _, c := range []string{`{"name":"Zhao","lifecycle":"lead"}`, `{"name":"Adams","lifecycle":"lead"}`, `{"name":"Li","lifecycle":"customer"}`} {
		a.must(201, "POST", baseA+"/customers", c, tokenHdr(tokA)...)
	}
	shared := a.must(201, "POST", baseA+"/views", `{"entity":"customers","name":"Leads by name","shared":true,"query":"lifecycle=lead","sort":"name","columns":["name","lifecycle","custom.tier"]}`, tokenHdr(tokA)...)
	if shared["count"].(float64) != 2 || fmt.Sprint(shared["columns"]) != "[name lifecycle custom.tier]" {
		t.Fatalf("saved view %v", shared)
	}
	private := a.must(201, "POST", baseA+"/views", `{"entity":"customers","name":"Mine","query":"lifecycle=customer"}`, tokenHdr(tokA)...)
	sid, pid := shared["id"].(string), private["id"].(string)
	a.must(422, "POST", baseA+"/views", `{"entity":"customers","name":"Bad","query":"colour=red","sort":"weight"}`, tokenHdr(tokA)...)
	a.must(422, "POST", baseA+"/views", `{"entity":"nothing","name":"Bad"}`, tokenHdr(tokA)...)

	// The list applies a view's filter and its sort; a segment is the same record.
	list := a.must(200, "GET", baseA+"/customers?view_id="+sid, "", tokenHdr(tokA)...)
	var names []string
	for _, it := range list["items"].([]any) {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "Adams,Zhao" {
		t.Fatalf("the view lists %v", names)
	}
	segs := a.must(200, "GET", baseA+"/segments", "", tokenHdr(tokA)...)
	if n := len(segs["items"].([]any)); n != 2 {
		t.Fatalf("the views as segments: %v", segs)
	}
	a.must(200, "GET", baseA+"/customers?segment_id="+sid, "", tokenHdr(tokA)...)

	// A colleague sees the shared view, not the private one, and changes neither.
	a.must(200, "GET", baseA+"/views/"+sid, "", tokenHdr(colleague)...)
	a.must(404, "GET", baseA+"/views/"+pid, "", tokenHdr(colleague)...)
	a.must(404, "GET", baseA+"/customers?view_id="+pid, "", tokenHdr(colleague)...)
	a.must(404, "PATCH", baseA+"/views/"+sid, `{"name":"Mine now"}`, tokenHdr(colleague)...)
	a.must(404, "DELETE", baseA+"/views/"+sid, "", tokenHdr(colleague)...)
	if vs := a.must(200, "GET", baseA+"/views?entity=customers", "", tokenHdr(colleague)...); len(vs["items"].([]any)) != 1 {
		t.Fatalf("a colleague lists %v", vs)
	}

	// Tenant B, through its own company's routes, reaches none of A's views.
	for _, r := range [][3]string{
		{"GET", baseB + "/views/" + sid, ""},
		{"GET", baseB + "/views/" + pid, ""},
		{"PATCH", baseB + "/views/" + sid, `{"name":"Taken"}`},
		{"DELETE", baseB + "/views/" + sid, ""},
		{"DELETE", baseB + "/segments/" + sid, ""},
		{"GET", baseB + "/customers?view_id=" + sid, ""},
		{"GET", baseB + "/customers?segment_id=" + sid, ""},
		{"POST", baseB + "/exports", fmt.Sprintf(`{"segment_id":%q}`, sid)},
	} {
		if code, out, _ := a.call(r[0], r[1], r[2], tokenHdr(tokB)...); code != 404 {
			t.Errorf("tenant B %s %s: %d %s", r[0], r[1], code, out)
		}
	}
	for _, p := range []string{"/views", "/segments"} {
		if vs := a.must(200, "GET", baseB+p, "", tokenHdr(tokB)...); len(vs["items"].([]any)) != 0 {
			t.Errorf("tenant B lists %s: %v", p, vs)
		}
	}
	// And A's member reaches none of them through B's routes.
	a.must(404, "GET", baseB+"/views/"+sid, "", tokenHdr(tokA)...)

	// The owner renames, unshares and deletes.
	up := a.must(200, "PATCH", baseA+"/views/"+sid, `{"name":"Leads A-Z","shared":false}`, tokenHdr(tokA)...)
	if up["name"] != "Leads A-Z" || up["shared"] != false || up["sort"] != "name" {
		t.Fatalf("updated %v", up)
	}
	a.must(404, "GET", baseA+"/views/"+sid, "", tokenHdr(colleague)...)
	a.must(204, "DELETE", baseA+"/views/"+sid, "", tokenHdr(tokA)...)
	a.must(404, "GET", baseA+"/views/"+sid, "", tokenHdr(tokA)...)
}
