// Package schemalint reads the catalog after migrating and reports every tenant
// table that breaks the tenancy rules which keep RLS honest and the schema movable
// to Citus: tenant_id in every table, leading its primary key and every index,
// inside every foreign key, RLS enabled and forced, and a tenant policy without a
// subquery. Partitions are judged through their parent. The rules Citus adds are
// here too: no SET NULL or SET DEFAULT action on a foreign key that carries the
// distribution column, no foreign key from a global (reference) table to a tenant
// (distributed) table, no function that scopes itself with set_config() on an
// app.* setting, which Citus does not forward to the workers, and no function
// with an INSERT ... SELECT that has neither RETURNING nor ON CONFLICT, whose
// rows Citus would COPY into the shards, which RLS refuses, and no function
// that forces generic plans, which Citus cannot make for a statement whose
// shard depends on a parameter.
package schemalint

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/uptrace/bun"
)

// Global lists the tables that have no tenant_id, each with the reason why.
var Global = map[string]string{
	"tenants":             "the tenant registry itself; resolved by slug before a tenant is known",
	"bun_migrations":      "bun's record of applied migrations",
	"bun_migration_locks": "bun's migration lock table (unused: migrate takes an advisory lock)",
}

// Violation is one broken rule.
type Violation struct {
	Table string
	Rule  string
	Info  string
}

func (v Violation) String() string { return fmt.Sprintf("%s: %s (%s)", v.Table, v.Rule, v.Info) }

// The rules.
const (
	RuleTenantColumn = "tenant_id uuid NOT NULL column"
	RulePrimaryKey   = "primary key led by tenant_id"
	RuleForeignKey   = "foreign key includes tenant_id"
	RuleIndex        = "index led by tenant_id"
	RuleRLSEnabled   = "row level security enabled"
	RuleRLSForced    = "row level security forced"
	RulePolicy       = "tenant policy on app.tenant_id"
	RuleNoSubquery   = "policy without subquery"
	RuleFKAction     = "foreign key without SET NULL or SET DEFAULT action"
	RuleGlobalFK     = "global table without a foreign key to a tenant table"
	RuleSetLocal     = "function sets app.* with SET LOCAL, not set_config"
	RuleInsertSelect = "INSERT ... SELECT in a function has RETURNING or ON CONFLICT"
	RuleGenericPlan  = "function without plan_cache_mode = force_generic_plan"
)

type table struct {
	OID       uint32 `bun:"oid"`
	Name      string `bun:"relname"`
	RLS       bool   `bun:"relrowsecurity"`
	ForceRLS  bool   `bun:"relforcerowsecurity"`
	TenantNum int16  `bun:"tenant_attnum"`
	TenantOK  bool   `bun:"tenant_ok"`
}

