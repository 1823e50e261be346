package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// maxDeferred bounds the bytes of writes one transaction may defer to its
// commit; past it, the queued writes are sent at once and queueing goes on.
const maxDeferred = 4 << 20

// Query is a statement built with bun (NewRaw, NewInsert...) that can print
// itself with its arguments in place.
type Query interface {
	String() string
	Exec(ctx context.Context, dest ...any) (sql.Result, error)
}

// Defer queues a write that nothing later in the same transaction reads back
// (an audit row, a history row, a record's index and search rows): it is sent
// with COMMIT, in one message, so it costs no round trip of its own. Deferred
// writes run in order, after every statement the transaction sent itself; if
// one fails, PostgreSQL skips the rest, the transaction is rolled back and the
// commit returns the error. Outside a tenant transaction, or on a connection
// that cannot carry it, the write runs at once. query and args are as for
// bun's NewRaw.
func Defer(ctx context.Context, tx bun.IDB, query string, args ...any) error {
	return DeferQuery(ctx, tx, tx.NewRaw(query, args...))
}

// DeferQuery is Defer for a statement built with bun, such as an insert of a
// model.
func DeferQuery(ctx context.Context, tx bun.IDB, q Query) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("db: deferred statement: %v", r)
		}
	}()
	st, ok := ctx.Value(txKey{}).(*txState)
	if ok && st.citus && st.tx.Tx != nil {
		// An INSERT ... SELECT (from unnest, VALUES, a staging table) moves its
		// rows with COPY on Citus unless it has RETURNING; see ExecStaged.
		text := citusReturning(st, q.String())
		if st.tail {
			return queue(ctx, st, text)
		}
		_, err := st.tx.Tx.ExecContext(ctx, text)
		return err
	}
	if !ok || !st.tail {
		_, err := q.Exec(ctx)
		return err
	}
	return queue(ctx, st, q.String())
}

func queue(ctx context.Context, st *txState, text string) error {
	st.deferred = append(st.deferred, text)
	st.deferredBytes += len(text)
	if st.deferredBytes > maxDeferred {
		return Flush(ctx)
	}
	return nil
}

// Flush sends the writes deferred so far, in one message, before the
// statements that follow: for a transaction that must read them back.
func Flush(ctx context.Context) error {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok || len(st.deferred) == 0 {
		return nil
	}
	q := strings.Join(st.deferred, ";\n")
	st.deferred, st.deferredBytes = nil, 0
	st.flushes++
	// Through database/sql directly: the text is formatted already, and bun
	// would take a question mark inside a string literal for a placeholder.
	_, err := st.tx.Tx.ExecContext(ctx, q)
	return err
}
