package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
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
