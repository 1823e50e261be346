package funnel

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
)

// Filter narrows a deal list. It is read from the list's query string, which
// is also the form saved views keep (filterFromQuery), so a view means what
// the same list URL means.
type Filter struct {
	Pipeline *uuid.UUID
	Stages   []uuid.UUID
	Owner    *uuid.UUID
	NoOwner  bool // owner[empty]=true: deals nobody owns
	// Team keeps the deals whose owner is a member of the team; NoTeam
	// (team[empty]=true) those whose owner is in no team, or who have no
	// owner: the points of the funnel metrics by team.
	Team     *uuid.UUID
	NoTeam   bool
	Customer *uuid.UUID
	Tags     []string // a deal has every one
	NoTags   bool     // tag[empty]=true: deals without a tag
	Sources  []string // the deal's source is one of them
	NoSource bool     // source[empty]=true: deals without a source
	Currency string   // deals in this currency (ISO 4217)
	// Times are the ranges of the deal's moments (created_at, won_at,
	// lost_at, closed_at: won or else lost), the times the funnel's metrics
	// count deals by, so a metric's point opens its deals.
	Times []timeRange
	// OpenAt keeps the deals open at that instant: created before it, and
	// neither won nor lost before it (the pipeline-value metrics' stock).
	OpenAt   *time.Time
	Status   string // open, won or lost: the kind of its stage
	CloseGTE string // expected close on or after (YYYY-MM-DD)
	CloseLTE string // expected close on or before
	Custom   []customFilter
	Sort     string // created_at, updated_at, amount, expected_close or custom.<key>; "-" for descending
	Cursor   string
	Limit    int
	// View is a saved view's filter, applied as well: the list's own
	// conditions narrow it further.
	View *Filter
	// skip names the list's own sets that a planned page applies itself
	// (fields.PageByTime, fields.PageSorted): dealQuery leaves them out.
	skip map[string]bool
}

// tagSetKey and customSetKey name a filter of the list as a plan's set.
func tagSetKey(t string) string { return "tag:" + t }

func customSetKey(c customFilter) string {
	op := c.op
	if op == "" {
		op = "eq"
	}
	return "custom." + c.key + "[" + op + "]=" + c.value
}

type customFilter struct{ key, op, value string }

// timeRange is one bound of a deal's moment: field[gte] or field[lt].
type timeRange struct {
	field, op string
	at        time.Time
}

// timeColumns are the moments a deal list filters by range, as SQL over d.
// closed_at is the win or else the loss, written so that the won and lost
// indexes serve it.
var timeColumns = map[string]bool{"created_at": true, "won_at": true, "lost_at": true, "closed_at": true}

// Caps on one query string, as the customer list has: every condition is a
// subquery the planner places.
const (
	maxFilterTerms = 20
	maxListValues  = 100
)

var customKey = regexp.MustCompile(`^custom\.([a-z0-9_]+)(?:\[([a-z]+)\])?$`)

// listFilterNames lists the filters for an unknown parameter's message.
const listFilterNames = "pipeline_id, stage_id, owner, owner[empty], team, team[empty], customer_id, tag, tag[empty], source, source[empty], currency, status, " +
	"expected_close[gte|lte], created_at, won_at, lost_at or closed_at [gte|lt], open_at or custom.<key>[op]"

// readInstant reads an RFC 3339 instant of a time filter.
func readInstant(v, loc string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, errs.Field(loc, "must be an RFC 3339 time such as 2026-01-31T16:00:00Z")
	}
	return t, nil
}

