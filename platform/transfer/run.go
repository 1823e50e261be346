package transfer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
)

var errNoRows = sql.ErrNoRows

var errImportStopped = errors.New("transfer: import stopped")

// BatchRows rows share a transaction with their checkpoint; a batch stays well
// under the 2-second progress interval. batchBytes bounds the text a batch
// holds, whatever its rows carry.
const (
	BatchRows  = 1000
	batchBytes = 16 << 20
)

// parsePlan is the file's shape: its columns and which target each feeds.
type parsePlan struct {
	cols     []string
	col      map[string]int // target -> column index
	encoding string
	// padShort: rows shorter than the header are padded (XLSX leaves trailing
	// empty cells out); in CSV a short row is ragged and reported.
	padShort bool
}

func newParsePlan(im *Import, p Plan) *parsePlan {
	return &parsePlan{cols: im.Columns, col: p.Columns(), encoding: im.Encoding, padShort: im.Format == "xlsx"}
}

// parse reads a row's cells into targets; it checks the shape, not the values.
func (p *parsePlan) parse(no int64, rec []string) *Row {
	r := &Row{No: no, Raw: rec, Cells: map[string]string{}, plan: p}
	empty := true
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			empty = false
		}
	}
	if empty {
		r.Report("", "", "the row is empty", "skipped")
		return r
	}
	for len(rec) < len(p.cols) && p.padShort {
		rec = append(rec, "") // spreadsheets drop trailing empty cells
	}
	r.Raw = rec
	if len(rec) != len(p.cols) {
		r.Fail("", "", fmt.Sprintf("the row has %d cells but the header has %d; check for a missing or extra separator or an unclosed quote", len(rec), len(p.cols)))
		return r
	}
	for target, i := range p.col {
		v := strings.TrimSpace(rec[i])
		if v == "" {
			continue
		}
		if strings.IndexByte(v, 0) >= 0 {
			r.Fail(target, strings.ReplaceAll(v, "\x00", "\\0"), "contains a NUL character, which text cannot hold; remove it")
			continue
		}
		if p.encoding == "utf-8" && !utf8.ValidString(v) {
			r.Fail(target, strings.ToValidUTF8(v, "?"), "not valid UTF-8: the file mixes encodings; save it as UTF-8, or upload it again choosing GBK")
			continue
		}
		r.Cells[target] = v
	}
	return r
}

type importCheckpoint struct {
	Row                                     int64 `json:"row"` // last file row handled (the header is row 1)
	Processed, Created, Updated, Skip, Fail int64
}

