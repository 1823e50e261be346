package db

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// RefreshStats brings the planner statistics of tenant tables up to date after
// a bulk write (an import, a revert, a conversion of a custom field), through
// clientele_refresh_stats: ANALYZE needs the table's owner, and the app role is
// not. Without it a company that has just loaded a million rows into a shared
// table is, to the planner, a company with almost none. Statistics are an
// optimisation, so a failure is logged and the caller goes on; a table whose lock
// was not had within two seconds is skipped, and the next bulk write or
// autovacuum refreshes it.
func RefreshStats(ctx context.Context, d bun.IDB, log *slog.Logger, tables ...string) {
	for _, t := range tables {
		var done bool
		if err := d.NewRaw("SELECT clientele_refresh_stats(?)", t).Scan(ctx, &done); err != nil {
			log.WarnContext(ctx, "refresh planner statistics", "table", t, "error", err.Error())
		} else if !done {
			log.InfoContext(ctx, "planner statistics not refreshed: the table was locked", "table", t)
		}
	}
}

// The spacing of background refreshes (RefreshStatsSoon): the next refresh of
// the same tables waits statsSpacing times as long as the last one took,
// within these bounds.
const (
	statsSpacing    = 50
	statsMinSpacing = 5 * time.Second
	statsMaxSpacing = 5 * time.Minute
)

// statsKey names one set of tables of one database.
type statsKey struct {
	d      *bun.DB
	tables string
}

// statsRun is where a set of tables stands: a refresh running or waiting its
// turn, one more asked for meanwhile, and the earliest time of the next.
type statsRun struct {
	busy, again bool
	next        time.Time
}

var (
	statsMu   sync.Mutex
	statsRuns = map[statsKey]*statsRun{}
)

// RefreshStatsSoon refreshes the planner statistics of tables in the
// background, after a write that grew a company by many rows in one request
// (an upsert of a batch of records). Autovacuum analyses a table only after a
// tenth of it changed, so in a table shared by many companies a young one
// that has just written its first thousand rows stays, to the planner, a
// company of one row: its lists and reports get plans that read the whole
// company once per row. At most one refresh of the same tables runs at a time
// in this process, and the next starts no sooner than fifty times as long as
// the last took after it (5 s at least, 5 minutes at most), so a stream of
// such writes costs the database about 2% of one connection; one asked for
// meanwhile runs when that time is up. It does not wait for the refresh.
func RefreshStatsSoon(d *bun.DB, log *slog.Logger, tables ...string) {
	key := statsKey{d: d, tables: strings.Join(tables, ",")}
	statsMu.Lock()
	r := statsRuns[key]
	if r == nil {
		r = &statsRun{}
		statsRuns[key] = r
	}
	if r.busy {
		r.again = true
		statsMu.Unlock()
		return
	}
	r.busy = true
	wait := time.Until(r.next)
	statsMu.Unlock()
	go func() {
		for {
			if wait > 0 {
				time.Sleep(wait)
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			RefreshStats(ctx, d, log, tables...)
			cancel()
			took := time.Since(start)
			statsMu.Lock()
			r.next = time.Now().Add(min(max(statsSpacing*took, statsMinSpacing), statsMaxSpacing))
			if !r.again {
				r.busy = false
				statsMu.Unlock()
				return
			}
			r.again = false
			wait = time.Until(r.next)
			statsMu.Unlock()
		}
	}()
}
