package measures

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
)

// Rollups are per-company daily aggregates of the metrics that add up over
// days, kept in bi_rollups (the BI module owns the table, keeps it current
// and reconciles it; see modules/bi/rollups.go). One row holds, for a
// metric, a day of the company's time zone, and one value of one dimension
// (dim "" is the total), the fact rows of that day: their number, the sum
// of their value and of their base, and how many had a value. An interval
// metric keeps its changes instead: +1 (or +value) on the day a fact's
// interval starts, -1 on the day it ends, which a question sums up to each
// bucket's end as it does from the source.
//
// A question is answered from them when every number it needs is such a
// sum: an additive or mean or ratio metric, the actor seeing every record
// (a scoped member's numbers come from the source), at most one dimension
// besides time, not a custom field, and filters only on that dimension
// (or, with none, on one single-valued dimension). Anything else runs on
// the source, and the answer says which it came from.

// Answer sources of a Result.
const (
	SourceRollup  = "rollup"
	SourceRecords = "records"
)

// Rollups tells whether a company's rollups of a module may answer now, and
// as of when they are exact. Nil: never (the source answers).
type Rollups func(module string) (asOf time.Time, ok bool)

// Rollable reports whether a metric is kept in rollups: its value is made
// of parts kept per day (counts, sums, means and ratios of facts at an
// instant, intervals, percentiles from each day's values, and the spans of
// a distinct count or a stock ratio), not a repeat rate.
func (m Metric) Rollable() bool {
	if m.Spans != nil {
		return true
	}
	if m.Stock && !m.Interval {
		return false
	}
	switch m.Agg {
	case AggCount, AggSum, AggAvg, AggRatio, AggP50, AggP90:
		return true
	}
	return false
}

// RolledKey is the metric whose rollup rows answer this one: RolledAs, or
// its own key.
func (m Metric) RolledKey() string {
	if m.RolledAs != "" {
		return m.RolledAs
	}
	return m.Key
}

// Built reports whether the metric's rollups are built under its own key
// (rollable, and not answered from another's rows).
func (m Metric) Built() bool { return m.Rollable() && m.RolledAs == "" }

// RolledDims lists the dimensions a rollup of the metric keeps, besides the
// total: every one it allows but time and custom fields.
func (m Metric) RolledDims() []string {
	var out []string
	for _, d := range m.Allowed() {
		if d != DimTime {
			out = append(out, d)
		}
	}
	return out
}

// multi reports whether a fact may count under several values of dim: an
// array dimension, or the team of an owner (a member of several teams).
func (m Metric) multi(dim string) bool {
	if dim == DimTeam && m.Team == "" {
		return true
	}
	for _, d := range m.Dims {
		if d.Key == dim {
			return d.Multi
		}
	}
	return false
}

// pairSep separates a pair's two values in a rollup key.
const pairSep = "\x1f"

// pairDim is the rollup dimension of a declared pair.
func pairDim(a, b string) string { return a + "|" + b }

// rollupDim is the rollup dimension that answers p ("" the total, "a|b" a
// declared pair), and whether one does.
func (p *plan) rollupDim(ctx context.Context) (string, bool) {
	if !p.e.Rollable() || authz.ActorFrom(ctx).Visibility() != authz.ScopeAll {
		return "", false
	}
	var named []string // the non-time dimensions asked and filtered, once each
	seen := map[string]bool{}
	for _, d := range p.dims {
		if d == DimTime {
			continue
		}
		if p.custom[d] {
			return "", false
		}
		named, seen[d] = append(named, d), true
	}
	for _, f := range p.filters {
		if p.custom[f.Dimension] || p.e.multi(f.Dimension) {
			return "", false
		}
		if !seen[f.Dimension] {
			named, seen[f.Dimension] = append(named, f.Dimension), true
		}
	}
	switch len(named) {
	case 0:
		return "", true
	case 1:
		return named[0], true
	case 2:
		for _, pr := range p.e.Pairs {
			if (pr[0] == named[0] && pr[1] == named[1]) || (pr[0] == named[1] && pr[1] == named[0]) {
				return pairDim(pr[0], pr[1]), true
			}
		}
	}
	return "", false
}