// runImport is the bulk job: batches of rows, each with its checkpoint, counts
// and journal in one transaction, so a killed worker resumes without duplicates
// or gaps.
func (e *Engine) runImport(ctx context.Context, j *jobs.Job) error {
	var pl importPayload
	if err := j.Decode(&pl); err != nil {
		return errs.E(errs.Invalid, "malformed import payload")
	}
	tenant := j.TenantID
	im, plan, ad, err := e.beginImport(ctx, tenant, pl.ImportID)
	if err != nil || plan == nil {
		return err
	}
	// The worker acts for the person who started the import, with their rights
	// as they were then: their scope decides which records it may match and
	// update.
	ctx = authz.WithActor(ctx, pl.actor(ad))
	var cp importCheckpoint
	if _, err := j.LoadCheckpoint(&cp); err != nil {
		return err
	}
	path, cleanup, err := e.fetchImportFile(ctx, im)
	if err != nil {
		return e.failImport(ctx, tenant, im.ID, err)
	}
	defer cleanup()
	rr, err := openRows(path, im.Format, im.Encoding)
	if err != nil {
		return e.failImport(ctx, tenant, im.ID, err)
	}
	defer rr.Close()
	if _, err := rr.Next(); err != nil { // the header
		return e.failImport(ctx, tenant, im.ID, err)
	}
	pp := newParsePlan(im, plan)
	row := int64(1)
	prevWritten := cp.Created + cp.Updated
	_ = j.Progress(ctx, cp.Processed, im.Total)
	for {
		if j.Canceled(ctx) {
			return jobs.ErrCanceled
		}
		batch, err := e.readBatch(rr, pp, &row, cp)
		if err != nil {
			if cp.Processed > 0 {
				err = fmt.Errorf("rows from %d on were not imported: %w; the rows before them were, and revert undoes them", row, err)
			}
			return e.failImport(ctx, tenant, im.ID, err)
		}
		if len(batch) == 0 {
			break
		}
		batchStart := time.Now()
		cp, err = e.commitBatch(ctx, j, im, plan, batch, cp)
		if errors.Is(err, errImportStopped) {
			// Canceled: what earlier batches did stays, and revert can undo it.
			if cp.Created+cp.Updated > 0 {
				e.afterBulk(ctx, tenant, statsTables(ad)...)
			}
			return nil
		}
		if err != nil {
			// The import's own record follows the job: when no attempt follows
			// this one, it says failed, with the reason, rather than running.
			if jobs.Permanent(err) || j.Attempts >= j.MaxAttempts {
				return e.failImport(ctx, tenant, im.ID, fmt.Errorf("rows from %d on were not imported (%s); the rows before them were, and revert undoes them", batch[0].No, failureReason(err)))
			}
			return err
		}
		if refreshAside(prevWritten, cp.Created+cp.Updated, cp.Processed, im.Total) {
			e.refreshStatsAside(ctx, statsTables(ad)...)
		}
		prevWritten = cp.Created + cp.Updated
		_ = j.Progress(ctx, cp.Processed, im.Total)
		if err := e.bulkPause(ctx, time.Since(batchStart)); err != nil {
			return err
		}
	}
	return e.finishImport(ctx, j, im, ad, cp)
}

// beginImport marks a queued (or resumed) import running and plans its rows.
// An import in any other state gives no plan: there is nothing to do.
func (e *Engine) beginImport(ctx context.Context, tenant, id uuid.UUID) (im *Import, plan Plan, ad Adapter, err error) {
	err = db.InTenant(ctx, e.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if im, err = getImport(ctx, tx, tenant, id); err != nil {
			return err
		}
		if im.Status != "queued" && im.Status != "running" {
			return nil
		}
		if ad, err = e.adapter(ctx, uuid.Nil, im.Entity, "entity"); err != nil {
			return err
		}
		if plan, err = ad.Plan(ctx, tx, tenant, im.spec()); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model(im).Set("status = 'running', started_at = least(started_at, now()), updated_at = now()").WherePK().Exec(ctx)
		return err
	})
	return im, plan, ad, err
}

// commitBatch imports one batch in one transaction with the import's counts
// and the job's checkpoint, and returns the new checkpoint (cp unchanged on an
// error). An import no longer running (canceled) gives errImportStopped.
func (e *Engine) commitBatch(ctx context.Context, j *jobs.Job, im *Import, plan Plan, batch []*Row, cp importCheckpoint) (importCheckpoint, error) {
	err := db.InTenantBulk(ctx, e.d.DB, im.TenantID, func(ctx context.Context, tx bun.Tx) error {
		var status string
		if err := tx.NewSelect().Table("imports").Column("status").Where("tenant_id = ? AND id = ?", im.TenantID, im.ID).For("UPDATE").Scan(ctx, &status); err != nil {
			return err
		}
		if status != "running" {
			return errImportStopped
		}
		next, err := e.importBatch(ctx, tx, im, plan, batch, cp)
		if err != nil {
			return err
		}
		next.Row = batch[len(batch)-1].No
		if _, err := tx.NewUpdate().Model(im).Set("processed = ?, created = ?, updated = ?, skipped = ?, failed = ?, updated_at = now()",
			next.Processed, next.Created, next.Updated, next.Skip, next.Fail).WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := j.SaveCheckpoint(ctx, tx, next); err != nil {
			return err
		}
		cp = next
		return nil
	})
	return cp, err
}

