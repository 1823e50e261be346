// Package migrate applies the embedded SQL migrations with bun's migrator, holding a
// Postgres advisory lock on a dedicated connection so that two runs never
// interleave, and marking a migration applied only after it succeeded.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// lockKey is the advisory lock every migrate run takes ("clientele" in ASCII).
const lockKey int64 = 0x636c69656e74656c

// SweeperRole may read the scheduling columns of jobs across tenants.
const SweeperRole = "clientele_sweeper"

// MemberLookupRole may read one identity's memberships across tenants (for /me).
const MemberLookupRole = "clientele_member_lookup"

// helperRoles are NOLOGIN roles the app role may SET ROLE to inside a read-only
// transaction, each with narrow column grants and a policy of its own.
var helperRoles = []string{SweeperRole, MemberLookupRole}

// Options names the roles migrate sets up besides applying files.
type Options struct {
	AppRole     string // the non-owner login role of serve and worker
	AppPassword string
	Logger      *slog.Logger
	// Citus asks for a distributed schema: migrate creates the citus extension if
	// it is missing. Without it, migrate still distributes when the extension is
	// there already (see distribute).
	Citus bool
	// CitusShardCount, when positive, is the shard count of newly distributed
	// tables (the server's citus.shard_count otherwise).
	CitusShardCount int
}

var namePattern = regexp.MustCompile(`^\d{14}_[a-z0-9_]+(\.tx)?\.up\.sql$`)

// Load builds the migration set from an FS with one folder per owner, and refuses
// badly named files and two files sharing a version.
func Load(fsys fs.FS) (*migrate.Migrations, error) {
	seen := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".sql" {
			return err
		}
		base := path.Base(p)
		if !namePattern.MatchString(base) {
			return fmt.Errorf("migrate: %s: name must look like 20261122000100_what.tx.up.sql", p)
		}
		if other, dup := seen[base[:14]]; dup {
			return fmt.Errorf("migrate: %s and %s share version %s", other, p, base[:14])
		}
		seen[base[:14]] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(fsys); err != nil {
		return nil, fmt.Errorf("migrate: discover: %w", err)
	}
	return ms, nil
}

// Up ensures the roles, applies every pending migration under the advisory lock,
// re-applies grants and partition upkeep, and returns the names it applied.
func Up(ctx context.Context, db *bun.DB, fsys fs.FS, o Options) ([]string, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	ms, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: lock connection: %w", err)
	}
	defer conn.Close()
	log.Info("migrate: waiting for the advisory lock")
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return nil, fmt.Errorf("migrate: advisory lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey)
	}()

	citus, err := prepareCitus(ctx, db, o)
	if err != nil {
		return nil, err
	}
	if err := ensureRoles(ctx, db, o, log); err != nil {
		return nil, err
	}
	if citus {
		// Citus runs a statement on the workers as the current role, so a role the
		// app SET ROLEs to must be able to connect to them. It gets no password:
		// only Citus's own node connections (trust or pg_dist_authinfo) can use it.
		for _, r := range helperRoles {
			if err := execRetrying(ctx, db, "ALTER ROLE "+r+" LOGIN"); err != nil {
				return nil, fmt.Errorf("migrate: citus: %s may log in to the workers: %w", r, err)
			}
		}
	}
	m := migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("migrate: init: %w", err)
	}
	group, err := m.Migrate(ctx)
	var applied []string
	if group != nil {
		for _, mg := range group.Migrations {
			applied = append(applied, mg.Name+"_"+mg.Comment)
		}
	}
	if err != nil {
		// The failed migration is the last of the group and was not marked applied.
		if n := len(applied); n > 0 {
			applied = applied[:n-1]
		}
		return applied, fmt.Errorf("migrate: %w", err)
	}
	if citus {
		if err := distribute(ctx, db, o); err != nil {
			return applied, err
		}
	}
	if err := grant(ctx, db, o.AppRole, citus); err != nil {
		return applied, err
	}
	if _, err := db.ExecContext(ctx, "SELECT clientele_ensure_month_partitions(c.oid::regclass, 3) FROM pg_class c JOIN pg_partitioned_table p ON p.partrelid = c.oid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"); err != nil {
		return applied, fmt.Errorf("migrate: partitions: %w", err)
	}
	for _, a := range applied {
		log.Info("migrate: applied", "migration", a)
	}
	return applied, nil
}