// keyOf is the SQL of a dimension's value in a rollup row of dim: the key,
// or its part of a pair's.
func keyOf(dim, of string) string {
	a, b, pair := strings.Cut(dim, "|")
	switch {
	case !pair:
		return "r.key"
	case of == a:
		return "split_part(r.key, E'" + pairSep + "', 1)"
	case of == b:
		return "split_part(r.key, E'" + pairSep + "', 2)"
	}
	panic("measures: " + of + " is not part of " + dim)
}

// dayBounds are the first days of the buckets of from..to and the day after
// the last: the bounds of a width_bucket over days.
func dayBounds(bs []Bucket, loc *time.Location) []string {
	out := make([]string, 0, len(bs)+1)
	for _, b := range bs {
		out = append(out, DateIn(b.Lo, loc).String())
	}
	return append(out, DateIn(bs[len(bs)-1].Hi, loc).String())
}

// runRollup answers p for the days from..to from the rollups, in the groups
// the source query gives (before an interval's running sum).
func (p *plan) runRollup(ctx context.Context, tx bun.IDB, tn Tenant, dim string, from, to Date) ([]group, error) {
	bs := Buckets(from, to, p.bucket, p.loc, p.weekStart)
	bounds := dayBounds(bs, p.loc)
	if p.e.Spans != nil {
		return p.runSpans(ctx, tx, tn, dim, bounds)
	}
	q := tx.NewSelect().TableExpr("bi_rollups AS r").
		Where("r.tenant_id = ? AND r.metric = ? AND r.dim = ?", tn.ID, p.e.RolledKey(), dim)
	if p.e.Interval {
		// A change on a day before the last end counts from the bucket
		// holding that day's end on (the first bucket for every day before
		// its end), as the source's width_bucket over the ends does.
		q = q.ColumnExpr("width_bucket(r.day, ?::date[]) AS i", pgdialect.Array(bounds[1:])).
			Where("r.day < ?::date", bounds[len(bounds)-1])
	} else {
		q = q.ColumnExpr("width_bucket(r.day, ?::date[]) - 1 AS i", pgdialect.Array(bounds)).
			Where("r.day >= ?::date AND r.day < ?::date", bounds[0], bounds[len(bounds)-1])
	}
	q = q.ColumnExpr(p.rollupKey(dim) + " AS d0, '' AS d1")
	q = p.filterRolled(q, dim)
	var agg string
	switch {
	case p.e.Interval && p.e.Agg == AggSum:
		agg = "coalesce(sum(r.v), 0)"
	case p.e.Interval, p.e.Agg == AggCount:
		agg = "sum(r.n)"
	case p.e.Agg == AggSum:
		agg = "coalesce(sum(r.v), 0)"
	case p.e.Agg == AggAvg:
		agg = "sum(r.v) / nullif(sum(r.vn), 0)"
	case p.e.Agg == AggRatio:
		agg = "sum(r.v) * 100.0 / nullif(sum(r.b), 0)"
	case p.e.Agg == AggP50 || p.e.Agg == AggP90:
		// The days' values, each row's kept even without one (a group
		// whose facts have no value has none, as from the source).
		q = q.Join("LEFT JOIN LATERAL unnest(r.vals) AS u(x) ON true")
		if p.e.Sample != "" {
			return p.samplePercentiles(ctx, tx, q, tn, dim, bounds)
		}
		agg = strings.Replace(aggSQL(p.e.Agg), "f.value", "u.x", 1)
	default:
		return nil, fmt.Errorf("measures: %s is not rolled up", p.e.Key)
	}
	q = q.ColumnExpr("trim_scale(round((" + agg + ")::numeric, 4))::text AS v").GroupExpr("1, 2, 3")
	if !p.e.Interval && (p.e.Agg == AggCount || p.e.Agg == AggSum) {
		// A group whose facts cancel out is still a group; one with none
		// is not there at all, as from the source.
		q = q.Having("sum(r.n) > 0")
	}
	out, err := scanGroups(ctx, q.OrderExpr("1, 2, 3"))
	if err != nil {
		return nil, fmt.Errorf("measures: %s from rollups: %w", p.e.Key, err)
	}
	if p.e.Interval {
		// A bucket whose changes cancel out adds nothing to the sum.
		kept := out[:0]
		for _, g := range out {
			if g.value == nil || *g.value != "0" {
				kept = append(kept, g)
			}
		}
		out = kept
	}
	return out, nil
}