// failureReason is what an import's record says of an error that stopped it:
// the detail of a client error, never the hidden cause of an internal one.
func failureReason(err error) string {
	var ee *errs.Error
	if errors.As(err, &ee) && ee.Code != errs.Internal {
		return ee.Detail
	}
	return "an error on our side"
}

// readBatch reads the next rows of a batch, skipping those a restart had done
// already. A file that breaks a limit now (swapped in the store, or limits
// lowered since the upload checked them) stops the import with the error.
func (e *Engine) readBatch(rr rowReader, pp *parsePlan, row *int64, cp importCheckpoint) ([]*Row, error) {
	var batch []*Row
	size := 0
	for len(batch) < BatchRows && size < batchBytes {
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		*row++
		if isLimit(err) {
			return nil, err
		}
		if *row <= cp.Row {
			continue // done before a restart
		}
		for _, c := range rec {
			size += len(c)
		}
		if err != nil {
			r := &Row{No: *row, plan: pp}
			r.Fail("", "", "this row cannot be read: "+err.Error())
			batch = append(batch, r)
			continue
		}
		batch = append(batch, pp.parse(*row, append([]string(nil), rec...)))
	}
	return batch, nil
}

func (e *Engine) finishImport(ctx context.Context, j *jobs.Job, im *Import, ad Adapter, cp importCheckpoint) error {
	err := db.InTenant(ctx, e.d.DB, im.TenantID, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(im).Set("status = 'completed', total = ?, finished_at = now(), updated_at = now()", cp.Processed).
			WherePK().Where("status = 'running'").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Entry{Action: im.Entity + ".import", Entity: "import", EntityID: im.ID.String(),
			After: map[string]any{"file": im.Filename, "rows": cp.Processed, "created": cp.Created, "updated": cp.Updated, "skipped": cp.Skip, "failed": cp.Fail}})
	})
	if err != nil {
		return err
	}
	e.afterBulk(ctx, im.TenantID, statsTables(ad)...)
	// Published after the import commits, so the event names its company
	// itself (there is no transaction in ctx to take it from).
	e.d.Events.Publish(ctx, events.Event{TenantID: im.TenantID, Topic: im.Entity + ".imported", EntityID: im.ID.String()})
	_ = j.Progress(ctx, cp.Processed, cp.Processed)
	return j.SetResult(cp)
}

// importBatch applies one batch inside tx and returns the new counts: rows
// whose key an earlier row of the file holds fail as duplicates, the adapter
// writes the rest, and every failed or skipped row goes to the report.
func (e *Engine) importBatch(ctx context.Context, tx bun.Tx, im *Import, p Plan, rows []*Row, cp importCheckpoint) (importCheckpoint, error) {
	if err := dedupe(ctx, tx, im, p, rows); err != nil {
		return cp, err
	}
	created, updated, err := p.Write(ctx, tx, &Batch{Tenant: im.TenantID, ImportID: im.ID, Entity: im.Entity, Rows: rows})
	if err != nil {
		return cp, err
	}
	if err := writeProblems(ctx, tx, im, rows); err != nil {
		return cp, err
	}
	for _, r := range rows {
		switch r.outcome() {
		case "failed":
			cp.Fail++
		case "skipped":
			cp.Skip++
		}
		cp.Processed++
	}
	cp.Created += created
	cp.Updated += updated
	return cp, nil
}

