package fields

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/module"
)

// MemberDirectory answers whether an id is a member of the tenant (user fields).
type MemberDirectory interface {
	IsMember(ctx context.Context, tenant, id uuid.UUID) (bool, error)
}

// Deps are what the engine needs; cmd fills them.
type Deps struct {
	DB        *bun.DB
	Members   MemberDirectory // nil: user values are only checked to be UUIDs
	MasterKey []byte          // 32 bytes; empty in dev/test generates one with a warning
	Jobs      Enqueuer        // runs conversions after a type change; nil refuses such changes
	Entities  []string        // names of entities whose table is their name, e.g. "customers"; SetEntities replaces them
	Log       *slog.Logger
	Env       string // "production" refuses an empty master key
	CacheTTL  time.Duration
}

// Service is the engine modules call with their tenant transaction.
type Service struct {
	deps   Deps
	master cipher.AEAD

	mu       sync.Mutex
	cache    map[cacheKey]cacheEntry
	keys     map[uuid.UUID]cipher.AEAD
	entities []module.Entity
}

type cacheKey struct {
	tenant uuid.UUID
	entity string
}

type cacheEntry struct {
	defs []Definition
	at   time.Time
}

// SealedPrefix marks a sealed value in a record's JSON.
const SealedPrefix = "sealed:v1:"

// MaskText is what a sensitive value looks like without pii.read.
const MaskText = "••••••"

// New builds the service.
func New(d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.CacheTTL == 0 {
		d.CacheTTL = 5 * time.Second
	}
	if len(d.MasterKey) == 0 {
		if d.Env == "production" {
			return nil, errors.New("fields: a 32-byte master key is required in production")
		}
		d.MasterKey = make([]byte, 32)
		if _, err := rand.Read(d.MasterKey); err != nil {
			return nil, err
		}
		d.Log.Warn("fields: no master key configured; generated one for this process, sealed values will not survive a restart")
	}
	if len(d.MasterKey) != 32 {
		return nil, fmt.Errorf("fields: the master key must be 32 bytes, got %d", len(d.MasterKey))
	}
	aead, err := newGCM(d.MasterKey)
	if err != nil {
		return nil, err
	}
	s := &Service{deps: d, master: aead, cache: map[cacheKey]cacheEntry{}, keys: map[uuid.UUID]cipher.AEAD{}}
	for _, e := range d.Entities {
		s.entities = append(s.entities, module.Entity{Name: e, LabelEN: e, LabelZH: e})
	}
	return s, nil
}

// SetEntities makes es the entities that may have custom fields: cmd gathers
// them from the modules once they are built (modules need the service first).
func (s *Service) SetEntities(es []module.Entity) {
	s.mu.Lock()
	s.entities = append([]module.Entity(nil), es...)
	s.mu.Unlock()
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Entities are the names of the entities that may have custom fields.
func (s *Service) Entities() []string {
	es := s.EntitySpecs()
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

// EntitySpecs are the entities that may have custom fields, as declared.
func (s *Service) EntitySpecs() []module.Entity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]module.Entity(nil), s.entities...)
}

// entity returns the declaration of an entity with custom fields.
func (s *Service) entity(name string) (module.Entity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entities {
		if e.Name == name {
			return e, true
		}
	}
	return module.Entity{}, false
}

func (s *Service) knownEntity(e string) bool {
	_, ok := s.entity(e)
	return ok
}

// row is the stored definition.
type row struct {
	bun.BaseModel `bun:"table:field_definitions"`
	TenantID      uuid.UUID       `bun:"tenant_id,pk,type:uuid"`
	Entity        string          `bun:"entity,pk"`
	Key           string          `bun:"key,pk"`
	LabelEN       string          `bun:"label_en"`
	LabelZH       string          `bun:"label_zh"`
	Type          string          `bun:"type"`
	Options       json.RawMessage `bun:"options,type:jsonb"`
	Required      bool            `bun:"required"`
	Unique        bool            `bun:"unique"`
	Default       json.RawMessage `bun:"default,type:jsonb,nullzero"`
	Filterable    bool            `bun:"filterable"`
	Sortable      bool            `bun:"sortable"`
	Sensitive     bool            `bun:"sensitive"`
	Position      int             `bun:"position"`
	HelpEN        string          `bun:"help_en"`
	HelpZH        string          `bun:"help_zh"`
	ArchivedAt    *time.Time      `bun:"archived_at"`
	Pending       json.RawMessage `bun:"pending,type:jsonb,nullzero"`
	PendingJob    *uuid.UUID      `bun:"pending_job,type:uuid"`
	CreatedAt     time.Time       `bun:"created_at,nullzero,default:now()"`
	UpdatedAt     time.Time       `bun:"updated_at,nullzero,default:now()"`
}