// samplePercentiles answers a percentile metric with a Sample from the
// rollup rows q selects (i, d0, d1 and the values u.x): one sort of the
// values gives every percentile, and in a Shared context the answers of the
// sample's other percentiles to the same question are kept for them.
func (p *plan) samplePercentiles(ctx context.Context, tx bun.IDB, q *bun.SelectQuery, tn Tenant, dim string, bounds []string) ([]group, error) {
	sh, _ := ctx.Value(sharedKey{}).(*shared)
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%q\x00%q\x00%v", tn.ID, p.e.Sample, dim, p.dims, bounds, p.filters)
	if gs, ok := sh.get(key, p.e.Agg); ok {
		return gs, nil
	}
	q = q.ColumnExpr("percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY u.x) AS q").GroupExpr("1, 2, 3")
	rows, err := tx.NewSelect().TableExpr("(?) AS s", q).
		ColumnExpr("s.i, s.d0, s.d1, trim_scale(round(s.q[1]::numeric, 4))::text, trim_scale(round(s.q[2]::numeric, 4))::text").
		OrderExpr("1, 2, 3").Rows(ctx)
	if err != nil {
		return nil, fmt.Errorf("measures: %s from rollups: %w", p.e.Key, err)
	}
	defer rows.Close()
	var p50, p90 []group
	for rows.Next() {
		var g group
		var v90 *string
		if err := rows.Scan(&g.i, &g.d[0], &g.d[1], &g.value, &v90); err != nil {
			return nil, fmt.Errorf("measures: %s from rollups: %w", p.e.Key, err)
		}
		p50 = append(p50, g)
		g.value = v90
		p90 = append(p90, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("measures: %s from rollups: %w", p.e.Key, err)
	}
	sh.put(key, AggP50, p50)
	sh.put(key, AggP90, p90)
	if p.e.Agg == AggP90 {
		return p90, nil
	}
	return p50, nil
}

type sharedKey struct{}

// shared keeps, for one Shared context, the percentiles of a sample that a
// read computed beside the one it was asked for.
type shared struct {
	mu sync.Mutex
	m  map[string][]group
}

// Shared returns a context in which questions about the same sample share
// one read of its rollups (a dashboard's widgets, answered one after the
// other by one actor). The answers kept are of that moment: use it for one
// load, not across requests.
func Shared(ctx context.Context) context.Context {
	return context.WithValue(ctx, sharedKey{}, &shared{m: map[string][]group{}})
}

func (s *shared) get(key string, a Agg) ([]group, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gs, ok := s.m[key+"\x00"+string(a)]
	if !ok {
		return nil, false
	}
	// The caller may change the groups it gets (cumulate, filling): a copy.
	return append([]group(nil), gs...), true
}

func (s *shared) put(key string, a Agg, gs []group) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key+"\x00"+string(a)] = append([]group(nil), gs...)
}

// rollupKey is the SQL of the first non-time dimension's value in a rollup
// row of dim ("" for none).
func (p *plan) rollupKey(dim string) string {
	for _, d := range p.dims {
		if d != DimTime {
			return keyOf(dim, d)
		}
	}
	return "''"
}

// spanBase marks the rollup rows of a span ratio's denominator: dim
// "owner" + spanBase holds the +1 and -1 of the spans by owner. Kept apart,
// a question reads them without the numerator's rows of earlier days.
const spanBase = "#base"

