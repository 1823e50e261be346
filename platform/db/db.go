// Package db opens PostgreSQL through pgx and bun, and runs tenant work inside one
// helper, InTenant, which is what makes Row-Level Security the second lock.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/errs"
)

// Open connects to url with the pgx driver. bun formats arguments on the client, so
// the simple protocol keeps each distinct SQL text from becoming a prepared statement.
func Open(ctx context.Context, url string, maxConns int) (*bun.DB, error) {
	return OpenWith(ctx, url, Options{MaxConns: maxConns})
}

// Options tune a pool beyond its size.
type Options struct {
	MaxConns int
	// ConnectTimeout bounds one connection attempt (TCP, TLS and start-up);
	// default 5 s. A server that is frozen or unreachable costs at most this.
	ConnectTimeout time.Duration
	// Breaker, when set, guards new connections: while it is open they fail at
	// once with an error that maps to 503, instead of each request waiting for
	// its own connect timeout. Its probe should be Probe(url, ...).
	Breaker *breaker.Breaker
}

// OpenWith is Open with Options.
func OpenWith(ctx context.Context, url string, o Options) (*bun.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: parse url: %w", err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "clientele"
	cfg.RuntimeParams["timezone"] = "UTC"
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > o.ConnectTimeout {
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	var conn driver.Connector = connector{stdlib.GetConnector(*cfg)}
	if o.Breaker != nil {
		conn = guardedConnector{Connector: conn, b: o.Breaker}
	}
	sqldb := sql.OpenDB(conn)
	sqldb.SetMaxOpenConns(o.MaxConns)
	sqldb.SetMaxIdleConns(o.MaxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	sqldb.SetConnMaxLifetime(time.Hour)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqldb.PingContext(pctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: connect: %w", err)
	}
	return bun.NewDB(sqldb, pgdialect.New()), nil
}

// guardedConnector puts a breaker in front of new connections. Broken pooled
// connections are discarded by database/sql, so during an outage every request
// comes here for a fresh one and, once the breaker is open, fails at once.
type guardedConnector struct {
	driver.Connector
	b *breaker.Breaker
}

func (g guardedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := g.b.Allow(); err != nil {
		return nil, err
	}
	c, err := g.Connector.Connect(ctx)
	// A caller that gave up (its context ended) says nothing about the server.
	if ctx.Err() == nil {
		g.b.Record(err == nil || !errs.IsDBOutage(err))
	}
	return c, err
}

// Probe is a breaker probe for the database at url: one fresh connection.
func Probe(url string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		return c.Close(context.WithoutCancel(ctx))
	}
}

type txKey struct{}

// txState is the tenant transaction carried in a context, so nested calls reuse it
// and after-commit hooks run once the outermost transaction commits.
type txState struct {
	tenant uuid.UUID
	tx     bun.Tx
	conn   *bun.Conn // set by InTenantBulk: the connection the transaction runs on
	citus  bool      // the database is a Citus coordinator (see ExecStaged)
	// readOnly marks a transaction opened by InTenantRead; begin is its
	// BEGIN, to send again after a read that committed with it.
	readOnly bool
	begin    string
	after    []func(context.Context)
	// tail is set once the transaction runs on a connection whose COMMIT can
	// carry deferred writes; deferred are those writes, formatted, in order.
	tail          bool
	deferred      []string
	deferredBytes int
	// pgc is the pgx connection the transaction runs on, for ReadRows; dc is
	// the driver connection around it, which holds a BEGIN not sent yet.
	pgc *pgx.Conn
	dc  *conn
	// batches are the values Collect gathered, flushed in order before COMMIT.
	batches []*batch
	// savepoints counts the savepoints Savepoint made, for their names;
	// release is the last one, to release with the next; flushes counts
	// Flush calls.
	savepoints int
	release    string
	flushes    int
}

// Savepoint runs fn inside a savepoint of the tenant transaction in ctx. When
// fn fails, everything it did is undone and the transaction goes on: its
// statements (ROLLBACK TO SAVEPOINT), and the writes it deferred, the
// after-commit hooks it registered (events) and the values it collected. Writes
// deferred before it stay queued (or are queued again, if fn flushed them). A
// batch of independent records (an upsert of a thousand customers) saves each
// in one. It costs one round trip: the previous savepoint's release travels
// with the next one's start.
func Savepoint(ctx context.Context, fn func(ctx context.Context) error) error {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return errs.InternalErr(errors.New("db: Savepoint outside a tenant transaction"))
	}
	st.savepoints++
	name := fmt.Sprintf("clientele_sp_%d", st.savepoints)
	pre := st.deferred[:len(st.deferred):len(st.deferred)]
	preBytes, flushes := st.deferredBytes, st.flushes
	nAfter, nBatches := len(st.after), len(st.batches)
	sizes := make([]int, nBatches)
	for i, b := range st.batches {
		sizes[i] = len(b.values)
	}
	// The last savepoint's release travels with this one's start.
	q := "SAVEPOINT " + name
	if st.release != "" {
		q = "RELEASE SAVEPOINT " + st.release + "; " + q
		st.release = ""
	}
	if _, err := st.tx.ExecContext(ctx, q); err != nil {
		return err
	}
	err := fn(ctx)
	if err == nil {
		st.release = name // released with the next savepoint, or by COMMIT
		return nil
	}
	if st.flushes != flushes {
		// fn flushed: the writes queued before the savepoint ran inside it and
		// are undone with it, so they are queued again.
		st.deferred, st.deferredBytes = pre, preBytes
	} else {
		st.deferred, st.deferredBytes = st.deferred[:len(pre)], preBytes
	}
	st.after = st.after[:nAfter]
	st.batches = st.batches[:nBatches]
	for i, b := range st.batches {
		b.values = b.values[:sizes[i]]
	}
	if _, rerr := st.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
		return errors.Join(err, rerr)
	}
	// ROLLBACK TO keeps the savepoint; it is released with the next one.
	st.release = name
	return err
}