// filterFromQuery reads a filter from a query string; errors name loc and the
// parameter in it ("query.owner", or "body.query.owner" for a saved view).
func filterFromQuery(q url.Values, loc string) (Filter, error) {
	var f Filter
	at := func(k string) string { return loc + "." + k }
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	terms := 0
	parseID := func(k, v string) (*uuid.UUID, error) {
		id, err := uuid.Parse(strings.TrimSpace(v))
		if err != nil {
			return nil, errs.Field(at(k), "must be an id (UUID)")
		}
		return &id, nil
	}
	for _, k := range keys {
		vals := q[k]
		one := func() (string, error) {
			if len(vals) > 1 {
				return "", errs.Field(at(k), "give it once")
			}
			return vals[0], nil
		}
		var err error
		var v string
		switch k {
		case "sort", "cursor", "limit", "view_id":
			continue
		case "pipeline_id", "owner", "customer_id", "team":
			if v, err = one(); err != nil {
				return f, err
			}
			id, err := parseID(k, v)
			if err != nil {
				return f, err
			}
			switch k {
			case "pipeline_id":
				f.Pipeline = id
			case "owner":
				f.Owner = id
			case "team":
				f.Team = id
			default:
				f.Customer = id
			}
			terms++
		case "stage_id":
			for _, v := range splitList(vals) {
				id, err := parseID(k, v)
				if err != nil {
					return f, err
				}
				f.Stages = append(f.Stages, *id)
			}
			if len(f.Stages) > maxListValues {
				return f, errs.Field(at(k), fmt.Sprintf("takes at most %d stages", maxListValues))
			}
			terms++
		case "tag":
			if f.Tags, err = cleanTags(splitList(vals), at(k)); err != nil {
				return f, err
			}
			terms += len(f.Tags)
		case "owner[empty]", "tag[empty]", "source[empty]", "team[empty]":
			if v, err = one(); err != nil {
				return f, err
			}
			if v != "true" {
				return f, errs.Field(at(k), "only true: the deals without one")
			}
			switch k {
			case "owner[empty]":
				f.NoOwner = true
			case "tag[empty]":
				f.NoTags = true
			case "team[empty]":
				f.NoTeam = true
			default:
				f.NoSource = true
			}
			terms++
		case "source":
			if len(vals) > maxListValues {
				return f, errs.Field(at(k), fmt.Sprintf("takes at most %d sources", maxListValues))
			}
			for _, v := range vals {
				if v = strings.TrimSpace(v); v == "" || len([]rune(v)) > 100 {
					return f, errs.Field(at(k), "a source has 1 to 100 characters")
				}
				f.Sources = append(f.Sources, v)
			}
			terms++
		case "currency":
			if v, err = one(); err != nil {
				return f, err
			}
			if f.Currency, err = checkCurrency(v, at(k)); err != nil {
				return f, err
			}
			terms++
		case "open_at":
			if v, err = one(); err != nil {
				return f, err
			}
			t, err := readInstant(v, at(k))
			if err != nil {
				return f, err
			}
			f.OpenAt = &t
			terms++
		case "created_at[gte]", "created_at[lt]", "won_at[gte]", "won_at[lt]", "lost_at[gte]", "lost_at[lt]", "closed_at[gte]", "closed_at[lt]":
			if v, err = one(); err != nil {
				return f, err
			}
			t, err := readInstant(v, at(k))
			if err != nil {
				return f, err
			}
			field, op, _ := strings.Cut(strings.TrimSuffix(k, "]"), "[")
			f.Times = append(f.Times, timeRange{field: field, op: op, at: t})
			terms++
		case "status":
			if v, err = one(); err != nil {
				return f, err
			}
			if v != KindOpen && v != KindWon && v != KindLost {
				return f, errs.Field(at(k), "use open, won or lost")
			}
			f.Status = v
			terms++
		case "expected_close[gte]", "expected_close[lte]":
			if v, err = one(); err != nil {
				return f, err
			}
			if err := checkDate(v, at(k)); err != nil {
				return f, err
			}
			if strings.HasSuffix(k, "[gte]") {
				f.CloseGTE = v
			} else {
				f.CloseLTE = v
			}
			terms++
		default:
			mm := customKey.FindStringSubmatch(k)
			if mm == nil {
				return f, errs.Field(at(k), "unknown filter; use "+listFilterNames)
			}
			op := mm[2]
			if op == "" {
				op = "eq"
			}
			for _, v := range vals {
				f.Custom = append(f.Custom, customFilter{key: mm[1], op: op, value: v})
				terms++
			}
		}
	}
	if terms > maxFilterTerms {
		return f, errs.Field(loc, fmt.Sprintf("has %d filter conditions; a list takes at most %d", terms, maxFilterTerms))
	}
	return f, nil
}