// rolledRows selects the rollup rows of dim (with part: spanBase, or "")
// that p's filters keep: day, lo, hi, n, b and d0 (the dimension's value).
func (p *plan) rolledRows(tx bun.IDB, tn Tenant, dim, part string) *bun.SelectQuery {
	q := tx.NewSelect().TableExpr("bi_rollups AS r").ColumnExpr("r.day, r.lo, r.hi, r.n, r.b").ColumnExpr(p.rollupKey(dim)+" AS d0").
		Where("r.tenant_id = ? AND r.metric = ? AND r.dim = ?", tn.ID, p.e.RolledKey(), dim+part)
	return p.filterRolled(q, dim)
}

// filterRolled keeps the rollup rows (r) of dim that p's filters keep.
func (p *plan) filterRolled(q *bun.SelectQuery, dim string) *bun.SelectQuery {
	for _, f := range p.filters {
		if f.Op == OpNe {
			q = q.Where(keyOf(dim, f.Dimension)+" NOT IN (?)", bun.In(f.Values))
		} else {
			q = q.Where(keyOf(dim, f.Dimension)+" IN (?)", bun.In(f.Values))
		}
	}
	return q
}

// runSpans answers a metric kept as spans (Metric.Spans) for the buckets
// whose days are bounds: the rows of a bucket's days whose span covers its
// first day, and for a ratio, over the spans covering that day (the +1 and
// -1 changes before it, summed).
func (p *plan) runSpans(ctx context.Context, tx bun.IDB, tn Tenant, dim string, bounds []string) ([]group, error) {
	arr := pgdialect.Array(bounds)
	last := bounds[len(bounds)-1]
	num := tx.NewSelect().TableExpr("(?) AS r", p.rolledRows(tx, tn, dim, "")).
		ColumnExpr("width_bucket(r.day, ?::date[]) - 1 AS i, r.d0, sum(r.n) AS n", arr).
		Where("r.day >= ?::date AND r.day < ?::date", bounds[0], last).
		Where("r.lo < (?::date[])[width_bucket(r.day, ?::date[])] AND r.hi >= (?::date[])[width_bucket(r.day, ?::date[])]", arr, arr, arr, arr).
		GroupExpr("1, 2")
	q := tx.NewSelect().With("num", num)
	if p.e.Agg == AggDistinct {
		q = q.TableExpr("num").ColumnExpr("num.i, num.d0, '' AS d1, trim_scale(round(num.n::numeric, 4))::text AS v").Where("num.n > 0")
	} else {
		// The spans covering a bucket's first day: the changes on the days
		// before it. k is how many buckets start on or before a change's
		// day; it counts in every bucket from k on.
		starts := pgdialect.Array(bounds[:len(bounds)-1])
		chg := tx.NewSelect().TableExpr("(?) AS r", p.rolledRows(tx, tn, dim, spanBase)).
			ColumnExpr("width_bucket(r.day, ?::date[]) AS k, r.d0, sum(r.b) AS b", starts).
			Where("r.day < ?::date", bounds[len(bounds)-2]).GroupExpr("1, 2")
		den := tx.NewSelect().TableExpr("generate_series(0, ?) AS g(i)", len(bounds)-2).
			Join("JOIN chg AS c ON c.k <= g.i").ColumnExpr("g.i, c.d0, sum(c.b) AS b").GroupExpr("1, 2")
		q = q.With("chg", chg).With("den", den).TableExpr("den").
			Join("LEFT JOIN num ON num.i = den.i AND num.d0 = den.d0").
			ColumnExpr("den.i, den.d0, '' AS d1, trim_scale(round((coalesce(num.n, 0) * 100.0 / den.b)::numeric, 4))::text AS v").
			Where("den.b <> 0")
	}
	out, err := scanGroups(ctx, q.OrderExpr("1, 2, 3"))
	if err != nil {
		return nil, fmt.Errorf("measures: %s from rollups: %w", p.e.Key, err)
	}
	return out, nil
}

// A DayRange is the days [From, To) of a company's time zone.
type DayRange struct{ From, To Date }

// AllDays is the range a full build covers: every day a fact can fall on.
var AllDays = DayRange{Date{1000, time.January, 1}, Date{3000, time.January, 1}}

