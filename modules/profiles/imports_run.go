package profiles

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
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
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

var errNoRows = sql.ErrNoRows

var errImportStopped = errors.New("profiles: import stopped")

func safeCSV(s string) string { return httpx.SafeCell(s) }

// importBatch rows share a transaction with their checkpoint; a batch stays well
// under the 2-second progress interval. importBatchBytes bounds the text a batch
// holds, whatever its rows carry.
const (
	importBatch      = 1000
	importBatchBytes = 16 << 20
)

type importPlanT struct {
	cols    []string
	col     map[string]int // target -> column index
	defs    map[string]fields.Definition
	unique  []fields.Definition // the unique ones, in definition order
	mode    string
	matchOn string
	// padShort: rows shorter than the header are padded (XLSX leaves trailing
	// empty cells out); in CSV a short row is ragged and reported.
	padShort bool
}

// importPlan checks a mapping against the file's columns and the tenant's fields.
func (m *Module) importPlan(ctx context.Context, tx bun.IDB, tenant uuid.UUID, cols []string, mapping map[string]string, mode, matchOn string) (*importPlanT, error) {
	p := &importPlanT{cols: cols, col: map[string]int{}, defs: map[string]fields.Definition{}, mode: mode, matchOn: matchOn}
	if mode != "create" && mode != "update" && mode != "upsert" {
		return nil, errs.Field("body.mode", "use create, update or upsert")
	}
	if m.d.Fields != nil {
		defs, err := m.d.Fields.Definitions(ctx, tx, tenant, EntityCustomers)
		if err != nil {
			return nil, err
		}
		for _, d := range defs {
			p.defs[d.Key] = d
			if d.Unique {
				p.unique = append(p.unique, d)
			}
		}
	}
	index := map[string]int{}
	for i, c := range cols {
		index[c] = i
	}
	known := map[string]bool{}
	for _, t := range importTargets {
		known[t] = true
	}
	keys := make([]string, 0, len(mapping))
	for k := range mapping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, col := range keys {
		target := strings.TrimSpace(mapping[col])
		if target == "" {
			continue
		}
		i, ok := index[col]
		if !ok {
			return nil, errs.Field("body.mapping."+col, "the file has no column with this name; use one of the columns the upload listed")
		}
		if k, isCustom := strings.CutPrefix(target, "custom."); isCustom {
			d, ok := p.defs[k]
			if !ok {
				return nil, errs.Field("body.mapping."+col, "no custom field "+k+" is defined for customers")
			}
			if d.Pending != nil {
				return nil, errs.Field("body.mapping."+col, "custom field "+k+" is being converted to a new type; wait for that to finish")
			}
		} else if !known[target] {
			return nil, errs.Field("body.mapping."+col, "map to name, kind, emails, phones, company, address, tags, lifecycle, source or custom.<key>")
		}
		if _, dup := p.col[target]; dup {
			return nil, errs.Field("body.mapping."+col, target+" is mapped from two columns; map it from one")
		}
		p.col[target] = i
	}
	if _, ok := p.col["name"]; !ok && mode != "update" {
		return nil, errs.Field("body.mapping", "map a column to name: new customers need one")
	}
	switch {
	case matchOn == "" && mode != "create":
		return nil, errs.Field("body.match_on", "update and upsert match rows to customers: use email, phone or custom.<key> of a unique field")
	case matchOn == "" || matchOn == "email" || matchOn == "phone":
		need := map[string]string{"email": "emails", "phone": "phones"}[matchOn]
		if _, ok := p.col[need]; need != "" && !ok {
			return nil, errs.Field("body.match_on", "matching on "+matchOn+" needs a column mapped to "+need)
		}
	default:
		k, ok := strings.CutPrefix(matchOn, "custom.")
		d, defined := p.defs[k]
		if !ok || !defined || !d.Unique {
			return nil, errs.Field("body.match_on", "use email, phone, or custom.<key> of a custom field marked unique")
		}
		if _, ok := p.col[matchOn]; !ok {
			return nil, errs.Field("body.match_on", "matching on "+matchOn+" needs a column mapped to it")
		}
	}
	return p, nil
}

type importRow struct {
	no       int64
	cells    map[string]string // target -> raw cell (non-empty only)
	custom   map[string]any
	problems []ImportProblem
	outcome  string // failed or skipped when problems say so
	key      string // the match / duplicate key
}

func (p *importPlanT) problem(r *importRow, target, value, reason, outcome string) {
	col := ""
	if i, ok := p.col[target]; ok {
		col = p.cols[i]
	}
	r.problems = append(r.problems, ImportProblem{Row: r.no, Column: col, Value: value, Reason: reason, Outcome: outcome})
	if r.outcome != "failed" {
		r.outcome = outcome
	}
}

