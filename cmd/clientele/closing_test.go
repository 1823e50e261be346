package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"gocloud.dev/blob"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/clientele-crm/clientele/tenants"
)

// An owner closes a company: it stops answering at once, only an owner may
// reopen it during the grace period, and when that ends the purge deletes
// every row with its tenant_id in every table of the catalogue, and its files,
// tells the members who belong to no other company, and leaves the
// neighbouring company as it was.
func TestClosingACompanyDeletesEveryRowAndFile(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.DataDir = t.TempDir() })
	ctx := context.Background()
	s, sb := slug("closing"), slug("closingb")
	tok, owner := a.company(s)
	tokB, _ := a.company(sb)
	base, baseB := "/api/v1/t/"+s, "/api/v1/t/"+sb
	agent := a.member(s, tok, "agent")
	both := a.member(s, tok, "manager")
	var tenant, tenantB uuid.UUID
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", s).Scan(ctx, &tenant); err != nil {
		t.Fatal(err)
	}
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", sb).Scan(ctx, &tenantB); err != nil {
		t.Fatal(err)
	}
	bothID := a.idOf(both)
	if err := db.InTenant(ctx, a.d.db, tenantB, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO memberships (tenant_id, identity_id, role, email, name) VALUES (?, ?, 'viewer', ?, 'Both')", tenantB, bothID, "both-"+s+"@example.com")
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Records of every module, through their demo seeders, a file in the
	// blob store, and a customer next door.
	sys := authz.AsSystem(ctx)
	for _, m := range a.d.modules {
		if sd, ok := m.(module.DemoSeeder); ok {
			if _, err := sd.SeedDemo(sys, module.Demo{Tenant: tenant, Owner: owner.IdentityID, DatabaseURL: a.d.cfg.AppDatabaseURL, Seed: 7}); err != nil {
				t.Fatalf("demo data of %s: %v", m.Name(), err)
			}
		}
	}
	a.upload(s, tokenHdr(tok), "people.csv", "name,email\nLi Lei,li.lei@example.com\n")
	a.must(201, "POST", base+"/customers", `{"name":"By hand","emails":["hand@example.com"],"tags":["x"]}`, tokenHdr(tok)...)
	keep := a.must(201, "POST", baseB+"/customers", `{"name":"Next door","emails":["door@example.com"],"tags":["x"]}`, tokenHdr(tokB)...)["id"].(string)

	tables, err := tenants.TenantTables(ctx, a.d.db)
	if err != nil {
		t.Fatal(err)
	}
	count := func(id uuid.UUID) (map[string]int, int) {
		rows, total := map[string]int{}, 0
		for _, table := range tables {
			var n int
			if err := db.InTenant(ctx, a.d.db, id, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewRaw("SELECT count(*) FROM ? WHERE tenant_id = ?", bun.Ident(table), id).Scan(ctx, &n)
			}); err != nil {
				t.Fatalf("count %s: %v", table, err)
			}
			if n > 0 {
				rows[table] = n
				total += n
			}
		}
		return rows, total
	}
	files := func(id uuid.UUID) int {
		n := 0
		it := a.d.blobs.List(&blob.ListOptions{Prefix: "tenants/" + id.String() + "/"})
		for {
			_, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				return n
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	before, total := count(tenant)
	beforeB, _ := count(tenantB)
	if len(before) < 20 || files(tenant) == 0 {
		t.Fatalf("the company to close holds rows in %d tables and %d files; the test needs more", len(before), files(tenant))
	}
	t.Logf("before the purge: %d rows in %d of %d tenant tables, %d files", total, len(before), len(tables), files(tenant))

	// Who may close, and how it is confirmed.
	a.wantProblem(422, "body.confirm", "POST", base+"/close", `{"confirm":"another-company"}`, tokenHdr(tok)...)
	a.wantProblem(403, "", "POST", base+"/close", `{"confirm":"`+s+`"}`, tokenHdr(both)...)
	a.wantProblem(404, "path.tenant", "POST", baseB+"/close", `{"confirm":"`+sb+`"}`, tokenHdr(tok)...)
	key := a.must(201, "POST", base+"/api-keys", `{"name":"ci","role":"admin"}`, tokenHdr(tok)...)["key"].(string)
	a.wantProblem(403, "", "POST", base+"/close", `{"confirm":"`+s+`"}`, "Authorization", "Bearer "+key)

	closed := a.must(200, "POST", base+"/close", `{"confirm":"`+s+`"}`, tokenHdr(tok)...)
	due, _ := time.Parse(time.RFC3339Nano, closed["purge_after"].(string))
	if d := time.Until(due); d < 13*24*time.Hour || d > 15*24*time.Hour {
		t.Errorf("purge after %v, want the 14-day grace", closed["purge_after"])
	}
	for _, who := range []string{tok, agent, both} {
		a.wantProblem(404, "path.tenant", "GET", base+"/customers", "", tokenHdr(who)...)
	}
	// Its API keys stop working with it.
	a.wantProblem(401, "", "GET", base+"/customers", "", "Authorization", "Bearer "+key)
	me := a.must(200, "GET", "/api/v1/me", "", tokenHdr(tok)...)
	if c := me["closing"].([]any); len(c) != 1 || c[0].(map[string]any)["slug"] != s || strings.Contains(fmt.Sprint(me["memberships"]), s) {
		t.Errorf("the owner's /me: %v", me)
	}
	if c := a.must(200, "GET", "/api/v1/me", "", tokenHdr(both)...)["closing"].([]any); len(c) != 0 {
		t.Errorf("a manager is offered to reopen: %v", c)
	}

	// Reopened by an owner only, and closed again.
	a.wantProblem(404, "", "POST", "/api/v1/companies/"+s+"/reopen", "", tokenHdr(both)...)
	a.wantProblem(404, "", "POST", "/api/v1/companies/"+sb+"/reopen", "", tokenHdr(tokB)...)
	a.must(200, "POST", "/api/v1/companies/"+s+"/reopen", "", tokenHdr(tok)...)
	a.must(200, "GET", base+"/customers?limit=1", "", tokenHdr(agent)...)
	a.must(200, "POST", base+"/close", `{"confirm":"`+s+`"}`, tokenHdr(tok)...)

	// Nothing goes before the grace period ends.
	if n, err := a.d.access.PurgeDue(ctx); err != nil || n != 0 {
		t.Fatalf("purge before the end of the grace period: %d, %v", n, err)
	}
	if _, n := count(tenant); n < total {
		t.Fatalf("rows went before the grace period ended: %d of %d left", n, total)
	}

	if _, err := a.d.db.ExecContext(ctx, "UPDATE tenants SET purge_after = now() - interval '1 second' WHERE id = ?", tenant); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if n, err := a.d.access.PurgeDue(ctx); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
	t.Logf("purged in %s", time.Since(start).Round(time.Millisecond))
	if left, n := count(tenant); n != 0 {
		t.Errorf("rows of the closed company left after the purge: %v", left)
	}
	var companies int
	if err := a.d.db.NewRaw("SELECT count(*) FROM tenants WHERE id = ?", tenant).Scan(ctx, &companies); err != nil || companies != 0 {
		t.Errorf("the company's own row: %d, %v", companies, err)
	}
	if n := files(tenant); n != 0 {
		t.Errorf("%d files of the closed company left", n)
	}
	// A second run finds nothing to do.
	if n, err := a.d.access.PurgeDue(ctx); err != nil || n != 0 {
		t.Errorf("second purge: %d, %v", n, err)
	}

	// Next door is untouched.
	if afterB, _ := count(tenantB); fmt.Sprint(afterB) != fmt.Sprint(beforeB) {
		t.Errorf("the neighbour's rows changed: %v, was %v", afterB, beforeB)
	}
	a.must(200, "GET", baseB+"/customers/"+keep, "", tokenHdr(tokB)...)
	a.must(200, "GET", baseB+"/customers?limit=1", "", tokenHdr(both)...)

	// The owner and the agent belonged to no other company and are told; the
	// manager, who is in the next company too, is not.
	sink := identity.NewFileMailer(filepath.Join(a.d.cfg.DataDir, "mail"), testkit.Quiet)
	for _, email := range []string{owner.Email, a.emailOf(agent)} {
		m, err := sink.Last(email)
		if err != nil || !strings.Contains(m.Subject, "closed") || !strings.Contains(m.Text, "已由所有者关闭") {
			t.Errorf("mail to %s: %+v, %v", email, m, err)
		}
	}
	if m, err := sink.Last(a.emailOf(both)); err == nil && strings.Contains(m.Subject, "closed") {
		t.Errorf("a member of another company was told: %+v", m)
	}
}

// emailOf is the email of the person signed in with tok.
func (a *app) emailOf(tok string) string {
	a.ids.mu.Lock()
	defer a.ids.mu.Unlock()
	return a.ids.tokens[tok].Email
}