// BuildRollup replaces the rollup rows of a rollable metric for the days of
// each range with sums of its facts, read as the system (every record). It
// runs in the company's transaction tx.
func BuildRollup(ctx context.Context, tx bun.IDB, tn Tenant, e Entry, ranges []DayRange) error {
	if !e.Built() {
		return fmt.Errorf("measures: %s is not rolled up", e.Key)
	}
	loc, err := time.LoadLocation(tn.TimeZone)
	if err != nil {
		return fmt.Errorf("measures: time zone %q: %w", tn.TimeZone, err)
	}
	ctx = authz.AsSystem(ctx)
	// A flow metric is read range by range, each bounding its facts' time
	// (an index reaches it). An interval metric's ends are known only once
	// its facts are (the next change of a stay), so all its ranges are read
	// in one pass.
	passes := [][]DayRange{ranges}
	if !e.Interval || e.Spans != nil {
		passes = passes[:0]
		for _, r := range ranges {
			passes = append(passes, []DayRange{r})
		}
	}
	for _, pass := range passes {
		var del []string
		var dargs []any
		for _, r := range pass {
			del = append(del, "(day >= ?::date AND day < ?::date)")
			dargs = append(dargs, r.From.String(), r.To.String())
		}
		if _, err := tx.NewRaw("DELETE FROM bi_rollups WHERE tenant_id = ? AND metric = ? AND ("+strings.Join(del, " OR ")+")",
			append([]any{tn.ID, e.Key}, dargs...)...).Exec(ctx); err != nil {
			return fmt.Errorf("measures: rollup of %s: %w", e.Key, err)
		}
		within := func(col string) (string, []any) {
			var cond []string
			var args []any
			for _, r := range pass {
				cond = append(cond, "(x."+col+" >= ? AND x."+col+" < ?)")
				args = append(args, r.From.Start(loc).UTC(), r.To.Start(loc).UTC())
			}
			return "(" + strings.Join(cond, " OR ") + ")", args
		}
		lo, hi := pass[0].From.Start(loc).UTC(), pass[len(pass)-1].To.Start(loc).UTC()
		fr := Frame{Tenant: tn.ID, Currency: tn.Currency, From: lo, To: hi}
		var facts *bun.SelectQuery
		// Rows span all time but a span metric's (Metric.Spans).
		always := "'-infinity'::date AS r_lo, 'infinity'::date AS r_hi, 0 AS r_den, '' AS r_part"
		if e.Spans != nil {
			facts = spanFacts(ctx, tx, tn, e, fr, loc)
		} else if e.Interval {
			// The starts and the ends that fall in the ranges, each read by
			// its own copy of the facts so that a bound on the start
			// reaches its index.
			sc, sargs := within("since")
			uc, uargs := within("until")
			facts = tx.NewSelect().TableExpr("(?) AS x", e.Facts(ctx, tx, fr)).
				ColumnExpr("(x.since AT TIME ZONE ?)::date AS day, 1 AS sign, "+always+", x.*", tn.TimeZone).
				Where(sc, sargs...)
			if e.Ends != nil && len(pass) < 50 && pass[0] != AllDays {
				// Each range's ends, read from the end's side.
				for _, r := range pass {
					efr := Frame{Tenant: tn.ID, Currency: tn.Currency, From: r.From.Start(loc).UTC(), To: r.To.Start(loc).UTC()}
					facts = facts.UnionAll(tx.NewSelect().TableExpr("(?) AS x", e.Ends(ctx, tx, efr)).
						ColumnExpr("(x.until AT TIME ZONE ?)::date AS day, -1 AS sign, "+always+", x.*", tn.TimeZone).
						Where("x.until >= ? AND x.until < ?", efr.From, efr.To))
				}
			} else {
				facts = facts.UnionAll(tx.NewSelect().TableExpr("(?) AS x", e.Facts(ctx, tx, fr)).
					ColumnExpr("(x.until AT TIME ZONE ?)::date AS day, -1 AS sign, "+always+", x.*", tn.TimeZone).
					Where(uc, uargs...))
			}
		} else {
			tc, targs := within("t")
			facts = tx.NewSelect().TableExpr("(?) AS x", e.Facts(ctx, tx, fr)).
				ColumnExpr("(x.t AT TIME ZONE ?)::date AS day, 1 AS sign, "+always+", x.*", tn.TimeZone).
				Where(tc, targs...)
		}
		n, v, vn, b := "sum(f.sign)", "NULL::numeric", "0", "NULL::numeric"
		switch e.Agg {
		case AggSum, AggAvg, AggRatio:
			v, vn = "sum(f.sign * f.value)", "count(f.value)"
		}
		if e.Agg == AggRatio {
			b = "sum(f.base)"
		}
		if e.Spans != nil {
			v, vn, b = "NULL::numeric", "0", "NULL::numeric"
			if e.Agg == AggRatio {
				b = "sum(f.r_den)"
			}
		}
		vals := "NULL::float8[]"
		if e.Agg == AggP50 || e.Agg == AggP90 {
			// A percentile keeps the day's values, sorted, as the
			// source's percentile_cont reads them (in float8).
			vn = "count(f.value)"
			vals = "array_agg(f.value::float8 ORDER BY f.value::float8) FILTER (WHERE f.value IS NOT NULL)"
		}
		sums := n + ", " + v + ", " + vn + ", " + b + ", " + vals
		parts := []string{"SELECT f.r_part AS dim, f.day, '' AS key, f.r_lo, f.r_hi, " + sums + " FROM f GROUP BY 1, 2, 4, 5"}
		var args []any
		p := &plan{e: e}
		for i, d := range e.RolledDims() {
			ds := p.dimSQL(tn.ID, d, fmt.Sprintf("dj%d", i))
			from, col := "f", ds.expr
			var fargs []any
			if ds.join != "" {
				from += " " + ds.join
				fargs = append(fargs, ds.jargs...)
			}
			if ds.multi {
				alias := fmt.Sprintf("du%d", i)
				from += " LEFT JOIN LATERAL unnest(" + ds.expr + ") AS " + alias + "(v) ON true"
				fargs = append(fargs, ds.args...)
				col, ds.args = alias+".v", nil
			}
			parts = append(parts, "SELECT ? || f.r_part, f.day, coalesce("+col+", ''), f.r_lo, f.r_hi, "+sums+" FROM "+from+" GROUP BY 1, 2, 3, 4, 5")
			args = append(args, d)
			args = append(args, ds.args...)
			args = append(args, fargs...)
		}
		for i, pr := range e.Pairs {
			a := p.dimSQL(tn.ID, pr[0], fmt.Sprintf("pa%d", i))
			b := p.dimSQL(tn.ID, pr[1], fmt.Sprintf("pb%d", i))
			parts = append(parts, "SELECT ? || f.r_part, f.day, coalesce("+a.expr+", '') || E'"+pairSep+"' || coalesce("+b.expr+", ''), f.r_lo, f.r_hi, "+sums+" FROM f GROUP BY 1, 2, 3, 4, 5")
			args = append(args, pairDim(pr[0], pr[1]))
			args = append(args, a.args...)
			args = append(args, b.args...)
		}
		all := append([]any{facts, tn.ID, e.Key}, args...)
		// Through db.ExecStaged: on Citus the rows (grouped on the
		// coordinator) go into the shard as INSERTs, not COPY, which RLS
		// refuses.
		if _, err := db.ExecStaged(ctx, tx, "WITH f AS MATERIALIZED (?) INSERT INTO bi_rollups (tenant_id, metric, dim, day, key, lo, hi, n, v, vn, b, vals) "+
			"SELECT ?, ?, g.* FROM ("+strings.Join(parts, " UNION ALL ")+") AS g", all...); err != nil {
			return fmt.Errorf("measures: rollup of %s: %w", e.Key, err)
		}
	}
	return nil
}

