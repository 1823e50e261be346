package schemalint_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/platform/schemalint"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// The migrated schema obeys every rule.
func TestMigratedSchemaPasses(t *testing.T) {
	env := testkit.Get(t)
	vs, err := schemalint.Lint(context.Background(), env.Owner, "public", schemalint.Global)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Errorf("schema lint: %s", v)
	}
	// Guard against a lint that checks nothing: it must have seen tenant tables.
	var n int
	if err := env.Owner.NewRaw(`SELECT count(*) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r','p') AND NOT c.relispartition`).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("only %d tenant tables found; the lint is not looking at the schema", n)
	}
}

// Each rule fires on a table built to break it, and only the good table passes.
func TestLintCatchesEachBrokenRule(t *testing.T) {
	env := testkit.Get(t)
	ctx := context.Background()
	const policy = `(tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`
	ddl := `
	DROP SCHEMA IF EXISTS lintneg CASCADE;
	CREATE SCHEMA lintneg;
	SET search_path = lintneg;
	CREATE TABLE good (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
	ALTER TABLE good ENABLE ROW LEVEL SECURITY; ALTER TABLE good FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON good USING ` + policy + ` WITH CHECK ` + policy + `;

	CREATE TABLE no_tenant (id uuid PRIMARY KEY);

	CREATE TABLE pk_without_tenant (tenant_id uuid NOT NULL, id uuid PRIMARY KEY);
	ALTER TABLE pk_without_tenant ENABLE ROW LEVEL SECURITY; ALTER TABLE pk_without_tenant FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON pk_without_tenant USING ` + policy + `;

	CREATE TABLE fk_without_tenant (tenant_id uuid NOT NULL, id uuid NOT NULL, good_id uuid, PRIMARY KEY (tenant_id, id));
	CREATE UNIQUE INDEX good_id_only ON good (id);
	ALTER TABLE fk_without_tenant ADD CONSTRAINT fk_bad FOREIGN KEY (good_id) REFERENCES good (id);
	ALTER TABLE fk_without_tenant ENABLE ROW LEVEL SECURITY; ALTER TABLE fk_without_tenant FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON fk_without_tenant USING ` + policy + `;

	CREATE TABLE not_forced (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
	ALTER TABLE not_forced ENABLE ROW LEVEL SECURITY;
	CREATE POLICY p ON not_forced USING ` + policy + `;

	CREATE TABLE no_rls (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));

	CREATE TABLE subquery_policy (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));
	ALTER TABLE subquery_policy ENABLE ROW LEVEL SECURITY; ALTER TABLE subquery_policy FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON subquery_policy USING ` + policy + `;
	CREATE POLICY q ON subquery_policy USING (tenant_id IN (SELECT tenant_id FROM good));

	CREATE TABLE fk_set_null (tenant_id uuid NOT NULL, id uuid NOT NULL, good_id uuid, PRIMARY KEY (tenant_id, id),
		FOREIGN KEY (tenant_id, good_id) REFERENCES good (tenant_id, id) ON DELETE SET NULL (good_id));
	ALTER TABLE fk_set_null ENABLE ROW LEVEL SECURITY; ALTER TABLE fk_set_null FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON fk_set_null USING ` + policy + `;

	CREATE TABLE glob (id uuid PRIMARY KEY, tenant uuid, good_id uuid, FOREIGN KEY (tenant, good_id) REFERENCES good (tenant_id, id));

	CREATE FUNCTION scoped_by_set_config(p uuid) RETURNS text LANGUAGE sql AS $$ SELECT set_config('app.tenant_id', p::text, true) $$;

	CREATE FUNCTION copies_rows(p uuid) RETURNS void LANGUAGE sql AS $$ INSERT INTO good (tenant_id, id) SELECT p, gen_random_uuid() FROM generate_series(1, 2) $$;
	CREATE FUNCTION inserts_rows(p uuid) RETURNS void LANGUAGE sql AS $$ INSERT INTO good (tenant_id, id) SELECT p, gen_random_uuid() FROM generate_series(1, 2) RETURNING 1 $$;

	CREATE FUNCTION plans_generically(p uuid) RETURNS bigint LANGUAGE sql SET plan_cache_mode = force_generic_plan AS $$ SELECT count(*) FROM good WHERE tenant_id = p $$;

	CREATE TABLE bad_index (tenant_id uuid NOT NULL, id uuid NOT NULL, email text, PRIMARY KEY (tenant_id, id));
	CREATE INDEX bad_index_email ON bad_index (email);
	ALTER TABLE bad_index ENABLE ROW LEVEL SECURITY; ALTER TABLE bad_index FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON bad_index USING ` + policy + `;
	RESET search_path;`
	// One statement at a time: Citus forwards some DDL (CREATE SCHEMA) to the
	// workers as the text of the whole message.
	conn, err := env.Owner.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range strings.Split(ddl, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", strings.TrimSpace(stmt), err)
		}
	}
	t.Cleanup(func() { _, _ = env.Owner.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS lintneg CASCADE") })
	vs, err := schemalint.Lint(ctx, env.Owner, "lintneg", map[string]string{"glob": "a global table"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, v := range vs {
		got[v.Table+"|"+v.Rule] = true
		if v.Table == "inserts_rows()" {
			t.Errorf("an INSERT ... SELECT with RETURNING flagged: %s", v)
		}
		if v.Table == "good" && !strings.Contains(v.Info, "good_id_only") {
			t.Errorf("good table flagged: %s", v)
		}
	}
	for _, want := range []string{
		"no_tenant|" + schemalint.RuleTenantColumn,
		"pk_without_tenant|" + schemalint.RulePrimaryKey,
		"fk_without_tenant|" + schemalint.RuleForeignKey,
		"not_forced|" + schemalint.RuleRLSForced,
		"no_rls|" + schemalint.RuleRLSEnabled,
		"no_rls|" + schemalint.RulePolicy,
		"subquery_policy|" + schemalint.RuleNoSubquery,
		"bad_index|" + schemalint.RuleIndex,
		"fk_set_null|" + schemalint.RuleFKAction,
		"glob|" + schemalint.RuleGlobalFK,
		"scoped_by_set_config()|" + schemalint.RuleSetLocal,
		"copies_rows()|" + schemalint.RuleInsertSelect,
		"plans_generically()|" + schemalint.RuleGenericPlan,
		"good|" + schemalint.RuleIndex, // the extra index on good (id) breaks the index rule
	} {
		if !got[want] {
			t.Errorf("lint missed %s; it reported %v", want, vs)
		}
	}
	// Listing a table as global exempts it, and only it.
	vs, _ = schemalint.Lint(ctx, env.Owner, "lintneg", map[string]string{"no_tenant": "test"})
	for _, v := range vs {
		if v.Table == "no_tenant" {
			t.Errorf("allow-listed table flagged: %s", v)
		}
	}
}

// The statement test of the INSERT ... SELECT rule, on the forms the migrations use.
func TestCopyingInsertReadsStatements(t *testing.T) {
	for _, c := range []struct {
		body string
		want bool
	}{
		{"INSERT INTO t (a, b) SELECT x, y FROM unnest(v)", true},
		{"INSERT INTO t SELECT * FROM s", true},
		{"insert into t (a)\n  select 1", true},
		{"INSERT INTO t (a) (SELECT 1)", true},
		{"WITH g AS (DELETE FROM t RETURNING *) INSERT INTO t (a) SELECT a FROM g", true}, // the CTE's RETURNING is not the INSERT's
		{"WITH w AS (INSERT INTO t (a) SELECT 1 RETURNING 1) SELECT count(*) INTO n FROM w", false},
		{"INSERT INTO t (a) SELECT 1 ON CONFLICT DO NOTHING", false},
		{"INSERT INTO t (a, b) VALUES (1, 2), (3, 4)", false},
		{"INSERT INTO t (a) VALUES ((SELECT 1))", false},
		{"-- INSERT INTO t SELECT 1\nPERFORM 1", false},
		{"PERFORM 1; INSERT INTO t (a) SELECT 1; RETURN", true},
	} {
		if got := schemalint.CopyingInsert(c.body) != ""; got != c.want {
			t.Errorf("%q: %v, want %v", c.body, got, c.want)
		}
	}
}
