package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// DemoSlug is the demo tenant `make run` seeds.
const DemoSlug = "demo"

func runSeed(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	id, created, err := ensureTenant(ctx, cfg, DemoSlug, "Demo Trading Co. 演示贸易公司")
	if err != nil {
		return err
	}
	log.Info("seed: demo tenant ready", "tenant_id", id.String(), "created", created)
	return nil
}

// runSeedCommand is `clientele seed [--tenant SLUG --customers N]`: the demo tenant
// by default, or N generated customers for a tenant (created when missing).
func runSeedCommand(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	slug := fs.String("tenant", "", "tenant slug to fill (created when missing)")
	n := fs.Int("customers", 0, "customers to generate")
	seed := fs.Uint64("seed", 1, "random seed, for repeatable data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *slug == "" {
		return runSeed(ctx, cfg, log)
	}
	if *n <= 0 {
		return fmt.Errorf("seed: --customers must be positive")
	}
	id, _, err := ensureTenant(ctx, cfg, *slug, *slug)
	if err != nil {
		return err
	}
	return seedCustomers(ctx, cfg, id, *n, *seed)
}

func seedCustomers(ctx context.Context, cfg config.Config, tenant uuid.UUID, n int, seed uint64) error {
	conn, err := pgx.Connect(ctx, cfg.AppDatabaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	start := time.Now()
	last := time.Now()
	err = profiles.Seed(ctx, conn, tenant, n, seed, func(done int) {
		if time.Since(last) > 2*time.Second || done == n {
			last = time.Now()
			rate := float64(done) / time.Since(start).Seconds()
			fmt.Fprintf(os.Stderr, "seed: %d/%d customers (%.0f%%), %.0f rows/s, ETA %s\n", done, n, 100*float64(done)/float64(n), rate,
				time.Duration(float64(n-done)/rate*float64(time.Second)).Round(time.Second))
		}
	})
	if err != nil {
		return err
	}
	// Planner statistics need the owner; the app role may not ANALYZE.
	if owner, err := pgx.Connect(ctx, cfg.DatabaseURL); err == nil {
		// VACUUM sets the visibility map, so index-only scans skip the heap as they
		// would on a table in steady state.
		for _, t := range []string{"customers", "customer_terms", "customer_tags", "customer_contacts", "customer_lifecycle_history", "field_index", "field_unique"} {
			_, _ = owner.Exec(ctx, "VACUUM (ANALYZE) "+t)
		}
		owner.Close(ctx)
	}
	// The company's list counts, which its list plans read (docs/list-plans.md):
	// without them its first hour of lists would be planned from capped counts.
	d, err := db.Open(ctx, cfg.AppDatabaseURL, 1)
	if err != nil {
		return err
	}
	defer d.Close()
	return fields.RecountEntities(ctx, d, tenant, profiles.New(profiles.Deps{}).Entities())
}

func ensureTenant(ctx context.Context, cfg config.Config, slug, name string) (uuid.UUID, bool, error) {
	if !tenancy.SlugPattern.MatchString(slug) {
		return uuid.Nil, false, fmt.Errorf("slug %q: use 1-40 lowercase letters, digits and inner hyphens", slug)
	}
	d, err := db.Open(ctx, cfg.AppDatabaseURL, 2)
	if err != nil {
		return uuid.Nil, false, err
	}
	defer d.Close()
	var id uuid.UUID
	err = d.NewRaw(`INSERT INTO tenants (slug, name) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING RETURNING id`, slug, name).Scan(ctx, &id)
	if err == nil {
		return id, true, nil
	}
	if err2 := d.NewRaw(`SELECT id FROM tenants WHERE slug = ?`, slug).Scan(ctx, &id); err2 != nil {
		return uuid.Nil, false, err2
	}
	return id, false, nil
}

func runTenant(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	switch {
	case len(args) >= 1 && args[0] == "export":
		return runTenantExport(ctx, cfg, log, args[1:])
	case len(args) >= 1 && args[0] == "import":
		return runTenantImport(ctx, cfg, log, args[1:])
	case len(args) >= 1 && args[0] == "compare":
		return runTenantCompare(args[1:])
	case len(args) == 3 && args[0] == "create":
		id, created, err := ensureTenant(ctx, cfg, args[1], args[2])
		if err != nil {
			return err
		}
		if !created {
			return fmt.Errorf("a tenant with slug %q already exists (%s)", args[1], id)
		}
		fmt.Println(id)
		return nil
	case len(args) == 1 && args[0] == "list":
		d, err := db.Open(ctx, cfg.AppDatabaseURL, 2)
		if err != nil {
			return err
		}
		defer d.Close()
		var ts []tenancy.Tenant
		if err := d.NewSelect().Model(&ts).Order("slug").Scan(ctx); err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "SLUG\tID\tSTATUS\tNAME")
		for _, t := range ts {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Slug, t.ID, t.Status, t.Name)
		}
		return w.Flush()
	}
	return fmt.Errorf("usage: clientele tenant create SLUG NAME | list | export SLUG [-o FILE] | import ARCHIVE --as NEWSLUG | compare A B")
}