// spanFacts are the fact rows of a span metric (Metric.Spans) for the
// days [fr.From, fr.To): day, r_lo and r_hi (the span's days), sign (1: a
// row counted on its day when its span covers the bucket's first day) and
// r_den (+1 and -1: a ratio's denominator, a span starting and ending,
// kept under the dimension with spanBase, r_part).
func spanFacts(ctx context.Context, tx bun.IDB, tn Tenant, e Entry, fr Frame, loc *time.Location) *bun.SelectQuery {
	tz, first, lowest := tn.TimeZone, AllDays.From.String(), AllDays.From.Start(loc)
	day := func(col string) string { return "(x." + col + " AT TIME ZONE ?)::date" }
	// One read of the spans gives each its rows: counted on its day t,
	// unless its span ends before it starts or starts on that day or later
	// (then it counts in no bucket)...
	rows := []string{"(CASE WHEN x.t >= ? AND x.t < ? AND (x.since IS NULL OR " + day("since") + " < " + day("t") + ")" +
		" AND (x.since IS NULL OR x.until IS NULL OR " + day("since") + " < " + day("until") + ") THEN " + day("t") + " END," +
		" 1, coalesce(" + day("since") + ", '-infinity'::date), coalesce(" + day("until") + ", 'infinity'::date), 0, '')"}
	args := []any{fr.From, fr.To, tz, tz, tz, tz, tz, tz, tz}
	if e.Agg == AggRatio {
		// ...and for a ratio's denominator, +1 on its first day (before
		// every day when it has none) and -1 on its last; a span starting
		// and ending on one day covers no bucket's first day.
		long := "(x.until IS NULL OR coalesce(" + day("since") + ", ?::date) < " + day("until") + ")"
		rows = append(rows,
			"(CASE WHEN coalesce(x.since, ?) >= ? AND coalesce(x.since, ?) < ? AND "+long+" THEN coalesce("+day("since")+", ?::date) END,"+
				" 0, '-infinity'::date, 'infinity'::date, 1, ?)",
			"(CASE WHEN x.until >= ? AND x.until < ? AND "+long+" THEN "+day("until")+" END, 0, '-infinity'::date, 'infinity'::date, -1, ?)")
		args = append(args, lowest, fr.From, lowest, fr.To, tz, first, tz, tz, first, spanBase)
		args = append(args, fr.From, fr.To, tz, first, tz, tz, spanBase)
	}
	return tx.NewSelect().TableExpr("(?) AS x", e.Spans(ctx, tx, fr)).
		Join("CROSS JOIN LATERAL (VALUES "+strings.Join(rows, ", ")+") AS u (day, sign, r_lo, r_hi, r_den, r_part)", args...).
		ColumnExpr("u.day, u.sign, u.r_lo, u.r_hi, u.r_den, u.r_part, x.*").
		Where("u.day IS NOT NULL")
}