// ensureRoles creates the app and sweeper roles when the owner may create roles.
// Roles are cluster-wide, so concurrent runs against other databases may race:
// duplicate_object is expected and ignored. Where the owner lacks CREATEROLE the
// roles must be made by a DBA; we say so and go on.
func ensureRoles(ctx context.Context, db *bun.DB, o Options, log *slog.Logger) error {
	var stmts []string
	for _, r := range helperRoles {
		stmts = append(stmts, fmt.Sprintf(`DO $$ BEGIN CREATE ROLE %s NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`, r))
	}
	if o.AppRole != "" {
		stmts = append(stmts,
			fmt.Sprintf(`DO $$ BEGIN CREATE ROLE %s LOGIN NOINHERIT PASSWORD %s NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
				quoteIdent(o.AppRole), quoteLiteral(o.AppPassword)),
			// NOINHERIT: row policies for the sweeper role apply only after an explicit
			// SET ROLE, never to the app role's ordinary queries.
			fmt.Sprintf(`ALTER ROLE %s NOINHERIT NOBYPASSRLS`, quoteIdent(o.AppRole)),
		)
		for _, r := range helperRoles {
			stmts = append(stmts, fmt.Sprintf(`DO $$ BEGIN GRANT %s TO %s; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`, r, quoteIdent(o.AppRole)))
		}
	}
	for _, s := range stmts {
		if err := execRetrying(ctx, db, s); err != nil {
			if code := pgCode(err); code == "42501" { // insufficient_privilege
				log.Warn("migrate: cannot create roles; a DBA must create them", "app_role", o.AppRole, "sweeper_role", SweeperRole)
				return nil
			}
			return fmt.Errorf("migrate: roles: %w", err)
		}
	}
	// The app role must never bypass RLS, whoever created it.
	if o.AppRole != "" {
		var bad bool
		err := db.QueryRowContext(ctx, "SELECT rolsuper OR rolbypassrls OR rolinherit FROM pg_roles WHERE rolname = $1", o.AppRole).Scan(&bad)
		if err == nil && bad {
			return fmt.Errorf("migrate: role %s is superuser, BYPASSRLS or INHERIT; the app role must be none of these", o.AppRole)
		}
	}
	return nil
}

// grant gives the app role data access (never DDL) and the sweeper its columns.
func grant(ctx context.Context, db *bun.DB, appRole string, citus bool) error {
	if appRole == "" {
		return nil
	}
	r := quoteIdent(appRole)
	stmts := []string{
		"GRANT USAGE ON SCHEMA public TO " + r,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + r,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + r,
		"REVOKE INSERT, UPDATE, DELETE ON bun_migrations, bun_migration_locks FROM " + r,
		"GRANT EXECUTE ON FUNCTION clientele_ensure_month_partitions(regclass, int) TO " + r,
		"GRANT EXECUTE ON FUNCTION clientele_drop_old_partitions(regclass, int) TO " + r,
		"GRANT EXECUTE ON FUNCTION clientele_refresh_stats(text) TO " + r,
	}
	// On Citus a grant is propagated to the workers, where test databases set
	// up at the same instant were seen to collide ("tuple concurrently
	// updated"); grants are idempotent, so they are retried like role changes.
	for _, s := range stmts {
		if err := execRetrying(ctx, db, s); err != nil {
			return fmt.Errorf("migrate: grant: %q: %w", s, err)
		}
	}
	if err := grantColumns(ctx, db, "jobs", "tenant_id, id, task_type, queue, status, run_at, heartbeat_at, attempts, max_attempts", SweeperRole, citus); err != nil {
		return err
	}
	if citus {
		return copyColumnGrants(ctx, db)
	}
	return nil
}

// copyColumnGrants repeats on the workers and the shards every column grant that
// the migrations made to a helper role on the coordinator's tables: Citus copies
// table grants to new shards, never column grants.
func copyColumnGrants(ctx context.Context, db *bun.DB) error {
	var grants []struct {
		Table string `bun:"table_name"`
		Role  string `bun:"grantee"`
		Cols  string `bun:"cols"`
	}
	if err := db.NewRaw(`SELECT table_name, grantee, string_agg(quote_ident(column_name), ', ' ORDER BY column_name) AS cols
		FROM information_schema.column_privileges
		WHERE table_schema = 'public' AND privilege_type = 'SELECT' AND grantee IN (?)
		  AND NOT EXISTS (SELECT 1 FROM information_schema.table_privileges t
		                  WHERE t.table_schema = 'public' AND t.table_name = column_privileges.table_name
		                    AND t.grantee = column_privileges.grantee AND t.privilege_type = 'SELECT')
		GROUP BY 1, 2 ORDER BY 1, 2`, bun.In(helperRoles)).Scan(ctx, &grants); err != nil {
		return fmt.Errorf("migrate: citus: column grants: %w", err)
	}
	for _, g := range grants {
		if err := grantColumns(ctx, db, g.Table, g.Cols, g.Role, true); err != nil {
			return err
		}
	}
	return nil
}

// grantColumns grants SELECT on some columns of table to role. Citus 12 refuses
// column grants on a distributed table, so there the grant is made without
// propagation on the coordinator's table, on the workers' copies of its metadata
// and on every shard, which is where the workers check it.
func grantColumns(ctx context.Context, db *bun.DB, table, cols, role string, citus bool) error {
	g := fmt.Sprintf("GRANT SELECT (%s) ON %%s TO %s", cols, role)
	if !citus {
		_, err := db.ExecContext(ctx, fmt.Sprintf(g, table))
		return wrapGrant(g, err)
	}
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL citus.enable_ddl_propagation = off"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(g, table)); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return wrapGrant(g, err)
	}
	for _, q := range []string{
		"SELECT success, result FROM run_command_on_workers(?)",
		"SELECT success, result FROM run_command_on_placements(?::regclass, ?)",
	} {
		var args []any
		if strings.Contains(q, "placements") {
			args = []any{table, g}
		} else {
			args = []any{"SET citus.enable_ddl_propagation = off; " + fmt.Sprintf(g, "public."+table)}
		}
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return wrapGrant(g, err)
		}
		for rows.Next() {
			var ok bool
			var res string
			if err := rows.Scan(&ok, &res); err != nil {
				rows.Close()
				return err
			}
			if !ok {
				rows.Close()
				return fmt.Errorf("migrate: grant %s on %s: %s", role, table, res)
			}
		}
		rows.Close()
	}
	return nil
}

func wrapGrant(g string, err error) error {
	if err != nil {
		return fmt.Errorf("migrate: grant: %q: %w", g, err)
	}
	return nil
}

// execRetrying runs a role or grant statement, retrying when another database's migrate
// changes the same cluster-wide role at the same moment ("tuple concurrently
// updated"): roles are shared by every database of the server, and an advisory
// lock is per database, so it cannot serialise them.
func execRetrying(ctx context.Context, db *bun.DB, stmt string) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if _, err = db.ExecContext(ctx, stmt); err == nil {
			return nil
		}
		code := pgCode(err)
		if code != "XX000" && code != "40001" && code != "40P01" && code != "23505" && !strings.Contains(err.Error(), "concurrently") {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(20*(attempt+1)) * time.Millisecond):
		}
	}
	return err
}

func pgCode(err error) string {
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		return pe.SQLState()
	}
	return ""
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// Pending returns the names of migrations not yet applied; serve reports not ready
// while it is non-empty.
func Pending(ctx context.Context, db bun.IDB, fsys fs.FS) ([]string, error) {
	ms, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	var applied []string
	err = db.NewSelect().Table("bun_migrations").Column("name").Scan(ctx, &applied)
	if err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("migrate: read applied: %w", err)
	}
	done := map[string]bool{}
	for _, n := range applied {
		done[n] = true
	}
	var out []string
	for _, mg := range ms.Sorted() {
		if !done[mg.Name] {
			out = append(out, mg.Name+"_"+mg.Comment)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ReadyCheck is the readiness probe for the schema: it fails while migrations are
// pending, so a server never reports ready on a schema that is behind.
func ReadyCheck(db bun.IDB, fsys fs.FS) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		p, err := Pending(ctx, db, fsys)
		if err != nil {
			return err
		}
		if len(p) > 0 {
			return fmt.Errorf("%d migration(s) pending, first %s: run `clientele migrate`", len(p), p[0])
		}
		return nil
	}
}
