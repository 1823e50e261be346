package funnel_test

import (
	"context"
	"io/fs"
	"path"
	"testing"
	"testing/fstest"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/migrations"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/migrate"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// Companies that signed up before the funnel existed get its defaults from the
// migration that adds it, each within its own tenant: the default pipeline
// with its six stages and the lost reasons, nothing twice.
func TestTheMigrationGivesExistingCompaniesTheDefaults(t *testing.T) {
	env := testkit.Get(t)
	if env.Citus {
		t.Skip("no cluster held a schema older than the funnel; the seeding is checked on one node")
	}
	ctx := context.Background()
	owner, err := db.Open(ctx, env.CreateScratchDB(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	opts := migrate.Options{AppRole: env.Config.AppDBRole, AppPassword: env.Config.AppDBPassword, Logger: testkit.Quiet}
	before := fstest.MapFS{}
	names, err := fs.Glob(migrations.FS, "*/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if path.Base(name) < "20261223000500" {
			b, _ := fs.ReadFile(migrations.FS, name)
			before[name] = &fstest.MapFile{Data: b}
		}
	}
	if _, err := migrate.Up(ctx, owner, before, opts); err != nil {
		t.Fatal(err)
	}
	tenants := []uuid.UUID{uuid.New(), uuid.New()}
	for i, id := range tenants {
		if _, err := owner.ExecContext(ctx, "INSERT INTO tenants (id, slug, name) VALUES (?, ?, 'Old')", id, []string{"old-a", "old-b"}[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := migrate.Up(ctx, owner, migrations.FS, opts); err != nil {
		t.Fatal(err)
	}
	for _, id := range tenants {
		var pipelines, stages, reasons int
		err := owner.NewRaw(`SELECT (SELECT count(*) FROM pipelines WHERE tenant_id = ? AND is_default),
			(SELECT count(*) FROM pipeline_stages WHERE tenant_id = ?), (SELECT count(*) FROM deal_lost_reasons WHERE tenant_id = ?)`, id, id, id).
			Scan(ctx, &pipelines, &stages, &reasons)
		if err != nil {
			t.Fatal(err)
		}
		if pipelines != 1 || stages != 6 || reasons != 5 {
			t.Fatalf("tenant %s: %d default pipelines, %d stages, %d lost reasons", id, pipelines, stages, reasons)
		}
	}
}
