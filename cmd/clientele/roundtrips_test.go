package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// statements records the statements a pool sends.
type statements struct {
	mu sync.Mutex
	qs []string
}

func (s *statements) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (s *statements) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	q := e.Query
	if len(q) > 100 {
		q = q[:100]
	}
	s.mu.Lock()
	s.qs = append(s.qs, strings.Join(strings.Fields(q), " "))
	s.mu.Unlock()
}

func (s *statements) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.qs
	s.qs = nil
	return out
}

// The write path's round trips, counted: once a member's access is cached, a
// customer list is the tenant transaction's three messages (BEGIN with the
// tenant, the query, COMMIT), five when it is planned from the company's
// counts (a tag or custom-value filter), and a create with tags, an email and custom
// fields is four (BEGIN with the tenant, the duplicate check, the insert, and
// COMMIT carrying the search, tag, contact, index, history and audit rows).
func TestRoundTripsOfAListAndACreate(t *testing.T) {
	a := newApp(t)
	deadline := time.Now().Add(5 * time.Second)
	for !a.d.bus.Healthy() {
		if time.Now().After(deadline) {
			t.Fatal("the invalidation bus did not become healthy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := slug("trips")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	a.must(201, "POST", base+"/fields/customers", `{"key":"tier","label_en":"Tier","label_zh":"等级","type":"text","filterable":true}`, tokenHdr(tok)...)
	a.must(201, "POST", base+"/customers", `{"name":"A","tags":["vip"],"lifecycle":"customer"}`, tokenHdr(tok)...)
	a.must(200, "GET", base+"/customers?tag=vip&lifecycle=customer&limit=50", "", tokenHdr(tok)...) // warms the caches
	rec := &statements{}
	a.d.db.AddQueryHook(rec)

	a.must(200, "GET", base+"/customers?lifecycle=customer&limit=50", "", tokenHdr(tok)...)
	if qs := rec.take(); len(qs) > 3 {
		t.Errorf("a list took %d statements, want 3:\n%s", len(qs), strings.Join(qs, "\n"))
	}
	// A list filtered on a set (a tag, a custom value) is planned from the
	// company's counts (docs/list-plans.md): the counts' read, which also
	// sets the planner for the page, the page, and the planner's settings
	// restored, inside the same BEGIN and COMMIT. Two more than a plain list.
	a.must(200, "GET", base+"/customers?tag=vip&lifecycle=customer&limit=50", "", tokenHdr(tok)...)
	if qs := rec.take(); len(qs) > 5 {
		t.Errorf("a planned list took %d statements, want 5:\n%s", len(qs), strings.Join(qs, "\n"))
	}
	// Once the company is counted, a process that has read its counts knows
	// it small (at most fields.DefaultLimits.Narrow customers) for
	// fields.TotalsTTL: every plan would read that few, so its planned lists
	// are plain lists again, three statements.
	var tenant uuid.UUID
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", s).Scan(context.Background(), &tenant); err != nil {
		t.Fatal(err)
	}
	if err := a.d.fields.Recount(context.Background(), tenant); err != nil {
		t.Fatal(err)
	}
	a.must(200, "GET", base+"/customers?tag=vip&lifecycle=customer&limit=50", "", tokenHdr(tok)...) // reads the counts
	_ = rec.take()
	a.must(200, "GET", base+"/customers?tag=vip&lifecycle=customer&limit=50", "", tokenHdr(tok)...)
	if qs := rec.take(); len(qs) > 3 {
		t.Errorf("a planned list of a small counted company took %d statements, want 3:\n%s", len(qs), strings.Join(qs, "\n"))
	}
	a.must(201, "POST", base+"/customers", `{"name":"李雷 Lei","tags":["vip","new"],"emails":["lei@example.com"],"phones":["+86 138 0013 8000"],"lifecycle":"lead","custom":{"tier":"gold"}}`, tokenHdr(tok)...)
	if qs := rec.take(); len(qs) > 4 {
		t.Errorf("a create took %d statements, want 4:\n%s", len(qs), strings.Join(qs, "\n"))
	}
}
