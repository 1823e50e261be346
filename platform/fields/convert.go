package fields

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/jobs"
)

// TypeConvert is the bulk job that moves existing values onto a changed definition.
const TypeConvert = "fields:convert"

// Enqueuer starts background jobs (the kernel's jobs client).
type Enqueuer interface {
	Enqueue(ctx context.Context, tenant uuid.UUID, s jobs.Spec) (*jobs.Job, error)
}

// Pending is a change of a field waiting for its conversion job. Until the job
// finishes, the field keeps its old shape and its values cannot be written.
type Pending struct {
	JobID  uuid.UUID    `json:"job_id" doc:"follow it at GET .../jobs/{job_id}"`
	To     PendingShape `json:"to"`
	Reason []string     `json:"reason" doc:"what in the change existing values must follow"`
}

// PendingShape is the definition a field will have once converted.
type PendingShape struct {
	Type       Type     `json:"type"`
	Options    []Option `json:"options,omitempty"`
	Max        int      `json:"max,omitempty"`
	Unique     bool     `json:"unique"`
	Filterable bool     `json:"filterable"`
	Sortable   bool     `json:"sortable"`
	Sensitive  bool     `json:"sensitive"`
}

// conversionNeeds names what in a change the existing values must follow.
func conversionNeeds(before, after Definition) []string {
	var why []string
	if after.Type != before.Type {
		why = append(why, "type")
	}
	if after.Sensitive != before.Sensitive {
		why = append(why, "sensitive")
	}
	if after.Unique != before.Unique {
		why = append(why, "unique")
	}
	if after.Filterable != before.Filterable {
		why = append(why, "filterable")
	}
	if after.Sortable != before.Sortable {
		why = append(why, "sortable")
	}
	kept := map[string]bool{}
	for _, o := range after.Options {
		kept[o.Value] = true
	}
	for _, o := range before.Options {
		if !kept[o.Value] && (before.Type == Select || before.Type == MultiSelect) {
			why = append(why, "options")
			break
		}
	}
	if before.Type == Rating && after.Type == Rating && after.RatingMax() < before.RatingMax() {
		why = append(why, "max")
	}
	return why
}

type convertPayload struct {
	Entity string `json:"entity"`
	Key    string `json:"key"`
}

type convertCheckpoint struct {
	After     uuid.UUID `json:"after"`
	Converted int64     `json:"converted"`
	Failed    int64     `json:"failed"`
}

// ConvertResult is what a finished conversion reports.
type ConvertResult struct {
	Converted int64 `json:"converted"`
	Failed    int64 `json:"failed" doc:"values that could not follow; listed at GET .../fields/{entity}/{key}/conversion-failures"`
}

var tableRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// tableOf is the records table of a declared entity, checked to be a plain name
// since conversions write it into their SQL.
func (s *Service) tableOf(entity string) (string, error) {
	e, ok := s.entity(entity)
	if !ok {
		return "", errs.E(errs.NotFound, "There are no custom fields for %q.", entity)
	}
	if t := e.TableName(); tableRE.MatchString(t) {
		return t, nil
	}
	return "", errs.Field("path.entity", "not an entity with a table")
}

// startConversion records the new shape as pending and enqueues the job.
func (s *Service) startConversion(ctx context.Context, tx bun.IDB, tenant uuid.UUID, before, after Definition, why []string) (Definition, error) {
	if s.deps.Jobs == nil {
		return Definition{}, errs.E(errs.Conflict, "Changing %s of an existing field needs the background worker, which is not configured here.", strings.Join(why, ", "))
	}
	if _, err := s.tableOf(before.Entity); err != nil {
		return Definition{}, err
	}
	j, err := s.deps.Jobs.Enqueue(ctx, tenant, jobs.Spec{Type: TypeConvert, Queue: jobs.QueueBulk, MaxAttempts: 10,
		Payload: convertPayload{Entity: before.Entity, Key: before.Key}})
	if err != nil {
		return Definition{}, err
	}
	p := Pending{JobID: j.ID, To: shapeOf(after), Reason: why}
	full, _ := json.Marshal(after)
	if _, err := tx.ExecContext(ctx, "UPDATE field_definitions SET pending = ?, pending_job = ?, updated_at = now() WHERE tenant_id = ? AND entity = ? AND key = ?",
		string(full), j.ID, tenant, before.Entity, before.Key); err != nil {
		return Definition{}, db.Classify(err, "field")
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "field.convert.start", Entity: "field", EntityID: before.Entity + "." + before.Key,
		Before: before, After: after}); err != nil {
		return Definition{}, err
	}
	s.changed(ctx, tenant, before.Entity)
	out := before
	out.Pending = &p
	return out, nil
}

func shapeOf(d Definition) PendingShape {
	return PendingShape{Type: d.Type, Options: d.Options, Max: d.Max, Unique: d.Unique, Filterable: d.Filterable, Sortable: d.Sortable, Sensitive: d.Sensitive}
}

