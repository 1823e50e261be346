package migrate_test

import (
	"context"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/migrations"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/health"
	"github.com/clientele-crm/clientele/platform/migrate"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// withFixtures is the real migration set plus extra files.
func withFixtures(t *testing.T, extra map[string]string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, s := range extra {
		m[p] = &fstest.MapFile{Data: []byte(s)}
	}
	return m
}

func scratch(t *testing.T) *bun.DB {
	env := testkit.Get(t)
	d, err := db.Open(context.Background(), env.CreateScratchDB(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func opts() migrate.Options {
	return migrate.Options{AppRole: "clientele_app", AppPassword: "clientele_app"}
}

func TestUpTwiceIsANoOp(t *testing.T) {
	d := scratch(t)
	ctx := context.Background()
	first, err := migrate.Up(ctx, d, migrations.FS, opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 {
		t.Fatal("first run applied nothing")
	}
	second, err := migrate.Up(ctx, d, migrations.FS, opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 0 {
		t.Fatalf("second run applied %v", second)
	}
	if p, err := migrate.Pending(ctx, d, migrations.FS); err != nil || len(p) != 0 {
		t.Fatalf("pending after migrate: %v %v", p, err)
	}
}

func TestFailedMigrationIsNotMarkedAndReadinessStaysDown(t *testing.T) {
	d := scratch(t)
	ctx := context.Background()
	fsys := withFixtures(t, map[string]string{
		"zfixture/20990101000100_fine.tx.up.sql":   "CREATE TABLE fixture_fine (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id));",
		"zfixture/20990101000200_broken.tx.up.sql": "CREATE TABLE fixture_half (id int);\nSELECT 1/0;",
		"zfixture/20990101000300_later.tx.up.sql":  "CREATE TABLE fixture_later (id int);",
	})
	applied, err := migrate.Up(ctx, d, fsys, opts())
	if err == nil {
		t.Fatal("a failing migration must fail migrate")
	}
	if !strings.Contains(err.Error(), "20990101000200") {
		t.Errorf("error does not name the failed migration: %v", err)
	}
	for _, a := range applied {
		if strings.Contains(a, "broken") || strings.Contains(a, "later") {
			t.Errorf("reported %s as applied", a)
		}
	}
	var marked []string
	if err := d.NewSelect().Table("bun_migrations").Column("name").Scan(ctx, &marked); err != nil {
		t.Fatal(err)
	}
	for _, n := range marked {
		if n == "20990101000200" || n == "20990101000300" {
			t.Errorf("migration %s marked applied", n)
		}
	}
	var half *string
	_ = d.QueryRowContext(ctx, "SELECT to_regclass('fixture_half')::text").Scan(&half)
	if half != nil {
		t.Error("the failed migration's transaction was not rolled back")
	}
	ready := health.New(2*time.Second, 0, health.Check{Name: "schema", Fn: migrate.ReadyCheck(d, fsys)})
	rep := ready.Run(ctx)
	if rep.Status == "ok" || !strings.Contains(rep.Checks["schema"], "pending") {
		t.Fatalf("readiness with a failed migration: %+v", rep)
	}
	// Fixing the file and migrating again recovers.
	fixed := withFixtures(t, map[string]string{
		"zfixture/20990101000100_fine.tx.up.sql":   "CREATE TABLE fixture_fine (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id));",
		"zfixture/20990101000200_broken.tx.up.sql": "CREATE TABLE fixture_half (id int);",
		"zfixture/20990101000300_later.tx.up.sql":  "CREATE TABLE fixture_later (id int);",
	})
	if _, err := migrate.Up(ctx, d, fixed, opts()); err != nil {
		t.Fatal(err)
	}
	ready = health.New(2*time.Second, 0, health.Check{Name: "schema", Fn: migrate.ReadyCheck(d, fixed)})
	if rep := ready.Run(ctx); rep.Status != "ok" {
		t.Fatalf("not ready after the fix: %+v", rep)
	}
}

func TestConcurrentMigrateWaitsAndNeverInterleaves(t *testing.T) {
	d := scratch(t)
	ctx := context.Background()
	fsys := withFixtures(t, map[string]string{
		"zfixture/20990101000100_slow.tx.up.sql": "CREATE TABLE slow_log (at timestamptz NOT NULL);\nSELECT pg_sleep(1);\nINSERT INTO slow_log VALUES (clock_timestamp());",
	})
	var wg sync.WaitGroup
	results := make([][]string, 2)
	errs := make([]error, 2)
	ends := make([]time.Time, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			other, err := db.Open(ctx, dsnOf(t, d), 4)
			if err != nil {
				errs[i] = err
				return
			}
			defer other.Close()
			results[i], errs[i] = migrate.Up(ctx, other, fsys, opts())
			ends[i] = time.Now()
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if (len(results[0]) == 0) == (len(results[1]) == 0) {
		t.Fatalf("exactly one run should apply the migrations: %v / %v", results[0], results[1])
	}
	var n int
	if err := d.QueryRowContext(ctx, "SELECT count(*) FROM slow_log").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("slow migration ran %d times", n)
	}
}

func dsnOf(t *testing.T, d *bun.DB) string {
	var name string
	if err := d.QueryRowContext(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	env := testkit.Get(t)
	u := env.Config.DatabaseURL
	i := strings.LastIndex(u, "/")
	j := strings.Index(u[i:], "?")
	if j < 0 {
		return u[:i+1] + name
	}
	return u[:i+1] + name + u[i+j:]
}