type storedOptions struct {
	Choices []Option `json:"choices,omitempty"`
	Max     int      `json:"max,omitempty"`
}

func (r *row) def() Definition {
	var o storedOptions
	_ = json.Unmarshal(r.Options, &o)
	return Definition{Entity: r.Entity, Key: r.Key, LabelEN: r.LabelEN, LabelZH: r.LabelZH, Type: Type(r.Type),
		Options: o.Choices, Max: o.Max, Required: r.Required, Unique: r.Unique, Default: r.Default,
		Filterable: r.Filterable, Sortable: r.Sortable, Sensitive: r.Sensitive, Position: r.Position,
		HelpEN: r.HelpEN, HelpZH: r.HelpZH, ArchivedAt: r.ArchivedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// def adds the pending change, if any, to the stored definition.
func (r *row) defWithPending() Definition {
	d := r.def()
	if r.PendingJob != nil && len(r.Pending) > 0 {
		var to Definition
		if json.Unmarshal(r.Pending, &to) == nil {
			d.Pending = &Pending{JobID: *r.PendingJob, To: shapeOf(to), Reason: conversionNeeds(d, to)}
		}
	}
	return d
}

func toRow(tenant uuid.UUID, d Definition) *row {
	o, _ := json.Marshal(storedOptions{Choices: d.Options, Max: d.Max})
	def := d.Default
	if string(def) == "null" {
		def = nil
	}
	return &row{TenantID: tenant, Entity: d.Entity, Key: d.Key, LabelEN: d.LabelEN, LabelZH: d.LabelZH, Type: string(d.Type),
		Options: o, Required: d.Required, Unique: d.Unique, Default: def, Filterable: d.Filterable, Sortable: d.Sortable,
		Sensitive: d.Sensitive, Position: d.Position, HelpEN: d.HelpEN, HelpZH: d.HelpZH, ArchivedAt: d.ArchivedAt}
}

// AllDefinitions returns every definition of the entity, archived ones included,
// ordered by position then key, straight from the database.
func (s *Service) AllDefinitions(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string) ([]Definition, error) {
	var rows []row
	if err := tx.NewSelect().Model(&rows).Where("tenant_id = ? AND entity = ?", tenant, entity).
		OrderExpr("position, key").Scan(ctx); err != nil {
		return nil, db.Classify(err, "field")
	}
	out := make([]Definition, len(rows))
	for i := range rows {
		out[i] = rows[i].defWithPending()
	}
	return out, nil
}

// Definitions returns the active (not archived) definitions of the entity, cached
// per tenant and entity for a few seconds and dropped on every change made here.
func (s *Service) Definitions(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string) ([]Definition, error) {
	all, err := s.cachedAll(ctx, tx, tenant, entity)
	if err != nil {
		return nil, err
	}
	active := make([]Definition, 0, len(all))
	for _, d := range all {
		if d.ArchivedAt == nil {
			active = append(active, d)
		}
	}
	return active, nil
}

// cachedAll is AllDefinitions through the cache.
func (s *Service) cachedAll(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string) ([]Definition, error) {
	k := cacheKey{tenant, entity}
	s.mu.Lock()
	if e, ok := s.cache[k]; ok && time.Since(e.at) < s.deps.CacheTTL {
		s.mu.Unlock()
		return e.defs, nil
	}
	s.mu.Unlock()
	all, err := s.AllDefinitions(ctx, tx, tenant, entity)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[k] = cacheEntry{defs: all, at: time.Now()}
	s.mu.Unlock()
	return all, nil
}

func (s *Service) invalidate(tenant uuid.UUID, entity string) {
	s.mu.Lock()
	delete(s.cache, cacheKey{tenant, entity})
	s.mu.Unlock()
}

// Loc is where a custom value is named in problems.
func Loc(key string) string { return "body.custom." + key }

// ValidateValues checks a record's custom values against the active definitions
// and returns them normalised (sensitive values sealed). On create (partial false)
// required fields must be present and defaults fill the gaps; on a patch
// (partial true) only the given keys are checked and a null clears a value. Every
// bad value is one FieldError of a single 422.
func (s *Service) ValidateValues(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string, values map[string]any, partial bool) (map[string]any, error) {
	defs, err := s.Definitions(ctx, tx, tenant, entity)
	if err != nil {
		return nil, err
	}
	byKey := map[string]Definition{}
	for _, d := range defs {
		byKey[d.Key] = d
	}
	clean := map[string]any{}
	var fe []errs.FieldError
	for _, k := range slices.Sorted(maps.Keys(values)) {
		v := values[k]
		d, ok := byKey[k]
		if !ok {
			fe = append(fe, errs.FieldError{Location: Loc(k), Message: "is not a field of " + entity})
			continue
		}
		if d.Pending != nil {
			fe = append(fe, errs.FieldError{Location: Loc(k), Message: "is being converted to its new type by a background job; try again when it has finished"})
			continue
		}
		st, _, err := d.Normalize(v)
		if err != nil {
			fe = append(fe, errs.FieldError{Location: Loc(k), Message: err.Error(), Value: safeValue(d, v)})
			continue
		}
		if st == nil {
			if d.Required {
				fe = append(fe, errs.FieldError{Location: Loc(k), Message: "is required"})
				continue
			}
			if partial {
				clean[k] = nil
			}
			continue
		}
		if d.Type == User && s.deps.Members != nil {
			id := uuid.MustParse(st.(string))
			ok, err := s.deps.Members.IsMember(ctx, tenant, id)
			if err != nil {
				return nil, err
			}
			if !ok {
				fe = append(fe, errs.FieldError{Location: Loc(k), Message: "is not a member of this company", Value: v})
				continue
			}
		}
		if clean[k], err = s.stored(ctx, tx, tenant, d, st); err != nil {
			return nil, err
		}
	}
	if !partial {
		missing, err := s.fillDefaults(ctx, tx, tenant, defs, values, clean)
		if err != nil {
			return nil, err
		}
		fe = append(fe, missing...)
	}
	if len(fe) > 0 {
		sort.SliceStable(fe, func(i, j int) bool { return fe[i].Location < fe[j].Location })
		return nil, errs.E(errs.Invalid, "%d custom field value(s) are invalid.", len(fe)).WithFields(fe...)
	}
	return clean, nil
}

// stored is a normalised value as it is stored: sealed when the field is
// sensitive.
func (s *Service) stored(ctx context.Context, tx bun.IDB, tenant uuid.UUID, d Definition, st any) (any, error) {
	if !d.Sensitive {
		return st, nil
	}
	raw, _ := json.Marshal(st)
	return s.Seal(ctx, tx, tenant, string(raw))
}

// fillDefaults puts the default of each field a new record was not given into
// clean; a required field with neither a value nor a usable default is a
// problem.
func (s *Service) fillDefaults(ctx context.Context, tx bun.IDB, tenant uuid.UUID, defs []Definition, values, clean map[string]any) ([]errs.FieldError, error) {
	var fe []errs.FieldError
	for _, d := range defs {
		if _, given := values[d.Key]; given {
			continue
		}
		if len(d.Default) > 0 && string(d.Default) != "null" {
			var v any
			_ = json.Unmarshal(d.Default, &v)
			if st, _, err := d.Normalize(v); err == nil && st != nil {
				if clean[d.Key], err = s.stored(ctx, tx, tenant, d, st); err != nil {
					return nil, err
				}
				continue
			}
		}
		if d.Required {
			fe = append(fe, errs.FieldError{Location: Loc(d.Key), Message: "is required"})
		}
	}
	return fe, nil
}

func safeValue(d Definition, v any) any {
	if d.Sensitive {
		return nil
	}
	return v
}

// WriteIndex replaces the record's rows in the side table and the uniqueness table
// with those of clean (the full, normalised custom values of the record). A value
// another record of the tenant holds for a unique field is a Conflict naming it.
// Archived fields stay indexed (and unique values reserved) so a restore finds
// the index whole.
func (s *Service) WriteIndex(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string, recordID uuid.UUID, clean map[string]any) error {
	return s.writeIndex(ctx, tx, tenant, entity, recordID, clean, false)
}

// WriteNewIndex writes the index rows of a record created in this transaction:
// there are none to replace, and its field_index rows travel with COMMIT
// (db.Defer). Its field_unique rows are written at once, so that a taken
// value is reported on its field.
func (s *Service) WriteNewIndex(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string, recordID uuid.UUID, clean map[string]any) error {
	return s.writeIndex(ctx, tx, tenant, entity, recordID, clean, true)
}

func (s *Service) writeIndex(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string, recordID uuid.UUID, clean map[string]any, fresh bool) error {
	defs, err := s.cachedAll(ctx, tx, tenant, entity)
	if err != nil {
		return err
	}
	// A field being converted has its index rows written by the conversion job.
	var converting []string
	for _, d := range defs {
		if d.Pending != nil {
			converting = append(converting, d.Key)
		}
	}
	if fresh {
		// Nothing to replace.
	} else if len(converting) == 0 {
		if err := s.DeleteIndex(ctx, tx, tenant, entity, recordID); err != nil {
			return err
		}
	} else {
		for _, t := range []string{"field_index", "field_unique"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE tenant_id = ? AND entity = ? AND record_id = ? AND field_key NOT IN (?)",
				tenant, entity, recordID, bun.In(converting)); err != nil {
				return db.Classify(err, "field index")
			}
		}
	}
	rows, uniq, err := IndexRows(defs, clean)
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		var sb strings.Builder
		args := make([]any, 0, len(rows)*9)
		sb.WriteString("INSERT INTO field_index (tenant_id, entity, field_key, record_id, ord, v_text, v_num, v_time, v_bool) VALUES ")
		for i, r := range rows {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?::numeric, ?::timestamptz, ?)")
			args = append(args, tenant, entity, r.Key, recordID, r.Ord, r.Entry.Text, r.Entry.Num, r.Entry.Time, r.Entry.Bool)
		}
		if fresh {
			if err := db.Defer(ctx, tx, sb.String(), args...); err != nil {
				return db.Classify(err, "field index")
			}
		} else if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return db.Classify(err, "field index")
		}
	}
	for _, u := range uniq {
		_, err := tx.ExecContext(ctx, "INSERT INTO field_unique (tenant_id, entity, field_key, v_norm, record_id) VALUES (?, ?, ?, ?, ?)",
			tenant, entity, u.Key, u.Norm, recordID)
		if db.IsUniqueViolation(err, "") {
			return errs.Wrap(errs.Conflict, err, "Another record already has this %s.", u.Key).
				WithFields(errs.FieldError{Location: Loc(u.Key), Message: "must be unique; another record already has this value"})
		}
		if err != nil {
			return db.Classify(err, "field value")
		}
	}
	return nil
}