// coerce bends a value of the old type toward the new one where the meaning is
// plain (a number becomes its text, a single choice becomes a one-item list, a
// one-item list becomes its choice); Normalize then decides.
func coerce(to Definition, v any) any {
	switch x := v.(type) {
	case float64:
		switch to.Type {
		case Text, LongText, Email, Phone, URL, Select, Decimal:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case MultiSelect:
			return []any{strconv.FormatFloat(x, 'f', -1, 64)}
		}
	case json.Number:
		return coerce(to, mustFloat(x))
	case bool:
		switch to.Type {
		case Text, LongText, Select:
			return strconv.FormatBool(x)
		}
	case string:
		if to.Type == MultiSelect {
			return []any{x}
		}
		if to.Type == Boolean {
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "1", "是":
				return true
			case "false", "no", "0", "否":
				return false
			}
		}
	case []any:
		if to.Type != MultiSelect {
			if len(x) == 1 {
				return coerce(to, x[0])
			}
			if to.Type == Text || to.Type == LongText {
				parts := make([]string, len(x))
				for i, p := range x {
					parts[i] = fmt.Sprint(p)
				}
				return strings.Join(parts, "; ")
			}
		}
	case map[string]any:
		if amt, ok := x["amount"]; ok && (to.Type == Number || to.Type == Decimal) {
			return amt
		}
	}
	return v
}

func mustFloat(n json.Number) float64 {
	f, _ := n.Float64()
	return f
}

// runConvert moves every record's value onto the pending shape, a batch per
// transaction with its checkpoint, then makes the shape the field's own.
// Values that cannot follow leave their record for field_conversion_failures.
func (s *Service) runConvert(ctx context.Context, j *jobs.Job) error {
	var p convertPayload
	if err := j.Decode(&p); err != nil {
		return errs.E(errs.Invalid, "malformed conversion payload")
	}
	table, err := s.tableOf(p.Entity)
	if err != nil {
		return err
	}
	tenant := j.TenantID
	var from, to Definition
	live := false
	if err := db.InTenant(ctx, s.deps.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.get(ctx, tx, tenant, p.Entity, p.Key)
		if err != nil {
			return err
		}
		if r.PendingJob == nil || *r.PendingJob != j.ID || len(r.Pending) == 0 {
			return nil // superseded, or applied by an earlier run
		}
		from = r.def()
		from.Pending = nil
		if err := json.Unmarshal(r.Pending, &to); err != nil {
			return err
		}
		to.Entity, to.Key = p.Entity, p.Key
		live = true
		return nil
	}); err != nil || !live {
		return err
	}
	var cp convertCheckpoint
	if _, err := j.LoadCheckpoint(&cp); err != nil {
		return err
	}
	var total int64
	_ = db.InTenant(ctx, s.deps.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = ? AND jsonb_exists(custom, ?)", tenant, p.Key).Scan(&total)
	})
	_ = j.Progress(ctx, cp.Converted+cp.Failed, total)
	const batch = 500
	for {
		if err := ctx.Err(); err != nil {
			return err // resumed from the checkpoint
		}
		n := 0
		err := db.InTenant(ctx, s.deps.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			rows, err := tx.QueryContext(ctx, "SELECT id, custom -> ? FROM "+table+" WHERE tenant_id = ? AND jsonb_exists(custom, ?) AND id > ? ORDER BY id LIMIT ? FOR UPDATE",
				p.Key, tenant, p.Key, cp.After, batch)
			if err != nil {
				return err
			}
			type rec struct {
				id  uuid.UUID
				raw []byte
			}
			var recs []rec
			for rows.Next() {
				var r rec
				if err := rows.Scan(&r.id, &r.raw); err != nil {
					rows.Close()
					return err
				}
				recs = append(recs, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			n = len(recs)
			for _, r := range recs {
				ok, err := s.convertOne(ctx, tx, tenant, j.ID, table, from, to, r.id, r.raw)
				if err != nil {
					return err
				}
				if ok {
					cp.Converted++
				} else {
					cp.Failed++
				}
				cp.After = r.id
			}
			return j.SaveCheckpoint(ctx, tx, cp)
		})
		if err != nil {
			return err
		}
		_ = j.Progress(ctx, cp.Converted+cp.Failed, max(total, cp.Converted+cp.Failed))
		if n < batch {
			break
		}
	}
	err = db.InTenant(ctx, s.deps.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		nr := toRow(tenant, to)
		res, err := tx.NewUpdate().Model(nr).Column("type", "options", "unique", "filterable", "sortable", "sensitive", "label_en", "label_zh",
			"required", "default", "position", "help_en", "help_zh").
			Set("pending = NULL, pending_job = NULL, updated_at = now()").WherePK().Where("pending_job = ?", j.ID).Exec(ctx)
		if err != nil {
			return db.Classify(err, "field")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "field.convert.done", Entity: "field", EntityID: p.Entity + "." + p.Key,
			Before: map[string]any{"type": from.Type}, After: map[string]any{"type": to.Type, "converted": cp.Converted, "failed": cp.Failed}})
	})
	if err != nil {
		return err
	}
	s.changed(ctx, tenant, p.Entity)
	// Every value of the field was rewritten in the entity's table and its index:
	// plans over them should see the new shape at once (issue 20).
	db.RefreshStats(ctx, s.deps.DB, s.deps.Log, table, "field_index")
	// And the company's list counts, which steer its plans: the field's values
	// changed type and column.
	if err := s.Recount(ctx, tenant); err != nil {
		s.deps.Log.Warn("fields: recount after a conversion failed; the hourly recount retries", "error", err)
	}
	return j.SetResult(ConvertResult{Converted: cp.Converted, Failed: cp.Failed})
}

