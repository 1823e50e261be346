package backup

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gocloud.dev/blob"
)

// NotRestored are the tables an archive keeps but a restore leaves out, with
// the reason. Everything else is restored row for row.
var NotRestored = map[string]string{
	"api_keys":         "an API key names its company inside its secret, so a restored key could never sign in to the new company; mint new keys",
	"idempotency_keys": "a 24-hour replay cache of responses to the original company's requests",
}

// ErrArchive marks an archive that is refused: not an archive, truncated,
// tampered with, or made by a newer format or schema.
var ErrArchive = errors.New("backup: archive refused")

func refuse(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrArchive, fmt.Sprintf(format, a...))
}

// Open reads an archive's manifest and checks the archive against it before
// anything is written: the format version, every entry's size and SHA-256
// (each entry is read through once), and that no entry is missing or extra.
// It does not look at the database; Import checks the schema.
func Open(r io.ReaderAt, size int64) (*zip.Reader, *Manifest, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, refuse("not a readable zip archive (truncated or not an archive): %v", err)
	}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := entries[f.Name]; dup {
			return nil, nil, refuse("entry %q appears twice", f.Name)
		}
		entries[f.Name] = f
	}
	mf, ok := entries[ManifestName]
	if !ok {
		return nil, nil, refuse("no %s", ManifestName)
	}
	var m Manifest
	rc, err := mf.Open()
	if err != nil {
		return nil, nil, refuse("manifest: %v", err)
	}
	err = json.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(&m)
	rc.Close()
	if err != nil {
		return nil, nil, refuse("manifest is not valid JSON: %v", err)
	}
	if m.Format != Format {
		return nil, nil, refuse("format %q is not %q", m.Format, Format)
	}
	if m.Version < 1 || m.Version > FormatVersion {
		return nil, nil, refuse("format version %d is newer than this program reads (%d): use a newer clientele", m.Version, FormatVersion)
	}
	if m.Tenant.ID == uuid.Nil || m.SchemaVersion == "" {
		return nil, nil, refuse("manifest names no company or no schema version")
	}
	want := map[string]bool{ManifestName: true}
	check := func(entry string, bytes int64, sum string) error {
		if want[entry] {
			return refuse("entry %q is listed twice", entry)
		}
		want[entry] = true
		f, ok := entries[entry]
		if !ok {
			return refuse("entry %q is missing", entry)
		}
		got, n, err := hashEntry(f, bytes)
		if err != nil {
			return refuse("entry %q does not read back: %v", entry, err)
		}
		if n != bytes || got != sum {
			return refuse("entry %q does not match its checksum in the manifest (tampered or damaged)", entry)
		}
		return nil
	}
	for _, t := range m.Tables {
		if !identRe.MatchString(t.Name) || t.Entry != "tables/"+t.Name+".copy" {
			return nil, nil, refuse("table entry %q", t.Name)
		}
		for _, c := range t.Columns {
			if !identRe.MatchString(c.Name) {
				return nil, nil, refuse("column %q of %s", c.Name, t.Name)
			}
		}
		if err := check(t.Entry, t.Bytes, t.SHA256); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range m.Files {
		if !safeKey(f.Key) || f.Entry != "files/"+f.Key {
			return nil, nil, refuse("file key %q", f.Key)
		}
		if err := check(f.Entry, f.Bytes, f.SHA256); err != nil {
			return nil, nil, err
		}
	}
	for name := range entries {
		if !want[name] {
			return nil, nil, refuse("entry %q is not in the manifest", name)
		}
	}
	return zr, &m, nil
}

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// safeKey refuses keys that would climb out of the company's prefix.
func safeKey(k string) bool {
	if k == "" || strings.HasPrefix(k, "/") || strings.Contains(k, "\\") || path.Clean(k) != k {
		return false
	}
	for _, part := range strings.Split(k, "/") {
		if part == ".." || part == "." {
			return false
		}
	}
	return true
}

