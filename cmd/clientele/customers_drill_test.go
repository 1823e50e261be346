package main

import (
	"fmt"
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
	for _, c := range []struct{ path, loc string }{
		{"/customers?purchased_at%5Bgte%5D=yesterday", "query.purchased_at[gte]"},
		{"/customers?purchased_at%5Blt%5D=2026-02-01", "query.purchased_at[lt]"},
		{"/customers?purchased_at%5Blte%5D=2026-02-01T00:00:00Z", "query.purchased_at[lte]"},
		{"/customers?purchase_currency=XYZ", "query.purchase_currency"},
		{"/customers?purchase_channel%5Bempty%5D=maybe", "query.purchase_channel[empty]"},
		{"/customers?churned_at%5Bgte%5D=2026-02-30T00:00:00Z", "query.churned_at[gte]"},
		{"/customers?churned_at%5Blt%5D=2026-01-01T00:00:00Z&churned_at%5Blt%5D=2026-02-01T00:00:00Z", "query.churned_at[lt]"},
	} {
		a.wantProblem(422, c.loc, "GET", baseA+c.path, "", tokenHdr(tokA)...)
	}
	a.wantProblem(422, "body.query.churned_at[gte]", "POST", baseA+"/views", `{"entity":"customers","name":"Churned","query":"churned_at[gte]=soon"}`, tokenHdr(tokA)...)
	a.must(201, "POST", baseA+"/views", `{"entity":"customers","name":"Churned in February","query":"churned_at[gte]=2026-01-31T16:00:00Z&churned_at[lt]=2026-02-28T16:00:00Z"}`, tokenHdr(tokA)...)
}
