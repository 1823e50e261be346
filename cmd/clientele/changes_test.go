package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/page"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// The changes feed gives each changed record once per read, at its last
// change, in commit order, deletions included; it waits for a transaction
// still running rather than let it commit behind the cursor; it keeps
// companies apart, needs an all-records role, and refuses bad and expired
// cursors clearly.
func TestChangesFeed(t *testing.T) {
	a := newApp(t)
	s := slug("feed")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	if testkit.Get(t).Citus {
		// On a cluster the feed says it is not there and what to use
		// instead, after the same checks of company and role.
		code, body, hdr := a.call("GET", base+"/changes?entity=customers&cursor=now", "", tokenHdr(tok)...)
		if code != 501 || !strings.Contains(hdr.Get("Content-Type"), "problem+json") || !strings.Contains(body, "sort=-updated_at") {
			t.Fatalf("the feed on Citus: %d %s %.300s", code, hdr.Get("Content-Type"), body)
		}
		sb := slug("feed-b")
		tokB, _ := a.company(sb)
		a.must(404, "GET", base+"/changes?entity=customers", "", tokenHdr(tokB)...)
		t.Skip("on Citus the changes feed answers 501 (checked above); the rest of this test needs one server's transaction ids (docs/operations.md, Known limitations)")
	}
	read := func(cur string) map[string]any {
		t.Helper()
		return a.must(200, "GET", base+"/changes?entity=customers&cursor="+cur, "", tokenHdr(tok)...)
	}
	start := read("now")
	if items := start["items"].([]any); len(items) != 0 {
		t.Fatalf("from now: %v", items)
	}
	c0 := start["next_cursor"].(string)
	// A change shows once every writing transaction of this database that
	// began before it has ended (the app's own jobs run in it too), so a read
	// may wait a moment; a pass takes milliseconds. It reads until the page
	// holds the last change expected: a page cut at the horizon may hold a
	// record's earlier change (a create) with its later one (the delete) not
	// shown yet.
	readUntil := func(cur, lastID, lastOp string, wait time.Duration) map[string]any {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			p := read(cur)
			items := p["items"].([]any)
			if n := len(items); n > 0 {
				last := items[n-1].(map[string]any)
				if last["record_id"] == lastID && last["op"] == lastOp {
					return p
				}
			}
			if time.Now().After(deadline) {
				return p
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// A writing transaction of the app role in another database of the
	// server (another application, another test package) stays open through
	// the changes below: it cannot write this company's changes, so the
	// feed does not wait for it.
	other, err := url.Parse(testkit.Get(t).Config.AppDatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	other.Path = "/postgres"
	oc, err := pgx.Connect(context.Background(), other.String())
	if err != nil {
		t.Fatalf("connect to another database as the app role: %v", err)
	}
	defer oc.Close(context.Background())
	otx, err := oc.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := otx.Exec(context.Background(), "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}

	x := a.must(201, "POST", base+"/customers", `{"name":"Feed X"}`, tokenHdr(tok)...)["id"].(string)
	a.must(200, "PATCH", base+"/customers/"+x, `{"name":"Feed X renamed"}`, tokenHdr(tok)...)
	y := a.must(201, "POST", base+"/customers", `{"name":"Feed Y"}`, tokenHdr(tok)...)["id"].(string)
	a.must(204, "DELETE", base+"/customers/"+y, "", tokenHdr(tok)...)

	p := readUntil(c0, y, "delete", 20*time.Second)
	items := p["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("changes: %v (held back by a transaction in another database?)", items)
	}
	_ = otx.Rollback(context.Background())
	ix, iy := items[0].(map[string]any), items[1].(map[string]any)
	if ix["record_id"] != x || ix["op"] != "upsert" || ix["object"].(map[string]any)["name"] != "Feed X renamed" || ix["event_type"] != "customer.updated" {
		t.Errorf("first change: %v", ix)
	}
	if iy["record_id"] != y || iy["op"] != "delete" || iy["object"] != nil {
		t.Errorf("second change: %v", iy)
	}
	c1 := p["next_cursor"].(string)
	if again := read(c1)["items"].([]any); len(again) != 0 {
		t.Errorf("read on from the end: %v", again)
	}

	// A transaction that took its id first and commits last is waited for:
	// what committed after it is not shown until it has committed.
	var tenant uuid.UUID
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", s).Scan(context.Background(), &tenant); err != nil {
		t.Fatal(err)
	}
	slow := uuid.NewString()
	hold, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.InTenant(authz.AsSystem(context.Background()), a.d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "SELECT pg_current_xact_id()"); err != nil {
				return err
			}
			close(hold)
			<-release
			_, err := tx.ExecContext(ctx, "INSERT INTO record_changes (tenant_id, entity, ord, record_id, op, event_type) VALUES (?, 'customers', 1, ?, 'delete', 'customer.deleted')", tenant, slow)
			return err
		})
	}()
	<-hold
	w := a.must(201, "POST", base+"/customers", `{"name":"Feed W"}`, tokenHdr(tok)...)["id"].(string)
	if got := read(c1)["items"].([]any); len(got) != 0 {
		t.Fatalf("a change committed after a running transaction showed before it: %v", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := readUntil(c1, w, "upsert", 30*time.Second)["items"].([]any)
	if len(got) != 2 || got[0].(map[string]any)["record_id"] != slow || got[1].(map[string]any)["record_id"] != w {
		t.Fatalf("after the slow transaction: %v", got)
	}

	// Another company sees none of it; through this company's slug it is 404.
	sb := slug("feedb")
	tokB, _ := a.company(sb)
	if got := a.must(200, "GET", "/api/v1/t/"+sb+"/changes?entity=customers", "", tokenHdr(tokB)...)["items"].([]any); len(got) != 0 {
		t.Errorf("company B reads A's changes: %v", got)
	}
	a.must(404, "GET", base+"/changes?entity=customers", "", tokenHdr(tokB)...)
	// A role that sees only its own records may not read the feed.
	agent := a.member(s, tok, "agent")
	a.must(403, "GET", base+"/changes?entity=customers", "", tokenHdr(agent)...)
	old := page.Encode(map[string]any{"x": "1", "o": 0, "t": time.Now().Add(-31 * 24 * time.Hour)})
	for q, want := range map[string]struct {
		code int
		loc  string
	}{
		"entity=colours":                 {422, "query.entity"},
		"entity=customers&cursor=zzz":    {422, "query.cursor"},
		"entity=customers&cursor=" + old: {410, "query.cursor"},
	} {
		code, body, hdr := a.call("GET", base+"/changes?"+q, "", tokenHdr(tok)...)
		if code != want.code || !strings.Contains(body, want.loc) || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %.200s, want %d naming %s", q, code, body, want.code, want.loc)
		}
	}
}

// An import and its revert each reach the readers that keep copies: the
// changes feed records an "import" entry for each (a mirror re-reads), and
// BI's rollups of customers are rebuilt (or wait, marked, for the sweep).
// Both were missed before: the import's event named no company, and the
// feed's check refused the entry.
func TestImportsReachTheFeedAndTheRollups(t *testing.T) {
	a := newApp(t)
	a.worker()
	s, base, _, owner := a.tenant("impfeed")
	var tenant uuid.UUID
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", s).Scan(context.Background(), &tenant); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	id := a.upload(s, owner, "people.csv", "name,email\nAda,ada@example.com\nBo,bo@example.com\n")["id"].(string)
	a.must(202, "POST", base+"/imports/"+id+"/start", `{"mapping":{"name":"name","email":"emails"},"mode":"create"}`, owner...)
	a.waitImport(base, id, "completed", owner)
	a.must(202, "POST", base+"/imports/"+id+"/revert", "", owner...)
	a.waitImport(base, id, "reverted", owner)

	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var entries, rollups int
		if err := db.InTenant(ctx, a.d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
			if err := tx.NewRaw(`SELECT count(*) FROM record_changes WHERE tenant_id = ? AND op = 'import' AND record_id = ?
				AND event_type IN ('customers.imported', 'customers.import_reverted')`, tenant, id).Scan(ctx, &entries); err != nil {
				return err
			}
			return tx.NewRaw(`SELECT count(*) FROM bi_rollup_dirty WHERE tenant_id = ? AND module = 'profiles' AND subject = ?`, tenant, uuid.Nil).Scan(ctx, &rollups)
		}); err != nil {
			t.Fatal(err)
		}
		var built int
		if err := db.InTenant(ctx, a.d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw(`SELECT count(*) FROM bi_rollup_state WHERE tenant_id = ? AND module = 'profiles' AND built_at >= ?`, tenant, start).Scan(ctx, &built)
		}); err != nil {
			t.Fatal(err)
		}
		if entries == 2 && rollups+built > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed entries for the import and its revert: %d, want 2; rollups marked %d, rebuilt %d", entries, rollups, built)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