type batch struct {
	key    any
	values []any
	flush  func(ctx context.Context, tx bun.Tx, values []any) error
}

// Collect adds v to the batch named key of the tenant transaction in ctx; just
// before that transaction commits, flush gets every value collected under key,
// in order, once, in the transaction (it may Defer its write). A write per
// transaction instead of one per value: an outbox row for each of a mass
// edit's events goes out as one statement. Outside a tenant transaction it is
// an error.
func Collect(ctx context.Context, key, v any, flush func(ctx context.Context, tx bun.Tx, values []any) error) error {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return errs.InternalErr(errors.New("db: Collect outside a tenant transaction"))
	}
	for _, b := range st.batches {
		if b.key == key {
			b.values = append(b.values, v)
			return nil
		}
	}
	st.batches = append(st.batches, &batch{key: key, values: []any{v}, flush: flush})
	return nil
}

// InTenant runs fn in a transaction with app.tenant_id set transaction-locally
// (SET LOCAL, which also reaches Citus workers), so
// RLS confines every statement to the tenant even if a query forgets its filter.
// Called again with a context that already carries a transaction for the same
// tenant, it reuses that transaction. Hooks registered with AfterCommit run after a
// successful commit, with a context that no longer carries the transaction.
func InTenant(ctx context.Context, db *bun.DB, tenant uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) error {
	if tenant == uuid.Nil {
		return errs.E(errs.Internal, "tenant transaction without a tenant")
	}
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		if st.tenant != tenant {
			return errs.InternalErr(fmt.Errorf("db: nested tenant transaction for %s inside %s", tenant, st.tenant))
		}
		return fn(ctx, st.tx)
	}
	return runTenantTx(ctx, &txState{tenant: tenant, citus: IsCitus(ctx, db)}, db.RunInTx, fn)
}

// InTenantRead is InTenant for a request that only reads, such as a list: its
// transaction is READ ONLY (PostgreSQL refuses a write or a row lock in it),
// and a read through ReadRows that opens it also closes it, BEGIN, the read
// and COMMIT in one message, so that a list costs one round trip instead of
// two. A statement after that read runs in a new read-only transaction scoped
// to the same tenant. Under READ COMMITTED every statement reads its own
// snapshot anyway, and a read-only transaction holds no lock a later statement
// could rely on, so what the reads see is what one transaction would show;
// only now() can differ between them. Nested inside a transaction of the same
// tenant, it reuses that transaction, as InTenant does.
func InTenantRead(ctx context.Context, db *bun.DB, tenant uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) error {
	if tenant == uuid.Nil {
		return errs.E(errs.Internal, "tenant transaction without a tenant")
	}
	if _, ok := ctx.Value(txKey{}).(*txState); ok {
		return InTenant(ctx, db, tenant, fn)
	}
	st := &txState{tenant: tenant, citus: IsCitus(ctx, db), readOnly: true}
	return runTenantTx(ctx, st, func(ctx context.Context, _ *sql.TxOptions, f func(context.Context, bun.Tx) error) error {
		return db.RunInTx(ctx, &sql.TxOptions{ReadOnly: true}, f)
	}, fn)
}

// runTenantTx runs fn in the transaction run opens, with the tenant set and st
// carried in the context, then the after-commit hooks.
func runTenantTx(ctx context.Context, st *txState,
	run func(context.Context, *sql.TxOptions, func(context.Context, bun.Tx) error) error,
	fn func(ctx context.Context, tx bun.Tx) error) error {
	committing := false
	// BEGIN and SET LOCAL app.tenant_id travel as one message (see BeginTenantSQL).
	// fn gets the caller's ctx, not the one carrying the begin query, so a
	// transaction fn opens elsewhere is not scoped to the tenant by accident.
	err := run(withBegin(context.WithValue(ctx, tailKey{}, st), BeginTenantSQL(st.tenant)), nil, func(_ context.Context, tx bun.Tx) error {
		st.tx = tx
		tctx := context.WithValue(ctx, txKey{}, st)
		err := fn(tctx, tx)
		// Batches flush in order; a flush may Collect again (a later batch).
		for i := 0; err == nil && i < len(st.batches); i++ {
			b := st.batches[i]
			err = b.flush(tctx, tx, b.values)
		}
		committing = err == nil
		return err
	})
	if err != nil {
		if committing && errs.IsDBOutage(err) {
			// The connection broke at COMMIT: the server may have applied it.
			return errs.DownUncertain(err)
		}
		return err
	}
	for _, h := range st.after {
		h(ctx)
	}
	return nil
}

