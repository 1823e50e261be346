// Package backup writes one company (tenant) to a self-checking archive and
// restores such an archive into a new company.
//
// An archive is a zip file:
//
//	tables/<table>.copy   every row of the company in one tenant table, in
//	                      PostgreSQL's COPY text format, ordered by primary key
//	files/<key>           every file of the company in the blob store, keyed
//	                      relative to its tenants/<id>/ prefix
//	manifest.json         written last: format version, schema version, the
//	                      company's settings, each table's columns and row count,
//	                      and the size and SHA-256 of every other entry
//
// Tables are found in the catalogue (every table with a tenant_id column), so a
// new module's tables are archived with no entry anywhere. Rows go from COPY
// ... TO STDOUT straight into the compressor and files from the blob reader,
// so an export holds one buffer of each, never a table or a file.
package backup

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gocloud.dev/blob"
)

// Format names the archive kind in the manifest.
const Format = "clientele-tenant-archive"

// FormatVersion is the version of the archive layout this code writes; it
// reads archives of this version and older.
const FormatVersion = 1

// ManifestName is the manifest's entry, the last one of the archive.
const ManifestName = "manifest.json"

// Manifest describes an archive and checks every other entry of it.
type Manifest struct {
	Format        string    `json:"format"`
	Version       int       `json:"version"`
	SchemaVersion string    `json:"schema_version"` // the newest migration applied where the archive was made
	CreatedAt     time.Time `json:"created_at"`
	Tenant        Company   `json:"tenant"`
	Tables        []Table   `json:"tables"`
	Files         []File    `json:"files"`
}

// Company is the company's own row: who it was and its settings.
type Company struct {
	ID        uuid.UUID `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"time_zone"`
	Locale    string    `json:"locale"`
	Currency  string    `json:"currency"`
	WeekStart int       `json:"week_start"`
}

// Table is one tenant table's entry.
type Table struct {
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
	Rows    int64    `json:"rows"`
	Entry   string   `json:"entry"`
	Bytes   int64    `json:"bytes"`
	SHA256  string   `json:"sha256"`
}

