package profiles_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"path"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/migrations"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/devstack"
	"github.com/clientele-crm/clientele/platform/migrate"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// migrationsBefore is the migration set as it was before the named one.
func migrationsBefore(t *testing.T, stamp string) fs.FS {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	m := fstest.MapFS{}
	for _, name := range names {
		if path.Base(name) < stamp {
			b, _ := fs.ReadFile(migrations.FS, name)
			m[name] = &fstest.MapFile{Data: b}
		}
	}
	return m
}

// oldSchema is a scratch database with the schema of before a migration, for
// tests that prove the data stored then survives that migration.
type oldSchema struct {
	env     *testkit.Env
	scratch string
	opts    migrate.Options
	owner   *bun.DB // the owner pool; migrateToLatest replaces it on Citus
}

// openOldSchema makes a scratch database and migrates it up to, not including,
// the migration stamped before.
func openOldSchema(t *testing.T, before string) *oldSchema {
	t.Helper()
	env := testkit.Get(t)
	ctx := context.Background()
	o := &oldSchema{env: env, scratch: env.CreateScratchDB(t)}
	var err error
	if o.owner, err = db.Open(ctx, o.scratch, 4); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.owner.Close() })
	o.opts = migrate.Options{AppRole: env.Config.AppDBRole, AppPassword: env.Config.AppDBPassword, Logger: testkit.Quiet}
	if env.Citus {
		// No cluster ever held the old schemas (Citus support came later). On
		// Citus the old database is a single-node one, which is then migrated and
		// moved into the cluster the documented way (docs/operations.md): migrate
		// to the latest schema, then distribute.
		if _, err := o.owner.ExecContext(ctx, "DROP EXTENSION citus"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := migrate.Up(ctx, o.owner, migrationsBefore(t, before), o.opts); err != nil {
		t.Fatal(err)
	}
	return o
}

// migrateToLatest migrates the database to the current schema and returns its
// owner pool.
func (o *oldSchema) migrateToLatest(t *testing.T) *bun.DB {
	t.Helper()
	ctx := context.Background()
	if _, err := migrate.Up(ctx, o.owner, migrations.FS, o.opts); err != nil {
		t.Fatal(err)
	}
	if o.env.Citus {
		// Into the cluster: the extension and the workers, then migrate distributes
		// the tables with their rows. A new pool, since a pool remembers whether
		// its database is a Citus one.
		if err := devstack.PrepareCitusDatabase(ctx, o.scratch, o.env.Workers, false); err != nil {
			t.Fatal(err)
		}
		o.owner.Close()
		var err error
		if o.owner, err = db.Open(ctx, o.scratch, 4); err != nil {
			t.Fatal(err)
		}
		citusOpts := o.opts
		citusOpts.Citus, citusOpts.CitusShardCount = true, 4
		if _, err := migrate.Up(ctx, o.owner, migrations.FS, citusOpts); err != nil {
			t.Fatal(err)
		}
	}
	return o.owner
}

// An import recorded by the profiles module before the engine moved to the
// platform (its journal keyed by customer_id) is migrated, stays readable (its
// error report, its place in the list) and reverts byte-identically: the
// customers it created are gone and the one it updated is as it was, down to
// its search rows.
func TestImportFromBeforeTheMoveRevertsAfterMigrating(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	quiet := testkit.Quiet
	old := openOldSchema(t, "20261210000100")
	owner := old.owner
	tn := tenancy.Tenant{ID: uuid.New(), Slug: "old-imports"}
	if _, err := owner.ExecContext(ctx, "INSERT INTO tenants (id, slug, name) VALUES (?, ?, 'Old imports')", tn.ID, tn.Slug); err != nil {
		t.Fatal(err)
	}
	m := profiles.New(profiles.Deps{DB: owner, Log: quiet})
	ctxW := importer()
	me := authz.ActorFrom(ctxW).ID
	kept, err := m.CreateCustomer(ctxW, tn.ID, profiles.CustomerInput{Name: "老客户 Existing", Emails: []string{"old@example.com"}, Tags: []string{"old"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	sumBefore, nBefore := checksumOn(t, owner, tn.ID)
	derivedBefore := derivedSumOn(t, owner, tn.ID)

	// What the old import did: it created two customers and updated one,
	// journalling the state it replaced as the old loader did (the customer
	// as JSON), and reported one row.
	im := uuid.New()
	if _, err := owner.ExecContext(ctx, `INSERT INTO imports (tenant_id, id, status, filename, format, blob_key, size_bytes, columns, mapping, mode, match_on,
		total, processed, created, updated, failed, created_by, started_at, finished_at)
		VALUES (?, ?, 'completed', 'old.csv', 'csv', 'gone', 100, '["姓名","邮箱"]', '{"姓名":"name","邮箱":"emails"}', 'upsert', 'email', 4, 4, 2, 1, 1, ?, now(), now())`,
		tn.ID, im, me); err != nil {
		t.Fatal(err)
	}
	before, err := json.Marshal(readCustomer(t, owner, tn.ID, kept.ID))
	if err != nil {
		t.Fatal(err)
	}
	name, tags := "老客户 Renamed", []string{"old", "imported"}
	if _, err := m.UpdateCustomer(ctxW, tn.ID, kept.ID, profiles.CustomerUpdate{Name: &name, Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.ExecContext(ctx, `INSERT INTO import_journal (tenant_id, import_id, customer_id, action, before, row_no) VALUES (?, ?, ?, 'updated', ?, 2)`,
		tn.ID, im, kept.ID, string(before)); err != nil {
		t.Fatal(err)
	}
	for i, n := range []string{"新客户甲", "新客户乙"} {
		c, err := m.CreateCustomer(ctxW, tn.ID, profiles.CustomerInput{Name: n, Emails: []string{"new" + string(rune('a'+i)) + "@example.com"}}, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := owner.ExecContext(ctx, `INSERT INTO import_journal (tenant_id, import_id, customer_id, action, row_no) VALUES (?, ?, ?, 'created', ?)`,
			tn.ID, im, c.ID, 3+i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := owner.ExecContext(ctx, `INSERT INTO import_problems (tenant_id, import_id, row_no, seq, outcome, column_name, value, reason)
		VALUES (?, ?, 5, 0, 'failed', '邮箱', 'not-an-email', 'not a valid email')`, tn.ID, im); err != nil {
		t.Fatal(err)
	}
	if _, n := checksumOn(t, owner, tn.ID); n != nBefore+2 {
		t.Fatalf("the old import left %d customers, want %d", n, nBefore+2)
	}

	// Migrate, then read and revert it through the engine.
	owner = old.migrateToLatest(t)
	var entities []string
	if err := owner.NewRaw("SELECT DISTINCT entity FROM import_journal WHERE tenant_id = ? AND import_id = ?", tn.ID, im).Scan(ctx, &entities); err != nil {
		t.Fatal(err)
	}
	if len(entities) != 1 || entities[0] != "customers" {
		t.Fatalf("journal entities after the migration: %v", entities)
	}
	r := newTransferRig(t, env, owner, quiet, profiles.Deps{})
	eng := r.eng
	r.serve(t, owner, -1)
	list, err := eng.ListImports(ctxW, tn, "customers")
	if err != nil || len(list) != 1 || list[0].ID != im || list[0].Created != 2 || list[0].Failed != 1 {
		t.Fatalf("the old import in the list: %+v %v", list, err)
	}
	var reasons []string
	if err := owner.NewRaw("SELECT reason FROM import_problems WHERE tenant_id = ? AND import_id = ?", tn.ID, im).Scan(ctx, &reasons); err != nil || len(reasons) != 1 {
		t.Fatalf("the old error report: %v %v", reasons, err)
	}
	if _, err := eng.RevertImport(ctxW, tn, im); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var status string
	var reverted int64
	for time.Now().Before(deadline) {
		if err := owner.NewRaw("SELECT status, reverted FROM imports WHERE tenant_id = ? AND id = ?", tn.ID, im).Scan(ctx, &status, &reverted); err != nil {
			t.Fatal(err)
		}
		if status == "reverted" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status != "reverted" || reverted != 3 {
		t.Fatalf("revert of the old import: %s, %d journal entries undone", status, reverted)
	}
	sumAfter, nAfter := checksumOn(t, owner, tn.ID)
	if sumAfter != sumBefore || nAfter != nBefore {
		t.Fatalf("after the revert: %d customers (%s), want %d (%s)", nAfter, sumAfter, nBefore, sumBefore)
	}
	if d := derivedSumOn(t, owner, tn.ID); d != derivedBefore {
		t.Fatal("search terms, tags or contact keys differ after the revert")
	}
}

func readCustomer(t *testing.T, d *bun.DB, tenant, id uuid.UUID) *profiles.Customer {
	t.Helper()
	c := &profiles.Customer{}
	if err := db.InTenant(context.Background(), d, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(c).Where("c.tenant_id = ? AND c.id = ?", tenant, id).Scan(ctx)
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// checksumOn is checksum on any database.
func checksumOn(t *testing.T, d *bun.DB, tenant uuid.UUID) (string, int) {
	t.Helper()
	var sum string
	var n int
	if err := d.NewRaw(`SELECT coalesce(md5(string_agg(to_jsonb(c)::text, '|' ORDER BY c.id)), ''), count(*) FROM customers c WHERE c.tenant_id = ?`, tenant).
		Scan(context.Background(), &sum, &n); err != nil {
		t.Fatal(err)
	}
	return sum, n
}

// derivedSumOn is derivedSum on any database.
func derivedSumOn(t *testing.T, d *bun.DB, tenant uuid.UUID) string {
	t.Helper()
	var sum string
	if err := d.NewRaw(`SELECT md5(concat_ws('#',
		(SELECT string_agg(term || ' ' || customer_id, '|' ORDER BY term, customer_id) FROM customer_terms WHERE tenant_id = ?0),
		(SELECT string_agg(tag || ' ' || customer_id, '|' ORDER BY tag, customer_id) FROM customer_tags WHERE tenant_id = ?0),
		(SELECT string_agg(key || ' ' || customer_id, '|' ORDER BY key, customer_id) FROM customer_contacts WHERE tenant_id = ?0),
		(SELECT string_agg(field_key || ' ' || record_id || ' ' || ord, '|' ORDER BY field_key, record_id, ord) FROM field_index WHERE tenant_id = ?0)))`,
		tenant).Scan(context.Background(), &sum); err != nil {
		t.Fatal(err)
	}
	return sum
}