// splitList reads repeated and comma-separated values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// dealQuery applies the tenant, the actor's scope and every condition of f.
func (m *Module) dealQuery(ctx context.Context, tx bun.Tx, q *bun.SelectQuery, tenant uuid.UUID, f Filter) (*bun.SelectQuery, error) {
	q = q.Where("d.tenant_id = ? AND d.deleted_at IS NULL", tenant)
	q = inScope(ctx, q, "d.owner_id")
	if f.Pipeline != nil {
		q = q.Where("d.pipeline_id = ?", *f.Pipeline)
	}
	if len(f.Stages) > 0 {
		q = q.Where("d.stage_id IN (?)", bun.In(f.Stages))
	}
	if f.Owner != nil {
		q = q.Where("d.owner_id = ?", *f.Owner)
	}
	if f.NoOwner {
		q = q.Where("d.owner_id IS NULL")
	}
	if f.Team != nil {
		q = q.Where("EXISTS (SELECT 1 FROM team_members AS tm WHERE tm.tenant_id = ? AND tm.team_id = ? AND tm.identity_id = d.owner_id)", tenant, *f.Team)
	}
	if f.NoTeam {
		q = q.Where("NOT EXISTS (SELECT 1 FROM team_members AS tm WHERE tm.tenant_id = ? AND tm.identity_id = d.owner_id)", tenant)
	}
	if f.NoTags {
		q = q.Where("d.tags = '{}'")
	}
	if len(f.Sources) > 0 {
		q = q.Where("d.source IN (?)", bun.In(f.Sources))
	}
	if f.NoSource {
		q = q.Where("d.source = ''")
	}
	if f.Currency != "" {
		q = q.Where("d.currency = ?", f.Currency)
	}
	for _, r := range f.Times {
		cmp := ">="
		if r.op == "lt" {
			cmp = "<"
		}
		if r.field == "closed_at" {
			// coalesce(won_at, lost_at), as the win rate counts it, in a form
			// the won and lost indexes serve.
			q = q.Where("(d.won_at "+cmp+" ? OR (d.won_at IS NULL AND d.lost_at "+cmp+" ?))", r.at, r.at)
			continue
		}
		if !timeColumns[r.field] {
			return nil, errs.Field("query."+r.field+"["+r.op+"]", "unknown time")
		}
		q = q.Where("d."+r.field+" "+cmp+" ?", r.at)
	}
	if f.OpenAt != nil {
		q = q.Where("d.created_at < ? AND (d.won_at IS NULL OR d.won_at >= ?) AND (d.lost_at IS NULL OR d.lost_at >= ?)", *f.OpenAt, *f.OpenAt, *f.OpenAt)
	}
	if f.Customer != nil {
		q = q.Where("d.customer_id = ?", *f.Customer)
	}
	var tags []string
	for _, t := range f.Tags {
		if !f.skip[tagSetKey(t)] {
			tags = append(tags, t)
		}
	}
	if f.skip[fields.Probe] && len(tags) > 0 {
		// One deal, fixed by a walk: its own tags (docs/list-plans.md).
		cond, args := fields.ProbeTags("deal_tags", "deal_id", "d.id", tenant, tags)
		q = q.Where(cond, args...)
		tags = nil
	}
	for _, t := range tags {
		q = q.Where("EXISTS (SELECT 1 FROM deal_tags dt WHERE dt.tenant_id = d.tenant_id AND dt.tag = ? AND dt.deal_id = d.id)", t)
	}
	if f.Status != "" {
		// The kind of the deal's stage, which stays right when an admin
		// changes a stage's kind (the won and lost times do not move then).
		q = q.Where("EXISTS (SELECT 1 FROM pipeline_stages fs WHERE fs.tenant_id = d.tenant_id AND fs.id = d.stage_id AND fs.kind = ?)", f.Status)
	}
	if f.CloseGTE != "" {
		q = q.Where("d.expected_close >= ?::date", f.CloseGTE)
	}
	if f.CloseLTE != "" {
		q = q.Where("d.expected_close <= ?::date", f.CloseLTE)
	}
	for _, c := range f.Custom {
		if f.skip[customSetKey(c)] {
			continue
		}
		var err error
		if q, err = m.custom.Where(ctx, tx, tenant, q, "d.id", c.key, c.op, c.value); err != nil {
			return nil, err
		}
	}
	if f.View != nil {
		v := *f.View
		v.View = nil
		// The view's own sets stay conditions; a walk's probe is still one deal.
		v.skip = nil
		if f.skip[fields.Probe] {
			v.skip = map[string]bool{fields.Probe: true}
		}
		return m.dealQuery(ctx, tx, q, tenant, v)
	}
	return q, nil
}