// DemoLogin is the person `make run` seeds as owner of the demo company.
type DemoLogin struct{ Email, Password string }

var demoLogin = DemoLogin{Email: "demo@clientele.example", Password: "Clientele-Demo-2026!"}

// seedDemoLogin registers the demo person at Kratos (once) and makes them the demo
// company's owner.
func seedDemoLogin(ctx context.Context, cfg config.Config, log *slog.Logger) (DemoLogin, error) {
	if err := registerAPI(ctx, cfg.KratosPublicURL, demoLogin.Email, demoLogin.Password, "Demo Owner 演示"); err != nil && !errors.Is(err, errExists) {
		return demoLogin, err
	}
	k := newKratos(cfg, log, nil, nil, nil, nil)
	who, err := k.FindIdentityByEmail(ctx, demoLogin.Email)
	if err != nil {
		return demoLogin, err
	}
	d, err := db.Open(ctx, cfg.AppDatabaseURL, 2)
	if err != nil {
		return demoLogin, err
	}
	defer d.Close()
	var tenant uuid.UUID
	if err := d.NewRaw("SELECT id FROM tenants WHERE slug = ?", DemoSlug).Scan(ctx, &tenant); err != nil {
		return demoLogin, err
	}
	err = db.InTenant(ctx, d, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO memberships (tenant_id, identity_id, role, email, name) VALUES (?, ?, 'owner', ?, ?)
			ON CONFLICT (tenant_id, identity_id) DO NOTHING`, tenant, who.ID, who.Email, who.Name)
		return err
	})
	return demoLogin, err
}

var errExists = errors.New("identity exists")

// registerAPI runs Kratos's API registration flow (no browser, no cookies).
func registerAPI(ctx context.Context, publicURL, email, password, name string) error {
	hc := &http.Client{Timeout: 15 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(publicURL, "/")+"/self-service/registration/api", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("identity service at %s: %w", publicURL, err)
	}
	var flow struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&flow)
	resp.Body.Close()
	if err != nil || flow.ID == "" {
		return fmt.Errorf("registration flow: %v (status %d)", err, resp.StatusCode)
	}
	body, _ := json.Marshal(map[string]any{"method": "password", "password": password, "traits": map[string]any{"email": email, "name": name}})
	req, _ = http.NewRequestWithContext(ctx, "POST", strings.TrimRight(publicURL, "/")+"/self-service/registration?flow="+url.QueryEscape(flow.ID), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err = hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		return nil
	}
	if bytes.Contains(out, []byte("exists")) {
		return errExists
	}
	return fmt.Errorf("registration refused: status %d", resp.StatusCode)
}

// loginAPI runs Kratos's API login flow and returns the session token.
func loginAPI(ctx context.Context, publicURL, email, password string) (string, error) {
	hc := &http.Client{Timeout: 15 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(publicURL, "/")+"/self-service/login/api", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	var flow struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&flow)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(map[string]any{"method": "password", "identifier": email, "password": password})
	req, _ = http.NewRequestWithContext(ctx, "POST", strings.TrimRight(publicURL, "/")+"/self-service/login?flow="+url.QueryEscape(flow.ID), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err = hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"session_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("login refused: status %d", resp.StatusCode)
	}
	return out.Token, nil
}

// addMember makes the identity with email an owner of tenant (bench and demo).
func addMember(ctx context.Context, cfg config.Config, log *slog.Logger, tenant uuid.UUID, email string) error {
	who, err := newKratos(cfg, log, nil, nil, nil, nil).FindIdentityByEmail(ctx, email)
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, cfg.AppDatabaseURL, 2)
	if err != nil {
		return err
	}
	defer d.Close()
	return db.InTenant(ctx, d, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO memberships (tenant_id, identity_id, role, email, name) VALUES (?, ?, 'owner', ?, ?)
			ON CONFLICT (tenant_id, identity_id) DO NOTHING`, tenant, who.ID, who.Email, who.Name)
		return err
	})
}