// parse reads a row's cells into targets; it checks the shape, not the values.
func (p *importPlanT) parse(no int64, rec []string, encoding string) *importRow {
	r := &importRow{no: no, cells: map[string]string{}, custom: map[string]any{}}
	empty := true
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			empty = false
		}
	}
	if empty {
		p.problem(r, "", "", "the row is empty", "skipped")
		return r
	}
	for len(rec) < len(p.cols) && p.padShort {
		rec = append(rec, "") // spreadsheets drop trailing empty cells
	}
	if len(rec) != len(p.cols) {
		p.problem(r, "", "", fmt.Sprintf("the row has %d cells but the header has %d; check for a missing or extra separator or an unclosed quote", len(rec), len(p.cols)), "failed")
		return r
	}
	for target, i := range p.col {
		v := strings.TrimSpace(rec[i])
		if v == "" {
			continue
		}
		if strings.IndexByte(v, 0) >= 0 {
			p.problem(r, target, strings.ReplaceAll(v, "\x00", "\\0"), "contains a NUL character, which text cannot hold; remove it", "failed")
			continue
		}
		if encoding == "utf-8" && !utf8.ValidString(v) {
			p.problem(r, target, strings.ToValidUTF8(v, "?"), "not valid UTF-8: the file mixes encodings; save it as UTF-8, or upload it again choosing GBK", "failed")
			continue
		}
		if k, ok := strings.CutPrefix(target, "custom."); ok {
			r.custom[k] = cellValue(p.defs[k], v)
			continue
		}
		r.cells[target] = v
	}
	return r
}

// apply puts a row's standard cells onto c (a new customer, or the current
// state of a matched one: lists gain the row's items, scalars take its value).
func (p *importPlanT) apply(r *importRow, c *Customer) {
	union := func(cur []string, add []string) []string {
		seen := map[string]bool{}
		out := []string{}
		for _, v := range append(append([]string{}, cur...), add...) {
			if k := strings.ToLower(v); !seen[k] {
				seen[k] = true
				out = append(out, v)
			}
		}
		return out
	}
	for target, v := range r.cells {
		switch target {
		case "name":
			c.Name = v
		case "kind":
			if k, ok := kindWords[strings.ToLower(v)]; ok {
				c.Kind = k
			} else {
				p.problem(r, target, v, "kind must be person or company (个人 or 公司)", "failed")
			}
		case "emails":
			c.Emails = union(c.Emails, splitList(v))
		case "phones":
			c.Phones = union(c.Phones, splitList(v))
		case "tags":
			c.Tags = union(c.Tags, splitList(v))
		case "lifecycle":
			if l, ok := lifecycleWords[strings.ToLower(v)]; ok {
				c.Lifecycle = l
			} else {
				p.problem(r, target, v, "lifecycle must be lead, prospect, customer, at_risk or churned (线索, 潜在客户, 客户, 有流失风险, 已流失)", "failed")
			}
		case "source":
			c.Source = v
		case "address", "company":
			addr := map[string]any{}
			_ = json.Unmarshal(c.Address, &addr)
			if target == "address" {
				addr["line"] = v
			} else {
				addr["company"] = v
			}
			c.Address, _ = json.Marshal(addr)
		}
	}
	for _, fe := range c.normalize() {
		target := strings.TrimPrefix(fe.Location, "body.")
		if i := strings.IndexByte(target, '['); i > 0 {
			target = target[:i]
		}
		p.problem(r, target, fmt.Sprint(fe.Value), fe.Message, "failed")
	}
}

// customProblems turns a custom-values 422 into report lines.
func (p *importPlanT) customProblems(no int64, rec []string, err error) []ImportProblem {
	e, ok := err.(*errs.Error)
	if !ok || len(e.Errors) == 0 {
		return []ImportProblem{{Row: no, Reason: err.Error(), Outcome: "failed"}}
	}
	var out []ImportProblem
	for _, fe := range e.Errors {
		k := strings.TrimPrefix(fe.Location, "body.custom.")
		col, val := "", ""
		if i, ok := p.col["custom."+k]; ok {
			col = p.cols[i]
			if i < len(rec) {
				val = rec[i]
			}
		} else {
			col = "custom." + k
		}
		out = append(out, ImportProblem{Row: no, Column: col, Value: val, Reason: fe.Message, Outcome: "failed"})
	}
	return out
}

