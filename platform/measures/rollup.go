package measures

import (
	"context"
	"fmt"
	"sort"
	"strings"
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

// Rollable reports whether a metric is kept in rollups: its value is a sum
// over days (counts, sums, means and ratios of facts at an instant, and
// intervals), not a distinct count, a percentile, a repeat rate or a stock
// measured against each bucket.
func (m Metric) Rollable() bool {
	if m.Stock && !m.Interval {
		return false
	}
	switch m.Agg {
	case AggCount, AggSum, AggAvg, AggRatio:
		return true
	}
	return false
}

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
	q := tx.NewSelect().TableExpr("bi_rollups AS r").
		Where("r.tenant_id = ? AND r.metric = ? AND r.dim = ?", tn.ID, p.e.Key, dim)
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
	key := "''"
	for _, d := range p.dims {
		if d != DimTime {
			key = keyOf(dim, d)
		}
	}
	q = q.ColumnExpr(key + " AS d0, '' AS d1")
	for _, f := range p.filters {
		if f.Op == OpNe {
			q = q.Where(keyOf(dim, f.Dimension)+" NOT IN (?)", bun.In(f.Values))
		} else {
			q = q.Where(keyOf(dim, f.Dimension)+" IN (?)", bun.In(f.Values))
		}
	}
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

// A DayRange is the days [From, To) of a company's time zone.
type DayRange struct{ From, To Date }

// AllDays is the range a full build covers: every day a fact can fall on.
var AllDays = DayRange{Date{1000, time.January, 1}, Date{3000, time.January, 1}}

// BuildRollup replaces the rollup rows of a rollable metric for the days of
// each range with sums of its facts, read as the system (every record). It
// runs in the company's transaction tx.
func BuildRollup(ctx context.Context, tx bun.IDB, tn Tenant, e Entry, ranges []DayRange) error {
	if !e.Rollable() {
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
	if !e.Interval {
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
		if e.Interval {
			// The starts and the ends that fall in the ranges, each read by
			// its own copy of the facts so that a bound on the start
			// reaches its index.
			sc, sargs := within("since")
			uc, uargs := within("until")
			facts = tx.NewSelect().TableExpr("(?) AS x", e.Facts(ctx, tx, fr)).
				ColumnExpr("(x.since AT TIME ZONE ?)::date AS day, 1 AS sign, x.*", tn.TimeZone).
				Where(sc, sargs...)
			if e.Ends != nil && len(pass) < 50 && pass[0] != AllDays {
				// Each range's ends, read from the end's side.
				for _, r := range pass {
					efr := Frame{Tenant: tn.ID, Currency: tn.Currency, From: r.From.Start(loc).UTC(), To: r.To.Start(loc).UTC()}
					facts = facts.UnionAll(tx.NewSelect().TableExpr("(?) AS x", e.Ends(ctx, tx, efr)).
						ColumnExpr("(x.until AT TIME ZONE ?)::date AS day, -1 AS sign, x.*", tn.TimeZone).
						Where("x.until >= ? AND x.until < ?", efr.From, efr.To))
				}
			} else {
				facts = facts.UnionAll(tx.NewSelect().TableExpr("(?) AS x", e.Facts(ctx, tx, fr)).
					ColumnExpr("(x.until AT TIME ZONE ?)::date AS day, -1 AS sign, x.*", tn.TimeZone).
					Where(uc, uargs...))
			}
		} else {
			tc, targs := within("t")
			facts = tx.NewSelect().TableExpr("(?) AS x", e.Facts(ctx, tx, fr)).
				ColumnExpr("(x.t AT TIME ZONE ?)::date AS day, 1 AS sign, x.*", tn.TimeZone).
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
		sums := n + ", " + v + ", " + vn + ", " + b
		parts := []string{"SELECT '' AS dim, f.day, '' AS key, " + sums + " FROM f GROUP BY f.day"}
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
			parts = append(parts, "SELECT ?, f.day, coalesce("+col+", ''), "+sums+" FROM "+from+" GROUP BY 2, 3")
			args = append(args, d)
			args = append(args, ds.args...)
			args = append(args, fargs...)
		}
		for i, pr := range e.Pairs {
			a := p.dimSQL(tn.ID, pr[0], fmt.Sprintf("pa%d", i))
			b := p.dimSQL(tn.ID, pr[1], fmt.Sprintf("pb%d", i))
			parts = append(parts, "SELECT ?, f.day, coalesce("+a.expr+", '') || E'"+pairSep+"' || coalesce("+b.expr+", ''), "+sums+" FROM f GROUP BY 2, 3")
			args = append(args, pairDim(pr[0], pr[1]))
			args = append(args, a.args...)
			args = append(args, b.args...)
		}
		all := append([]any{facts, tn.ID, e.Key}, args...)
		// Through db.ExecStaged: on Citus the rows (grouped on the
		// coordinator) go into the shard as INSERTs, not COPY, which RLS
		// refuses.
		if _, err := db.ExecStaged(ctx, tx, "WITH f AS MATERIALIZED (?) INSERT INTO bi_rollups (tenant_id, metric, dim, day, key, n, v, vn, b) "+
			"SELECT ?, ?, g.* FROM ("+strings.Join(parts, " UNION ALL ")+") AS g", all...); err != nil {
			return fmt.Errorf("measures: rollup of %s: %w", e.Key, err)
		}
	}
	return nil
}

// SubjectDaysQuery selects, for the subjects given (nil: every one),
// subject and days (date[]): the days their facts of the rollable metrics
// es fall on, a fact's day for a flow metric, its start's and end's for an
// interval. A changed record moves numbers on those days. Nil when no
// metric of es is rollable.
func SubjectDaysQuery(ctx context.Context, tx bun.IDB, tn Tenant, es []Entry, subjects []uuid.UUID) *bun.SelectQuery {
	ctx = authz.AsSystem(ctx)
	fr := Frame{Tenant: tn.ID, Currency: tn.Currency, From: AllDays.From.Start(time.UTC), To: AllDays.To.Start(time.UTC)}
	var q *bun.SelectQuery
	add := func(s *bun.SelectQuery) {
		if subjects != nil {
			s = s.Where("x.subject = ANY(?::uuid[])", pgdialect.Array(uuidStrings(subjects)))
		}
		if q == nil {
			q = s
		} else {
			q = q.UnionAll(s)
		}
	}
	for _, e := range es {
		if !e.Rollable() {
			continue
		}
		if e.Interval {
			add(tx.NewSelect().TableExpr("(?) AS x", e.Facts(ctx, tx, fr)).ColumnExpr("x.subject, (x.since AT TIME ZONE ?)::date AS day", tn.TimeZone))
			add(tx.NewSelect().TableExpr("(?) AS x", e.Facts(ctx, tx, fr)).ColumnExpr("x.subject, (x.until AT TIME ZONE ?)::date AS day", tn.TimeZone).Where("x.until IS NOT NULL"))
		} else {
			add(tx.NewSelect().TableExpr("(?) AS x", e.Facts(ctx, tx, fr)).ColumnExpr("x.subject, (x.t AT TIME ZONE ?)::date AS day", tn.TimeZone))
		}
	}
	if q == nil {
		return nil
	}
	return tx.NewSelect().TableExpr("(?) AS s", q).ColumnExpr("s.subject, array_agg(DISTINCT s.day ORDER BY s.day) AS days").
		Where("s.subject IS NOT NULL AND s.day IS NOT NULL").GroupExpr("s.subject")
}

// SubjectDays runs SubjectDaysQuery: subject -> its days (YYYY-MM-DD).
func SubjectDays(ctx context.Context, tx bun.IDB, tn Tenant, es []Entry, subjects []uuid.UUID) (map[uuid.UUID][]string, error) {
	out := map[uuid.UUID][]string{}
	q := SubjectDaysQuery(ctx, tx, tn, es, subjects)
	if q == nil {
		return out, nil
	}
	rows, err := tx.NewSelect().TableExpr("(?) AS sd", q).ColumnExpr("sd.subject, sd.days::text[]").Rows(ctx)
	if err != nil {
		return nil, fmt.Errorf("measures: subject days: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var days []string
		if err := rows.Scan(&id, pgdialect.Array(&days)); err != nil {
			return nil, err
		}
		out[id] = days
	}
	return out, rows.Err()
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