// MetricBit is a metric's bit in the day masks of SubjectDays: one of 63,
// from a hash of its key. Two metrics may share a bit; a mask then names a
// few metrics more than fall on its day, which only costs a recompute.
func MetricBit(key string) int64 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int64(1) << (h.Sum32() % 63)
}

// SubjectDaysQuery selects, for the subjects given (nil: every one),
// subject, days (date[]) and masks (bigint[], one per day): the days their
// facts of the rollable metrics es fall on, a fact's day for a flow metric,
// its start's and end's for an interval, and a span's three, each with the
// bits (MetricBit) of the metrics whose facts fall there. A changed record
// moves those metrics' numbers on those days. Nil when no metric of es is
// rollable.
func SubjectDaysQuery(ctx context.Context, tx bun.IDB, tn Tenant, es []Entry, subjects []uuid.UUID) *bun.SelectQuery {
	ctx = authz.AsSystem(ctx)
	fr := Frame{Tenant: tn.ID, Currency: tn.Currency, From: AllDays.From.Start(time.UTC), To: AllDays.To.Start(time.UTC)}
	var q *bun.SelectQuery
	for _, e := range es {
		if !e.Built() {
			continue
		}
		// One read of the facts gives each row's days.
		add := func(facts *bun.SelectQuery, cols ...string) {
			days, args := make([]string, len(cols)), make([]any, len(cols))
			for i, c := range cols {
				days[i], args[i] = "(x."+c+" AT TIME ZONE ?)::date", tn.TimeZone
			}
			s := tx.NewSelect().TableExpr("(?) AS x", facts).
				Join("CROSS JOIN LATERAL unnest(ARRAY["+strings.Join(days, ", ")+"]) AS u(day)", args...).
				ColumnExpr("x.subject, u.day, ?::bigint AS bit", MetricBit(e.Key))
			if subjects != nil {
				s = s.Where("x.subject = ANY(?::uuid[])", pgdialect.Array(uuidStrings(subjects)))
			}
			if q == nil {
				q = s
			} else {
				q = q.UnionAll(s)
			}
		}
		switch {
		case e.Spans != nil:
			add(e.Spans(ctx, tx, fr), "t", "since", "until")
		case e.Interval:
			add(e.Facts(ctx, tx, fr), "since", "until")
		default:
			add(e.Facts(ctx, tx, fr), "t")
		}
	}
	if q == nil {
		return nil
	}
	perDay := tx.NewSelect().TableExpr("(?) AS s", q).ColumnExpr("s.subject, s.day, bit_or(s.bit) AS mask").
		Where("s.subject IS NOT NULL AND s.day IS NOT NULL").GroupExpr("s.subject, s.day")
	return tx.NewSelect().TableExpr("(?) AS d", perDay).
		ColumnExpr("d.subject, array_agg(d.day ORDER BY d.day) AS days, array_agg(d.mask ORDER BY d.day) AS masks").GroupExpr("d.subject")
}

