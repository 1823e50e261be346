package fields

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/page"
)

// Binding is the custom fields of one entity, for the module that owns it:
// everything a record's custom values need on create, update, read, list and
// delete, with no code of the module's own. A nil Binding (a module built
// without the fields service) is an entity without custom fields: values are
// refused, reads and index writes do nothing.
type Binding struct {
	s      *Service
	entity string
}

// Bind returns the binding of entity. It may be called before the entity is
// declared to the service (cmd declares the entities once every module is
// built); a nil service gives a nil binding.
func (s *Service) Bind(entity string) *Binding {
	if s == nil {
		return nil
	}
	return &Binding{s: s, entity: entity}
}

// Entity is the bound entity's name.
func (b *Binding) Entity() string {
	if b == nil {
		return ""
	}
	return b.entity
}

// Definitions are the entity's active definitions (none without a service).
func (b *Binding) Definitions(ctx context.Context, tx bun.IDB, tenant uuid.UUID) ([]Definition, error) {
	if b == nil {
		return nil, nil
	}
	return b.s.Definitions(ctx, tx, tenant, b.entity)
}

// Validate checks a new record's custom values: required ones present,
// defaults filled in, sensitive ones sealed. The result is what to store.
func (b *Binding) Validate(ctx context.Context, tx bun.IDB, tenant uuid.UUID, values map[string]any) (map[string]any, error) {
	return b.validate(ctx, tx, tenant, values, false)
}

func (b *Binding) validate(ctx context.Context, tx bun.IDB, tenant uuid.UUID, values map[string]any, partial bool) (map[string]any, error) {
	if b == nil {
		if len(values) > 0 {
			return nil, errs.Field("body.custom", "custom fields are not available")
		}
		return map[string]any{}, nil
	}
	if values == nil {
		values = map[string]any{}
	}
	return b.s.ValidateValues(ctx, tx, tenant, b.entity, values, partial)
}

// CheckPatch checks a partial update's values: only the given keys, a null
// (kept as nil in the result) clears a value.
func (b *Binding) CheckPatch(ctx context.Context, tx bun.IDB, tenant uuid.UUID, patch map[string]any) (map[string]any, error) {
	return b.validate(ctx, tx, tenant, patch, true)
}