// Column is a column of a table as the archive has it.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// File is one file of the blob store.
type File struct {
	Key    string `json:"key"` // relative to tenants/<id>/
	Entry  string `json:"entry"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// tableInfo is what the catalogue says of a tenant table.
type tableInfo struct {
	Name    string
	Columns []Column
	PK      []string
}

// TenantPrefix is the blob-store prefix of a company's files.
func TenantPrefix(tenant uuid.UUID) string { return "tenants/" + tenant.String() + "/" }

// tenantTables reads the tenant tables of the current schema from the
// catalogue, parents before the tables that reference them.
func tenantTables(ctx context.Context, c *pgx.Conn) ([]tableInfo, error) {
	rows, err := c.Query(ctx, `SELECT cl.relname,
			array_agg(a.attname::text ORDER BY a.attnum), array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum),
			coalesce((SELECT array_agg(pa.attname::text ORDER BY k.ord) FROM pg_constraint pk
				CROSS JOIN LATERAL unnest(pk.conkey) WITH ORDINALITY AS k(attnum, ord)
				JOIN pg_attribute pa ON pa.attrelid = pk.conrelid AND pa.attnum = k.attnum
				WHERE pk.conrelid = cl.oid AND pk.contype = 'p'), '{}')
		FROM pg_class cl
		JOIN pg_namespace n ON n.oid = cl.relnamespace
		JOIN pg_attribute a ON a.attrelid = cl.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		WHERE n.nspname = current_schema() AND cl.relkind IN ('r', 'p') AND NOT cl.relispartition AND cl.relname <> 'tenants'
			AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = cl.oid AND t.attname = 'tenant_id' AND NOT t.attisdropped)
		GROUP BY cl.oid, cl.relname ORDER BY cl.relname`)
	if err != nil {
		return nil, err
	}
	var tables []tableInfo
	for rows.Next() {
		var t tableInfo
		var names, types []string
		if err := rows.Scan(&t.Name, &names, &types, &t.PK); err != nil {
			rows.Close()
			return nil, err
		}
		for i := range names {
			t.Columns = append(t.Columns, Column{Name: names[i], Type: types[i]})
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	erows, err := c.Query(ctx, `SELECT DISTINCT ch.relname, pa.relname FROM pg_constraint k
		JOIN pg_class ch ON ch.oid = k.conrelid JOIN pg_class pa ON pa.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = ch.relnamespace
		WHERE k.contype = 'f' AND n.nspname = current_schema() AND ch.oid <> pa.oid AND NOT ch.relispartition AND NOT pa.relispartition`)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	for erows.Next() {
		var child, parent string
		if err := erows.Scan(&child, &parent); err != nil {
			erows.Close()
			return nil, err
		}
		parents[child] = append(parents[child], parent)
	}
	if err := erows.Err(); err != nil {
		return nil, err
	}
	return parentsFirst(tables, parents), nil
}

// parentsFirst orders tables so that each comes after every table it
// references (a depth-first walk, in name order; a cycle is broken where it
// is met). The company's data key comes first of all: restoring re-seals
// values with it.
func parentsFirst(tables []tableInfo, parents map[string][]string) []tableInfo {
	byName := map[string]tableInfo{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	seen := map[string]bool{}
	var out []tableInfo
	var visit func(string)
	visit = func(name string) {
		t, ok := byName[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		ps := append([]string(nil), parents[name]...)
		sort.Strings(ps)
		for _, p := range ps {
			visit(p)
		}
		out = append(out, t)
	}
	visit("tenant_keys")
	for _, t := range tables {
		visit(t.Name)
	}
	return out
}

// schemaVersion is the newest migration applied to the database.
func schemaVersion(ctx context.Context, c *pgx.Conn) (string, error) {
	var v *string
	if err := c.QueryRow(ctx, "SELECT max(name) FROM bun_migrations").Scan(&v); err != nil {
		return "", fmt.Errorf("backup: schema version: %w", err)
	}
	if v == nil {
		return "", errors.New("backup: the database has no migrations applied")
	}
	return *v, nil
}

// checked counts and hashes what passes through it.
type checked struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newChecked(w io.Writer) *checked { return &checked{w: w, h: sha256.New()} }

func (c *checked) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func (c *checked) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// Export writes the company's archive to w. c must be a connection that is in
// no transaction: Export reads every table in one repeatable-read, read-only
// transaction (one snapshot) with app.tenant_id set, so under the app role
// row-level security holds it to the company too. files may be nil when the
// installation keeps no files.
func Export(ctx context.Context, c *pgx.Conn, files *blob.Bucket, tenant uuid.UUID, w io.Writer) (*Manifest, error) {
	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	if _, err := tx.Exec(ctx, "SET LOCAL app.tenant_id = '"+tenant.String()+"'"); err != nil {
		return nil, err
	}
	m := &Manifest{Format: Format, Version: FormatVersion, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	err = tx.QueryRow(ctx, "SELECT id, slug, name, time_zone, locale, currency, week_start FROM tenants WHERE id = $1", tenant).
		Scan(&m.Tenant.ID, &m.Tenant.Slug, &m.Tenant.Name, &m.Tenant.TimeZone, &m.Tenant.Locale, &m.Tenant.Currency, &m.Tenant.WeekStart)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("backup: no company with id %s", tenant)
	}
	if err != nil {
		return nil, err
	}
	if m.SchemaVersion, err = schemaVersion(ctx, c); err != nil {
		return nil, err
	}
	tables, err := tenantTables(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("backup: read the catalogue: %w", err)
	}
	zw := zip.NewWriter(w)
	for _, t := range tables {
		entry := "tables/" + t.Name + ".copy"
		ew, err := zw.CreateHeader(&zip.FileHeader{Name: entry, Method: zip.Deflate, Modified: m.CreatedAt})
		if err != nil {
			return nil, err
		}
		cw := newChecked(ew)
		cols := make([]string, len(t.Columns))
		for i, col := range t.Columns {
			cols[i] = pgx.Identifier{col.Name}.Sanitize()
		}
		order := make([]string, len(t.PK))
		for i, k := range t.PK {
			order[i] = pgx.Identifier{k}.Sanitize()
		}
		if len(order) == 0 {
			order = cols
		}
		q := fmt.Sprintf("COPY (SELECT %s FROM %s WHERE tenant_id = '%s' ORDER BY %s) TO STDOUT",
			strings.Join(cols, ", "), pgx.Identifier{t.Name}.Sanitize(), tenant, strings.Join(order, ", "))
		tag, err := c.PgConn().CopyTo(ctx, cw, q)
		if err != nil {
			return nil, fmt.Errorf("backup: export %s: %w", t.Name, err)
		}
		m.Tables = append(m.Tables, Table{Name: t.Name, Columns: t.Columns, Rows: tag.RowsAffected(), Entry: entry, Bytes: cw.n, SHA256: cw.sum()})
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	if files != nil {
		prefix := TenantPrefix(tenant)
		it := files.List(&blob.ListOptions{Prefix: prefix})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("backup: list files: %w", err)
			}
			if obj.IsDir {
				continue
			}
			rel := strings.TrimPrefix(obj.Key, prefix)
			entry := "files/" + rel
			ew, err := zw.CreateHeader(&zip.FileHeader{Name: entry, Method: zip.Deflate, Modified: m.CreatedAt})
			if err != nil {
				return nil, err
			}
			rd, err := files.NewReader(ctx, obj.Key, nil)
			if err != nil {
				return nil, fmt.Errorf("backup: read file: %w", err)
			}
			cw := newChecked(ew)
			_, err = io.Copy(cw, rd)
			rd.Close()
			if err != nil {
				return nil, fmt.Errorf("backup: copy file: %w", err)
			}
			m.Files = append(m.Files, File{Key: rel, Entry: entry, Bytes: cw.n, SHA256: cw.sum()})
		}
	}
	mw, err := zw.CreateHeader(&zip.FileHeader{Name: ManifestName, Method: zip.Deflate, Modified: m.CreatedAt})
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(mw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return m, nil
}
