package main

import (
	"strings"
	"sync"
	"testing"
)

// A create retried with its Idempotency-Key returns the first result and
// creates nothing; 50 concurrent retries make one record; the key with
// another body is refused naming the header; another caller's key is theirs.
func TestIdempotencyKeyMakesRetriesSafe(t *testing.T) {
	a := newApp(t)
	s := slug("idem")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	count := func(name string) int {
		items := a.must(200, "GET", base+"/customers?q="+name, "", tokenHdr(tok)...)["items"].([]any)
		return len(items)
	}
	hdr := func(tok, key string) []string { return append(tokenHdr(tok), "Idempotency-Key", key) }

	code, first, h := a.call("POST", base+"/customers", `{"name":"Retry Lin"}`, hdr(tok, "key-1")...)
	if code != 201 || h.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %s %v", code, first, h)
	}
	code, again, h := a.call("POST", base+"/customers", `{"name":"Retry Lin"}`, hdr(tok, "key-1")...)
	if code != 201 || again != first || h.Get("Idempotent-Replayed") != "true" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("retry: %d %s %v, want the first answer replayed", code, again, h)
	}
	if n := count("Retry"); n != 1 {
		t.Fatalf("%d customers after a retry, want 1", n)
	}
	code, body, h := a.call("POST", base+"/customers", `{"name":"Someone Else"}`, hdr(tok, "key-1")...)
	if code != 422 || !strings.Contains(body, "header.Idempotency-Key") || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("same key, other body: %d %s", code, body)
	}
	for _, bad := range []string{strings.Repeat("k", 256), "has space"} {
		if code, body, _ := a.call("POST", base+"/customers", `{"name":"x"}`, hdr(tok, bad)...); code != 422 || !strings.Contains(body, "header.Idempotency-Key") {
			t.Errorf("key %q: %d %.200s", bad[:8], code, body)
		}
	}

	var wg sync.WaitGroup
	answers := make([]string, 50)
	codes := make([]int, 50)
	for i := range answers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i], answers[i], _ = a.call("POST", base+"/customers", `{"name":"Concurrent Zhao"}`, hdr(tok, "key-50")...)
		}(i)
	}
	wg.Wait()
	for i := range answers {
		if codes[i] != 201 || answers[i] != answers[0] {
			t.Fatalf("retry %d: %d %.200s, want the one first answer", i, codes[i], answers[i])
		}
	}
	if n := count("Concurrent"); n != 1 {
		t.Fatalf("50 concurrent retries made %d customers, want 1", n)
	}

	// Another member's key is their own: the same string creates their record.
	other := a.member(s, tok, "manager")
	a.must(201, "POST", base+"/customers", `{"name":"Retry Lin"}`, hdr(other, "key-1")...)
	if n := count("Retry"); n != 2 {
		t.Fatalf("another member's request with the same key: %d customers, want 2", n)
	}
	// A refusal is kept too, and a request without a key is not affected.
	c1, b1, _ := a.call("POST", base+"/customers", `{"name":""}`, hdr(tok, "key-bad")...)
	c2, b2, h2 := a.call("POST", base+"/customers", `{"name":""}`, hdr(tok, "key-bad")...)
	if c1 != 422 || c2 != 422 || h2.Get("Idempotent-Replayed") != "true" || !strings.Contains(b2, "body.name") || len(b1) == 0 {
		t.Errorf("kept refusal: %d %d %s", c1, c2, b2)
	}
	a.must(201, "POST", base+"/customers", `{"name":"No Key"}`, tokenHdr(tok)...)
	a.must(201, "POST", base+"/customers", `{"name":"No Key"}`, tokenHdr(tok)...)
	if n := count("No%20Key"); n != 2 {
		t.Errorf("creates without a key: %d, want 2", n)
	}
}