// dedupe fails rows whose key an earlier row of the file holds, in this batch
// or an earlier one: the keys seen are kept in import_keys, which also survives
// a restart.
func dedupe(ctx context.Context, tx bun.Tx, im *Import, p Plan, rows []*Row) error {
	var keys []string
	meta := map[*Row]Key{}
	for _, r := range rows {
		if r.OK() {
			k := p.Key(r)
			if r.Key = k.Value; r.Key != "" {
				keys = append(keys, r.Key)
				meta[r] = k
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	firstRow := map[string]int64{}
	var seen []struct {
		Key   string `bun:"key"`
		RowNo int64  `bun:"row_no"`
	}
	if err := tx.NewSelect().Table("import_keys").Column("key", "row_no").
		Where("tenant_id = ? AND import_id = ? AND key IN (?)", im.TenantID, im.ID, bun.In(keys)).Scan(ctx, &seen); err != nil {
		return err
	}
	for _, s := range seen {
		firstRow[s.Key] = s.RowNo
	}
	var newKeys, newKeyRows []string
	for _, r := range rows {
		if !r.OK() || r.Key == "" {
			continue
		}
		if first, dup := firstRow[r.Key]; dup && first != r.No {
			k := meta[r]
			r.Fail(k.Target, k.Shown, fmt.Sprintf("duplicate: row %d of this file has the same %s", first, k.Name))
			continue
		}
		if _, dup := firstRow[r.Key]; !dup {
			firstRow[r.Key] = r.No
			newKeys, newKeyRows = append(newKeys, r.Key), append(newKeyRows, fmt.Sprint(r.No))
		}
	}
	if len(newKeys) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO import_keys (tenant_id, import_id, key, row_no)
		SELECT ?, ?, k, r::bigint FROM unnest(?::text[], ?::text[]) AS x(k, r) ON CONFLICT DO NOTHING`,
		im.TenantID, im.ID, pgdialect.Array(newKeys), pgdialect.Array(newKeyRows))
	return err
}

// writeProblems puts every failed or skipped row in the report, once per
// problem.
func writeProblems(ctx context.Context, tx bun.Tx, im *Import, rows []*Row) error {
	cols := make([][]string, 6)
	for _, r := range rows {
		for i, x := range r.Problems {
			for k, v := range []string{fmt.Sprint(r.No), fmt.Sprint(i), r.outcome(), x.Column, x.Value, x.Reason} {
				cols[k] = append(cols[k], v)
			}
		}
	}
	if len(cols[0]) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO import_problems (tenant_id, import_id, row_no, seq, outcome, column_name, value, reason)
		SELECT ?, ?, r::bigint, s::int, o, c, left(v, 1000), x FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS t(r, s, o, c, v, x)
		ON CONFLICT DO NOTHING`, im.TenantID, im.ID, pgdialect.Array(cols[0]), pgdialect.Array(cols[1]), pgdialect.Array(cols[2]),
		pgdialect.Array(cols[3]), pgdialect.Array(cols[4]), pgdialect.Array(cols[5]))
	return err
}

// bulkPause waits after a batch that took worked, so the import works only
// BulkDutyPercent of the time; the pause is capped at 1.5 s so progress still
// moves at least every two seconds.
func (e *Engine) bulkPause(ctx context.Context, worked time.Duration) error {
	pause := bulkPauseFor(worked, e.d.BulkDutyPercent)
	if pause == 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(pause):
		return nil
	}
}

// bulkPauseFor is the pause after a batch that took worked, at duty percent.
func bulkPauseFor(worked time.Duration, duty int) time.Duration {
	if duty <= 0 || duty >= 100 {
		return 0
	}
	return min(worked*time.Duration(100-duty)/time.Duration(duty), 1500*time.Millisecond)
}

// fetchImportFile copies the stored file to a local temporary file: XLSX needs
// random access, and a local copy keeps memory flat for CSV too.
func (e *Engine) fetchImportFile(ctx context.Context, im *Import) (string, func(), error) {
	rd, err := e.d.Blobs.NewReader(ctx, im.BlobKey, nil)
	if err != nil {
		return "", nil, fmt.Errorf("the uploaded file is gone (%v); upload it again", err)
	}
	defer rd.Close()
	f, err := os.CreateTemp("", "clientele-import-*")
	if err != nil {
		return "", nil, err
	}
	if _, err := io.Copy(f, rd); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", nil, err
	}
	f.Close()
	return f.Name(), func() { os.Remove(f.Name()) }, nil
}