// Patch applies a partial update to a record's stored custom values: only the
// given keys are checked, a null clears a value. It returns the record's new
// full custom values; current is not changed.
func (b *Binding) Patch(ctx context.Context, tx bun.IDB, tenant uuid.UUID, current, patch map[string]any) (map[string]any, error) {
	clean, err := b.CheckPatch(ctx, tx, tenant, patch)
	if err != nil {
		return nil, err
	}
	merged := make(map[string]any, len(current)+len(clean))
	for k, v := range current {
		merged[k] = v
	}
	for k, v := range clean {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	return merged, nil
}

// WriteIndex replaces the record's index and uniqueness rows from its full
// custom values (see Service.WriteIndex).
func (b *Binding) WriteIndex(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID, values map[string]any) error {
	if b == nil {
		return nil
	}
	return b.s.WriteIndex(ctx, tx, tenant, b.entity, id, values)
}

// WriteNewIndex is WriteIndex for a record created in this transaction: no
// rows to replace, and the index rows travel with COMMIT.
func (b *Binding) WriteNewIndex(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID, values map[string]any) error {
	if b == nil {
		return nil
	}
	return b.s.WriteNewIndex(ctx, tx, tenant, b.entity, id, values)
}

// WriteNewIndexAll is WriteNewIndex for many new records at once (see
// Service.WriteNewIndexAll); ids and cleans go together by position.
func (b *Binding) WriteNewIndexAll(ctx context.Context, tx bun.IDB, tenant uuid.UUID, ids []uuid.UUID, cleans []map[string]any) error {
	if b == nil {
		return nil
	}
	return b.s.WriteNewIndexAll(ctx, tx, tenant, b.entity, ids, cleans)
}

// DeleteIndex removes a record's index rows, when it is deleted for good.
func (b *Binding) DeleteIndex(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID) error {
	if b == nil {
		return nil
	}
	return b.s.DeleteIndex(ctx, tx, tenant, b.entity, id)
}

// Sensitive are the audit keys ("custom.<key>") to mask in a record's diffs.
func (b *Binding) Sensitive(ctx context.Context, tx bun.IDB, tenant uuid.UUID) []string {
	if b == nil {
		return nil
	}
	defs, err := b.Definitions(ctx, tx, tenant)
	if err != nil {
		return nil
	}
	return SensitiveKeys(defs)
}

// Reveal turns each record's stored custom values into what the actor in ctx
// may read, in place: sensitive values opened for holders of pii.read, masked
// for everyone else.
func (b *Binding) Reveal(ctx context.Context, tx bun.IDB, tenant uuid.UUID, values ...*map[string]any) error {
	if b == nil || len(values) == 0 {
		return nil
	}
	defs, err := b.Definitions(ctx, tx, tenant)
	if err != nil {
		return err
	}
	for _, v := range values {
		out, err := b.s.Reveal(ctx, tx, tenant, defs, *v)
		if err != nil {
			return err
		}
		*v = out
	}
	return nil
}

// lookup finds an active definition by key.
func (b *Binding) lookup(ctx context.Context, tx bun.IDB, tenant uuid.UUID, key string) (Definition, bool, error) {
	defs, err := b.Definitions(ctx, tx, tenant)
	if err != nil {
		return Definition{}, false, err
	}
	for _, d := range defs {
		if d.Key == key {
			return d, true, nil
		}
	}
	return Definition{}, false, nil
}

// Where narrows q to the records (whose id is idExpr, e.g. "c.id") where the
// custom field key matches op over raw, the value as the query string gives it
// (in and between take a comma-separated list).
func (b *Binding) Where(ctx context.Context, tx bun.IDB, tenant uuid.UUID, q *bun.SelectQuery, idExpr, key, op, raw string) (*bun.SelectQuery, error) {
	loc := "query.custom." + key
	if b == nil {
		return nil, errs.Field(loc, "custom fields are not available")
	}
	d, ok, err := b.lookup(ctx, tx, tenant, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.Field(loc, "no custom field with this key is defined for "+b.entity)
	}
	vals := []string{raw}
	if op == "in" || op == "between" {
		vals = nil
		for _, v := range strings.Split(raw, ",") {
			vals = append(vals, strings.TrimSpace(v))
		}
	}
	frag, args, err := FilterSQL(d, idExpr, op, vals)
	if err != nil {
		return nil, err
	}
	return q.Where(frag, args...), nil
}

// Cursor is a keyset position in a list. Lists sorted by a standard column use
// V and ID; lists sorted by a custom field set P to "n" once past the records
// with a value.
type Cursor struct {
	V  string    `json:"v"`
	ID uuid.UUID `json:"i"`
	P  string    `json:"p,omitempty"`
}

// Encode is the cursor as lists hand it out.
func (c Cursor) Encode() string { return page.Encode(c) }

// DecodeCursor reads a cursor a list handed out; "" is the first page (nil).
func DecodeCursor(s string) (*Cursor, error) { return page.Start[Cursor](s) }

// SortedPage asks for one page of records sorted by a custom field.
type SortedPage struct {
	Key   string  // the custom field's key
	Desc  bool    // descending
	Limit int     // records per page
	After *Cursor // the position to continue from; nil starts
	Alias string  // the records' table alias in the queries Query builds, e.g. "c"
}

// PageSorted pages records in the order of a sortable custom field. It walks
// the field's typed index in order (tenant, entity, key, value, record), so a
// page costs the same at any depth; records without a value follow, by id, as
// NULLS LAST would put them. query starts a select of the module's records
// into dest with its own filters and the actor's scope applied; id reads a
// record's id. It returns at most Limit records and the next cursor ("" at
// the end).
func PageSorted[T any](ctx context.Context, tx bun.IDB, b *Binding, tenant uuid.UUID, p SortedPage,
	query func(dest *[]T) (*bun.SelectQuery, error), id func(*T) uuid.UUID) ([]T, string, error) {
	if b == nil {
		return nil, "", errs.Field("query.sort", "custom fields are not available")
	}
	def, ok, err := b.lookup(ctx, tx, tenant, p.Key)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", errs.Field("query.sort", "no custom field "+p.Key+" is defined for "+b.entity)
	}
	if !def.Sortable || !def.Indexable() || def.Type == MultiSelect {
		return nil, "", errs.Field("query.sort", "custom."+p.Key+" is not sortable; an admin can mark it sortable (sensitive, long text and multi-select fields never are)")
	}
	a := p.Alias
	col := "fi." + def.Column()
	cast := map[string]string{"v_num": "numeric", "v_time": "timestamptz", "v_bool": "boolean", "v_text": "text"}[def.Column()]
	dir, cmp := "ASC", ">"
	if p.Desc {
		dir, cmp = "DESC", "<"
	}
	need := p.Limit + 1
	var out []T
	if p.After == nil || p.After.P != "n" {
		q, err := query(&out)
		if err != nil {
			return nil, "", err
		}
		q = q.Join("JOIN field_index AS fi ON fi.tenant_id = "+a+".tenant_id AND fi.record_id = "+a+".id").
			Where("fi.entity = ? AND fi.field_key = ? AND fi.ord = 0 AND "+col+" IS NOT NULL", b.entity, p.Key)
		if p.After != nil {
			q = q.Where(fmt.Sprintf("(%s, fi.record_id) %s (?::%s, ?)", col, cmp, cast), p.After.V, p.After.ID)
		}
		if err := q.OrderExpr(fmt.Sprintf("%s %s, fi.record_id %s", col, dir, dir)).Limit(need).Scan(ctx); err != nil {
			return nil, "", err
		}
	}
	valued := len(out) // where records without a value start
	if len(out) < need {
		var rest []T
		q, err := query(&rest)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("NOT EXISTS (SELECT 1 FROM field_index fi WHERE fi.tenant_id = "+a+".tenant_id AND fi.entity = ? AND fi.field_key = ? AND fi.record_id = "+a+".id AND fi.ord = 0 AND "+col+" IS NOT NULL)", b.entity, p.Key)
		if p.After != nil && p.After.P == "n" {
			q = q.Where(a+".id "+cmp+" ?", p.After.ID)
		}
		if err := q.OrderExpr(a + ".id " + dir).Limit(need - len(out)).Scan(ctx); err != nil {
			return nil, "", err
		}
		out = append(out, rest...)
	}
	if len(out) <= p.Limit {
		return out, "", nil
	}
	last := &out[p.Limit-1]
	c := Cursor{ID: id(last)}
	if p.Limit-1 < valued {
		if err := tx.QueryRowContext(ctx, "SELECT "+col+"::text FROM field_index fi WHERE fi.tenant_id = ? AND fi.entity = ? AND fi.field_key = ? AND fi.record_id = ? AND fi.ord = 0",
			tenant, b.entity, p.Key, c.ID).Scan(&c.V); err != nil {
			return nil, "", err
		}
	} else {
		c.P = "n"
	}
	return out[:p.Limit], c.Encode(), nil
}