// WriteNewIndexAll is WriteNewIndex for many new records of one entity at
// once: their index rows with one deferred statement, their unique values with
// one statement now. A unique value another record holds refuses the lot with
// a conflict that does not say which record: a caller that must know goes
// record by record.
func (s *Service) WriteNewIndexAll(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string, ids []uuid.UUID, cleans []map[string]any) error {
	defs, err := s.cachedAll(ctx, tx, tenant, entity)
	if err != nil {
		return err
	}
	var sb, ub strings.Builder
	var args, uargs []any
	for i, id := range ids {
		rows, uniq, err := IndexRows(defs, cleans[i])
		if err != nil {
			return err
		}
		for _, r := range rows {
			if len(args) > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?::numeric, ?::timestamptz, ?)")
			args = append(args, tenant, entity, r.Key, id, r.Ord, r.Entry.Text, r.Entry.Num, r.Entry.Time, r.Entry.Bool)
		}
		for _, u := range uniq {
			if len(uargs) > 0 {
				ub.WriteString(", ")
			}
			ub.WriteString("(?, ?, ?, ?, ?)")
			uargs = append(uargs, tenant, entity, u.Key, u.Norm, id)
		}
	}
	if len(uargs) > 0 {
		_, err := tx.ExecContext(ctx, "INSERT INTO field_unique (tenant_id, entity, field_key, v_norm, record_id) VALUES "+ub.String(), uargs...)
		if db.IsUniqueViolation(err, "") {
			return errs.Wrap(errs.Conflict, err, "Another record already has one of these unique values.")
		}
		if err != nil {
			return db.Classify(err, "field value")
		}
	}
	if len(args) > 0 {
		q := "INSERT INTO field_index (tenant_id, entity, field_key, record_id, ord, v_text, v_num, v_time, v_bool) VALUES " + sb.String()
		if err := db.Defer(ctx, tx, q, args...); err != nil {
			return db.Classify(err, "field index")
		}
	}
	return nil
}