func (e *Engine) failImport(ctx context.Context, tenant, id uuid.UUID, cause error) error {
	msg := cause.Error()
	_ = db.InTenant(context.WithoutCancel(ctx), e.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewUpdate().Table("imports").Set("status = 'failed', error = ?, finished_at = now(), updated_at = now()", msg).
			Where("tenant_id = ? AND id = ?", tenant, id).Exec(ctx)
		return err
	})
	return errs.E(errs.Invalid, "%s", msg)
}

// runRevert walks the journal a checkpointed page at a time and has the
// adapter undo each page: records the import created are deleted, the ones it
// updated get their earlier state back.
func (e *Engine) runRevert(ctx context.Context, j *jobs.Job) error {
	var pl importPayload
	if err := j.Decode(&pl); err != nil {
		return errs.E(errs.Invalid, "malformed revert payload")
	}
	tenant := j.TenantID
	var cp struct {
		After uuid.UUID `json:"after"`
		Done  int64     `json:"done"`
	}
	if _, err := j.LoadCheckpoint(&cp); err != nil {
		return err
	}
	var im *Import
	var total int64
	if err := db.InTenant(ctx, e.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if im, err = getImport(ctx, tx, tenant, pl.ImportID); err != nil {
			return err
		}
		return tx.NewSelect().Table("import_journal").ColumnExpr("count(*)").Where("tenant_id = ? AND import_id = ?", tenant, pl.ImportID).Scan(ctx, &total)
	}); err != nil {
		return err
	}
	ad, err := e.adapter(ctx, uuid.Nil, im.Entity, "entity")
	if err != nil {
		return err
	}
	ctx = authz.WithActor(ctx, pl.actor(ad))
	for {
		if j.Canceled(ctx) {
			return jobs.ErrCanceled
		}
		n := 0
		err := db.InTenantBulk(ctx, e.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			var entries []JournalEntry
			if err := tx.NewSelect().Table("import_journal").Column("record_id", "action", "before").
				Where("tenant_id = ? AND import_id = ? AND entity = ? AND record_id > ?", tenant, pl.ImportID, im.Entity, cp.After).
				OrderExpr("record_id").Limit(BatchRows).Scan(ctx, &entries); err != nil {
				return err
			}
			n = len(entries)
			if n == 0 {
				return nil
			}
			if err := ad.Revert(ctx, tx, tenant, entries); err != nil {
				return err
			}
			cp.After = entries[n-1].RecordID
			cp.Done += int64(n)
			if _, err := tx.ExecContext(ctx, "UPDATE imports SET reverted = ?, updated_at = now() WHERE tenant_id = ? AND id = ?", cp.Done, tenant, pl.ImportID); err != nil {
				return err
			}
			return j.SaveCheckpoint(ctx, tx, cp)
		})
		if err != nil {
			return err
		}
		_ = j.Progress(ctx, cp.Done, total)
		if n < BatchRows {
			break
		}
	}
	e.afterBulk(ctx, tenant, ad.BulkTables()...)
	err = db.InTenant(ctx, e.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE imports SET status = 'reverted', finished_at = now(), updated_at = now() WHERE tenant_id = ? AND id = ?", tenant, pl.ImportID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: im.Entity + ".import.revert", Entity: "import", EntityID: pl.ImportID.String(),
			After: map[string]any{"reverted": cp.Done}})
	})
	if err != nil {
		return err
	}
	// Records went away in bulk: readers that keep copies (BI's rollups)
	// read them again. Published after the revert commits, as an import's
	// own event is, so a reader's failure cannot undo the revert.
	e.d.Events.Publish(ctx, events.Event{TenantID: tenant, Topic: im.Entity + ".import_reverted", EntityID: pl.ImportID.String()})
	return nil
}

// statsTables are the tables whose statistics an import refreshes as it grows:
// the adapter's and the engine's own.
func statsTables(a Adapter) []string {
	return append(append([]string{}, a.BulkTables()...), "import_keys", "import_journal")
}