// seedDemoData asks every module that contributes demo data, and is on for the
// demo company, to fill it. Each module skips what is there already, so a
// second `make run` adds nothing.
func seedDemoData(ctx context.Context, d *deps) error {
	// Seeding is nobody's request: it acts as the system, explicitly.
	ctx = authz.AsSystem(ctx)
	var tenant, owner uuid.UUID
	if err := d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", DemoSlug).Scan(ctx, &tenant); err != nil {
		return fmt.Errorf("demo data: the %q company: %w", DemoSlug, err)
	}
	err := db.InTenant(ctx, d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewRaw("SELECT identity_id FROM memberships WHERE tenant_id = ? AND role = 'owner' ORDER BY created_at LIMIT 1", tenant).Scan(ctx, &owner)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	demo := module.Demo{Tenant: tenant, Owner: owner, DatabaseURL: d.cfg.AppDatabaseURL, Seed: 1}
	for _, m := range d.modules {
		s, ok := m.(module.DemoSeeder)
		if !ok {
			continue
		}
		if d.enablement != nil {
			if on, err := d.enablement.Enabled(ctx, tenant, m.Name()); err != nil || !on {
				continue
			}
		}
		start := time.Now()
		seeded, err := s.SeedDemo(ctx, demo)
		if err != nil {
			return fmt.Errorf("demo data of %s: %w", m.Name(), err)
		}
		if seeded {
			d.log.Info("seed: demo data written", "module", m.Name(), "elapsed", time.Since(start).Round(time.Millisecond).String())
		} else {
			d.log.Info("seed: demo data already there", "module", m.Name())
		}
	}
	return demoImports(ctx, d, tenant, owner)
}

// demoImports gives the demo company a few imports in its history: real files
// uploaded and started through the transfer engine as its owner, so the
// imports page, the error report and revert have something true to show. The
// worker runs them once it starts. Skipped when the company has imports, or no
// owner yet.
func demoImports(ctx context.Context, d *deps, tenant, owner uuid.UUID) error {
	var engine *transfer.Engine
	for _, m := range d.modules {
		if e, ok := m.(*transfer.Engine); ok {
			engine = e
		}
	}
	if engine == nil || owner == uuid.Nil || d.blobs == nil {
		return nil
	}
	var have int
	var emails []string
	err := db.InTenant(ctx, d.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewRaw("SELECT count(*) FROM imports WHERE tenant_id = ?", tenant).Scan(ctx, &have); err != nil || have > 0 {
			return err
		}
		return tx.NewRaw(`SELECT emails[1] FROM customers WHERE tenant_id = ? AND source = 'demo' AND lifecycle = 'customer'
			ORDER BY created_at, name LIMIT 30`, tenant).Scan(ctx, &emails)
	})
	if err != nil || have > 0 {
		return err
	}
	perms := map[string]bool{}
	for _, p := range d.modules.AllPermissions() {
		perms[p.Key] = true
	}
	ctx = authz.WithActor(ctx, authz.Actor{ID: owner, Kind: authz.ActorUser, Role: "owner", Permissions: perms, Scope: authz.ScopeAll})
	t := tenancy.Tenant{ID: tenant, Slug: DemoSlug}
	var leads strings.Builder
	leads.WriteString("姓名,邮箱,手机,公司,标签\n")
	for i, n := range []string{"周晓婷", "Oliver Grant", "钱立新", "Hannah Cole", "马俊杰", "Ruby Zhang", "孙雅琪", "Leo Fischer", "胡志强", "Chloe Martin", "郭美玲", "Samuel Reed"} {
		fmt.Fprintf(&leads, "%s,lead%02d@tradeshow.example.com,+86 138 %04d %04d,Expo Partner %d 展会客户,trade-show\n", n, i+1, 1000+i, 2000+i, i%4+1)
	}
	leads.WriteString("王小明,not-an-email,+86 139 0000 0001,,trade-show\n") // the error report shows one bad row
	var orders strings.Builder
	orders.WriteString("order_no,email,date,amount,currency,product\n")
	now := time.Now().UTC()
	for i, e := range emails {
		fmt.Fprintf(&orders, "WEB-%s-%04d,%s,%s,%d.00,CNY,Online shop order 网店订单\n", now.Format("200601"), i+1, e, now.AddDate(0, 0, -(i%25+1)).Format("2006-01-02"), 80+i*37%900)
	}
	orders.WriteString("WEB-" + now.Format("200601") + "-9999,nobody@unknown.example,2026-01-05,99.00,CNY,Unmatched order\n")
	for _, f := range []struct {
		entity, name, body, matchOn string
	}{
		{"customers", "展会名单 trade-show leads.csv", leads.String(), ""},
		{"purchases", "online-shop-orders.csv", orders.String(), "email"},
	} {
		up, err := engine.Upload(ctx, t, f.entity, f.name, int64(len(f.body)), strings.NewReader(f.body), "")
		if err != nil {
			return fmt.Errorf("demo import %s: upload: %w", f.name, err)
		}
		if _, err := engine.StartImport(ctx, t, up.ID, up.SuggestedMapping, "create", f.matchOn); err != nil {
			return fmt.Errorf("demo import %s: start: %w", f.name, err)
		}
	}
	return nil
}