// FindUnique returns the record whose unique custom field key holds value
// (normalised as stored: case, spaces, digits of a phone), for upserts that
// match records by it. A key that is not a unique field of the entity is
// refused naming loc; a value that is not valid for the field matches nothing.
func (b *Binding) FindUnique(ctx context.Context, tx bun.IDB, tenant uuid.UUID, key string, value any, loc string) (uuid.UUID, bool, error) {
	if b == nil {
		return uuid.Nil, false, errs.Field(loc, "there are no custom fields here; match by email or phone")
	}
	d, ok, err := b.lookup(ctx, tx, tenant, key)
	if err != nil {
		return uuid.Nil, false, err
	}
	if !ok || !d.Unique || d.Sensitive || d.Pending != nil {
		return uuid.Nil, false, errs.Field(loc, fmt.Sprintf("custom.%s is not a unique custom field of %s; match by email, phone or a field marked unique", key, b.entity))
	}
	_, iv, err := d.Normalize(jsonish(value))
	if err != nil || iv.Norm == "" {
		return uuid.Nil, false, nil
	}
	var id uuid.UUID
	err = tx.NewRaw("SELECT record_id FROM field_unique WHERE tenant_id = ? AND entity = ? AND field_key = ? AND v_norm = ?",
		tenant, b.entity, key, iv.Norm).Scan(ctx, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, false, nil
	}
	return id, err == nil, err
}
