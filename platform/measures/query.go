package measures

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/errs"
)

// Filter keeps the facts whose dimension has (eq, in) or has not (ne) one of
// the values. "" stands for none (a record without an owner).
type Filter struct {
	Dimension string   `json:"dimension" maxLength:"80" doc:"a dimension the metric allows (not time)"`
	Op        string   `json:"op" enum:"eq,ne,in" doc:"eq and in keep the values, ne drops them"`
	Values    []string `json:"values" minItems:"1" maxItems:"100" doc:"the values; an empty string stands for none"`
}

// Filter operators.
const (
	OpEq = "eq"
	OpNe = "ne"
	OpIn = "in"
)

// Limits of a query.
const (
	MaxDimensions = 2
	MaxFilters    = 10
	MaxValues     = 100
	MaxValueLen   = 200
)

// Request is a question to one metric.
type Request struct {
	Metric     string
	Dimensions []string // at most two; "time" buckets by Bucket
	Bucket     string   // day, week, month, quarter or year; with the time dimension
	From, To   string   // the days of the range in the tenant's time zone, both included
	Filters    []Filter
	Compare    bool // also answer the previous period of the same length
	// WeekStart overrides the tenant's first day of the week (1 Monday ... 7
	// Sunday); 0 keeps the tenant's.
	WeekStart int
}

// Where names the input of each part of a request in errors: the body of a
// POST ("body.metric") or a query string ("query.metric").
type Where string

func (w Where) at(field string) string { return string(w) + "." + field }

// Tenant is what a query needs of the tenant.
type Tenant struct {
	ID        uuid.UUID
	TimeZone  string
	Currency  string
	WeekStart int // 1 Monday ... 7 Sunday
}

// Row is one group of the answer: the values of its dimensions in the order
// asked (a time bucket as the first day of the bucket, none as ""), its
// value and the previous period's value of the same group.
type Row struct {
	Keys     []string `json:"keys"`
	Value    *string  `json:"value" doc:"a decimal number, rounded to 4 places; null when it has no value (a rate over nobody)"`
	Previous *string  `json:"previous,omitempty" doc:"with compare: the same group in the previous period"`
}

