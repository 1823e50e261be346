package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// POST /customers/batch creates or updates each record, answers for each,
// keeps the good ones when one fails (naming its fields), matches within the
// call and across the company, and keeps to the caller's company and scope.
func TestCustomerBatchUpsert(t *testing.T) {
	a := newApp(t)
	s := slug("batch")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	old := a.must(201, "POST", base+"/customers", `{"name":"Old Name","emails":["wang@example.com"],"tags":["a"]}`, tokenHdr(tok)...)["id"].(string)

	body := `{"records":[
		{"name":"New Person 新客户","emails":["new@example.com"],"source":"erp"},
		{"name":"Wang Renamed","emails":["WANG@example.com"],"tags":["vip"]},
		{"name":"Broken","emails":["not-an-email"]},
		{"emails":["new@example.com"],"phones":["+86 138 0013 8000"]},
		{"emails":["nobody@example.com"]}
	]}`
	out := a.must(200, "POST", base+"/customers/batch", body, tokenHdr(tok)...)
	if out["created"].(float64) != 1 || out["updated"].(float64) != 2 || out["failed"].(float64) != 2 {
		t.Fatalf("counts: %v", out)
	}
	res := out["results"].([]any)
	st := func(i int) map[string]any { return res[i].(map[string]any) }
	if st(0)["status"] != "created" || st(1)["status"] != "updated" || st(1)["id"] != old || st(3)["status"] != "updated" || st(3)["id"] != st(0)["id"] {
		t.Fatalf("results: %v", res)
	}
	for i, loc := range map[int]string{2: "body.records[2].emails[0]", 4: "body.records[4].name"} {
		e, _ := st(i)["error"].(map[string]any)
		if st(i)["status"] != "failed" || e == nil || !strings.Contains(fmt.Sprint(e["errors"]), loc) {
			t.Errorf("record %d: %v, want failed naming %s", i, st(i), loc)
		}
	}
	got := a.must(200, "GET", base+"/customers/"+old, "", tokenHdr(tok)...)
	if got["name"] != "Wang Renamed" || fmt.Sprint(got["tags"]) != "[vip]" {
		t.Errorf("updated customer: %v", got)
	}
	created := a.must(200, "GET", base+"/customers/"+st(0)["id"].(string), "", tokenHdr(tok)...)
	if created["name"] != "New Person 新客户" || len(created["phones"].([]any)) != 1 || created["source"] != "erp" {
		t.Errorf("created then updated in the same call: %v", created)
	}
	// Created with one tag and retagged in the same call: the tag filter
	// agrees with the record.
	a.must(200, "POST", base+"/customers/batch", `{"records":[{"name":"Retag","emails":["retag@example.com"],"tags":["first"]},{"emails":["retag@example.com"],"tags":["second"]}]}`, tokenHdr(tok)...)
	if n := len(a.must(200, "GET", base+"/customers?tag=first", "", tokenHdr(tok)...)["items"].([]any)); n != 0 {
		t.Errorf("the tag the call replaced still finds the customer (%d)", n)
	}
	if n := len(a.must(200, "GET", base+"/customers?tag=second", "", tokenHdr(tok)...)["items"].([]any)); n != 1 {
		t.Errorf("the tag the call set finds %d customers, want 1", n)
	}
	if n := len(a.must(200, "GET", base+"/customers?q=Broken", "", tokenHdr(tok)...)["items"].([]any)); n != 0 {
		t.Errorf("the failed record was stored")
	}

	// By phone, and a refusal of the whole call for what is not a record's fault.
	out = a.must(200, "POST", base+"/customers/batch", `{"match_by":"phone","records":[{"phones":["13800138000"],"lifecycle":"prospect"}]}`, tokenHdr(tok)...)
	if st := out["results"].([]any)[0].(map[string]any); st["status"] != "updated" || st["id"] != created["id"] {
		t.Errorf("match by phone: %v", out)
	}
	for b, loc := range map[string]string{
		`{"match_by":"colour","records":[{"name":"x"}]}`:      "body.match_by",
		`{"match_by":"custom.nope","records":[{"name":"x"}]}`: "body.match_by",
		`{"records":[]}`: "body.records",
		`{"records":[` + strings.TrimSuffix(strings.Repeat(`{"name":"x"},`, 1001), ",") + `]}`: "body.records",
	} {
		code, resp, hdr := a.call("POST", base+"/customers/batch", b, tokenHdr(tok)...)
		if code != 422 || !strings.Contains(resp, loc) || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%.60s: %d %.200s, want 422 naming %s", b, code, resp, loc)
		}
	}

	// A new record whose phone another customer holds is refused naming it,
	// as a single create is, and so is the second of two new records of the
	// call sharing a phone.
	out = a.must(200, "POST", base+"/customers/batch", `{"records":[
		{"name":"Phone Clash","emails":["clash@example.com"],"phones":["138 0013 8000"]},
		{"name":"Twin A","emails":["twin-a@example.com"],"phones":["139 0000 1111"]},
		{"name":"Twin B","emails":["twin-b@example.com"],"phones":["13900001111"]}]}`, tokenHdr(tok)...)
	if r := out["results"].([]any); r[0].(map[string]any)["status"] != "failed" || !strings.Contains(fmt.Sprint(r[0]), "body.records[0].phones[0]") ||
		r[1].(map[string]any)["status"] != "created" || r[2].(map[string]any)["status"] != "failed" {
		t.Errorf("duplicate phones: %v", r)
	}

	// By a unique custom field; a field that is not unique is refused.
	a.must(201, "POST", base+"/fields/customers", `{"key":"erp_id","label_en":"ERP id","type":"text","unique":true}`, tokenHdr(tok)...)
	a.must(201, "POST", base+"/fields/customers", `{"key":"tier","label_en":"Tier","type":"text","filterable":true}`, tokenHdr(tok)...)
	a.must(200, "PATCH", base+"/customers/"+old, `{"custom":{"erp_id":"ERP-7"}}`, tokenHdr(tok)...)
	out = a.must(200, "POST", base+"/customers/batch", `{"match_by":"custom.erp_id","records":[{"custom":{"erp_id":"ERP-7","tier":"gold"}},{"name":"ERP Eight","custom":{"erp_id":"ERP-8"}}]}`, tokenHdr(tok)...)
	if r := out["results"].([]any); r[0].(map[string]any)["id"] != old || r[0].(map[string]any)["status"] != "updated" || r[1].(map[string]any)["status"] != "created" {
		t.Errorf("match by custom.erp_id: %v", out)
	}
	// New records are written together; when that is refused for one record
	// (its unique value is taken), the others still go in, one by one, and
	// the refused one is named. A sensitive value is sealed once, either way.
	a.must(201, "POST", base+"/fields/customers", `{"key":"passport","label_en":"Passport","type":"text","sensitive":true}`, tokenHdr(tok)...)
	for _, taken := range []string{"ERP-7", "ERP-9"} {
		out = a.must(200, "POST", base+"/customers/batch", `{"records":[
			{"name":"Set One `+taken+`","emails":["set1-`+taken+`@example.com"],"tags":["set"],"custom":{"tier":"silver","passport":"P-`+taken+`"}},
			{"name":"Set Two `+taken+`","emails":["set2-`+taken+`@example.com"],"custom":{"erp_id":"`+taken+`"}},
			{"name":"Set Three `+taken+`","emails":["set3-`+taken+`@example.com"],"tags":["set"]}]}`, tokenHdr(tok)...)
		r := out["results"].([]any)
		want := []string{"created", "failed", "created"}
		if taken == "ERP-9" {
			want[1] = "created"
		}
		for i, w := range want {
			if r[i].(map[string]any)["status"] != w {
				t.Errorf("%s: record %d: %v, want %s", taken, i, r[i], w)
			}
		}
		if taken == "ERP-7" && !strings.Contains(fmt.Sprint(r[1]), "body.records[1].custom.erp_id") {
			t.Errorf("the taken unique value is not named: %v", r[1])
		}
		one := a.must(200, "GET", base+"/customers/"+r[0].(map[string]any)["id"].(string), "", tokenHdr(tok)...)
		if c := one["custom"].(map[string]any); c["passport"] != "P-"+taken || c["tier"] != "silver" {
			t.Errorf("%s: custom values of a record written with others: %v", taken, one["custom"])
		}
	}
	for q, n := range map[string]int{"tag=set": 4, "q=Three": 2, "custom.tier=silver": 2, "q=set2-erp-9@example.com": 1, "q=set2-erp-7@example.com": 0} {
		if got := len(a.must(200, "GET", base+"/customers?"+q, "", tokenHdr(tok)...)["items"].([]any)); got != n {
			t.Errorf("?%s finds %d customers written in a batch, want %d", q, got, n)
		}
	}
	if code, resp, _ := a.call("POST", base+"/customers/batch", `{"match_by":"custom.tier","records":[{"name":"x"}]}`, tokenHdr(tok)...); code != 422 || !strings.Contains(resp, "body.match_by") {
		t.Errorf("match by a field that is not unique: %d %.200s", code, resp)
	}

	// An agent sees only their own customers: a colleague's customer's email
	// fails as not found, and no second customer is made for it.
	agent := a.member(s, tok, "agent")
	out = a.must(200, "POST", base+"/customers/batch", `{"records":[{"name":"Hijack","emails":["wang@example.com"]}]}`, tokenHdr(agent)...)
	if st := out["results"].([]any)[0].(map[string]any); st["status"] != "failed" {
		t.Errorf("agent updated a colleague's customer: %v", out)
	}
	if got := a.must(200, "GET", base+"/customers/"+old, "", tokenHdr(tok)...); got["name"] != "Wang Renamed" {
		t.Errorf("agent changed it: %v", got)
	}

	// Another company's batch never reaches this one's customers.
	sb := slug("batchb")
	tokB, _ := a.company(sb)
	out = a.must(200, "POST", "/api/v1/t/"+sb+"/customers/batch", `{"records":[{"name":"B's Wang","emails":["wang@example.com"]}]}`, tokenHdr(tokB)...)
	if st := out["results"].([]any)[0].(map[string]any); st["status"] != "created" || st["id"] == old {
		t.Errorf("company B matched A's customer: %v", out)
	}
	if got := a.must(200, "GET", base+"/customers/"+old, "", tokenHdr(tok)...); got["name"] != "Wang Renamed" {
		t.Errorf("B changed A's customer: %v", got)
	}
	code, _, _ := a.call("POST", base+"/customers/batch", `{"records":[{"name":"x"}]}`, tokenHdr(tokB)...)
	if code != 404 {
		t.Errorf("B posting to A's slug: %d, want 404", code)
	}
}