// matchKey is the key a row is matched and de-duplicated by.
func (p *importPlanT) matchKey(r *importRow) string {
	on := p.matchOn
	if on == "" { // create: the first email, else the first phone, keeps a file from holding one person twice
		if _, ok := r.cells["emails"]; ok {
			on = "email"
		} else if _, ok := r.cells["phones"]; ok {
			on = "phone"
		}
	}
	switch on {
	case "email":
		for _, e := range splitList(r.cells["emails"]) {
			if n, ok := normalizeEmail(e); ok {
				return "e:" + n
			}
		}
	case "phone":
		for _, ph := range splitList(r.cells["phones"]) {
			if keys := contactKeys(&Customer{Phones: []string{ph}}); len(keys) > 0 {
				return keys[0]
			}
		}
	default:
		if k, ok := strings.CutPrefix(on, "custom."); ok {
			if v, ok := r.custom[k]; ok {
				if _, iv, err := p.defs[k].Normalize(v); err == nil && iv.Norm != "" {
					return "u:" + k + ":" + iv.Norm
				}
			}
		}
	}
	return ""
}

type importCheckpoint struct {
	Row                                     int64 `json:"row"` // last file row handled (the header is row 1)
	Processed, Created, Updated, Skip, Fail int64
}

// runImport is the bulk job: batches of rows, each with its checkpoint, counts
// and journal in one transaction, so a killed worker resumes without duplicates
// or gaps.
func (m *Module) runImport(ctx context.Context, j *jobs.Job) error {
	var pl importPayload
	if err := j.Decode(&pl); err != nil {
		return errs.E(errs.Invalid, "malformed import payload")
	}
	tenant := j.TenantID
	var im *Import
	var plan *importPlanT
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if im, err = m.getImport(ctx, tx, tenant, pl.ImportID); err != nil {
			return err
		}
		if im.Status != "queued" && im.Status != "running" {
			return nil
		}
		if plan, err = m.importPlan(ctx, tx, tenant, im.Columns, im.Mapping, deref(im.Mode), deref(im.MatchOn)); err != nil {
			return err
		}
		plan.padShort = im.Format == "xlsx"
		_, err = tx.NewUpdate().Model(im).Set("status = 'running', started_at = least(started_at, now()), updated_at = now()").WherePK().Exec(ctx)
		return err
	})
	if err != nil || plan == nil {
		return err
	}
	// The worker acts for the person who started the import, with their rights
	// as they were then: their scope decides which customers it may match and
	// update.
	ctx = authz.WithActor(ctx, pl.actor())
	var cp importCheckpoint
	if _, err := j.LoadCheckpoint(&cp); err != nil {
		return err
	}
	path, cleanup, err := m.fetchImportFile(ctx, im)
	if err != nil {
		return m.failImport(ctx, tenant, im.ID, err)
	}
	defer cleanup()
	rr, err := openRows(path, im.Format, im.Encoding)
	if err != nil {
		return m.failImport(ctx, tenant, im.ID, err)
	}
	defer rr.Close()
	if _, err := rr.Next(); err != nil { // the header
		return m.failImport(ctx, tenant, im.ID, err)
	}
	row := int64(1)
	prevWritten := cp.Created + cp.Updated
	_ = j.Progress(ctx, cp.Processed, im.Total)
	for {
		if j.Canceled(ctx) {
			return jobs.ErrCanceled
		}
		var batch []*importRow
		var recs [][]string
		size := 0
		for len(batch) < importBatch && size < importBatchBytes {
			rec, err := rr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			row++
			if isLimit(err) {
				// The upload checked these limits; a file that breaks them now
				// (swapped in the store, or limits lowered since) stops here.
				if cp.Processed > 0 {
					err = fmt.Errorf("rows from %d on were not imported: %w; the rows before them were, and revert undoes them", row, err)
				}
				return m.failImport(ctx, tenant, im.ID, err)
			}
			if row <= cp.Row {
				continue // done before a restart
			}
			for _, c := range rec {
				size += len(c)
			}
			if err != nil {
				r := &importRow{no: row}
				plan.problem(r, "", "", "this row cannot be read: "+err.Error(), "failed")
				batch, recs = append(batch, r), append(recs, nil)
				continue
			}
			batch = append(batch, plan.parse(row, rec, im.Encoding))
			recs = append(recs, append([]string(nil), rec...))
		}
		if len(batch) == 0 {
			break
		}
		batchStart := time.Now()
		err := db.InTenantBulk(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			var status string
			if err := tx.NewSelect().Table("imports").Column("status").Where("tenant_id = ? AND id = ?", tenant, im.ID).For("UPDATE").Scan(ctx, &status); err != nil {
				return err
			}
			if status != "running" {
				return errImportStopped
			}
			next, err := m.importBatch(ctx, tx, j, im, plan, batch, recs, cp)
			if err != nil {
				return err
			}
			cp = next
			cp.Row = batch[len(batch)-1].no
			if _, err := tx.NewUpdate().Model(im).Set("processed = ?, created = ?, updated = ?, skipped = ?, failed = ?, updated_at = now()",
				cp.Processed, cp.Created, cp.Updated, cp.Skip, cp.Fail).WherePK().Exec(ctx); err != nil {
				return err
			}
			return j.SaveCheckpoint(ctx, tx, cp)
		})
		if errors.Is(err, errImportStopped) {
			return nil // canceled: what earlier batches did stays, and revert can undo it
		}
		if err != nil {
			// The import's own record follows the job: when no attempt follows
			// this one, it says failed, with the reason, rather than running.
			if jobs.Permanent(err) || j.Attempts >= j.MaxAttempts {
				reason := "an error on our side"
				var e *errs.Error
				if errors.As(err, &e) && e.Code != errs.Internal {
					reason = e.Detail
				}
				return m.failImport(ctx, tenant, im.ID, fmt.Errorf("rows from %d on were not imported (%s); the rows before them were, and revert undoes them", batch[0].no, reason))
			}
			return err
		}
		if statsDue(prevWritten, cp.Created+cp.Updated) {
			m.refreshStatsAside(ctx, importStatsTables...)
		}
		prevWritten = cp.Created + cp.Updated
		_ = j.Progress(ctx, cp.Processed, im.Total)
		if err := m.bulkPause(ctx, time.Since(batchStart)); err != nil {
			return err
		}
	}
	err = db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model(im).Set("status = 'completed', total = ?, finished_at = now(), updated_at = now()", cp.Processed).
			WherePK().Where("status = 'running'").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "customers.import", Entity: "import", EntityID: im.ID.String(),
			After: map[string]any{"file": im.Filename, "rows": cp.Processed, "created": cp.Created, "updated": cp.Updated, "skipped": cp.Skip, "failed": cp.Fail}})
	})
	if err != nil {
		return err
	}
	m.refreshStats(ctx, importStatsTables...)
	if m.d.Events != nil {
		m.d.Events.Publish(ctx, events.Event{Topic: "customers.imported", EntityID: im.ID.String()})
	}
	_ = j.Progress(ctx, cp.Processed, cp.Processed)
	return j.SetResult(cp)
}