// hashEntry hashes an entry, reading at most one byte past the size the
// manifest gives it: an entry that inflates past it (a zip bomb) is refused
// by the size check after reading no more than that.
func hashEntry(f *zip.File, size int64) (string, int64, error) {
	rc, err := f.Open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(rc, max(size, 0)+1))
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// Rekey moves the company's data key to a new company id: it returns the key
// wrapped for to and a function that re-seals a value sealed for from.
// fields.RekeyTenant with the installation's master key is the one to pass.
type Rekey func(wrapped []byte, from, to uuid.UUID) ([]byte, func(string) (string, error), error)

// Options are a restore's choices.
type Options struct {
	Slug string // the new company's address; it must be free
	Name string // the new company's name; the archive's when empty
	// Rekey is needed when the archive holds sealed (sensitive) values.
	Rekey Rekey
}

// Result is what a restore made.
type Result struct {
	TenantID uuid.UUID
	Tables   []string // the tables rows were restored into, for ANALYZE
	Rows     int64
	Files    int
}

var sealedRe = regexp.MustCompile(`sealed:v1:[A-Za-z0-9+/]+`)

// Import restores a checked archive (from Open) into a new company with a new
// id, in one transaction on c: a refused archive or any failure leaves no
// company, no row and no file behind. Row ids are kept: every key of a tenant
// table leads with tenant_id, so the same id under another company never
// collides, and every reference to a row (foreign keys, ids inside JSON,
// text and links) stays right with no list of where ids hide. The old company
// id is replaced by the new one in every uuid, text and JSON column, which
// also moves blob keys (tenants/<id>/...) to the new prefix; files are copied
// there. Jobs that had not finished are restored canceled, so nothing the old
// company queued runs again in the new one. c should connect as the app role:
// rows go through row-level security as the new company.
func Import(ctx context.Context, c *pgx.Conn, files *blob.Bucket, zr *zip.Reader, m *Manifest, o Options) (res *Result, err error) {
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
	}
	dbVersion, err := schemaVersion(ctx, c)
	if err != nil {
		return nil, err
	}
	if m.SchemaVersion > dbVersion {
		return nil, refuse("it was made at schema version %s, newer than this database's %s: run `clientele migrate` with a newer clientele first", m.SchemaVersion, dbVersion)
	}
	tables, err := tenantTables(ctx, c)
	if err != nil {
		return nil, err
	}
	byName := map[string]tableInfo{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	inArchive := map[string]Table{}
	for _, t := range m.Tables {
		dbt, ok := byName[t.Name]
		if !ok {
			return nil, refuse("table %s is not in this database's schema", t.Name)
		}
		types := map[string]string{}
		for _, c := range dbt.Columns {
			types[c.Name] = c.Type
		}
		for _, col := range t.Columns {
			if ty, ok := types[col.Name]; !ok || ty != col.Type {
				return nil, refuse("column %s.%s (%s) is not in this database's schema", t.Name, col.Name, col.Type)
			}
		}
		inArchive[t.Name] = t
	}
	if m.Files != nil && files == nil && len(m.Files) > 0 {
		return nil, errors.New("backup: the archive has files and no file store is configured")
	}
	name := o.Name
	if name == "" {
		name = m.Tenant.Name
	}
	old, nu := m.Tenant.ID, uuid.New()
	res = &Result{TenantID: nu}

	var written []string
	defer func() {
		if err != nil && files != nil {
			// The rows are rolled back; the files copied so far go too.
			for _, k := range written {
				_ = files.Delete(context.WithoutCancel(ctx), k)
			}
		}
	}()

	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it does nothing
	if _, err := tx.Exec(ctx, "SET LOCAL app.tenant_id = '"+nu.String()+"'"); err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO tenants (id, slug, name, time_zone, locale, currency, week_start) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		nu, o.Slug, name, m.Tenant.TimeZone, m.Tenant.Locale, m.Tenant.Currency, m.Tenant.WeekStart)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return nil, fmt.Errorf("backup: a company with the address %q exists already; restore under a new one", o.Slug)
	}
	if err != nil {
		return nil, fmt.Errorf("backup: create the company: %w", err)
	}

	var reseal func(string) (string, error)
	for _, dbt := range tables {
		t, ok := inArchive[dbt.Name]
		if !ok || NotRestored[t.Name] != "" {
			continue
		}
		n, err := restoreTable(ctx, tx, entries[t.Entry], t, old, nu)
		if err != nil {
			return nil, err
		}
		if t.Name == "tenant_keys" && n > 0 {
			if reseal, err = rekeyStage(ctx, tx, o.Rekey, old, nu); err != nil {
				return nil, err
			}
		}
		if reseal != nil {
			if err := resealStage(ctx, tx, t, reseal); err != nil {
				return nil, fmt.Errorf("backup: re-seal %s: %w", t.Name, err)
			}
		}
		if err := moveStage(ctx, tx, t, dbt, old, nu); err != nil {
			return nil, err
		}
		res.Rows += n
		res.Tables = append(res.Tables, t.Name)
	}

	for _, f := range m.Files {
		key := TenantPrefix(nu) + f.Key
		written = append(written, key)
		if err := restoreFile(ctx, files, entries[f.Entry], key, f); err != nil {
			return nil, err
		}
		res.Files++
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

const stage = "backup_stage"

// simple sends a statement on the staging table unprepared: the stage is made
// anew for each table, so a plan cached for one would not fit the next.
const simple = pgx.QueryExecModeSimpleProtocol

// restoreTable streams one table's entry into a private staging table (COPY
// into a table under row-level security is refused), checking its checksum
// and row count on the way: an archive changed since Open fails here.
func restoreTable(ctx context.Context, tx pgx.Tx, f *zip.File, t Table, old, nu uuid.UUID) (int64, error) {
	if _, err := tx.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s; CREATE TEMP TABLE %s (LIKE %s INCLUDING DEFAULTS) ON COMMIT DROP; ALTER TABLE %s ADD COLUMN backup_row bigserial",
		stage, stage, pgx.Identifier{t.Name}.Sanitize(), stage)); err != nil {
		return 0, fmt.Errorf("backup: stage %s: %w", t.Name, err)
	}
	rc, err := f.Open()
	if err != nil {
		return 0, refuse("entry %s: %v", t.Entry, err)
	}
	defer rc.Close()
	h := sha256.New()
	cols := columnList(t.Columns)
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, io.TeeReader(io.LimitReader(rc, t.Bytes+1), h), fmt.Sprintf("COPY %s (%s) FROM STDIN", stage, cols))
	if err != nil {
		return 0, fmt.Errorf("backup: load %s: %w", t.Name, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != t.SHA256 || tag.RowsAffected() != t.Rows {
		return 0, refuse("entry %s changed since it was checked", t.Entry)
	}
	return tag.RowsAffected(), nil
}

// rekeyStage re-wraps the staged data key for the new company.
func rekeyStage(ctx context.Context, tx pgx.Tx, rekey Rekey, old, nu uuid.UUID) (func(string) (string, error), error) {
	if rekey == nil {
		return nil, errors.New("backup: the archive holds the company's data key and no master key was given to move it")
	}
	var wrapped []byte
	if err := tx.QueryRow(ctx, "SELECT wrapped_key FROM "+stage, simple).Scan(&wrapped); err != nil {
		return nil, err
	}
	rewrapped, reseal, err := rekey(wrapped, old, nu)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE "+stage+" SET wrapped_key = $1", simple, rewrapped); err != nil {
		return nil, err
	}
	return reseal, nil
}

