package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// `make run` fills the demo company once: the modules' demo data, then two real
// imports through the transfer engine (customers and purchases, each with one
// bad row for the error report), which the worker runs. A second run adds
// nothing.
func TestDemoCompanyIsSeededOnceWithImports(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	tenant, _, err := ensureTenant(ctx, a.d.cfg, DemoSlug, "Demo Trading Co. 演示贸易公司")
	if err != nil {
		t.Fatal(err)
	}
	owner := uuid.New()
	if err := db.InTenant(ctx, a.d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO memberships (tenant_id, identity_id, role, email, name) VALUES (?, ?, 'owner', 'demo@clientele.example', 'Demo')`, tenant, owner)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := seedDemoData(ctx, a.d); err != nil {
		t.Fatal(err)
	}
	t.Logf("demo company seeded in %s", time.Since(start).Round(time.Millisecond))
	w := buildWorker(a.d)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	count := func(q string) int {
		var n int
		if err := db.InTenant(ctx, a.d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewRaw(q, tenant).Scan(ctx, &n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(45 * time.Second)
	for count("SELECT count(*) FROM imports WHERE tenant_id = ? AND status IN ('completed', 'failed', 'canceled')") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the demo imports did not finish: %d finished", count("SELECT count(*) FROM imports WHERE tenant_id = ? AND status = 'completed'"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := count("SELECT count(*) FROM imports WHERE tenant_id = ? AND status = 'completed'"); n != 2 {
		t.Errorf("completed demo imports: %d, want 2", n)
	}
	if c, f := count("SELECT sum(created) FROM imports WHERE tenant_id = ?"), count("SELECT sum(failed) FROM imports WHERE tenant_id = ?"); c != 12+30 || f != 2 {
		t.Errorf("demo imports created %d and failed %d rows, want 42 and 2", c, f)
	}
	if n := count("SELECT count(*) FROM customers WHERE tenant_id = ? AND source = 'demo'"); n != 2000 {
		t.Errorf("demo customers: %d", n)
	}
	if n := count("SELECT count(*) FROM purchase_orders WHERE tenant_id = ? AND order_no LIKE 'WEB-%'"); n != 30 {
		t.Errorf("imported orders: %d, want 30", n)
	}
	// The demo's tickets are opened in the past (moved back in the
	// transaction that made them): their tag rows, written at its commit,
	// carry that time too (a tag's list is walked in its rows' time order).
	if tagged, off := count("SELECT count(*) FROM ticket_tags WHERE tenant_id = ? AND tag = 'demo'"),
		count("SELECT count(*) FROM ticket_tags x JOIN tickets k ON k.tenant_id = x.tenant_id AND k.id = x.ticket_id WHERE x.tenant_id = ? AND x.created_at <> k.created_at"); tagged == 0 || off != 0 {
		t.Errorf("demo ticket tags: %d rows, %d not at their ticket's creation time", tagged, off)
	}
	if n := count("SELECT count(*) FROM tasks WHERE tenant_id = ? AND assignee_id = '" + owner.String() + "' AND status = 'open' AND due_at < now()"); n == 0 {
		t.Error("no overdue task for the owner")
	}
	demoDashboards(t, a, tenant, owner)
	before := count(`SELECT (SELECT count(*) FROM customers WHERE tenant_id = ?) + (SELECT count(*) FROM imports) + (SELECT count(*) FROM tasks) + (SELECT count(*) FROM purchase_orders)
		+ (SELECT count(*) FROM bi_reports) + (SELECT count(*) FROM bi_dashboards) + (SELECT count(*) FROM bi_subscriptions)`)
	if err := seedDemoData(ctx, a.d); err != nil {
		t.Fatal(err)
	}
	if after := count(`SELECT (SELECT count(*) FROM customers WHERE tenant_id = ?) + (SELECT count(*) FROM imports) + (SELECT count(*) FROM tasks) + (SELECT count(*) FROM purchase_orders)
		+ (SELECT count(*) FROM bi_reports) + (SELECT count(*) FROM bi_dashboards) + (SELECT count(*) FROM bi_subscriptions)`); after != before {
		t.Errorf("a second run changed the demo company: %d rows, then %d", before, after)
	}
}

// demoDashboards checks the demo company's provisioned dashboards: once the
// scores are computed (the demo schedules that a minute after seeding),
// every widget answers its owner with a figure from the modules' demo data,
// and the owner is subscribed to the sales overview every Monday.
func demoDashboards(t *testing.T, a *app, tenant, owner uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	var prof *profiles.Module
	var b *bi.Module
	perms := map[string]bool{}
	for _, m := range a.d.modules {
		switch v := m.(type) {
		case *profiles.Module:
			prof = v
		case *bi.Module:
			b = v
		}
		if p, ok := m.(module.Permissions); ok {
			for _, k := range p.Permissions() {
				perms[k.Key] = true
			}
		}
	}
	if err := db.InTenant(ctx, a.d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := prof.ScoreCustomers(authz.AsSystem(ctx), tx, tenant, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	as := tenancy.With(authz.WithActor(ctx, authz.Actor{ID: owner, Kind: authz.ActorUser, Role: "owner", Permissions: perms, Scope: authz.ScopeAll}),
		tenancy.Tenant{ID: tenant, Slug: DemoSlug})
	ds, _, err := b.ListDashboards(as, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 3 {
		t.Fatalf("the demo has %d dashboards", len(ds))
	}
	for _, d := range ds {
		res, err := b.RunDashboard(as, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range res.Widgets {
			figure := false
			if w.Result != nil {
				for _, r := range w.Result.Rows {
					if r.Value != nil && *r.Value != "0" && *r.Value != "0.0000" {
						figure = true
					}
				}
			}
			if w.Error != "" || !figure {
				t.Errorf("demo %s / %s: no figure (%q)", d.Name, w.Name, w.Error)
			}
		}
	}
	var subs int
	if err := db.InTenant(ctx, a.d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT count(*) FROM bi_subscriptions s JOIN bi_dashboards d ON d.tenant_id = s.tenant_id AND d.id = s.dashboard_id
			WHERE s.tenant_id = ? AND s.member_id = ? AND s.frequency = 'weekly' AND s.weekday = 1 AND d.provision_key = 'sales_overview'`, tenant, owner).Scan(ctx, &subs)
	}); err != nil || subs != 1 {
		t.Fatalf("the owner's weekly sales overview: %d subscriptions, %v", subs, err)
	}
}
