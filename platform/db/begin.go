package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
)

// SetTenantSQL is the statement that scopes a transaction to tenant. It is a SET
// LOCAL, not a set_config() call: Citus forwards SET LOCAL to the workers a
// transaction touches (with citus.propagate_set_commands = 'local'), and never a
// set_config() call, under which every worker would see no tenant and no rows. SET
// takes no bind parameters, so the value is rendered as a literal; a uuid.UUID
// renders only hex digits and dashes, which is what makes that safe.
func SetTenantSQL(tenant uuid.UUID) string {
	return "SET LOCAL app.tenant_id = '" + tenant.String() + "'"
}

// BeginTenantSQL opens a transaction and scopes it to tenant in one simple-protocol
// message, so a tenant transaction costs one round trip fewer than BEGIN followed
// by a separate statement. pgx accepts it as TxOptions.BeginQuery.
func BeginTenantSQL(tenant uuid.UUID) string {
	return "BEGIN; " + SetTenantSQL(tenant)
}

type beginKey struct{}

// withBegin makes the next transaction opened with ctx begin with q instead of a
// bare BEGIN. Only connections opened by Open understand it.
func withBegin(ctx context.Context, q string) context.Context {
	return context.WithValue(ctx, beginKey{}, q)
}

// connector hands out connections whose BeginTx honours withBegin.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		return dc, nil
	}
	return &conn{stdConn: sc}, nil
}

// stdConn names the embedded field of conn, so that it does not hide the Conn method.
type stdConn = stdlib.Conn

// conn is a pgx stdlib connection; every driver interface it offers is promoted.
type conn struct{ *stdConn }

// pgxConn is what CopyFrom needs from a driver connection.
type pgxConn interface{ Conn() *pgx.Conn }

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	q, ok := ctx.Value(beginKey{}).(string)
	if !ok {
		return c.stdConn.BeginTx(ctx, opts)
	}
	begin, err := beginClause(opts)
	if err != nil {
		return nil, err
	}
	if begin != "BEGIN" {
		q = begin + q[len("BEGIN"):]
	}
	pc := c.Conn()
	tx, err := pc.BeginTx(ctx, pgx.TxOptions{BeginQuery: q})
	if err != nil {
		// The BEGIN may have run before a later statement of the message failed:
		// never hand the pool back a connection inside an aborted transaction.
		if !pc.IsClosed() && pc.PgConn().TxStatus() != 'I' {
			_, _ = pc.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		return nil, err
	}
	return wrapTx{ctx: ctx, tx: tx}, nil
}

type wrapTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (w wrapTx) Commit() error   { return w.tx.Commit(w.ctx) }
func (w wrapTx) Rollback() error { return w.tx.Rollback(w.ctx) }

func beginClause(opts driver.TxOptions) (string, error) {
	s := "BEGIN"
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadCommitted:
		s += " ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		s += " ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		s += " ISOLATION LEVEL SERIALIZABLE"
	case sql.LevelReadUncommitted:
		s += " ISOLATION LEVEL READ UNCOMMITTED"
	default:
		return "", fmt.Errorf("db: unsupported isolation %v", opts.Isolation)
	}
	if opts.ReadOnly {
		s += " READ ONLY"
	}
	return s, nil
}

// citusPools remembers, per pool, whether its database is a Citus coordinator.
var citusPools sync.Map // *bun.DB -> bool

// IsCitus reports whether d's database has the citus extension (cached per pool).
func IsCitus(ctx context.Context, d *bun.DB) bool {
	if v, ok := citusPools.Load(d); ok {
		return v.(bool)
	}
	var on bool
	if err := d.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')").Scan(&on); err != nil {
		return false // not cached: ask again next time
	}
	citusPools.Store(d, on)
	return on
}

// ExecStaged runs an INSERT ... SELECT that reads a temporary staging table (or a
// set-returning function such as generate_series), in the tenant transaction of ctx. On Citus it adds RETURNING: Citus then
// moves the rows through intermediate results and plain INSERTs on the workers,
// which RLS checks, instead of COPY into the shards, which PostgreSQL refuses on a
// table under row-level security. On one node the statement runs as written.
func ExecStaged(ctx context.Context, tx bun.Tx, query string, args ...any) (sql.Result, error) {
	if st, ok := ctx.Value(txKey{}).(*txState); ok && st.citus &&
		strings.HasPrefix(strings.TrimSpace(strings.ToUpper(query)), "INSERT") &&
		!strings.Contains(strings.ToUpper(query), "RETURNING") {
		query += " RETURNING NULL"
	}
	return tx.ExecContext(ctx, query, args...)
}

// ScopedCall runs fn, which calls one function that scopes itself with SET LOCAL
// (the member lookups). On one node fn runs as a single autocommit statement. On
// Citus it runs inside a transaction: Citus forwards a SET LOCAL to the workers
// only when the coordinator runs a transaction block there, which an autocommit
// read does not.
func ScopedCall(ctx context.Context, d *bun.DB, fn func(ctx context.Context, q bun.IDB) error) error {
	if !IsCitus(ctx, d) {
		return fn(ctx, d)
	}
	return d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx) })
}