// InTenantBulk is InTenant on a connection of its own, so that CopyFrom can
// stream rows with COPY into the same transaction. COPY into a table under RLS is
// refused by PostgreSQL, so bulk loaders COPY into a temporary staging table (no
// RLS: it is private to the session) and move the rows with INSERT ... SELECT,
// which RLS checks like any other insert.
func InTenantBulk(ctx context.Context, db *bun.DB, tenant uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) error {
	if tenant == uuid.Nil {
		return errs.E(errs.Internal, "tenant transaction without a tenant")
	}
	if _, ok := ctx.Value(txKey{}).(*txState); ok {
		return errs.InternalErr(errors.New("db: a bulk transaction cannot nest inside another"))
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return runTenantTx(ctx, &txState{tenant: tenant, conn: &conn, citus: IsCitus(ctx, db)}, conn.RunInTx, fn)
}

// CopyFrom streams rows with COPY into table, inside the transaction that
// InTenantBulk carries in ctx. The table should be a temporary staging table:
// PostgreSQL refuses COPY into a table with row-level security.
func CopyFrom(ctx context.Context, table string, cols []string, rows pgx.CopyFromSource) (int64, error) {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok || st.conn == nil {
		return 0, errs.InternalErr(errors.New("db: CopyFrom outside a transaction opened by InTenantBulk"))
	}
	var n int64
	err := st.conn.Raw(func(dc any) error {
		c, ok := dc.(pgxConn)
		if !ok {
			return fmt.Errorf("db: CopyFrom needs the pgx driver, not %T", dc)
		}
		if bc, ok := dc.(*conn); ok {
			if err := bc.beginNow(ctx); err != nil {
				return err
			}
		}
		var err error
		n, err = c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, rows)
		return err
	})
	return n, err
}

// TenantOf reports the tenant of the transaction carried in ctx, if any.
func TenantOf(ctx context.Context) (uuid.UUID, bool) {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		return st.tenant, true
	}
	return uuid.Nil, false
}

// AfterCommit runs h once the tenant transaction in ctx commits; it never runs if
// the transaction rolls back. Outside a transaction h runs at once.
func AfterCommit(ctx context.Context, h func(context.Context)) {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		st.after = append(st.after, h)
		return
	}
	h(ctx)
}

// ExecOne runs a statement that must touch a row, such as a delete or an update
// of one record by id; when it touches none it returns sql.ErrNoRows, which
// Classify turns into NotFound.
func ExecOne(ctx context.Context, tx bun.IDB, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sql.ErrNoRows
	}
	return nil
}

// Postgres error codes that map to client errors.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgNotNullViolation    = "23502"
	pgRLSViolation        = "42501"
	pgInvalidText         = "22P02"
	pgQueryCanceled       = "57014"
)

// PgCode returns the SQLSTATE of a Postgres error, or "".
func PgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// IsUniqueViolation reports a unique-constraint failure, optionally of one constraint.
func IsUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != pgUniqueViolation {
		return false
	}
	if constraint == "" {
		return true
	}
	name := pe.ConstraintName
	if name == "" {
		// Citus passes on a worker's error without its fields; the message
		// names the constraint.
		if m := constraintInMessage.FindStringSubmatch(pe.Message); m != nil {
			name = m[1]
		}
	}
	return sameConstraint(name, constraint)
}

var constraintInMessage = regexp.MustCompile(`unique constraint "([^"]+)"`)

// sameConstraint reports whether got, as an error names it, is the constraint
// want. On Citus the error comes from a shard, whose constraints carry the
// shard's id: "sla_policies_name_key_102243" is "sla_policies_name_key".
func sameConstraint(got, want string) bool {
	if got == want {
		return true
	}
	id, ok := strings.CutPrefix(got, want+"_")
	if !ok || id == "" {
		return false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Classify maps well-known database failures to client errors; everything else is
// Internal. sql.ErrNoRows becomes NotFound with what as the noun.
func Classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Wrap(errs.NotFound, err, "%s not found", what)
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return e
	}
	switch PgCode(err) {
	case pgUniqueViolation:
		return errs.Wrap(errs.Conflict, err, "%s already exists", what)
	case pgForeignKeyViolation:
		return errs.Wrap(errs.Invalid, err, "%s refers to a record that does not exist", what)
	case pgRLSViolation:
		return errs.Wrap(errs.NotFound, err, "%s not found", what)
	case pgQueryCanceled:
		return errs.Wrap(errs.Timeout, err, "The request took too long and was stopped.")
	}
	return errs.From(err)
}