// IndexRow is one field_index row of a record (Entry set) or one field_unique
// row (Norm set).
type IndexRow struct {
	Key   string
	Ord   int
	Entry IndexEntry
	Norm  string
}

// IndexRows derives a record's field_index and field_unique rows from its clean
// custom values: sensitive fields and fields being converted get none, and only
// filterable, sortable or unique fields are indexed.
func IndexRows(defs []Definition, clean map[string]any) (index, unique []IndexRow, err error) {
	for _, d := range defs {
		v, ok := clean[d.Key]
		if !ok || v == nil || d.Sensitive || !(d.Filterable || d.Sortable || d.Unique) || d.Pending != nil {
			continue
		}
		_, iv, err := d.Normalize(jsonish(v))
		if err != nil {
			return nil, nil, errs.Field(Loc(d.Key), err.Error())
		}
		if d.Filterable || d.Sortable {
			for i, e := range iv.Entries {
				index = append(index, IndexRow{Key: d.Key, Ord: i, Entry: e})
			}
		}
		if d.Unique && iv.Norm != "" {
			unique = append(unique, IndexRow{Key: d.Key, Norm: iv.Norm})
		}
	}
	return index, unique, nil
}

// jsonish turns a stored Go value back into what JSON decoding would produce, so
// that Normalize accepts values coming either from a request or from storage.
func jsonish(v any) any {
	switch v.(type) {
	case string, bool, nil, []any, map[string]any, json.Number:
		return v
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return v
	}
	return out
}

