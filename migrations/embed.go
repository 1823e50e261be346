// Package migrations embeds the SQL migrations of every owner. Each owner (platform,
// tenants, profiles, ...) has its own folder; file names start with a 14-digit UTC
// timestamp that orders them across folders, e.g. 20261122000100_core.tx.up.sql.
package migrations

import "embed"

// FS holds every migration, one folder per owner.
//
//go:embed */*.sql
var FS embed.FS
