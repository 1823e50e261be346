package main

import (
	"fmt"
	"sort"
	"testing"
)

// The customer list's filters on purchases and moves to churned through
// the API: a bad value is a 422 problem naming the parameter, in the list
// and in a saved view, and each company sees its own customers through
// them (company B's purchase in the same range never reaches A's list).
func TestCustomerMomentFiltersOverHTTP(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("drla"), slug("drlb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	baseA, baseB := "/api/v1/t/"+sa, "/api/v1/t/"+sb
	bought := func(base, tok, name string) string {
		id := a.must(201, "POST", base+"/customers", fmt.Sprintf(`{"name":%q}`, name), tokenHdr(tok)...)["id"].(string)
		a.must(201, "POST", base+"/customers/"+id+"/interactions",
			`{"kind":"purchase","summary":"order","amount":"99.00","currency":"CNY","channel":"web","occurred_at":"2026-02-10T04:00:00Z"}`, tokenHdr(tok)...)
		return id
	}
	custA, custB := bought(baseA, tokA, "王芳"), bought(baseB, tokB, "李雷")
	a.must(201, "POST", baseA+"/customers", `{"name":"Never bought"}`, tokenHdr(tokA)...)
	const feb = "purchased_at%5Bgte%5D=2026-01-31T16:00:00Z&purchased_at%5Blt%5D=2026-02-28T16:00:00Z&purchase_currency=CNY&purchase_channel=web"
	for base, want := range map[string]string{baseA: custA, baseB: custB} {
		tok := tokA
		if base == baseB {
			tok = tokB
		}
		items := a.must(200, "GET", base+"/customers?"+feb, "", tokenHdr(tok)...)["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["id"] != want {
			t.Errorf("%s: February's buyers %v, want only %s", base, items, want)
		}
	}
	// Active at an instant: the stage then, by the history; each company its own.
	active := a.must(201, "POST", baseA+"/customers", `{"name":"Active one","lifecycle":"customer"}`, tokenHdr(tokA)...)["id"].(string)
	const later = "/customers?active_at=2100-01-01T00:00:00Z"
	if items := a.must(200, "GET", baseA+later, "", tokenHdr(tokA)...)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != active {
		t.Errorf("company A, active later: %v, want only %s", items, active)
	}
	if items := a.must(200, "GET", baseA+"/customers?active_at=2000-01-01T00:00:00Z", "", tokenHdr(tokA)...)["items"].([]any); len(items) != 0 {
		t.Errorf("company A, active before it existed: %v", items)
	}
	if items := a.must(200, "GET", baseB+later, "", tokenHdr(tokB)...)["items"].([]any); len(items) != 0 {
		t.Errorf("company B, active later: %v, want none of A's", items)
	}
	a.wantBadFilters(baseA, tokA, [][2]string{
		{"/customers?active_at=2026-02-01", "query.active_at"},
		{"/customers?active_at%5Blt%5D=2026-02-01T00:00:00Z", "query.active_at[lt]"},
		{"/customers?purchased_at%5Bgte%5D=yesterday", "query.purchased_at[gte]"},
		{"/customers?purchased_at%5Blt%5D=2026-02-01", "query.purchased_at[lt]"},
		{"/customers?purchased_at%5Blte%5D=2026-02-01T00:00:00Z", "query.purchased_at[lte]"},
		{"/customers?purchase_currency=XYZ", "query.purchase_currency"},
		{"/customers?purchase_channel%5Bempty%5D=maybe", "query.purchase_channel[empty]"},
		{"/customers?churned_at%5Bgte%5D=2026-02-30T00:00:00Z", "query.churned_at[gte]"},
		{"/customers?churned_at%5Blt%5D=2026-01-01T00:00:00Z&churned_at%5Blt%5D=2026-02-01T00:00:00Z", "query.churned_at[lt]"},
	})
	a.wantProblem(422, "body.query.churned_at[gte]", "POST", baseA+"/views", `{"entity":"customers","name":"Churned","query":"churned_at[gte]=soon"}`, tokenHdr(tokA)...)
	a.must(201, "POST", baseA+"/views", `{"entity":"customers","name":"Churned in February","query":"churned_at[gte]=2026-01-31T16:00:00Z&churned_at[lt]=2026-02-28T16:00:00Z"}`, tokenHdr(tokA)...)
}

// The customer list's province and city filters through the API: each
// company's list by province holds its own customers, none (an absent or
// empty province) is [empty]=true, and a bad value is a 422 problem naming
// the parameter, in the list and in a saved view.
func TestCustomerAddressFiltersOverHTTP(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("adra"), slug("adrb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	baseA, baseB := "/api/v1/t/"+sa, "/api/v1/t/"+sb
	create := func(base, tok, body string) string {
		return a.must(201, "POST", base+"/customers", body, tokenHdr(tok)...)["id"].(string)
	}
	gd := create(baseA, tokA, `{"name":"王芳","address":{"province":"广东","city":"广州"}}`)
	blank := create(baseA, tokA, `{"name":"Blank","address":{"province":"","city":"深圳"}}`)
	none := create(baseA, tokA, `{"name":"Nowhere"}`)
	gdB := create(baseB, tokB, `{"name":"李雷","address":{"province":"广东","city":"广州"}}`)
	ids := func(base, tok, q string) []string {
		var out []string
		for _, it := range a.must(200, "GET", base+"/customers?"+q, "", tokenHdr(tok)...)["items"].([]any) {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		sort.Strings(out)
		return out
	}
	sorted := func(xs ...string) []string { sort.Strings(xs); return xs }
	for _, c := range []struct {
		base, tok, q string
		want         []string
	}{
		{baseA, tokA, "province=%E5%B9%BF%E4%B8%9C", []string{gd}},
		{baseB, tokB, "province=%E5%B9%BF%E4%B8%9C", []string{gdB}},
		{baseA, tokA, "province%5Bempty%5D=true", sorted(blank, none)},
		{baseA, tokA, "city%5Bin%5D=%E5%B9%BF%E5%B7%9E,%E6%B7%B1%E5%9C%B3", sorted(gd, blank)},
		{baseA, tokA, "city%5Bempty%5D=true", []string{none}},
	} {
		if got := ids(c.base, c.tok, c.q); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s?%s: %v, want %v", c.base, c.q, got, c.want)
		}
	}
	a.wantBadFilters(baseA, tokA, [][2]string{
		{"/customers?province=", "query.province"},
		{"/customers?province%5Bempty%5D=maybe", "query.province[empty]"},
		{"/customers?city%5Bne%5D=%E5%B9%BF%E5%B7%9E", "query.city[ne]"},
		{"/customers?city%5Bin%5D=,", "query.city[in]"},
	})
	a.wantProblem(422, "body.query.province", "POST", baseA+"/views", `{"entity":"customers","name":"No province","query":"province="}`, tokenHdr(tokA)...)
	a.must(201, "POST", baseA+"/views", `{"entity":"customers","name":"Guangdong","query":"province=广东&city[empty]=false"}`, tokenHdr(tokA)...)
}

// wantBadFilters asks each path (a list under base, as tok) and wants a 422
// problem naming the parameter given beside it.
func (a *app) wantBadFilters(base, tok string, cases [][2]string) {
	for _, c := range cases {
		a.wantProblem(422, c[1], "GET", base+c[0], "", tokenHdr(tok)...)
	}
}