// DeleteIndex removes a record from the side and uniqueness tables (on hard
// delete; a soft-deleted record keeps its unique values reserved until purged).
func (s *Service) DeleteIndex(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string, recordID uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM field_index WHERE tenant_id = ? AND entity = ? AND record_id = ?", tenant, entity, recordID); err != nil {
		return db.Classify(err, "field index")
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM field_unique WHERE tenant_id = ? AND entity = ? AND record_id = ?", tenant, entity, recordID); err != nil {
		return db.Classify(err, "field index")
	}
	return nil
}

// Filter operators.
var Ops = []string{"eq", "ne", "in", "gt", "gte", "lt", "lte", "between", "prefix", "contains", "empty"}

// tenantOf is the tenant column beside the record id column idExpr ("c.id" gives
// "c.tenant_id"), so the field_index subquery joins on the distribution column:
// Citus then runs it inside the tenant's shard, and on one node the planner
// carries the outer tenant_id = ? into the subquery's index condition. An id
// expression without a table alias falls back to the transaction's tenant.
func tenantOf(idExpr string) string {
	if strings.HasSuffix(idExpr, ".id") && !strings.ContainsAny(idExpr, " ()") {
		return strings.TrimSuffix(idExpr, "id") + "tenant_id"
	}
	return "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
}