// convertOne rewrites one record's value and its index rows, or moves the value
// to the failures table. It reports whether the value converted.
func (s *Service) convertOne(ctx context.Context, tx bun.Tx, tenant, job uuid.UUID, table string, from, to Definition, id uuid.UUID, raw []byte) (bool, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return false, err
	}
	plain := v
	if sv, ok := v.(string); ok && strings.HasPrefix(sv, SealedPrefix) {
		pt, err := s.Open(ctx, tx, tenant, sv)
		if err != nil {
			return false, err
		}
		d := json.NewDecoder(strings.NewReader(pt))
		d.UseNumber()
		if err := d.Decode(&plain); err != nil {
			return false, err
		}
	}
	if n, ok := plain.(json.Number); ok {
		plain = mustFloat(n)
	}
	fail := func(reason string) (bool, error) {
		shown := string(raw)
		if !from.Sensitive {
			b, _ := json.Marshal(plain)
			shown = string(b)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO field_conversion_failures (tenant_id, job_id, entity, field_key, record_id, value, reason)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, tenant, job, to.Entity, to.Key, id, shown, reason); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+table+" SET custom = custom - ? WHERE tenant_id = ? AND id = ?", to.Key, tenant, id); err != nil {
			return false, err
		}
		return false, s.deleteKeyIndex(ctx, tx, tenant, to, id)
	}
	stored, iv, err := to.Normalize(coerce(to, plain))
	if err != nil {
		return fail(err.Error())
	}
	if stored == nil {
		return fail("empty under the new type")
	}
	if err := s.deleteKeyIndex(ctx, tx, tenant, to, id); err != nil {
		return false, err
	}
	if to.Unique && iv.Norm != "" {
		res, err := tx.ExecContext(ctx, "INSERT INTO field_unique (tenant_id, entity, field_key, v_norm, record_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
			tenant, to.Entity, to.Key, iv.Norm, id)
		if err != nil {
			return false, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fail("another record already has this value, and the field is now unique")
		}
	}
	if to.Sensitive {
		b, _ := json.Marshal(stored)
		if stored, err = s.Seal(ctx, tx, tenant, string(b)); err != nil {
			return false, err
		}
	} else if to.Filterable || to.Sortable {
		for i, e := range iv.Entries {
			if _, err := tx.ExecContext(ctx, `INSERT INTO field_index (tenant_id, entity, field_key, record_id, ord, v_text, v_num, v_time, v_bool)
				VALUES (?, ?, ?, ?, ?, ?, ?::numeric, ?::timestamptz, ?)`, tenant, to.Entity, to.Key, id, i, e.Text, e.Num, e.Time, e.Bool); err != nil {
				return false, db.Classify(err, "field index")
			}
		}
	}
	b, _ := json.Marshal(stored)
	if _, err := tx.ExecContext(ctx, "UPDATE "+table+" SET custom = jsonb_set(custom, ARRAY[?], ?::jsonb) WHERE tenant_id = ? AND id = ?",
		to.Key, string(b), tenant, id); err != nil {
		return false, err
	}
	return true, nil
}

func (s *Service) deleteKeyIndex(ctx context.Context, tx bun.Tx, tenant uuid.UUID, d Definition, id uuid.UUID) error {
	for _, t := range []string{"field_index", "field_unique"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE tenant_id = ? AND entity = ? AND field_key = ? AND record_id = ?", tenant, d.Entity, d.Key, id); err != nil {
			return err
		}
	}
	return nil
}

// ConversionFailure is one value a conversion could not carry over.
type ConversionFailure struct {
	RecordID  uuid.UUID `json:"record_id" bun:"record_id"`
	Value     string    `json:"value" bun:"value" doc:"as JSON; a sensitive field's value stays sealed"`
	Reason    string    `json:"reason" bun:"reason"`
	JobID     uuid.UUID `json:"job_id" bun:"job_id"`
	CreatedAt string    `json:"created_at" bun:"created_at"`
}

// ConversionFailures lists the values the field's conversions set aside, newest first.
func (s *Service) ConversionFailures(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity, key string, limit int) ([]ConversionFailure, error) {
	out := []ConversionFailure{}
	err := tx.NewRaw(`SELECT record_id, value, reason, job_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at
		FROM field_conversion_failures WHERE tenant_id = ? AND entity = ? AND field_key = ? ORDER BY created_at DESC, record_id LIMIT ?`,
		tenant, entity, key, limit).Scan(ctx, &out)
	return out, err
}