// DayMask is a day a subject's facts fall on and the bits of the metrics
// whose facts do (MetricBit; -1: every metric).
type DayMask struct {
	Day  string // YYYY-MM-DD
	Mask int64
}

// SubjectDays runs SubjectDaysQuery: subject -> its days.
func SubjectDays(ctx context.Context, tx bun.IDB, tn Tenant, es []Entry, subjects []uuid.UUID) (map[uuid.UUID][]DayMask, error) {
	out := map[uuid.UUID][]DayMask{}
	q := SubjectDaysQuery(ctx, tx, tn, es, subjects)
	if q == nil {
		return out, nil
	}
	rows, err := tx.NewSelect().TableExpr("(?) AS sd", q).ColumnExpr("sd.subject, sd.days::text[], sd.masks").Rows(ctx)
	if err != nil {
		return nil, fmt.Errorf("measures: subject days: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var days []string
		var masks []int64
		if err := rows.Scan(&id, pgdialect.Array(&days), pgdialect.Array(&masks)); err != nil {
			return nil, err
		}
		out[id] = Masked(days, masks)
	}
	return out, rows.Err()
}

// Masked pairs days with their masks; without masks (kept before masks
// were), every day names every metric.
func Masked(days []string, masks []int64) []DayMask {
	out := make([]DayMask, len(days))
	for i, d := range days {
		out[i] = DayMask{Day: d, Mask: -1}
		if len(masks) == len(days) {
			out[i].Mask = masks[i]
		}
	}
	return out
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// Ranges turns days (YYYY-MM-DD, in any order, repeats allowed) into the
// fewest ranges of consecutive days.
func Ranges(days []string) ([]DayRange, error) {
	ds := make([]Date, 0, len(days))
	seen := map[string]bool{}
	for _, s := range days {
		if seen[s] {
			continue
		}
		seen[s] = true
		d, err := ParseDate(s)
		if err != nil {
			return nil, fmt.Errorf("measures: day %q: %w", s, err)
		}
		ds = append(ds, d)
	}
	sortDates(ds)
	var out []DayRange
	for _, d := range ds {
		if n := len(out); n > 0 && out[n-1].To == d {
			out[n-1].To = d.AddDays(1)
			continue
		}
		out = append(out, DayRange{d, d.AddDays(1)})
	}
	return out, nil
}

func sortDates(ds []Date) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Before(ds[j]) })
}