// Result is the answer to a Request.
type Result struct {
	Metric       string    `json:"metric"`
	Unit         Unit      `json:"unit"`
	Currency     string    `json:"currency,omitempty" doc:"of a money metric"`
	Dimensions   []string  `json:"dimensions"`
	Bucket       string    `json:"bucket,omitempty"`
	TimeZone     string    `json:"time_zone"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	PreviousFrom string    `json:"previous_from,omitempty"`
	PreviousTo   string    `json:"previous_to,omitempty"`
	Rows         []Row     `json:"rows"`
	Source       string    `json:"source" enum:"rollup,records" doc:"rollup: from the company's daily rollups; records: computed from the records now"`
	AsOf         time.Time `json:"as_of" doc:"the numbers are exact as of this time: now for records, the last refresh for rollups"`
}

// plan is a checked request.
type plan struct {
	e         Entry
	dims      []string
	custom    map[string]bool // dims and filters naming a custom field
	bucket    string
	from, to  Date
	loc       *time.Location
	weekStart time.Weekday
	filters   []Filter
	compare   bool
	// rollup: answer from the rollups of rolledDim ("" the total).
	rollup    bool
	rolledDim string
}

// Run answers req for the tenant in tx (a tenant transaction), as the actor
// in ctx. The caller has checked that the metric's module is on and the
// actor holds its permission.
func Run(ctx context.Context, tx bun.IDB, tn Tenant, e Entry, req Request, w Where) (*Result, error) {
	return RunWith(ctx, tx, tn, e, req, w, nil)
}

// RunWith is Run answering from the company's rollups when they can answer
// the question (see rollup.go) and ro says they may; else from the source.
func RunWith(ctx context.Context, tx bun.IDB, tn Tenant, e Entry, req Request, w Where, ro Rollups) (*Result, error) {
	p, err := check1(ctx, tx, tn, e, req, w)
	if err != nil {
		return nil, err
	}
	res := &Result{Metric: e.Key, Unit: e.Unit, Dimensions: p.dims, Bucket: p.bucket, TimeZone: p.loc.String(),
		From: p.from.String(), To: p.to.String(), Rows: []Row{}, Source: SourceRecords, AsOf: time.Now().UTC()}
	if e.Unit == Money {
		res.Currency = tn.Currency
	}
	if dim, ok := p.rollupDim(ctx); ok && ro != nil {
		if asOf, ok := ro(e.Module); ok {
			p.rollup, p.rolledDim = true, dim
			res.Source, res.AsOf = SourceRollup, asOf.UTC()
		}
	}
	cur, err := p.run(ctx, tx, tn, p.from, p.to)
	if err != nil {
		return nil, err
	}
	var prev map[string]*string
	if p.compare {
		pf, pt := Previous(p.from, p.to)
		res.PreviousFrom, res.PreviousTo = pf.String(), pt.String()
		pr, err := p.run(ctx, tx, tn, pf, pt)
		if err != nil {
			return nil, err
		}
		prev = map[string]*string{}
		for _, r := range pr {
			prev[r.groupKey()] = r.value
		}
	}
	keysOf := p.bucketKeys(p.from, p.to)
	zero := "0"
	for _, r := range cur {
		row := Row{Keys: r.keys(p, keysOf), Value: r.value}
		if p.compare {
			row.Previous = prev[r.groupKey()]
			if row.Previous == nil && e.Agg.Additive() {
				row.Previous = &zero
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// group is one row as the database answers it: the bucket's index and the
// other dimensions' values.
type group struct {
	i     int
	d     [MaxDimensions]string
	value *string
}

func (g group) groupKey() string { return fmt.Sprint(g.i, "\x00", g.d[0], "\x00", g.d[1]) }

func (g group) keys(p *plan, bucketKeys []string) []string {
	out := make([]string, 0, len(p.dims))
	j := 0
	for _, d := range p.dims {
		if d == DimTime {
			out = append(out, bucketKeys[g.i])
			continue
		}
		out = append(out, g.d[j])
		j++
	}
	return out
}

func (p *plan) bucketKeys(from, to Date) []string {
	var out []string
	for _, b := range Buckets(from, to, p.bucket, p.loc, p.weekStart) {
		out = append(out, b.Key.String())
	}
	return out
}

// Check validates req as Run would, without running it (a report being
// saved).
func Check(ctx context.Context, tx bun.IDB, tn Tenant, e Entry, req Request, w Where) error {
	_, err := check1(ctx, tx, tn, e, req, w)
	return err
}

// check1 validates a request against the metric's whitelist.
func check1(ctx context.Context, tx bun.IDB, tn Tenant, e Entry, req Request, w Where) (*plan, error) {
	p := &plan{e: e, compare: req.Compare, custom: map[string]bool{}}
	loc, err := time.LoadLocation(tn.TimeZone)
	if err != nil {
		return nil, errs.E(errs.Internal, "the company's time zone %q is unknown", tn.TimeZone)
	}
	p.loc = loc
	ws := tn.WeekStart
	if req.WeekStart != 0 {
		if req.WeekStart < 1 || req.WeekStart > 7 {
			return nil, errs.Field(w.at("week_start"), "must be 1 (Monday) to 7 (Sunday)")
		}
		ws = req.WeekStart
	}
	if ws < 1 || ws > 7 {
		ws = 1
	}
	p.weekStart = time.Weekday(ws % 7)

	allowed := map[string]bool{}
	for _, k := range e.Allowed() {
		allowed[k] = true
	}
	known := func(dim, loc string) error {
		if allowed[dim] {
			return nil
		}
		if strings.HasPrefix(dim, CustomDim) && e.Entity != "" {
			if err := checkCustom(ctx, tx, tn.ID, e.Entity, strings.TrimPrefix(dim, CustomDim)); err != nil {
				return errs.Field(loc, err.Error())
			}
			p.custom[dim] = true
			return nil
		}
		if _, std := dimLabels[dim]; std || strings.HasPrefix(dim, CustomDim) {
			return errs.Field(loc, fmt.Sprintf("metric %s does not allow the dimension %q; it allows %s%s", e.Key, dim, strings.Join(e.Allowed(), ", "), customHint(e)))
		}
		return errs.Field(loc, fmt.Sprintf("unknown dimension %q; metric %s allows %s%s", dim, e.Key, strings.Join(e.Allowed(), ", "), customHint(e)))
	}
	if len(req.Dimensions) > MaxDimensions {
		return nil, errs.Field(w.at("dimensions"), fmt.Sprintf("at most %d dimensions", MaxDimensions))
	}
	seen := map[string]bool{}
	for i, d := range req.Dimensions {
		loc := fmt.Sprintf("%s[%d]", w.at("dimensions"), i)
		if seen[d] {
			return nil, errs.Field(loc, fmt.Sprintf("%q is named twice", d))
		}
		seen[d] = true
		if err := known(d, loc); err != nil {
			return nil, err
		}
		p.dims = append(p.dims, d)
	}
	if p.dims == nil {
		p.dims = []string{}
	}
	switch {
	case seen[DimTime]:
		switch req.Bucket {
		case "":
			p.bucket = Month
		case Day, Week, Month, Quarter, Year:
			p.bucket = req.Bucket
		default:
			return nil, errs.Field(w.at("bucket"), "must be day, week, month, quarter or year")
		}
	case req.Bucket != "":
		return nil, errs.Field(w.at("bucket"), "is for the time dimension; add time to dimensions")
	}

	if len(req.Filters) > MaxFilters {
		return nil, errs.Field(w.at("filters"), fmt.Sprintf("at most %d filters", MaxFilters))
	}
	for i, f := range req.Filters {
		loc := fmt.Sprintf("%s[%d]", w.at("filters"), i)
		if f.Dimension == DimTime {
			return nil, errs.Field(loc+".dimension", "the range (from, to) filters by time")
		}
		if err := known(f.Dimension, loc+".dimension"); err != nil {
			return nil, err
		}
		switch f.Op {
		case OpEq, OpNe, OpIn:
		default:
			return nil, errs.Field(loc+".op", "must be eq, ne or in")
		}
		if len(f.Values) == 0 || len(f.Values) > MaxValues || (f.Op == OpEq && len(f.Values) != 1) {
			return nil, errs.Field(loc+".values", fmt.Sprintf("eq takes one value, in and ne 1 to %d", MaxValues))
		}
		for _, v := range f.Values {
			if len(v) > MaxValueLen {
				return nil, errs.Field(loc+".values", fmt.Sprintf("a value is at most %d bytes", MaxValueLen))
			}
		}
		p.filters = append(p.filters, f)
	}

	if p.from, err = ParseDate(req.From); err != nil {
		return nil, errs.Field(w.at("from"), err.Error())
	}
	if p.to, err = ParseDate(req.To); err != nil {
		return nil, errs.Field(w.at("to"), err.Error())
	}
	switch {
	case p.to.Before(p.from):
		return nil, errs.Field(w.at("to"), "is before from")
	case p.from.Y < 1900 || p.to.Y > 2200:
		return nil, errs.Field(w.at("from"), "the range must lie between the years 1900 and 2200")
	case p.from.DaysUntil(p.to) >= MaxRangeDays:
		return nil, errs.Field(w.at("to"), fmt.Sprintf("the range is over the limit of %d days", MaxRangeDays))
	}
	if n := CountBuckets(p.from, p.to, p.bucket, p.weekStart); n > MaxBuckets {
		return nil, errs.Field(w.at("to"), fmt.Sprintf("the range is over the limit: more than %d %s buckets; choose a larger bucket or a shorter range", MaxBuckets, p.bucket))
	}
	return p, nil
}

func customHint(e Entry) string {
	if e.Entity == "" {
		return ""
	}
	return ", and custom.<key> for a select custom field of " + e.Entity
}

// checkCustom accepts a select custom field of the entity that is neither
// sensitive nor archived: its values are few, named choices.
func checkCustom(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity, key string) error {
	var typ string
	var sensitive bool
	err := tx.NewRaw(`SELECT type, sensitive FROM field_definitions WHERE tenant_id = ? AND entity = ? AND key = ? AND archived_at IS NULL`,
		tenant, entity, key).Scan(ctx, &typ, &sensitive)
	switch {
	case err != nil:
		return fmt.Errorf("no custom field %q on %s", key, entity)
	case typ != "select":
		return fmt.Errorf("custom field %q is a %s field; only select fields are dimensions", key, typ)
	case sensitive:
		return fmt.Errorf("custom field %q is sensitive and cannot be a dimension", key)
	}
	return nil
}

// dimSQL is the SQL of one dimension over the fact row f, with its
// arguments, and the join it needs.
type dimSQL struct {
	expr  string
	args  []any
	join  string
	jargs []any
	multi bool
}

func (p *plan) dimSQL(tenant uuid.UUID, dim string, alias string) dimSQL {
	e := p.e
	switch {
	case dim == DimOwner:
		return dimSQL{expr: "f." + e.Owner + "::text"}
	case dim == DimTeam && e.Team != "":
		return dimSQL{expr: "f." + e.Team + "::text"}
	case dim == DimTeam:
		// A member may be in several teams: the fact counts in each.
		return dimSQL{expr: alias + ".team_id::text", join: "LEFT JOIN team_members AS " + alias + " ON " + alias + ".tenant_id = ? AND " + alias + ".identity_id = f." + e.Owner, jargs: []any{tenant}}
	case strings.HasPrefix(dim, CustomDim):
		return dimSQL{expr: "(f.custom ->> ?)", args: []any{strings.TrimPrefix(dim, CustomDim)}}
	}
	for _, d := range e.Dims {
		if d.Key == dim {
			return dimSQL{expr: "(" + d.Expr + ")", multi: d.Multi}
		}
	}
	panic("measures: unchecked dimension " + dim)
}

// run answers the plan for the days from..to: one query, its groups in
// bucket then dimension order.
func (p *plan) run(ctx context.Context, tx bun.IDB, tn Tenant, from, to Date) ([]group, error) {
	bs := Buckets(from, to, p.bucket, p.loc, p.weekStart)
	var out []group
	var err error
	if p.rollup {
		out, err = p.runRollup(ctx, tx, tn, p.rolledDim, from, to)
	} else {
		out, err = p.runSource(ctx, tx, tn, bs)
	}
	if err != nil {
		return nil, err
	}
	if p.e.Interval {
		if out, err = cumulate(out, len(bs)); err != nil {
			return nil, err
		}
	}
	// A time series alone has a point for every bucket: 0 for a count or a
	// sum, no value for a mean or a rate over nothing.
	if len(p.dims) == 1 && p.dims[0] == DimTime || len(p.dims) == 0 {
		filled := out[:0:0]
		k := 0
		for i := range bs {
			if k < len(out) && out[k].i == i {
				filled = append(filled, out[k])
				k++
				continue
			}
			g := group{i: i}
			if p.e.Agg.Additive() {
				z := "0"
				g.value = &z
			}
			filled = append(filled, g)
		}
		out = filled
	}
	return out, nil
}

// runSource answers the plan for the buckets bs from the records: one
// query, its groups in bucket then dimension order.
func (p *plan) runSource(ctx context.Context, tx bun.IDB, tn Tenant, bs []Bucket) ([]group, error) {
	idx, los, his := make([]int, len(bs)), make([]time.Time, len(bs)), make([]time.Time, len(bs))
	for i, b := range bs {
		idx[i], los[i], his[i] = i, b.Lo.UTC(), b.Hi.UTC()
	}
	fr := Frame{Tenant: tn.ID, Currency: tn.Currency, From: bs[0].Lo.UTC(), To: bs[len(bs)-1].Hi.UTC()}
	buckets := tx.NewSelect().ColumnExpr("x.i, x.lo, x.hi").
		TableExpr("unnest(?::int[], ?::timestamptz[], ?::timestamptz[]) AS x(i, lo, hi)", pgdialect.Array(idx), pgdialect.Array(los), pgdialect.Array(his))
	facts := p.e.Facts(ctx, tx, fr)

	// Buckets are contiguous: a fact's bucket is found by a binary search of
	// their bounds (width_bucket), not by joining every bucket.
	bounds := append(append([]time.Time{}, los...), his[len(his)-1])
	q := tx.NewSelect().With("buckets", buckets).With("facts", facts)
	if p.e.Interval {
		// An interval counts at the end of each bucket from since until
		// until: +1 (or +value) at since, -1 at until, summed per bucket
		// here and carried forward in cumulate. An event at or after the
		// last end counts nowhere; one before the first end counts in the
		// first bucket.
		events := tx.NewSelect().TableExpr("facts AS f").ColumnExpr("f.*, f.since AS at, 1 AS sign").Where("f.since < ?", his[len(his)-1]).
			UnionAll(tx.NewSelect().TableExpr("facts AS f").ColumnExpr("f.*, f.until AS at, -1 AS sign").Where("f.until IS NOT NULL AND f.until < ?", his[len(his)-1]))
		q = q.TableExpr("(?) AS f", events).ColumnExpr("width_bucket(f.at, ?::timestamptz[]) AS i", pgdialect.Array(his))
	} else {
		q = q.TableExpr("facts AS f").ColumnExpr("width_bucket(f.t, ?::timestamptz[]) - 1 AS i", pgdialect.Array(bounds)).
			Where("f.t >= ? AND f.t < ?", bounds[0], bounds[len(bounds)-1])
	}
	j := 0
	for n, d := range p.dims {
		if d == DimTime {
			continue
		}
		ds := p.dimSQL(tn.ID, d, fmt.Sprintf("dj%d", n))
		if ds.join != "" {
			q = q.Join(ds.join, ds.jargs...)
		}
		col := ds.expr
		if ds.multi {
			alias := fmt.Sprintf("du%d", n)
			q = q.Join("LEFT JOIN LATERAL unnest("+ds.expr+") AS "+alias+"(v) ON true", ds.args...)
			col, ds.args = alias+".v", nil
		}
		q = q.ColumnExpr(fmt.Sprintf("coalesce(%s, '') AS d%d", col, j), ds.args...)
		j++
	}
	for ; j < MaxDimensions; j++ {
		q = q.ColumnExpr(fmt.Sprintf("'' AS d%d", j))
	}
	for n, f := range p.filters {
		q = p.where(q, tn.ID, f, n)
	}
	q = q.GroupExpr("1, 2, 3")

	var outer *bun.SelectQuery
	switch p.e.Agg {
	case AggRepeat:
		inner := q.ColumnExpr("f.subject AS subject, count(*) AS n").GroupExpr("f.subject")
		outer = tx.NewSelect().TableExpr("(?) AS g", inner).ColumnExpr("g.i, g.d0, g.d1").
			ColumnExpr("trim_scale(round(count(*) FILTER (WHERE g.n >= 2) * 100.0 / count(*), 4))::text AS v").GroupExpr("1, 2, 3")
	default:
		agg := aggSQL(p.e.Agg)
		if p.e.Interval {
			agg = "sum(f.sign)"
			if p.e.Agg == AggSum {
				agg = "coalesce(sum(f.sign * f.value), 0)"
			}
		}
		outer = q.ColumnExpr("trim_scale(round((" + agg + ")::numeric, 4))::text AS v")
	}
	outer = outer.OrderExpr("1, 2, 3")

	out, err := scanGroups(ctx, outer)
	if err != nil {
		return nil, fmt.Errorf("measures: %s: %w", p.e.Key, err)
	}
	return out, nil
}

// scanGroups reads the groups a query gives as (i, d0, d1, value).
func scanGroups(ctx context.Context, q *bun.SelectQuery) ([]group, error) {
	rows, err := q.Rows(ctx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []group
	for rows.Next() {
		var g group
		if err := rows.Scan(&g.i, &g.d[0], &g.d[1], &g.value); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (p *plan) where(q *bun.SelectQuery, tenant uuid.UUID, f Filter, n int) *bun.SelectQuery {
	if f.Dimension == DimTeam && p.e.Team == "" {
		// Owned by a member of one of the teams (or, for "", by nobody in a team).
		alias := fmt.Sprintf("tf%d", n)
		in := "EXISTS (SELECT 1 FROM team_members AS " + alias + " WHERE " + alias + ".tenant_id = ? AND " + alias + ".identity_id = f." + p.e.Owner + " AND " + alias + ".team_id::text IN (?))"
		none := "NOT EXISTS (SELECT 1 FROM team_members AS " + alias + " WHERE " + alias + ".tenant_id = ? AND " + alias + ".identity_id = f." + p.e.Owner + ")"
		cond := "(" + in + " OR (? AND " + none + "))"
		hasNone := contains(f.Values, "")
		if f.Op == OpNe {
			return q.Where("NOT "+cond, tenant, bun.In(f.Values), hasNone, tenant)
		}
		return q.Where(cond, tenant, bun.In(f.Values), hasNone, tenant)
	}
	ds := p.dimSQL(tenant, f.Dimension, "")
	if ds.multi {
		// An empty array stands for none.
		cond := "(" + ds.expr + " && ?::text[] OR (? AND cardinality(" + ds.expr + ") = 0))"
		args := []any{pgdialect.Array(f.Values), contains(f.Values, "")}
		if f.Op == OpNe {
			return q.Where("NOT "+cond, args...)
		}
		return q.Where(cond, args...)
	}
	args := append(append([]any{}, ds.args...), bun.In(f.Values))
	if f.Op == OpNe {
		return q.Where("coalesce("+ds.expr+", '') NOT IN (?)", args...)
	}
	return q.Where("coalesce("+ds.expr+", '') IN (?)", args...)
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func aggSQL(a Agg) string {
	switch a {
	case AggCount:
		return "count(*)"
	case AggDistinct:
		return "count(DISTINCT f.subject)"
	case AggSum:
		return "coalesce(sum(f.value), 0)"
	case AggAvg:
		return "avg(f.value)"
	case AggRatio:
		return "sum(f.value) * 100.0 / nullif(sum(f.base), 0)"
	case AggP50:
		return "percentile_cont(0.5) WITHIN GROUP (ORDER BY f.value)"
	case AggP90:
		return "percentile_cont(0.9) WITHIN GROUP (ORDER BY f.value)"
	}
	panic("measures: unknown aggregation " + string(a))
}

// SchemaName names the filter in the API document.
func (Filter) SchemaName() string { return "MetricFilter" }

// SchemaName names the row in the API document.
func (Row) SchemaName() string { return "MetricRow" }

// SchemaName names the answer in the API document.
func (Result) SchemaName() string { return "MetricResult" }

// cumulate turns an interval metric's changes per bucket into its value at
// the end of each bucket, per group: the running sum, exact (big.Rat), with
// the groups that stand at zero left out like groups without facts.
func cumulate(deltas []group, n int) ([]group, error) {
	type key struct{ d0, d1 string }
	per := map[key][]*big.Rat{}
	var keys []key
	for _, g := range deltas {
		k := key{g.d[0], g.d[1]}
		if per[k] == nil {
			per[k] = make([]*big.Rat, n)
			keys = append(keys, k)
		}
		if g.value == nil || g.i < 0 || g.i >= n {
			continue
		}
		r, ok := new(big.Rat).SetString(*g.value)
		if !ok {
			return nil, fmt.Errorf("measures: a change %q is not a number", *g.value)
		}
		per[k][g.i] = r
	}
	var out []group
	for _, k := range keys {
		sum := new(big.Rat)
		for i := 0; i < n; i++ {
			if d := per[k][i]; d != nil {
				sum.Add(sum, d)
			}
			if sum.Sign() == 0 {
				continue
			}
			v := strings.TrimRight(strings.TrimRight(sum.FloatString(4), "0"), ".")
			out = append(out, group{i: i, d: [MaxDimensions]string{k.d0, k.d1}, value: &v})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].i != out[b].i {
			return out[a].i < out[b].i
		}
		if out[a].d[0] != out[b].d[0] {
			return out[a].d[0] < out[b].d[0]
		}
		return out[a].d[1] < out[b].d[1]
	})
	return out, nil
}