// resealStage re-seals, in the staged rows, every sensitive value sealed for
// the old company, a batch of rows at a time.
func resealStage(ctx context.Context, tx pgx.Tx, t Table, reseal func(string) (string, error)) error {
	for _, col := range t.Columns {
		if col.Type != "jsonb" && col.Type != "text" && col.Type != "json" {
			continue
		}
		id := pgx.Identifier{col.Name}.Sanitize()
		var last int64
		for {
			rows, err := tx.Query(ctx, fmt.Sprintf("SELECT backup_row, %s::text FROM %s WHERE backup_row > $1 AND %s::text LIKE '%%sealed:v1:%%' ORDER BY backup_row LIMIT 500", id, stage, id), simple, last)
			if err != nil {
				return err
			}
			type row struct {
				n int64
				v string
			}
			var batch []row
			for rows.Next() {
				var r row
				if err := rows.Scan(&r.n, &r.v); err != nil {
					rows.Close()
					return err
				}
				batch = append(batch, r)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			for _, r := range batch {
				var ferr error
				v := sealedRe.ReplaceAllStringFunc(r.v, func(s string) string {
					out, err := reseal(s)
					if err != nil && ferr == nil {
						ferr = err
					}
					return out
				})
				if ferr != nil {
					return ferr
				}
				if _, err := tx.Exec(ctx, fmt.Sprintf("UPDATE %s SET %s = $1::text::%s WHERE backup_row = $2", stage, id, col.Type), simple, v, r.n); err != nil {
					return err
				}
			}
			if len(batch) < 500 {
				break
			}
			last = batch[len(batch)-1].n
		}
	}
	return nil
}

// moveStage moves the staged rows into the table as the new company,
// replacing the old company id wherever it occurs.
func moveStage(ctx context.Context, tx pgx.Tx, t Table, dbt tableInfo, old, nu uuid.UUID) error {
	o, n := old.String(), nu.String()
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		id := pgx.Identifier{c.Name}.Sanitize()
		switch {
		case c.Name == "tenant_id":
			exprs[i] = "'" + n + "'::uuid"
		case t.Name == "jobs" && c.Name == "status":
			exprs[i] = "CASE WHEN status IN ('queued', 'running', 'retrying') THEN 'canceled' ELSE status END"
		case c.Type == "uuid":
			exprs[i] = fmt.Sprintf("CASE WHEN %s = '%s'::uuid THEN '%s'::uuid ELSE %s END", id, o, n, id)
		case c.Type == "text":
			exprs[i] = fmt.Sprintf("replace(%s, '%s', '%s')", id, o, n)
		case c.Type == "jsonb" || c.Type == "json":
			exprs[i] = fmt.Sprintf("replace(%s::text, '%s', '%s')::%s", id, o, n, c.Type)
		default:
			exprs[i] = id
		}
	}
	// The rows are counted away through RETURNING: without it Citus would COPY
	// them into the shards, which PostgreSQL refuses under RLS; the same
	// statement on one node, where nothing but the count comes back.
	q := fmt.Sprintf("WITH w AS (INSERT INTO %s (%s) SELECT %s FROM %s RETURNING 1) SELECT count(*) FROM w",
		pgx.Identifier{t.Name}.Sanitize(), columnList(t.Columns), strings.Join(exprs, ", "), stage)
	if _, err := tx.Exec(ctx, q, simple); err != nil {
		return fmt.Errorf("backup: restore %s: %w", t.Name, err)
	}
	return nil
}

