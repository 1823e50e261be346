package profiles_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/migrations"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/devstack"
	"github.com/clientele-crm/clientele/platform/migrate"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/clientele-crm/clientele/platform/views"
)

// Segments saved before they became saved views are migrated, none lost: each
// keeps its id (links with ?segment_id= keep working), owner, sharing, query
// and times, and becomes a view of customers that means what it meant.
func TestSegmentsBecomeSavedViews(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	scratch := env.CreateScratchDB(t)
	owner, err := db.Open(ctx, scratch, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	opts := migrate.Options{AppRole: env.Config.AppDBRole, AppPassword: env.Config.AppDBPassword, Logger: quiet}
	if env.Citus {
		if _, err := owner.ExecContext(ctx, "DROP EXTENSION citus"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := migrate.Up(ctx, owner, migrationsBefore(t, "20261216004100"), opts); err != nil {
		t.Fatal(err)
	}
	tn, other := uuid.New(), uuid.New()
	for i, id := range []uuid.UUID{tn, other} {
		if _, err := owner.ExecContext(ctx, "INSERT INTO tenants (id, slug, name) VALUES (?, ?, 'Segments')", id, []string{"old-segs", "old-segs-b"}[i]); err != nil {
			t.Fatal(err)
		}
	}
	m := profiles.New(profiles.Deps{DB: owner, Log: quiet})
	ann, bob := importer(), importer()
	for _, n := range []string{"甲", "乙", "丙"} {
		tags := []string{"vip"}
		if n == "丙" {
			tags = nil
		}
		if _, err := m.CreateCustomer(ann, tn, profiles.CustomerInput{Name: n, Tags: tags, Lifecycle: "customer"}, false); err != nil {
			t.Fatal(err)
		}
	}
	annID := authz.ActorFrom(ann).ID
	type seg struct {
		tenant, id uuid.UUID
		name       string
		shared     bool
		query      string
	}
	segs := []seg{
		{tn, uuid.New(), "VIP customers", true, "tag=vip&lifecycle=customer"},
		{tn, uuid.New(), "Mine only", false, "tags[contains]=vip"},
		{other, uuid.New(), "Theirs", true, "lifecycle=lead"},
	}
	for _, s := range segs {
		if _, err := owner.ExecContext(ctx, `INSERT INTO segments (tenant_id, id, name, owner_id, shared, query, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, '2026-01-02T03:04:05Z', '2026-02-03T04:05:06Z')`, s.tenant, s.id, s.name, annID, s.shared, s.query); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := migrate.Up(ctx, owner, migrations.FS, opts); err != nil {
		t.Fatal(err)
	}
	if env.Citus {
		if err := devstack.PrepareCitusDatabase(ctx, scratch, env.Workers, false); err != nil {
			t.Fatal(err)
		}
		owner.Close()
		if owner, err = db.Open(ctx, scratch, 4); err != nil {
			t.Fatal(err)
		}
		citusOpts := opts
		citusOpts.Citus, citusOpts.CitusShardCount = true, 4
		if _, err := migrate.Up(ctx, owner, migrations.FS, citusOpts); err != nil {
			t.Fatal(err)
		}
	}
	var left *string
	if err := owner.NewRaw("SELECT to_regclass('segments')::text").Scan(ctx, &left); err != nil || left != nil {
		t.Fatalf("the segments table after the move: %v %v", left, err)
	}
	var n int
	if err := owner.NewRaw("SELECT count(*) FROM saved_views").Scan(ctx, &n); err != nil || n != len(segs) {
		t.Fatalf("%d saved views after the move (%v), want %d", n, err, len(segs))
	}

	vs := views.New(views.Deps{DB: owner, Log: quiet})
	m = profiles.New(profiles.Deps{DB: owner, Views: vs, Log: quiet})
	vs.SetEntities(m.Entities())
	for _, s := range segs {
		var v views.View
		if err := owner.NewRaw("SELECT id, entity, name, owner_id, shared, query, sort, columns, created_at, updated_at FROM saved_views WHERE tenant_id = ? AND id = ?",
			s.tenant, s.id).Scan(ctx, &v); err != nil {
			t.Fatalf("segment %s: %v", s.name, err)
		}
		if v.Entity != "customers" || v.Name != s.name || v.OwnerID != annID || v.Shared != s.shared || v.Query != s.query ||
			v.CreatedAt.UTC().Format("2006-01-02T15:04:05") != "2026-01-02T03:04:05" || v.UpdatedAt.UTC().Format("2006-01-02T15:04:05") != "2026-02-03T04:05:06" {
			t.Fatalf("segment %s became %+v", s.name, v)
		}
	}
	// They work as views: the owner sees both with live counts, a colleague
	// the shared one only.
	list, err := vs.List(ann, tn, "customers", true)
	if err != nil || len(list) != 2 {
		t.Fatalf("the owner's views: %+v %v", list, err)
	}
	for _, v := range list {
		if v.Count == nil || *v.Count != 2 {
			t.Fatalf("view %s counts %v", v.Name, v.Count)
		}
	}
	if list, err := vs.List(bob, tn, "customers", true); err != nil || len(list) != 1 || list[0].ID != segs[0].id {
		t.Fatalf("a colleague's views: %+v %v", list, err)
	}
}