// bulkPause waits after a batch that took worked, so the import works only
// BulkDutyPercent of the time; the pause is capped at 1.5 s so progress still
// moves at least every two seconds.
func (m *Module) bulkPause(ctx context.Context, worked time.Duration) error {
	pause := bulkPauseFor(worked, m.d.BulkDutyPercent)
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// fetchImportFile copies the stored file to a local temporary file: XLSX needs
// random access, and a local copy keeps memory flat for CSV too.
func (m *Module) fetchImportFile(ctx context.Context, im *Import) (string, func(), error) {
	rd, err := m.d.Blobs.NewReader(ctx, im.BlobKey, nil)
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

func (m *Module) failImport(ctx context.Context, tenant, id uuid.UUID, cause error) error {
	msg := cause.Error()
	_ = db.InTenant(context.WithoutCancel(ctx), m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewUpdate().Table("imports").Set("status = 'failed', error = ?, finished_at = now(), updated_at = now()", msg).
			Where("tenant_id = ? AND id = ?", tenant, id).Exec(ctx)
		return err
	})
	return errs.E(errs.Invalid, "%s", msg)
}

// importBatch applies one batch inside tx and returns the new counts.
func (m *Module) importBatch(ctx context.Context, tx bun.Tx, j *jobs.Job, im *Import, p *importPlanT, rows []*importRow, recs [][]string, cp importCheckpoint) (importCheckpoint, error) {
	tenant := im.TenantID
	// Keys: duplicates within the file (earlier rows, earlier batches) and matches in the tenant.
	var keys []string
	for _, r := range rows {
		if r.outcome == "" {
			if r.key = p.matchKey(r); r.key != "" {
				keys = append(keys, r.key)
			}
		}
	}
	firstRow := map[string]int64{}
	if len(keys) > 0 {
		var seen []struct {
			Key   string `bun:"key"`
			RowNo int64  `bun:"row_no"`
		}
		if err := tx.NewSelect().Table("import_keys").Column("key", "row_no").
			Where("tenant_id = ? AND import_id = ? AND key IN (?)", tenant, im.ID, bun.In(keys)).Scan(ctx, &seen); err != nil {
			return cp, err
		}
		for _, s := range seen {
			firstRow[s.Key] = s.RowNo
		}
	}
	var newKeys, newKeyRows []string
	for _, r := range rows {
		if r.outcome != "" || r.key == "" {
			continue
		}
		if first, dup := firstRow[r.key]; dup && first != r.no {
			p.problem(r, keyTarget(p, r.key), keyValue(r.key), fmt.Sprintf("duplicate: row %d of this file has the same %s", first, keyName(r.key)), "failed")
			continue
		}
		if _, dup := firstRow[r.key]; !dup {
			firstRow[r.key] = r.no
			newKeys, newKeyRows = append(newKeys, r.key), append(newKeyRows, fmt.Sprint(r.no))
		}
	}
	if len(newKeys) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_keys (tenant_id, import_id, key, row_no)
			SELECT ?, ?, k, r::bigint FROM unnest(?::text[], ?::text[]) AS x(k, r) ON CONFLICT DO NOTHING`,
			tenant, im.ID, pgdialect.Array(newKeys), pgdialect.Array(newKeyRows)); err != nil {
			return cp, err
		}
	}
	matched, err := m.matchKeys(ctx, tx, tenant, keys)
	if err != nil {
		return cp, err
	}
	// Current state of the customers rows will update, locked, as far as the
	// requester may see them: the import acts with their scope, so a customer
	// outside it is neither changed nor named. A create needs the rows only to
	// tell seen from unseen matches.
	seesAll := authz.ActorFrom(ctx).Visibility() == authz.ScopeAll
	var ids []uuid.UUID
	for _, r := range rows {
		if id, ok := matched[r.key]; ok && r.outcome == "" && (p.mode != "create" || !seesAll) {
			ids = append(ids, id)
		}
	}
	current := map[uuid.UUID]*Customer{}
	if len(ids) > 0 {
		var cs []Customer
		q := tx.NewSelect().Model(&cs).Where("c.tenant_id = ? AND c.id IN (?) AND c.deleted_at IS NULL", tenant, bun.In(ids)).OrderExpr("c.id")
		if p.mode != "create" {
			q = q.For("UPDATE")
		}
		if err := visible(ctx, q, "c.").Scan(ctx); err != nil {
			return cp, err
		}
		for i := range cs {
			current[cs[i].ID] = &cs[i]
		}
	}
	// A match missing from current is one the requester may not see (or, for
	// one who sees all, a customer deleted since matchKeys read it); either
	// way the row is skipped, and an unseen customer is not named.
	unseen := func(r *importRow, id uuid.UUID) {
		if seesAll {
			p.problem(r, "", "", "the matching customer "+id.String()+" was deleted meanwhile", "skipped")
			return
		}
		p.problem(r, keyTarget(p, r.key), keyValue(r.key), "a customer you cannot see has this "+keyName(r.key)+" already; the row was left alone", "skipped")
	}
	now := time.Now().UTC()
	var creates []*Customer
	var createRows []*importRow
	type upd struct {
		before, after *Customer
		row           *importRow
	}
	var updates []upd
	touched := map[uuid.UUID]bool{}
	for i, r := range rows {
		if r.outcome != "" {
			continue
		}
		id, found := matched[r.key]
		switch {
		case found && p.mode == "create":
			if current[id] == nil && !seesAll {
				unseen(r, id)
				continue
			}
			p.problem(r, keyTarget(p, r.key), keyValue(r.key), "a customer with this "+keyName(r.key)+" exists already ("+id.String()+"); import with upsert or update to change it", "skipped")
			continue
		case r.key == "" && p.mode != "create" && r.cells[matchTarget(p.matchOn)] != "":
			v := r.cells[matchTarget(p.matchOn)]
			p.problem(r, matchTarget(p.matchOn), v, "not a valid "+strings.TrimPrefix(p.matchOn, "custom.")+", so no customer can be matched by it", "failed")
			continue
		case !found && p.mode == "update":
			reason := "no customer has this " + keyName(r.key)
			if r.key == "" {
				reason = "the row has no " + p.matchOn + " to match a customer by"
			}
			p.problem(r, keyTarget(p, r.key), keyValue(r.key), reason, "skipped")
			continue
		}
		if found {
			cur := current[id]
			if cur == nil {
				unseen(r, id)
				continue
			}
			if touched[id] {
				p.problem(r, keyTarget(p, r.key), keyValue(r.key), "another row of this batch already updated the same customer", "failed")
				continue
			}
			next := *cur
			next.Emails, next.Phones, next.Tags = append([]string{}, cur.Emails...), append([]string{}, cur.Phones...), append([]string{}, cur.Tags...)
			p.apply(r, &next)
			if r.outcome != "" {
				continue
			}
			if len(r.custom) > 0 {
				clean, err := m.validateCustom(ctx, tx, tenant, r.custom, true)
				if err != nil {
					if _, ok := err.(*errs.Error); !ok {
						return cp, err
					}
					for _, pr := range p.customProblems(r.no, recs[i], err) {
						p.problem(r, "", "", "", "failed")
						r.problems = append(r.problems[:len(r.problems)-1], pr)
					}
					continue
				}
				merged := map[string]any{}
				for k, v := range cur.Custom {
					merged[k] = v
				}
				for k, v := range clean {
					merged[k] = v
				}
				next.Custom = merged
			}
			touched[id] = true
			updates = append(updates, upd{before: cur, after: &next, row: r})
			continue
		}
		// Time-ordered ids (UUIDv7): every index led by (tenant, customer id) and
		// the key lookups on customers then append near the right edge of the
		// btree instead of touching a random page per row.
		id, err := uuid.NewV7()
		if err != nil {
			return cp, err
		}
		c := &Customer{TenantID: tenant, ID: id, Source: "import", CreatedAt: now, UpdatedAt: now}
		if a := authz.ActorFrom(ctx); a.Kind == authz.ActorUser && a.ID != uuid.Nil {
			owner := a.ID // as CreateCustomer does: a key owns no customers
			c.OwnerID = &owner
		}
		p.apply(r, c)
		if r.outcome != "" {
			continue
		}
		clean, err := m.validateCustom(ctx, tx, tenant, r.custom, false)
		if err != nil {
			if _, ok := err.(*errs.Error); !ok {
				return cp, err
			}
			r.outcome = "failed"
			r.problems = append(r.problems, p.customProblems(r.no, recs[i], err)...)
			continue
		}
		c.Custom = clean
		creates = append(creates, c)
		createRows = append(createRows, r)
	}
	// Unique custom values already held by another customer fail their row
	// rather than the batch.
	checkCs, checkRows := append([]*Customer(nil), creates...), append([]*importRow(nil), createRows...)
	for _, u := range updates {
		checkCs, checkRows = append(checkCs, u.after), append(checkRows, u.row)
	}
	if err := m.checkUnique(ctx, tx, tenant, p, checkCs, checkRows); err != nil {
		return cp, err
	}
	keptUpdates := updates[:0]
	for _, u := range updates {
		if u.row.outcome == "" {
			keptUpdates = append(keptUpdates, u)
		}
	}
	updates = keptUpdates
	kept := creates[:0]
	for i, c := range creates {
		if createRows[i].outcome == "" {
			kept = append(kept, c)
		}
	}
	creates = kept
	ws := make([]stagedWrite, 0, len(creates)+len(updates))
	i := 0
	for _, r := range createRows {
		if r.outcome == "" {
			ws = append(ws, stagedWrite{c: creates[i], create: true, row: r.no})
			i++
		}
	}
	for _, u := range updates {
		ws = append(ws, stagedWrite{c: u.after, row: u.row.no, before: u.before})
	}
	if err := m.loadStaged(ctx, tx, tenant, im.ID, ws); err != nil {
		return cp, err
	}
	// The report: every failed or skipped row, once per problem.
	var pr [][]string
	for _, r := range rows {
		for i, x := range r.problems {
			pr = append(pr, []string{fmt.Sprint(r.no), fmt.Sprint(i), outcomeOf(r), x.Column, x.Value, x.Reason})
		}
		switch outcomeOf(r) {
		case "failed":
			cp.Fail++
		case "skipped":
			cp.Skip++
		}
		cp.Processed++
	}
	if len(pr) > 0 {
		cols := make([][]string, 6)
		for _, row := range pr {
			for k := range cols {
				cols[k] = append(cols[k], row[k])
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_problems (tenant_id, import_id, row_no, seq, outcome, column_name, value, reason)
			SELECT ?, ?, r::bigint, s::int, o, c, left(v, 1000), x FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS t(r, s, o, c, v, x)
			ON CONFLICT DO NOTHING`, tenant, im.ID, pgdialect.Array(cols[0]), pgdialect.Array(cols[1]), pgdialect.Array(cols[2]),
			pgdialect.Array(cols[3]), pgdialect.Array(cols[4]), pgdialect.Array(cols[5])); err != nil {
			return cp, err
		}
	}
	cp.Created += int64(len(creates))
	cp.Updated += int64(len(updates))
	return cp, nil
}