func columnList(cols []Column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = pgx.Identifier{c.Name}.Sanitize()
	}
	return strings.Join(s, ", ")
}

// restoreFile copies one file into the new company's prefix, checking it.
func restoreFile(ctx context.Context, files *blob.Bucket, f *zip.File, key string, want File) error {
	rc, err := f.Open()
	if err != nil {
		return refuse("entry %s: %v", want.Entry, err)
	}
	defer rc.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := files.NewWriter(wctx, key, nil)
	if err != nil {
		return fmt.Errorf("backup: write file: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(w, io.TeeReader(io.LimitReader(rc, want.Bytes+1), h))
	if err == nil && (n != want.Bytes || hex.EncodeToString(h.Sum(nil)) != want.SHA256) {
		err = refuse("entry %s changed since it was checked", want.Entry)
	}
	if err != nil {
		cancel() // a cancelled writer leaves no file
		_ = w.Close()
		return err
	}
	return w.Close()
}

// Analyze refreshes the planner statistics of the tables a restore filled.
// ANALYZE needs the tables' owner: c should connect as the migration role.
func Analyze(ctx context.Context, c *pgx.Conn, tables []string) error {
	for _, t := range tables {
		if _, err := c.Exec(ctx, "ANALYZE "+pgx.Identifier{t}.Sanitize()); err != nil {
			return fmt.Errorf("backup: analyze %s: %w", t, err)
		}
	}
	return nil
}
