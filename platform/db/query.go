package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
)

// ReadRows runs a read in the tenant transaction that ctx carries, straight on the
// transaction's pgx connection, and calls scan once per row. The rows scan into
// typed Go values without database/sql's per-value conversion and bun's
// reflection, which for a list of fifty records is most of the time the request
// spends in Go. It is for hot read paths whose row shape is written by hand
// (see profiles' customer list); everything else reads through bun.
//
// q is rendered with its values in place, as bun renders every statement, and
// sent in the simple protocol: one round trip, like the transaction's others.
func ReadRows(ctx context.Context, q *bun.SelectQuery, scan func(pgx.Rows) error) error {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok || st.pgc == nil {
		return errs.InternalErr(errors.New("db: ReadRows outside a tenant transaction opened by InTenant"))
	}
	query, err := q.AppendQuery(q.DB().QueryGen(), nil)
	if err != nil {
		return err
	}
	if st.dc != nil && st.dc.pending != "" {
		if !st.closesWithRead() {
			return readWithBegin(ctx, st.pgc, st.dc.takeBegin()+string(query), scan)
		}
		// A read-only transaction's first statement (see InTenantRead):
		// BEGIN, the read and COMMIT travel as one message. Once the server
		// is outside a transaction again (the read succeeded, whatever the
		// scan made of its rows), the next statement, if any, begins anew.
		err := readWithBegin(ctx, st.pgc, st.dc.takeBegin()+string(query)+";\nCOMMIT", scan)
		if !st.pgc.IsClosed() && st.pgc.PgConn().TxStatus() == 'I' {
			st.dc.pending = st.begin
		}
		return err
	}
	rows, err := st.pgc.Query(ctx, string(query))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// closesWithRead reports whether a read that carries the transaction's BEGIN
// may carry its COMMIT too: the transaction is read-only and has nothing
// queued for its commit.
func (st *txState) closesWithRead() bool {
	return st.readOnly && st.begin != "" && len(st.deferred) == 0 && len(st.batches) == 0 && st.release == ""
}

// readWithBegin sends the transaction's BEGIN and the read in one message and
// scans the rows of its last result (pgx's Query reads only a message's first).
func readWithBegin(ctx context.Context, pc *pgx.Conn, query string, scan func(pgx.Rows) error) error {
	mrr := pc.PgConn().Exec(ctx, query)
	var scanErr error
	for mrr.NextResult() {
		rr := mrr.ResultReader()
		if len(rr.FieldDescriptions()) == 0 {
			if _, err := rr.Close(); err != nil {
				_ = mrr.Close()
				return err
			}
			continue
		}
		r := &resultRows{rr: rr, c: pc}
		for scanErr == nil && rr.NextRow() {
			scanErr = scan(r)
		}
		// Close reads the rest of the result, so the connection stays usable
		// after a scan error.
		if _, err := rr.Close(); err != nil && scanErr == nil {
			scanErr = err
		}
	}
	if err := mrr.Close(); err != nil {
		return err
	}
	return scanErr
}

// resultRows shows the current row of a pgconn result as pgx.Rows to a scan
// function, which reads RawValues and FieldDescriptions (see TextRow).
type resultRows struct {
	rr *pgconn.ResultReader
	c  *pgx.Conn
}

func (r *resultRows) Close()                                       {}
func (r *resultRows) Err() error                                   { return nil }
func (r *resultRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r *resultRows) FieldDescriptions() []pgconn.FieldDescription { return r.rr.FieldDescriptions() }
func (r *resultRows) Next() bool                                   { return false }
func (r *resultRows) RawValues() [][]byte                          { return r.rr.Values() }
func (r *resultRows) Conn() *pgx.Conn                              { return r.c }
func (r *resultRows) TypeMap() *pgtype.Map                         { return r.c.TypeMap() }

func (r *resultRows) Scan(dest ...any) error {
	return pgx.ScanRow(r.c.TypeMap(), r.rr.FieldDescriptions(), r.rr.Values(), dest...)
}

func (r *resultRows) Values() ([]any, error) {
	fds := r.rr.FieldDescriptions()
	vals := r.rr.Values()
	out := make([]any, len(vals))
	for i, v := range vals {
		if v == nil {
			continue
		}
		var x any
		if err := r.c.TypeMap().Scan(fds[i].DataTypeOID, fds[i].Format, v, &x); err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}