func matchTarget(on string) string {
	switch on {
	case "email":
		return "emails"
	case "phone":
		return "phones"
	}
	return on
}

func outcomeOf(r *importRow) string {
	if r.outcome == "" && len(r.problems) > 0 {
		return "failed"
	}
	return r.outcome
}

func keyName(key string) string {
	switch {
	case strings.HasPrefix(key, "e:"):
		return "email"
	case strings.HasPrefix(key, "u:"):
		return strings.SplitN(key, ":", 3)[1]
	default:
		return "phone"
	}
}

func keyTarget(p *importPlanT, key string) string {
	switch {
	case strings.HasPrefix(key, "e:"):
		return "emails"
	case strings.HasPrefix(key, "u:"):
		return "custom." + strings.SplitN(key, ":", 3)[1]
	case key == "":
		return ""
	default:
		return "phones"
	}
}

func keyValue(key string) string {
	if strings.HasPrefix(key, "u:") {
		return strings.SplitN(key, ":", 3)[2]
	}
	if i := strings.IndexByte(key, ':'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// matchKeys finds the live customers holding each key (the oldest wins when
// duplicates exist already).
func (m *Module) matchKeys(ctx context.Context, tx bun.Tx, tenant uuid.UUID, keys []string) (map[string]uuid.UUID, error) {
	out := map[string]uuid.UUID{}
	var contact, unique []string
	uniqueField := map[string]string{}
	for _, k := range keys {
		if strings.HasPrefix(k, "u:") {
			parts := strings.SplitN(k, ":", 3)
			unique = append(unique, parts[2])
			uniqueField[parts[2]] = parts[1]
		} else {
			contact = append(contact, k)
		}
	}
	if len(contact) > 0 {
		held, err := bulkMatchContacts(ctx, tx, tenant, contact)
		if err != nil {
			return nil, err
		}
		for k, id := range held {
			out[k] = id
		}
	}
	if len(unique) > 0 {
		var rows []struct {
			Field string    `bun:"field_key"`
			Norm  string    `bun:"v_norm"`
			ID    uuid.UUID `bun:"record_id"`
		}
		if err := tx.NewSelect().Table("field_unique").Column("field_key", "v_norm", "record_id").
			Where("tenant_id = ? AND entity = ? AND v_norm IN (?)", tenant, EntityCustomers, bun.In(unique)).Scan(ctx, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out["u:"+r.Field+":"+r.Norm] = r.ID
		}
	}
	return out, nil
}

// checkUnique fails new rows whose unique custom values another customer (or
// an earlier row of the batch) holds.
//
// cs[i] is the customer as row rows[i] would write it; a value the customer
// itself already holds (an update that keeps it) is no conflict.
func (m *Module) checkUnique(ctx context.Context, tx bun.Tx, tenant uuid.UUID, p *importPlanT, cs []*Customer, rows []*importRow) error {
	seen := map[string]int64{}
	var norms []string
	type ref struct {
		i   int
		key string
	}
	var refs []ref
	for i, c := range cs {
		if rows[i].outcome != "" {
			continue
		}
		// The unique values exactly as the write will store them: the same
		// derivation loadStaged uses. The values are validated already; one that
		// still fails here fails the batch there, as before.
		_, uniq, err := fields.IndexRows(p.unique, c.Custom)
		if err != nil {
			continue
		}
		for _, u := range uniq {
			key := u.Key + "\x00" + u.Norm
			if first, dup := seen[key]; dup {
				p.problem(rows[i], "custom."+u.Key, fmt.Sprint(c.Custom[u.Key]), fmt.Sprintf("must be unique: row %d of this file has the same value", first), "failed")
				continue
			}
			seen[key] = rows[i].no
			norms = append(norms, u.Norm)
			refs = append(refs, ref{i, key})
		}
	}
	if len(norms) == 0 {
		return nil
	}
	var taken []struct {
		Field  string    `bun:"field_key"`
		Norm   string    `bun:"v_norm"`
		Record uuid.UUID `bun:"record_id"`
	}
	if err := tx.NewSelect().Table("field_unique").Column("field_key", "v_norm", "record_id").
		Where("tenant_id = ? AND entity = ? AND v_norm IN (?)", tenant, EntityCustomers, bun.In(norms)).Scan(ctx, &taken); err != nil {
		return err
	}
	held := map[string]uuid.UUID{}
	for _, t := range taken {
		held[t.Field+"\x00"+t.Norm] = t.Record
	}
	for _, r := range refs {
		if owner, ok := held[r.key]; ok && owner != cs[r.i].ID && rows[r.i].outcome == "" {
			k := strings.SplitN(r.key, "\x00", 2)[0]
			p.problem(rows[r.i], "custom."+k, strings.SplitN(r.key, "\x00", 2)[1], "must be unique: another customer already has this value", "failed")
		}
	}
	return nil
}

// CancelImport asks a queued or running import to stop at its next batch.
func (m *Module) CancelImport(ctx context.Context, t tenancy.Tenant, id uuid.UUID) (*ImportView, error) {
	if err := need(ctx, PermWrite); err != nil {
		return nil, err
	}
	var im *Import
	err := db.InTenant(ctx, m.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if im, err = m.importFor(ctx, tx, t.ID, id); err != nil {
			return err
		}
		if im.Status != "queued" && im.Status != "running" && im.Status != "uploaded" {
			return errs.E(errs.Conflict, "This import is %s; only a waiting or running import can be canceled.", im.Status)
		}
		im.Status = "canceled"
		_, err = tx.NewUpdate().Model(im).Set("status = 'canceled', finished_at = now(), updated_at = now()").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if im.JobID != nil {
		if c, ok := m.d.Jobs.(interface {
			Cancel(ctx context.Context, tenant, id uuid.UUID) (*jobs.Job, error)
		}); ok {
			_, _ = c.Cancel(ctx, t.ID, *im.JobID)
		}
	}
	return importView(t.Slug, im), nil
}

// RevertImport queues the job that undoes an import.
func (m *Module) RevertImport(ctx context.Context, t tenancy.Tenant, id uuid.UUID) (*ImportView, error) {
	if err := need(ctx, PermWrite); err != nil {
		return nil, err
	}
	var im *Import
	err := db.InTenant(ctx, m.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if im, err = m.importFor(ctx, tx, t.ID, id); err != nil {
			return err
		}
		if im.Status != "completed" && im.Status != "canceled" && im.Status != "failed" {
			return errs.E(errs.Conflict, "This import is %s; revert it once it has completed, failed or been canceled.", im.Status)
		}
		j, err := m.d.Jobs.Enqueue(ctx, t.ID, jobs.Spec{Type: TypeRevert, Queue: jobs.QueueBulk, MaxAttempts: 20, CreatedBy: actorID(ctx),
			Payload: newImportPayload(ctx, id)})
		if err != nil {
			return err
		}
		im.Status, im.JobID, im.Reverted = "reverting", &j.ID, 0
		_, err = tx.NewUpdate().Model(im).Column("status", "job_id", "reverted").Set("updated_at = now()").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return importView(t.Slug, im), nil
}

// runRevert walks the journal: customers the import created are deleted, the
// ones it updated get their earlier state back, a checkpointed batch at a time.
func (m *Module) runRevert(ctx context.Context, j *jobs.Job) error {
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
	var total int64
	_ = db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Table("import_journal").ColumnExpr("count(*)").Where("tenant_id = ? AND import_id = ?", tenant, pl.ImportID).Scan(ctx, &total)
	})
	for {
		if j.Canceled(ctx) {
			return jobs.ErrCanceled
		}
		n := 0
		err := db.InTenantBulk(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			var entries []struct {
				ID     uuid.UUID       `bun:"customer_id"`
				Action string          `bun:"action"`
				Before json.RawMessage `bun:"before"`
			}
			if err := tx.NewSelect().Table("import_journal").Column("customer_id", "action", "before").
				Where("tenant_id = ? AND import_id = ? AND customer_id > ?", tenant, pl.ImportID, cp.After).
				OrderExpr("customer_id").Limit(importBatch).Scan(ctx, &entries); err != nil {
				return err
			}
			n = len(entries)
			var created []uuid.UUID
			var restore []stagedWrite
			for _, e := range entries {
				cp.After = e.ID
				if e.Action == "created" {
					created = append(created, e.ID)
					continue
				}
				before := &Customer{}
				if err := json.Unmarshal(e.Before, before); err != nil {
					return err
				}
				before.TenantID = tenant
				restore = append(restore, stagedWrite{c: before, keepUpdatedAt: true})
			}
			if err := m.loadStaged(ctx, tx, tenant, uuid.Nil, restore); err != nil {
				return err
			}
			if len(created) > 0 {
				for _, t := range []string{"field_index", "field_unique"} {
					if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE tenant_id = ? AND entity = ? AND record_id IN (?)", tenant, EntityCustomers, bun.In(created)); err != nil {
						return err
					}
				}
				if err := deleteSearchRows(ctx, tx, tenant, created); err != nil {
					return err
				}
				// People left pointing at a company this revert deletes lose the link
				// (the foreign key has no ON DELETE SET NULL: Citus refuses it).
				if _, err := tx.ExecContext(ctx, "UPDATE customers SET company_id = NULL WHERE tenant_id = ? AND company_id IN (?) AND id NOT IN (?)", tenant, bun.In(created), bun.In(created)); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = ? AND id IN (?)", tenant, bun.In(created)); err != nil {
					return err
				}
			}
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
		if n < importBatch {
			break
		}
	}
	m.refreshStats(ctx, "customers", "customer_terms", "customer_tags", "customer_contacts", "field_index", "field_unique")
	return db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE imports SET status = 'reverted', finished_at = now(), updated_at = now() WHERE tenant_id = ? AND id = ?", tenant, pl.ImportID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "customers.import.revert", Entity: "import", EntityID: pl.ImportID.String(),
			After: map[string]any{"reverted": cp.Done}})
	})
}