// FilterSQL returns a WHERE fragment (bun ? placeholders) selecting the records of
// def's entity, whose id is the SQL expression idExpr, that match op over the raw
// query values (in: one or more values; between: exactly two; empty: "true" or
// "false"). Matching goes through field_index with equality and ranges on a btree
// led by (tenant_id, entity, field_key), so it is an index scan under RLS.
// ne and empty=true also match records without a value.
func FilterSQL(def Definition, idExpr, op string, values []string) (string, []any, error) {
	loc := "query.custom." + def.Key
	if !def.Filterable || !def.Indexable() {
		return "", nil, errs.Field(loc, "is not filterable")
	}
	if op == "" {
		op = "eq"
	}
	base := "SELECT 1 FROM field_index fi WHERE fi.tenant_id = " + tenantOf(idExpr) + " AND fi.entity = ? AND fi.field_key = ? AND fi.record_id = " + idExpr
	return filterSQL(def, base, []any{def.Entity, def.Key}, op, values, true)
}

// filterSQL is FilterSQL over base, the select of def's index rows (fi) with
// baseArgs. A probe (base names one record) compares a range on an
// expression of the column, not the column: the planner then finds the
// record's few rows by the primary key, instead of scanning every value in
// the range (its estimate from table-wide statistics can make the range look
// narrow) and filtering on the record.
func filterSQL(def Definition, base string, baseArgs []any, op string, values []string, probe bool) (string, []any, error) {
	loc := "query.custom." + def.Key
	col := "fi." + def.Column()
	switch op {
	case "gt", "gte", "lt", "lte", "between":
		if probe {
			col = map[string]string{"v_num": "(fi.v_num + 0)", "v_time": "(fi.v_time + interval '0 s')", "v_text": "(fi.v_text || '')", "v_bool": "fi.v_bool"}[def.Column()]
		}
	}
	args := baseArgs
	parse := func(s string) (any, error) {
		var in any = s
		switch def.Type {
		case Boolean:
			switch s {
			case "true":
				in = true
			case "false":
				in = false
			}
		case MultiSelect:
			in = []any{s}
		case Currency:
			// filter on the amount only
			c, err := canonDecimal(strings.TrimSpace(s), 4)
			if err != nil {
				return nil, errs.Field(loc, "the amount "+err.Error())
			}
			return c, nil
		}
		_, iv, err := def.Normalize(in)
		if err != nil {
			return nil, errs.Field(loc, err.Error())
		}
		if len(iv.Entries) == 0 {
			return nil, errs.Field(loc, "needs a value")
		}
		e := iv.Entries[0]
		switch {
		case e.Text != nil:
			return *e.Text, nil
		case e.Num != nil:
			return *e.Num, nil
		case e.Time != nil:
			return *e.Time, nil
		}
		return *e.Bool, nil
	}
	cast := ""
	switch def.Column() {
	case "v_num":
		cast = "::numeric"
	case "v_time":
		cast = "::timestamptz"
	}
	one := func() (any, error) {
		if len(values) != 1 {
			return nil, errs.Field(loc, op+" takes one value")
		}
		return parse(values[0])
	}
	switch op {
	case "eq", "ne", "gt", "gte", "lt", "lte":
		v, err := one()
		if err != nil {
			return "", nil, err
		}
		sym := map[string]string{"eq": "=", "ne": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
		if def.Type == Boolean && sym != "=" {
			return "", nil, errs.Field(loc, "a boolean takes eq, ne or empty")
		}
		q := "EXISTS (" + base + " AND " + col + " " + sym + " ?" + cast + ")"
		if op == "ne" {
			q = "NOT " + q
		}
		return q, append(args, v), nil
	case "in":
		if len(values) == 0 || len(values) > 100 {
			return "", nil, errs.Field(loc, "in takes 1 to 100 values")
		}
		ph := make([]string, len(values))
		for i, s := range values {
			v, err := parse(s)
			if err != nil {
				return "", nil, err
			}
			ph[i] = "?" + cast
			args = append(args, v)
		}
		return "EXISTS (" + base + " AND " + col + " IN (" + strings.Join(ph, ", ") + "))", args, nil
	case "between":
		if len(values) != 2 {
			return "", nil, errs.Field(loc, "between takes two values")
		}
		lo, err := parse(values[0])
		if err != nil {
			return "", nil, err
		}
		hi, err := parse(values[1])
		if err != nil {
			return "", nil, err
		}
		return "EXISTS (" + base + " AND " + col + " >= ?" + cast + " AND " + col + " <= ?" + cast + ")", append(args, lo, hi), nil
	case "prefix", "contains":
		if def.Column() != "v_text" || def.Type == Select || def.Type == MultiSelect || def.Type == User {
			return "", nil, errs.Field(loc, op+" works on text fields only")
		}
		if len(values) != 1 || values[0] == "" || utf8.RuneCountInString(values[0]) > 200 {
			return "", nil, errs.Field(loc, op+" takes one non-empty value")
		}
		p := values[0]
		if def.Type == Email {
			p = strings.ToLower(p)
		}
		if op == "contains" {
			return "EXISTS (" + base + " AND strpos(" + col + ", ?) > 0)", append(args, p), nil
		}
		q := "EXISTS (" + base + " AND " + col + " >= ?"
		args = append(args, p)
		if hi, ok := prefixUpper(p); ok {
			q += " AND " + col + " < ?"
			args = append(args, hi)
		}
		return q + ")", args, nil
	case "empty":
		if len(values) != 1 || (values[0] != "true" && values[0] != "false") {
			return "", nil, errs.Field(loc, "empty takes true or false")
		}
		q := "EXISTS (" + base + ")"
		if values[0] == "true" {
			q = "NOT " + q
		}
		return q, args, nil
	}
	return "", nil, errs.Field(loc, fmt.Sprintf("unknown operator %q (one of %s)", op, strings.Join(Ops, ", ")))
}

// prefixUpper is the smallest string greater than every string starting with p in
// byte (code point) order: p with its last rune incremented.
func prefixUpper(p string) (string, bool) {
	r := []rune(p)
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] < utf8.MaxRune {
			n := r[i] + 1
			if n >= 0xD800 && n <= 0xDFFF {
				n = 0xE000
			}
			return string(append(r[:i:i], n)), true
		}
	}
	return "", false
}