// Lint checks every ordinary and partitioned table of schema.
func Lint(ctx context.Context, db bun.IDB, schema string, global map[string]string) ([]Violation, error) {
	var tables []table
	err := db.NewRaw(`
		SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity,
		       coalesce(a.attnum, 0) AS tenant_attnum,
		       coalesce(a.atttypid = 'uuid'::regtype AND a.attnotnull, false) AS tenant_ok
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE n.nspname = ? AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		ORDER BY c.relname`, schema).Scan(ctx, &tables)
	if err != nil {
		return nil, fmt.Errorf("schemalint: tables: %w", err)
	}
	tenantCol := map[uint32]int16{}
	for _, t := range tables {
		tenantCol[t.OID] = t.TenantNum
	}
	var out []Violation
	add := func(t, rule, info string) { out = append(out, Violation{Table: t, Rule: rule, Info: info}) }
	for _, t := range tables {
		if _, ok := global[t.Name]; ok {
			// A global table becomes a Citus reference table, which may not
			// reference a distributed (tenant) table.
			var refs []string
			if err := db.NewRaw(`SELECT conname FROM pg_constraint WHERE conrelid = ? AND contype = 'f'
				AND confrelid IN (SELECT attrelid FROM pg_attribute WHERE attname = 'tenant_id' AND NOT attisdropped)`, t.OID).Scan(ctx, &refs); err != nil {
				return nil, fmt.Errorf("schemalint: foreign keys of %s: %w", t.Name, err)
			}
			for _, r := range refs {
				add(t.Name, RuleGlobalFK, r+" refers to a tenant table")
			}
			continue
		}
		if !t.TenantOK {
			add(t.Name, RuleTenantColumn, "no tenant_id uuid NOT NULL column; add one or list the table in schemalint.Global with a reason")
			continue
		}
		if !t.RLS {
			add(t.Name, RuleRLSEnabled, "ALTER TABLE ... ENABLE ROW LEVEL SECURITY")
		}
		if !t.ForceRLS {
			add(t.Name, RuleRLSForced, "ALTER TABLE ... FORCE ROW LEVEL SECURITY")
		}
		var cons []struct {
			Name    string  `bun:"conname"`
			Type    string  `bun:"contype"`
			Keys    []int16 `bun:"conkey,array"`
			RefOID  uint32  `bun:"confrelid"`
			RefKeys []int16 `bun:"confkey,array"`
			Del     string  `bun:"confdeltype"`
			Upd     string  `bun:"confupdtype"`
		}
		if err := db.NewRaw(`SELECT conname, contype::text, conkey, confrelid::int8 AS confrelid, coalesce(confkey, '{}') AS confkey,
			confdeltype::text, confupdtype::text
			FROM pg_constraint WHERE conrelid = ? AND contype IN ('p', 'f')`, t.OID).Scan(ctx, &cons); err != nil {
			return nil, fmt.Errorf("schemalint: constraints of %s: %w", t.Name, err)
		}
		hasPK := false
		for _, c := range cons {
			switch c.Type {
			case "p":
				hasPK = true
				if len(c.Keys) == 0 || c.Keys[0] != t.TenantNum {
					add(t.Name, RulePrimaryKey, c.Name)
				}
			case "f":
				// Citus refuses these when the key includes the distribution column.
				if c.Del == "n" || c.Del == "d" || c.Upd == "n" || c.Upd == "d" {
					add(t.Name, RuleFKAction, c.Name+": Citus refuses ON DELETE/UPDATE SET NULL or SET DEFAULT; clear the column in the code that deletes")
				}
				if !contains(c.Keys, t.TenantNum) {
					add(t.Name, RuleForeignKey, c.Name+" does not carry tenant_id")
					continue
				}
				if refCol, tenantRef := tenantCol[c.RefOID]; tenantRef && refCol != 0 {
					// Between tenant tables the referenced side must match on tenant_id too.
					if !pairs(c.Keys, c.RefKeys, t.TenantNum, refCol) {
						add(t.Name, RuleForeignKey, c.Name+" does not match tenant_id to the referenced tenant_id")
					}
				}
			}
		}
		if !hasPK {
			add(t.Name, RulePrimaryKey, "no primary key")
		}
		var idx []struct {
			Name  string `bun:"relname"`
			First int16  `bun:"first"`
		}
		if err := db.NewRaw(`SELECT ic.relname, i.indkey[0] AS first FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
			WHERE i.indrelid = ?`, t.OID).Scan(ctx, &idx); err != nil {
			return nil, fmt.Errorf("schemalint: indexes of %s: %w", t.Name, err)
		}
		for _, i := range idx {
			if i.First != t.TenantNum {
				add(t.Name, RuleIndex, i.Name)
			}
		}
		var pols []struct {
			Name  string   `bun:"policyname"`
			Roles []string `bun:"roles,array"`
			Qual  string   `bun:"qual"`
			Check string   `bun:"with_check"`
		}
		if err := db.NewRaw(`SELECT policyname, roles::text[] AS roles, coalesce(qual, '') AS qual, coalesce(with_check, '') AS with_check
			FROM pg_policies WHERE schemaname = ? AND tablename = ?`, schema, t.Name).Scan(ctx, &pols); err != nil {
			return nil, fmt.Errorf("schemalint: policies of %s: %w", t.Name, err)
		}
		tenantPolicy := false
		for _, p := range pols {
			for _, expr := range []string{p.Qual, p.Check} {
				if strings.Contains(strings.ToUpper(expr), "SELECT") {
					add(t.Name, RuleNoSubquery, p.Name)
				}
			}
			if isTenantExpr(p.Qual) && (p.Check == "" || isTenantExpr(p.Check)) && len(p.Roles) == 1 && p.Roles[0] == "public" {
				tenantPolicy = true
			}
		}
		if !tenantPolicy {
			add(t.Name, RulePolicy, "want a policy for PUBLIC: USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)")
		}
	}
	var fns []string
	if err := db.NewRaw(`SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = ? AND p.prosrc ~* 'set_config\s*\(\s*''app\.'`, schema).Scan(ctx, &fns); err != nil {
		return nil, fmt.Errorf("schemalint: functions: %w", err)
	}
	for _, f := range fns {
		add(f+"()", RuleSetLocal, "use EXECUTE format('SET LOCAL app.x = %L', v): Citus forwards SET LOCAL to the workers, never set_config()")
	}
	var generic []string
	if err := db.NewRaw(`SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = ? AND EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE lower(c) = 'plan_cache_mode=force_generic_plan')`, schema).Scan(ctx, &generic); err != nil {
		return nil, fmt.Errorf("schemalint: function settings: %w", err)
	}
	for _, f := range generic {
		add(f+"()", RuleGenericPlan, "drop the setting: Citus cannot route a generic plan whose tenant is a parameter of a statement it cannot fast-path "+
			"(could not create distributed plan)")
	}
	var bodies []struct {
		Name string `bun:"proname"`
		Src  string `bun:"prosrc"`
	}
	if err := db.NewRaw(`SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = ? AND p.prosrc ~* 'INSERT'
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`, schema).Scan(ctx, &bodies); err != nil {
		return nil, fmt.Errorf("schemalint: function bodies: %w", err)
	}
	for _, b := range bodies {
		if stmt := CopyingInsert(b.Src); stmt != "" {
			add(b.Name+"()", RuleInsertSelect, "add RETURNING (in PL/pgSQL: WITH w AS (INSERT ... RETURNING 1) SELECT count(*) INTO n FROM w): "+
				"on Citus an INSERT ... SELECT without it moves its rows with COPY, which PostgreSQL refuses under row-level security: "+stmt)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

var (
	lineComment  = regexp.MustCompile(`--[^\n]*`)
	insertSelect = regexp.MustCompile(`(?is)\bINSERT\s+INTO\s+[\w."]+\s*(\([^)]*\))?\s*\(?\s*(SELECT|WITH)\b`)
	returningOr  = regexp.MustCompile(`(?i)\b(RETURNING|ON\s+CONFLICT)\b`)
)

// CopyingInsert returns the first statement of a function body that inserts
// the rows of a SELECT with neither RETURNING nor ON CONFLICT, or "". Citus
// sends such rows to the shards with COPY unless the SELECT reads co-located
// shards only, which a body cannot promise; with RETURNING or ON CONFLICT it
// sends INSERTs. It reads the text, not a parse tree: statements are split at
// semicolons.
func CopyingInsert(body string) string {
	for _, stmt := range strings.Split(lineComment.ReplaceAllString(body, ""), ";") {
		// RETURNING or ON CONFLICT counts after the INSERT only: a CTE's DELETE
		// ... RETURNING before it does not change how the INSERT is sent.
		if m := insertSelect.FindStringIndex(stmt); m != nil && !returningOr.MatchString(stmt[m[1]:]) {
			return strings.Join(strings.Fields(stmt), " ")
		}
	}
	return ""
}

// isTenantExpr recognises the canonical policy as PostgreSQL prints it back.
func isTenantExpr(e string) bool {
	norm := strings.Join(strings.Fields(e), "")
	return norm == "(tenant_id=(NULLIF(current_setting('app.tenant_id'::text,true),''::text))::uuid)"
}

func contains(xs []int16, x int16) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func pairs(keys, refKeys []int16, col, refCol int16) bool {
	for i := range keys {
		if keys[i] == col && i < len(refKeys) && refKeys[i] == refCol {
			return true
		}
	}
	return false
}
