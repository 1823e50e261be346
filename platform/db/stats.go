package db

import (
	"context"
	"log/slog"

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
