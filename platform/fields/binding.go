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
	// Sets are the list's filters that are indexed sets (as for PageByTime);
	// with them the records with a value are read by a plan chosen from the
	// company's counts (sortedSteps), and query is asked to leave out the
	// sets the plan applies itself (skip, by Key).
	Sets   []Set
	Limits Limits     // zero values take DefaultLimits
	Trace  func(Step) // told each strategy tried (tests, the bench)
}

// PageSorted pages records in the order of a sortable custom field. It walks
// the field's typed index in order (tenant, entity, key, value, record), so a
// page costs the same at any depth; records without a value follow, by id, as
// NULLS LAST would put them. query starts a select of the module's records
// into dest with its own filters and the actor's scope applied; id reads a
// record's id. It returns at most Limit records and the next cursor ("" at
// the end).
func PageSorted[T any](ctx context.Context, tx bun.IDB, b *Binding, tenant uuid.UUID, p SortedPage,
	query func(dest *[]T, skip map[string]bool) (*bun.SelectQuery, error), id func(*T) uuid.UUID) ([]T, string, error) {
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
	// narrowIDs, when set, is the set whose ids bound both parts of the page.
	var narrowIDs *Set
	joinIndex := func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Join("JOIN field_index AS fi ON fi.tenant_id = "+a+".tenant_id AND fi.record_id = "+a+".id").
			Where("fi.entity = ? AND fi.field_key = ? AND fi.ord = 0 AND "+col+" IS NOT NULL", b.entity, p.Key)
	}
	keyset := func(q *bun.SelectQuery) *bun.SelectQuery {
		if p.After != nil {
			q = q.Where(fmt.Sprintf("(%s, fi.record_id) %s (?::%s, ?)", col, cmp, cast), p.After.V, p.After.ID)
		}
		return q
	}
	order := fmt.Sprintf("%s %s, fi.record_id %s", col, dir, dir)
	// walkIndex joins the records to the field's index rows in the sort's
	// order, read by a subquery (at most limit of them when limit > 0) that
	// keeps the rows found in every set of hashed (each hashed once).
	walkIndex := func(q *bun.SelectQuery, hashed []Set, limit int) *bun.SelectQuery {
		sub := "SELECT fi.record_id, " + col + " AS v FROM field_index fi WHERE fi.tenant_id = ? AND fi.entity = ? AND fi.field_key = ? AND fi.ord = 0 AND " + col + " IS NOT NULL"
		args := []any{tenant, b.entity, p.Key}
		for _, s := range hashed {
			// Inside CASE the subquery stays a subplan, hashed once.
			sub += " AND CASE WHEN fi.record_id IN (" + s.IDs + ") THEN true END"
			args = append(args, s.Args...)
		}
		if p.After != nil {
			sub += fmt.Sprintf(" AND (%s, fi.record_id) %s (?::%s, ?)", col, cmp, cast)
			args = append(args, p.After.V, p.After.ID)
		}
		sub += fmt.Sprintf(" ORDER BY %s %s, fi.record_id %s", col, dir, dir)
		if limit > 0 {
			sub += " LIMIT ?"
			args = append(args, limit)
		}
		return q.Join("JOIN ("+sub+") AS fi ON fi.record_id = "+a+".id", args...).OrderExpr(fmt.Sprintf("fi.v %s, fi.record_id %s", dir, dir))
	}
	lim := p.Limits
	if lim.Narrow <= 0 {
		lim.Narrow = DefaultLimits.Narrow
	}
	if lim.Walk <= 0 {
		lim.Walk = DefaultLimits.Walk
	}
	if p.After == nil || p.After.P != "n" {
		if len(p.Sets) == 0 || smallCompany(tenant, b.entity, lim) {
			q, err := query(&out, nil)
			if err != nil {
				return nil, "", err
			}
			if err := keyset(joinIndex(q)).OrderExpr(order).Limit(need).Scan(ctx); err != nil {
				return nil, "", err
			}
		} else {
			steps, walkBound, err := sortedSteps(ctx, tx, tenant, b.entity, p.Sets, need, lim)
			if err != nil {
				return nil, "", err
			}
			defer func() { _, _ = tx.ExecContext(ctx, restorePlanSettings) }()
		plan:
			for _, st := range steps {
				if p.Trace != nil {
					p.Trace(st)
				}
				switch st.Strategy {
				case Narrow:
					s := p.Sets[st.Set]
					if s.Facet != "" {
						n, err := cappedCount(ctx, tx, s, lim.Narrow+1)
						if err != nil {
							return nil, "", err
						}
						if n > int64(lim.Narrow) {
							continue // it grew since it was counted
						}
					}
					q, err := query(&out, map[string]bool{s.Key: true})
					if err != nil {
						return nil, "", err
					}
					// The set's ids as an array, probed by primary key; their
					// index rows found by record id; at most Limits.Narrow sorted.
					q = q.Where(a+".id = ANY (ARRAY("+s.IDs+"))", s.Args...)
					if err := keyset(joinIndex(q)).OrderExpr(order).Limit(need).Scan(ctx); err != nil {
						return nil, "", err
					}
					narrowIDs = &s
					break plan
				case Walk:
					// The sort index from the cursor, at most walkBound rows,
					// each record probed for every filter.
					q, err := query(&out, nil)
					if err != nil {
						return nil, "", err
					}
					if err := walkIndex(q, nil, walkBound).Limit(need).Scan(ctx); err != nil {
						return nil, "", err
					}
					if len(out) == need {
						break plan
					}
					out = out[:0] // too few within the bound: the rest may be anywhere
				case Intersect:
					skip := map[string]bool{}
					for _, s := range p.Sets {
						skip[s.Key] = true
					}
					q, err := query(&out, skip)
					if err != nil {
						return nil, "", err
					}
					// The field's index from the cursor, to the page's last
					// match. Left to itself PostgreSQL reads every row of the
					// field (across the table, by a sequential scan) and sorts
					// them: 0.6 s against 0.08 s at a million customers whose
					// matches sit a few thousand rows down (docs/benchmarks.md).
					if err := sortsOff(ctx, tx); err != nil {
						return nil, "", err
					}
					if err := walkIndex(q, p.Sets, 0).Limit(need).Scan(ctx); err != nil {
						return nil, "", err
					}
					break plan
				}
			}
		}
	}
	valued := len(out) // where records without a value start
	if len(out) < need {
		var rest []T
		var skip map[string]bool
		if narrowIDs != nil {
			skip = map[string]bool{narrowIDs.Key: true}
		}
		q, err := query(&rest, skip)
		if err != nil {
			return nil, "", err
		}
		if narrowIDs != nil {
			q = q.Where(a+".id = ANY (ARRAY("+narrowIDs.IDs+"))", narrowIDs.Args...)
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

// sortedSteps orders the strategies of a page sorted by a custom field whose
// filters include indexed sets, from the company's counts of them: narrow
// from the smallest set when it holds at most Limits.Narrow records (its ids
// read, only their values sorted); a walk of the sort index, at most
// walkBound rows probed, when the sets, if independent, would fill the page
// within half of that; and last the intersection, which hashes every set once
// and walks the sort index to the page's last match, exact whatever the data.
//
// walkBound is Limits.Walk, or more when hashing the sets would cost more
// probes than that: a walk may probe as many rows as the intersection's
// hashes cost (each set's entries at costEntry, over the sets probed per
// row), so a walk that gives way costs at most that much on top of the
// intersection, and one whose matches lie a few thousand rows down the sort
// finishes without hashing a set of a hundred thousand.
func sortedSteps(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string, sets []Set, want int, lim Limits) (steps []Step, walkBound int, err error) {
	est, total, err := estimate(ctx, tx, tenant, entity, sets, lim, nil)
	if err != nil {
		return nil, 0, err
	}
	smallest := -1
	density := 1.0
	for i, e := range est {
		if e.Known && (smallest < 0 || e.N < est[smallest].N) {
			smallest = i
		}
		density *= estShare(e, total)
	}
	walkBound = sortedWalkBound(est, lim.Walk)
	if smallest >= 0 && lim.Prefer != Walk && lim.Prefer != Intersect && (est[smallest].N <= int64(lim.Narrow) || lim.Prefer == Narrow) {
		steps = append(steps, Step{Narrow, smallest})
	}
	if lim.Prefer != Intersect && (float64(want)/max(density, 1e-9)*2 <= float64(walkBound) || lim.Prefer == Walk) {
		steps = append(steps, Step{Walk, -1})
	}
	return append(steps, Step{Intersect, -1}), walkBound, nil
}

// sortedWalkBound is how many rows a sorted page's walk may probe: floor, or
// as many as hashing the counted sets would cost (each entry at costEntry),
// over the probes each walked row costs (one per set), when that is more.
func sortedWalkBound(est []Estimate, floor int) int {
	hashed := 0.0
	for _, e := range est {
		if e.Known {
			hashed += float64(e.N) * costEntry
		}
	}
	if len(est) == 0 {
		return floor
	}
	return max(floor, int(hashed/(float64(len(est))*costProbe)))
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
