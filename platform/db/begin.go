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
// pending is a tenant transaction's BEGIN that has not been sent yet: it
// travels in the message of the transaction's first statement (see BeginTx).
type conn struct {
	*stdConn
	pending string
}

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
	// The transaction is driven by plain statements rather than a pgx.Tx, so
	// that COMMIT can travel in the same message as the writes deferred to it
	// (see Defer).
	st, _ := ctx.Value(tailKey{}).(*txState)
	if st != nil {
		st.tail, st.pgc, st.dc = true, pc, c
	}
	if st != nil && !st.citus {
		// A tenant transaction's BEGIN waits for its first statement and goes
		// in the same message (ExecContext, ReadRows), or with COMMIT when the
		// transaction only deferred writes: one round trip fewer for every
		// request, which for a list is one of its three.
		//
		// Not on Citus: the coordinator keeps the text of the whole message
		// that held a SET LOCAL and replays it on every worker the
		// transaction reaches (citus.propagate_set_commands = 'local'), so a
		// write in that message would run again on the worker (where it
		// fails: "cannot execute a distributed query from a query on a
		// shard"). There the BEGIN and the SET LOCAL go alone, as one
		// message, and the statements that follow are the same.
		c.pending = q
		st.begin = q
		return &tenantTx{ctx: ctx, c: pc, dc: c, st: st}, nil
	}
	if err := c.exec(ctx, q); err != nil {
		return nil, err
	}
	return &tenantTx{ctx: ctx, c: pc, dc: c, st: st}, nil
}

// exec runs q (one or more statements, no arguments) on c. When it fails
// after a BEGIN in it ran, the transaction is rolled back: the pool never
// gets back a connection inside an aborted transaction.
func (c *conn) exec(ctx context.Context, q string) error {
	pc := c.Conn()
	if _, err := pc.Exec(ctx, q); err != nil {
		if !pc.IsClosed() && pc.PgConn().TxStatus() != 'I' {
			_, _ = pc.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		return err
	}
	return nil
}

// beginNow sends a pending BEGIN on its own, for a statement that cannot
// carry it (one with bind arguments, a COPY, a statement Citus must see
// alone).
func (c *conn) beginNow(ctx context.Context) error {
	if c.pending == "" {
		return nil
	}
	q := c.pending
	c.pending = ""
	return c.exec(ctx, q)
}

// takeBegin returns the pending BEGIN, followed by the separator that joins
// it to the statement it travels with, and clears it; "" when there is none.
func (c *conn) takeBegin() string {
	if c.pending == "" {
		return ""
	}
	q := c.pending + ";\n"
	c.pending = ""
	return q
}

// carriesBegin reports whether query may travel in one message after a
// pending BEGIN: plain DML and reads. Anything else (DDL, SET, a COPY) is
// sent after the BEGIN on its own, because Citus forwards some statements to
// the workers as the text of their whole message.
func carriesBegin(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return len(q) >= 5 && strings.EqualFold(q[:5], "WITH ")
}

// ExecContext sends a pending BEGIN in the same message as query when it can.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.pending != "" {
		if len(args) == 0 && carriesBegin(query) {
			pc := c.Conn()
			tag, err := pc.Exec(ctx, c.takeBegin()+query)
			if err != nil {
				// BEGIN ran (or the connection broke): the transaction is
				// aborted and database/sql rolls it back, as after any failed
				// statement.
				return nil, err
			}
			return driver.RowsAffected(tag.RowsAffected()), nil
		}
		if err := c.beginNow(ctx); err != nil {
			return nil, err
		}
	}
	return c.stdConn.ExecContext(ctx, query, args)
}

// ResetSession drops a BEGIN that was never sent before the pool hands the
// connection out again (a transaction always ends in Commit or Rollback,
// which clear it; this is the belt to those braces).
func (c *conn) ResetSession(ctx context.Context) error {
	c.pending = ""
	return c.stdConn.ResetSession(ctx)
}

// QueryContext sends a pending BEGIN first (pgx reads the rows of a
// message's first statement only), then query.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.beginNow(ctx); err != nil {
		return nil, err
	}
	return c.stdConn.QueryContext(ctx, query, args)
}

// tailKey carries the transaction's state to BeginTx, so that its Commit sends
// the deferred writes with COMMIT.
type tailKey struct{}

// tenantTx is a transaction begun with BeginTenantSQL.
type tenantTx struct {
	ctx  context.Context
	c    *pgx.Conn
	dc   *conn
	st   *txState
	done bool
}

// Commit sends the writes deferred to it and COMMIT as one message. If one of
// them fails, PostgreSQL skips the rest: the transaction is rolled back and the
// error returned.
func (t *tenantTx) Commit() error {
	if t.done {
		return sql.ErrTxDone
	}
	t.done = true
	q := "COMMIT"
	if t.st != nil && len(t.st.deferred) > 0 {
		q = strings.Join(t.st.deferred, ";\n") + ";\nCOMMIT"
		t.st.deferred, t.st.deferredBytes = nil, 0
	} else if t.dc.pending != "" {
		// Nothing was sent: there is no transaction to end.
		t.dc.pending = ""
		return nil
	}
	tag, err := t.c.Exec(t.ctx, t.dc.takeBegin()+q)
	if err != nil {
		t.abandon()
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback ends the transaction; deferred writes are dropped with it.
func (t *tenantTx) Rollback() error {
	if t.done {
		return sql.ErrTxDone
	}
	t.done = true
	if t.st != nil {
		t.st.deferred = nil
	}
	if t.dc.pending != "" {
		// The BEGIN was never sent: nothing to roll back.
		t.dc.pending = ""
		return nil
	}
	_, err := t.c.Exec(context.WithoutCancel(t.ctx), "ROLLBACK")
	if err != nil && !t.c.IsClosed() && t.c.PgConn().TxStatus() != 'I' {
		// A connection left inside a transaction must not return to the pool.
		_ = t.c.Close(context.Background())
	}
	return err
}

// abandon rolls back after a failed commit message, so the connection goes
// back to the pool outside any transaction, or is closed.
func (t *tenantTx) abandon() {
	if t.c.IsClosed() || t.c.PgConn().TxStatus() == 'I' {
		return
	}
	if _, err := t.c.Exec(context.WithoutCancel(t.ctx), "ROLLBACK"); err != nil {
		_ = t.c.Close(context.Background())
	}
}

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
func ExecStaged(ctx context.Context, tx bun.IDB, query string, args ...any) (sql.Result, error) {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		query = citusReturning(st, query)
	}
	return tx.ExecContext(ctx, query, args...)
}

// citusReturning adds RETURNING to an INSERT that has none, on Citus only.
// The INSERT may follow a WITH (WITH f AS (...) INSERT ... SELECT ... FROM f).
func citusReturning(st *txState, query string) string {
	up := strings.ToUpper(strings.TrimSpace(query))
	insert := strings.HasPrefix(up, "INSERT") || strings.HasPrefix(up, "WITH") && strings.Contains(up, "INSERT INTO")
	if st.citus && insert && !strings.Contains(up, "RETURNING") {
		return strings.TrimRight(strings.TrimSpace(query), ";") + " RETURNING NULL"
	}
	return query
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