// sorts are the standard orders of the list: the expression, and how a
// cursor's value is read back.
var sorts = map[string]struct {
	expr string
	cast string
}{
	"created_at": {"d.created_at", "timestamptz"},
	"updated_at": {"d.updated_at", "timestamptz"},
	"amount":     {"d.amount", "numeric"},
	// position is the board's order, meaningful within one stage.
	"position": {"d.position", "numeric"},
}

// ListDeals returns one keyset page of the deals the actor may see, and the
// cursor of the next page ("" at the end).
func (m *Module) ListDeals(ctx context.Context, tenant uuid.UUID, f Filter) ([]Deal, string, error) {
	var out []Deal
	next := ""
	err := m.inTx(ctx, tenant, PermRead, "deal", func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, next, err = m.listPage(ctx, tx, tenant, f)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// listPage is one page of a deal list inside the caller's transaction, with
// custom values revealed or masked for the actor.
func (m *Module) listPage(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f Filter) ([]Deal, string, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	key, desc := strings.TrimPrefix(f.Sort, "-"), strings.HasPrefix(f.Sort, "-")
	if f.Sort == "" {
		key, desc = "created_at", true
	}
	after, err := fields.DecodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	var out []Deal
	next := ""
	var sets []fields.Set
	if key == "created_at" || strings.HasPrefix(key, "custom.") {
		if sets, err = m.listSets(ctx, tx, tenant, f); err != nil {
			return nil, "", err
		}
	}
	if strings.HasPrefix(key, "custom.") {
		out, next, err = fields.PageSorted(ctx, tx, m.custom, tenant, fields.SortedPage{Key: strings.TrimPrefix(key, "custom."), Desc: desc, Limit: f.Limit, After: after, Alias: "d",
			Sets: sets, Limits: m.planLimits, Trace: m.planTrace},
			func(dest *[]Deal, skip map[string]bool) (*bun.SelectQuery, error) {
				qf := f
				qf.skip = skip
				return m.dealQuery(ctx, tx, tx.NewSelect().Model(dest), tenant, qf)
			}, func(d *Deal) uuid.UUID { return d.ID })
		if err != nil {
			return nil, "", err
		}
	} else if len(sets) > 0 {
		// By creation time with indexed sets: planned from the company's
		// counts (docs/list-plans.md).
		p := fields.TimePage[Deal]{Entity: EntityDeals, Sets: sets, Want: f.Limit + 1, Desc: desc,
			TimeExpr: "d.created_at", IDExpr: "d.id", Table: "deals",
			All:     "SELECT id, created_at AS at FROM deals WHERE tenant_id = ? AND deleted_at IS NULL",
			AllArgs: []any{tenant},
			Query: func(skip map[string]bool) (*bun.SelectQuery, error) {
				qf := f
				qf.skip = skip
				return m.dealQuery(ctx, tx, tx.NewSelect().Model((*Deal)(nil)), tenant, qf)
			},
			Read: func(q *bun.SelectQuery) ([]Deal, error) {
				var rows []Deal
				err := q.Scan(ctx, &rows)
				return rows, err
			},
			Limits: m.planLimits, Trace: m.planTrace,
			Position: func(d Deal) (time.Time, uuid.UUID) { return d.CreatedAt, d.ID },
		}
		if after != nil {
			at, perr := time.Parse(time.RFC3339Nano, after.V)
			if perr != nil {
				return nil, "", errs.Field("query.cursor", "does not fit this sort; start again without it")
			}
			p.After, p.AfterID = &at, after.ID
		}
		if out, err = fields.PageByTime(ctx, tx, tenant, p); err != nil {
			return nil, "", err
		}
		if len(out) > f.Limit {
			out = out[:f.Limit]
			last := out[len(out)-1]
			next = fields.Cursor{V: last.CreatedAt.Format(time.RFC3339Nano), ID: last.ID}.Encode()
		}
	} else {
		s, ok := sorts[key]
		if !ok {
			return nil, "", errs.Field("query.sort", "sort by created_at, updated_at, amount, position (with one stage_id) or custom.<key> of a sortable custom field, with - for descending")
		}
		q, err := m.dealQuery(ctx, tx, tx.NewSelect().Model(&out), tenant, f)
		if err != nil {
			return nil, "", err
		}
		dir, cmp := "ASC", ">"
		if desc {
			dir, cmp = "DESC", "<"
		}
		if after != nil {
			if s.cast == "timestamptz" {
				if _, perr := time.Parse(time.RFC3339Nano, after.V); perr != nil {
					return nil, "", errs.Field("query.cursor", "does not fit this sort; start again without it")
				}
			} else if !decimalPattern.MatchString(after.V) {
				return nil, "", errs.Field("query.cursor", "does not fit this sort; start again without it")
			}
			q = q.Where(fmt.Sprintf("(%s, d.id) %s (?::%s, ?)", s.expr, cmp, s.cast), after.V, after.ID)
		}
		if err := q.OrderExpr(fmt.Sprintf("%s %s, d.id %s", s.expr, dir, dir)).Limit(f.Limit + 1).Scan(ctx); err != nil {
			return nil, "", err
		}
		if len(out) > f.Limit {
			out = out[:f.Limit]
			last := out[len(out)-1]
			v := last.CreatedAt.Format(time.RFC3339Nano)
			switch key {
			case "updated_at":
				v = last.UpdatedAt.Format(time.RFC3339Nano)
			case "amount":
				v = last.Amount
			case "position":
				v = last.Position
			}
			next = fields.Cursor{V: v, ID: last.ID}.Encode()
		}
	}
	ptrs := make([]*Deal, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := m.reveal(ctx, tx, tenant, ptrs...); err != nil {
		return nil, "", err
	}
	if out == nil {
		out = []Deal{}
	}
	return out, next, nil
}

// listSets are the filters of f that are sets of deals held in an index
// (each tag, each custom value or range), for the kernel's plans. A saved
// view's filters stay conditions of the query.
func (m *Module) listSets(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f Filter) ([]fields.Set, error) {
	var sets []fields.Set
	for _, t := range f.Tags {
		sets = append(sets, fields.Set{Facet: "tag", Values: []string{t}, Key: tagSetKey(t),
			IDs: "SELECT deal_id AS id FROM deal_tags WHERE tenant_id = ? AND tag = ?", Args: []any{tenant, t},
			Walk: "SELECT deal_id AS id, created_at AS at FROM deal_tags WHERE tenant_id = ? AND tag = ?", WalkArgs: []any{tenant, t}})
	}
	for _, c := range f.Custom {
		s, ok, err := m.custom.Set(ctx, tx, tenant, c.key, c.op, c.value)
		if err != nil {
			return nil, err
		}
		if ok {
			s.Key = customSetKey(c)
			sets = append(sets, s)
		}
	}
	return sets, nil
}

// decimalPattern is a cursor value of an amount or position sort.
var decimalPattern = regexp.MustCompile(`^-?[0-9]{1,40}(\.[0-9]{1,400})?$`)

// CountDeals counts the deals a filter matches within the actor's scope.
func (m *Module) CountDeals(ctx context.Context, tenant uuid.UUID, f Filter) (int, error) {
	n := 0
	err := m.inTx(ctx, tenant, PermRead, "deal", func(ctx context.Context, tx bun.Tx) error {
		q, err := m.dealQuery(ctx, tx, tx.NewSelect().TableExpr("deals AS d"), tenant, f)
		if err != nil {
			return err
		}
		n, err = q.Count(ctx)
		return err
	})
	return n, err
}