// SortSQL returns an ORDER BY expression for def over records whose id is idExpr,
// with the entity and key as its arguments. Records without a value sort last.
func SortSQL(def Definition, idExpr string, desc bool) (string, []any, error) {
	if !def.Sortable || !def.Indexable() || def.Type == MultiSelect {
		return "", nil, errs.Field("query.sort", "custom."+def.Key+" is not sortable")
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	col := def.Column()
	return "(SELECT fi." + col + " FROM field_index fi WHERE fi.tenant_id = " + tenantOf(idExpr) + " AND fi.entity = ? AND fi.field_key = ? AND fi.record_id = " + idExpr + " AND fi.ord = 0) " + dir + " NULLS LAST",
		[]any{def.Entity, def.Key}, nil
}

// dataKey returns the tenant's data key, creating and wrapping it on first use.
func (s *Service) dataKey(ctx context.Context, tx bun.IDB, tenant uuid.UUID) (cipher.AEAD, error) {
	s.mu.Lock()
	k, ok := s.keys[tenant]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	var wrapped []byte
	err := tx.QueryRowContext(ctx, "SELECT wrapped_key FROM tenant_keys WHERE tenant_id = ?", tenant).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, errs.InternalErr(err)
		}
		nonce := make([]byte, s.master.NonceSize())
		_, _ = rand.Read(nonce)
		w := s.master.Seal(nonce, nonce, key, tenant[:])
		if _, err := tx.ExecContext(ctx, "INSERT INTO tenant_keys (tenant_id, wrapped_key) VALUES (?, ?) ON CONFLICT (tenant_id) DO NOTHING", tenant, w); err != nil {
			return nil, db.Classify(err, "tenant key")
		}
		if err := tx.QueryRowContext(ctx, "SELECT wrapped_key FROM tenant_keys WHERE tenant_id = ?", tenant).Scan(&wrapped); err != nil {
			return nil, db.Classify(err, "tenant key")
		}
	} else if err != nil {
		return nil, db.Classify(err, "tenant key")
	}
	ns := s.master.NonceSize()
	if len(wrapped) < ns {
		return nil, errs.InternalErr(errors.New("fields: short wrapped key"))
	}
	key, err := s.master.Open(nil, wrapped[:ns], wrapped[ns:], tenant[:])
	if err != nil {
		return nil, errs.InternalErr(fmt.Errorf("fields: unwrap tenant key (wrong master key?): %w", err))
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, errs.InternalErr(err)
	}
	// Cache only after the row is committed: a rolled-back key must not be used.
	db.AfterCommit(ctx, func(context.Context) {
		s.mu.Lock()
		s.keys[tenant] = aead
		s.mu.Unlock()
	})
	return aead, nil
}

