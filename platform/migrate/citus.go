package migrate

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/uptrace/bun"
)

// keepLocal are tables that stay on the coordinator under Citus: migrate's own
// bookkeeping, which nothing else reads.
var keepLocal = map[string]bool{"bun_migrations": true, "bun_migration_locks": true}

// IsCitus reports whether the database has the Citus extension, which is what
// makes migrate distribute the schema.
func IsCitus(ctx context.Context, db bun.IDB) (bool, error) {
	var ok bool
	err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')").Scan(&ok)
	return ok, err
}

// prepareCitus readies a Citus coordinator's database before the migrations run:
// the extension (when asked for with Options.Citus), and SET LOCAL propagation,
// which the tenant transaction needs to reach the workers.
func prepareCitus(ctx context.Context, db *bun.DB, o Options) (bool, error) {
	on, err := IsCitus(ctx, db)
	if err != nil {
		return false, fmt.Errorf("migrate: detect citus: %w", err)
	}
	if !on && o.Citus {
		if _, err := db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS citus"); err != nil {
			return false, fmt.Errorf("migrate: --citus, but the citus extension cannot be created (is citus in shared_preload_libraries?): %w", err)
		}
		on = true
	}
	if !on {
		return false, nil
	}
	var workers int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0").Scan(&workers); err != nil {
		return true, fmt.Errorf("migrate: citus workers: %w", err)
	}
	if workers == 0 {
		o.logger().Warn("migrate: citus has no workers in this database; tables are distributed on the coordinator alone until workers are added (citus_add_node) and shards rebalanced")
	}
	// Every new session of this database propagates SET LOCAL to the workers.
	if _, err := db.ExecContext(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET citus.propagate_set_commands = %L', current_database(), 'local'); END $$`); err != nil {
		return true, fmt.Errorf("migrate: citus.propagate_set_commands: %w", err)
	}
	return true, nil
}

// distribute turns the tables that Citus does not manage yet into Citus tables:
// a table with tenant_id is distributed by it, all of them co-located, so one
// tenant's rows of every table live in the same shard group; a table without it
// (tenants and the few global tables) becomes a reference table, copied to every
// node. Partitioned tables stay partitioned: Citus distributes the parent and its
// partitions alike. Foreign keys are dropped for the move and added back, because
// Citus checks them against the table kinds, and a half-converted graph is refused.
// It is idempotent and runs after every migrate on Citus.
func distribute(ctx context.Context, pool *bun.DB, o Options) error {
	log := o.logger()
	// One connection, so that the session's citus.shard_count holds throughout.
	db, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	type table struct {
		Name      string `bun:"name"`
		HasTenant bool   `bun:"has_tenant"`
	}
	var todo []table
	if err := db.NewRaw(`
		SELECT c.relname AS name,
		       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS has_tenant
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		  -- already distributed or reference (a Citus-managed local table, partmethod
		  -- 'n' with repmodel 's', is still to do)
		  AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid AND NOT (p.partmethod = 'n' AND p.repmodel = 's'))
		ORDER BY 2, 1`).Scan(ctx, &todo); err != nil {
		return fmt.Errorf("migrate: citus: list tables: %w", err)
	}
	var names []string
	for _, t := range todo {
		if !keepLocal[t.Name] {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	type fk struct {
		Rel  string `bun:"rel"`
		Name string `bun:"name"`
		Def  string `bun:"def"`
	}
	var fks []fk
	if err := db.NewRaw(`
		SELECT c.conrelid::regclass::text AS rel, c.conname AS name, pg_get_constraintdef(c.oid) AS def
		FROM pg_constraint c
		WHERE c.contype = 'f' AND c.conparentid = 0 AND c.connamespace = 'public'::regnamespace
		  AND NOT (SELECT relispartition FROM pg_class WHERE oid = c.conrelid)
		  AND (c.conrelid::regclass::text IN (?) OR c.confrelid::regclass::text IN (?))
		ORDER BY 1, 2`, bun.In(names), bun.In(names)).Scan(ctx, &fks); err != nil {
		return fmt.Errorf("migrate: citus: list foreign keys: %w", err)
	}
	for _, f := range fks {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", f.Rel, quoteIdent(f.Name))); err != nil {
			return fmt.Errorf("migrate: citus: drop %s on %s for the move: %w", f.Name, f.Rel, err)
		}
	}
	if o.CitusShardCount > 0 {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("SET citus.shard_count = %d", o.CitusShardCount)); err != nil {
			return err
		}
	}
	// The co-location anchor: a table already distributed by tenant_id, if any.
	var anchor string
	_ = db.QueryRowContext(ctx, `SELECT p.logicalrelid::regclass::text FROM pg_dist_partition p
		JOIN pg_attribute a ON a.attrelid = p.logicalrelid AND a.attname = 'tenant_id'
		WHERE p.partmethod = 'h' AND column_to_column_name(p.logicalrelid, p.partkey) = 'tenant_id'
		ORDER BY p.logicalrelid LIMIT 1`).Scan(&anchor)
	for _, t := range todo {
		if keepLocal[t.Name] {
			continue
		}
		var err error
		switch {
		case !t.HasTenant:
			_, err = db.ExecContext(ctx, "SELECT create_reference_table(?::regclass)", t.Name)
		case anchor == "":
			_, err = db.ExecContext(ctx, "SELECT create_distributed_table(?::regclass, 'tenant_id', colocate_with => 'none')", t.Name)
			anchor = t.Name
		default:
			_, err = db.ExecContext(ctx, "SELECT create_distributed_table(?::regclass, 'tenant_id', colocate_with => ?)", t.Name, anchor)
		}
		if err != nil {
			return fmt.Errorf("migrate: citus: distribute %s: %w", t.Name, err)
		}
		log.Info("migrate: citus", "table", t.Name, "as", map[bool]string{true: "distributed by tenant_id", false: "reference table"}[t.HasTenant])
	}
	for _, f := range fks {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", f.Rel, quoteIdent(f.Name), f.Def)); err != nil {
			return fmt.Errorf("migrate: citus: foreign key %s on %s: %w", f.Name, f.Rel, err)
		}
	}
	return nil
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}