// BenchmarkCustomerBatchUpsert compares records a second of single creates
// (POST /customers, one request each) with upserts of 1,000 (POST
// /customers/batch), through the same in-process HTTP stack, in the same run,
// and fails below the 5×:
//
//	go test ./cmd/clientele -run '^$' -bench CustomerBatchUpsert -benchtime 1x
func BenchmarkCustomerBatchUpsert(b *testing.B) {
	a := newApp(b)
	s := slug("bbatch")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	const n = 3000
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for j := 0; j < n; j++ {
			a.must(201, "POST", base+"/customers", fmt.Sprintf(`{"name":"Single %d-%d","emails":["single%d-%d@example.com"],"tags":["bench"]}`, i, j, i, j), tokenHdr(tok)...)
		}
		single := float64(n) / time.Since(start).Seconds()
		start = time.Now()
		for k := 0; k < n/1000; k++ {
			var sb strings.Builder
			sb.WriteString(`{"records":[`)
			for j := 0; j < 1000; j++ {
				if j > 0 {
					sb.WriteString(",")
				}
				fmt.Fprintf(&sb, `{"name":"Batch %d-%d-%d","emails":["batch%d-%d-%d@example.com"],"tags":["bench"]}`, i, k, j, i, k, j)
			}
			sb.WriteString(`]}`)
			out := a.must(200, "POST", base+"/customers/batch", sb.String(), tokenHdr(tok)...)
			if out["created"].(float64) != 1000 {
				b.Fatalf("batch: %v", out["failed"])
			}
		}
		batch := float64(n) / time.Since(start).Seconds()
		b.ReportMetric(single, "single/s")
		b.ReportMetric(batch, "batch/s")
		b.ReportMetric(batch/single, "ratio")
		b.Logf("single creates %.0f/s, upserts of 1,000 %.0f/s: %.1f×", single, batch, batch/single)
		if batch/single < 5 {
			b.Fatalf("upserts reach %.1f× single creates, want at least 5×", batch/single)
		}
	}
}