// Seal encrypts plaintext with the tenant's data key (AES-GCM, tenant id as
// additional data) and returns "sealed:v1:<base64 nonce||ciphertext>".
func (s *Service) Seal(ctx context.Context, tx bun.IDB, tenant uuid.UUID, plaintext string) (string, error) {
	k, err := s.dataKey(ctx, tx, tenant)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, k.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", errs.InternalErr(err)
	}
	return SealedPrefix + base64.RawStdEncoding.EncodeToString(k.Seal(nonce, nonce, []byte(plaintext), tenant[:])), nil
}

// Open reverses Seal.
func (s *Service) Open(ctx context.Context, tx bun.IDB, tenant uuid.UUID, sealed string) (string, error) {
	if !strings.HasPrefix(sealed, SealedPrefix) {
		return "", errs.InternalErr(errors.New("fields: not a sealed value"))
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, SealedPrefix))
	if err != nil {
		return "", errs.InternalErr(fmt.Errorf("fields: sealed value: %w", err))
	}
	k, err := s.dataKey(ctx, tx, tenant)
	if err != nil {
		return "", err
	}
	ns := k.NonceSize()
	if len(raw) < ns {
		return "", errs.InternalErr(errors.New("fields: short sealed value"))
	}
	pt, err := k.Open(nil, raw[:ns], raw[ns:], tenant[:])
	if err != nil {
		return "", errs.InternalErr(fmt.Errorf("fields: open sealed value: %w", err))
	}
	return string(pt), nil
}

// Reveal returns values for a reader: sensitive values opened when the actor in
// ctx holds pii.read, masked otherwise. values is not modified.
func (s *Service) Reveal(ctx context.Context, tx bun.IDB, tenant uuid.UUID, defs []Definition, values map[string]any) (map[string]any, error) {
	out := Mask(ctx, defs, values)
	if !authz.ActorFrom(ctx).Can(PermPIIRead) {
		return out, nil
	}
	for _, d := range defs {
		sv, ok := values[d.Key].(string)
		if !d.Sensitive || !ok || !strings.HasPrefix(sv, SealedPrefix) {
			continue
		}
		pt, err := s.Open(ctx, tx, tenant, sv)
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal([]byte(pt), &v); err != nil {
			return nil, errs.InternalErr(err)
		}
		out[d.Key] = v
	}
	return out, nil
}

// PermPIIRead lets a reader see sensitive values.
const PermPIIRead = "pii.read"

// Mask returns a copy of values with every sensitive value replaced by MaskText,
// unless the actor in ctx holds pii.read (then sealed values are left for Reveal).
func Mask(ctx context.Context, defs []Definition, values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		out[k] = v
	}
	if authz.ActorFrom(ctx).Can(PermPIIRead) {
		return out
	}
	for _, d := range defs {
		if v, ok := out[d.Key]; ok && d.Sensitive && v != nil {
			out[d.Key] = MaskText
		}
	}
	return out
}

// SensitiveKeys are the audit keys ("custom.<key>") to mask in diffs.
func SensitiveKeys(defs []Definition) []string {
	var out []string
	for _, d := range defs {
		if d.Sensitive {
			out = append(out, "custom."+d.Key)
		}
	}
	return out
}

// ParseMasterKey decodes CLIENTELE_MASTER_KEY (32 bytes as base64, padded or not,
// standard or URL alphabet). An empty string is nil: New then generates a key
// outside production.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("fields: CLIENTELE_MASTER_KEY must decode to 32 bytes, got %d", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("fields: CLIENTELE_MASTER_KEY is not base64")
}
