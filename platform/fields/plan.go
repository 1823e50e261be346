package fields

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
)

// A list filtered on several indexed sets (tags, custom values, a search) and
// sorted by creation time is planned here, from the company's own counts, not
// from table-wide statistics that mix every company together (issue 20).
// Every strategy returns exactly the rows a brute-force filter and sort would;
// the counts only decide which is cheap. See docs/list-plans.md.

// Limits bound each strategy.
type Limits struct {
	// Narrow is the largest set that drives a list: its ids are read (at most
	// Narrow+1 of them) and only those records are checked and sorted.
	Narrow int
	// Walk is how many rows a newest-first walk reads before it gives up and
	// the list intersects the sets instead.
	Walk int
	// Prefer, when set, tries that strategy first wherever it applies,
	// whatever it costs: tests hold every strategy to the same rows.
	Prefer Strategy
	// Statement, when set, is handed the statement a walk reads its page
	// with, in the list's transaction just before it runs (tests EXPLAIN
	// it there, with the plan's settings).
	Statement func(ctx context.Context, tx bun.IDB, st Step, query string)
}

// DefaultLimits keep each strategy within a few milliseconds of index work.
var DefaultLimits = Limits{Narrow: 5000, Walk: 1000}

// Set is one filter of a list that is a set of records held in an index.
type Set struct {
	// Facet and Values name the set in list_counts ("tag" or "custom.<key>",
	// any of Values); an empty Facet (a range, a search) is measured by a
	// capped count of IDs instead.
	Facet  string
	Values []string
	// IDs selects the set's record ids as one column named id, with Args.
	IDs  string
	Args []any
	// Dups: IDs may name a record more than once.
	Dups bool
	// Walk, when set, selects (id, at) of the set where at is the record's
	// creation time, in an index that can be walked in (at, id) order.
	Walk     string
	WalkArgs []any
	// Key is the caller's name for the set, handed back in skip.
	Key string
	// Uncountable: even a capped count would read far more than its cap (a
	// range on a number field: numeric comparisons are not leakproof, so
	// under RLS they filter every value of the field instead of bounding the
	// index scan). The plan takes it as broad, of unknown size.
	Uncountable bool
}

// Probe, set in the skip map a walk hands TimePage.Query, says the select
// reads one record, fixed by its id: a filter that probes another table
// for the record (its tags, terms, values) can then be written to read
// the index that starts with (tenant_id, record id), which a company the
// statistics do not know would otherwise tie with every other index of
// that table that starts with tenant_id (see probeEach). A module that
// ignores it loses nothing but that.
const Probe = "\x00probe"

// ProbeTags is the condition, under Probe, that the record idExpr (e.g.
// "d.id") holds every one of tags, and its arguments: its rows of table
// (tenant_id, col, tag, with an index that starts with (tenant_id, col))
// read in col order with the id bounded from both sides, in a scalar
// subquery the planner cannot turn into a join that reads a tag's records
// for each walked record, whatever it takes the company's size for. The
// tenant is a parameter, as Citus routes it. One tag is a lookup; several
// are one count.
func ProbeTags(table, col, idExpr string, tenant uuid.UUID, tags []string) (string, []any) {
	bound := fmt.Sprintf("x.tenant_id = ? AND x.%[1]s >= %[2]s AND x.%[1]s <= %[2]s", col, idExpr)
	if len(tags) == 1 {
		return fmt.Sprintf("(SELECT true FROM %s x WHERE %s AND x.tag = ? ORDER BY x.%s LIMIT 1)", table, bound, col), []any{tenant, tags[0]}
	}
	return fmt.Sprintf("(SELECT count(DISTINCT y.tag) FROM (SELECT x.tag FROM %s x WHERE %s AND x.tag IN (?) ORDER BY x.%s) y) = ?", table, bound, col),
		[]any{tenant, bun.In(tags), len(tags)}
}

// Strategy is one way of reading a planned page.
type Strategy int

// The strategies, tried in the order Choose returns them.
const (
	// Narrow reads the ids of the smallest set and checks only those records.
	Narrow Strategy = iota + 1
	// Walk reads a set (or every record) newest first, at most Limits.Walk rows.
	Walk
	// Intersect hashes every other set and keeps the driver's ids found in all.
	Intersect
	// WalkOn is a walk going on from its last match (see walkOn): never a
	// step of Choose, only what Trace is told when a walk goes on.
	WalkOn
)

func (s Strategy) String() string {
	return map[Strategy]string{Narrow: "narrow", Walk: "walk", Intersect: "intersect", WalkOn: "walk on"}[s]
}

// Step is a strategy over a set (-1: every record, for a walk).
type Step struct {
	Strategy Strategy
	Set      int
}

// Estimate is what the plan knows of a set's size.
type Estimate struct {
	N     int64 // records (for a capped count: at most its cap+1)
	Known bool  // N is a count (or a floor-bounded absence); false: only "more than N-1" (Narrow, or a lone set's countCap)
}

// Costs of the plan's units, in index probes (one descent of a btree and a
// row, a few microseconds): an entry read in index order, or a hashed id,
// costs a small fraction of one.
const (
	costEntry = 0.05
	costProbe = 1.0
)

// Choose orders the strategies for sets of the given sizes among total records
// (0: unknown), for a page of want rows, by their cost estimated from the
// counts: narrow reads the smallest set and probes the other sets for each of
// its records; a walk probes every set (and the record) for each row it reads
// until it expects want matches, if the sets were independent; an
// intersection reads every set once into hashes and probes only the records
// in all of them. walkable says which sets can be walked in time order. The
// last step is always Intersect, which is exact whatever the data: the steps
// before it are bounded (Narrow by lim.Narrow ids, Walk by lim.Walk rows) and
// give way when the data is not what the counts suggest.
func Choose(est []Estimate, total int64, walkable []bool, want int, lim Limits) []Step {
	k := float64(len(est))
	size := func(i int) float64 {
		if !est[i].Known {
			if total > 0 {
				return max(float64(est[i].N), float64(total)/2)
			}
			return max(float64(est[i].N), 2*float64(lim.Narrow))
		}
		return float64(est[i].N)
	}
	share := func(i int) float64 { return estShare(est[i], total) }
	order := make([]int, len(est))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return size(order[a]) < size(order[b]) })
	smallest := order[0]

	type option struct {
		step Step
		cost float64
	}
	var opts []option
	// Intersect: every set read once, then the records in all of them.
	all, matches := 0.0, size(smallest)
	for i := range est {
		all += size(i)
		if i != smallest {
			matches *= share(i)
		}
	}
	opts = append(opts, option{Step{Intersect, smallest}, all*costEntry + matches*costProbe})
	if est[smallest].Known && est[smallest].N <= int64(lim.Narrow) {
		opts = append(opts, option{Step{Narrow, smallest}, size(smallest) * (costEntry + k*costProbe)})
	}
	// A walk over the smallest walkable set (or every record) finds a match
	// in every 1/density rows if the sets are independent; hostile data (the
	// newest rows of the driver matching nothing) makes it give way.
	driver := -1
	for _, i := range order {
		if walkable[i] {
			driver = i
			break
		}
	}
	density := 1.0
	probes := k + 1
	for i := range est {
		if i == driver {
			probes--
			continue
		}
		density *= share(i)
	}
	if rows := float64(want) / max(density, 1e-9); rows*2 <= float64(lim.Walk) || lim.Prefer == Walk {
		opts = append(opts, option{Step{Walk, driver}, rows * (costEntry + probes*costProbe)})
	}
	for i := range opts {
		if opts[i].step.Strategy == lim.Prefer {
			opts[i].cost = -1
		}
	}
	sort.SliceStable(opts, func(a, b int) bool { return opts[a].cost < opts[b].cost })
	var steps []Step
	for _, o := range opts {
		steps = append(steps, o.step)
		if o.step.Strategy == Intersect {
			break
		}
	}
	return steps
}

// estShare is the share of total records a set holds, as far as its estimate
// says: one half when its size is unknown.
func estShare(e Estimate, total int64) float64 {
	if !e.Known || total <= 0 {
		return 0.5 // broad, size unknown
	}
	return min(1, float64(e.N)/float64(total))
}

// otherWalk is the set to walk when the walk of set tried found too few: the
// smallest other walkable set whose walk, if the sets were independent, would
// fill the page within half the bound, as Choose asks of the first; or -1.
// A search and a tag: the tag is counted and the search is not, so the tag
// is walked first; when its newest members match no search, the search's own
// newest matches may well hold the tag.
func otherWalk(est []Estimate, total int64, walkable []bool, tried, want int, lim Limits) int {
	best := -1
	for j := range est {
		if !walkable[j] || j == tried {
			continue
		}
		density := 1.0
		for i := range est {
			if i != j {
				density *= estShare(est[i], total)
			}
		}
		if float64(want)/max(density, 1e-9)*2 > float64(lim.Walk) && lim.Prefer != Walk {
			continue
		}
		if best < 0 || (est[j].Known && (!est[best].Known || est[j].N < est[best].N)) {
			best = j
		}
	}
	return best
}

// TimePage asks for one page of a list sorted by creation time whose filters
// include indexed sets.
type TimePage[T any] struct {
	Entity string
	Sets   []Set
	Want   int  // rows to read: the page and one more
	Desc   bool // newest first
	// After is the keyset position (creation time, id); nil starts.
	After   *time.Time
	AfterID uuid.UUID
	// TimeExpr and IDExpr are the records' creation time and id in Query,
	// e.g. "c.created_at" and "c.id".
	TimeExpr, IDExpr string
	// All selects (id, at) of every live record, walkable in time order.
	All     string
	AllArgs []any
	// Table, when set, is the records' table, whose primary key is
	// (tenant_id, id): a walk then finds each walked record through that
	// key whatever the planner's statistics say of the company (see
	// probeEach).
	Table string
	// Query starts a select of the records with every filter of the list but
	// the sets named in skip (by Key), the scope, and the columns to read.
	// skip[Probe] says the select is a walk's probe of one record (see Probe).
	Query func(skip map[string]bool) (*bun.SelectQuery, error)
	// Read runs q and returns its rows.
	Read func(q *bun.SelectQuery) ([]T, error)
	// Limits: zero values take DefaultLimits.
	Limits Limits
	// Trace, when set, is told each strategy tried (tests, the bench).
	Trace func(Step)
	// Position, when set, is a row's creation time and id: a walk that found
	// some matches within its bound then goes on from its last match when
	// the rest of the page is likely to lie closer than the intersection's
	// hashes would cost (see walkOn). Without it such a walk gives way.
	Position func(T) (time.Time, uuid.UUID)
}

// PageByTime reads one page of a list sorted by creation time, planned from
// the company's counts of its sets. Without sets it runs the plain query.
func PageByTime[T any](ctx context.Context, tx bun.IDB, tenant uuid.UUID, p TimePage[T]) ([]T, error) {
	lim := p.Limits
	if lim.Narrow <= 0 {
		lim.Narrow = DefaultLimits.Narrow
	}
	if lim.Walk <= 0 {
		lim.Walk = DefaultLimits.Walk
	}
	dir, cmp := "ASC", ">"
	if p.Desc {
		dir, cmp = "DESC", "<"
	}
	finish := func(q *bun.SelectQuery, at, id string) ([]T, error) {
		if p.After != nil {
			q = q.Where(fmt.Sprintf("(%s, %s) %s (?, ?)", at, id, cmp), *p.After, p.AfterID)
		}
		return p.Read(q.OrderExpr(fmt.Sprintf("%s %s, %s %s", at, dir, id, dir)).Limit(p.Want))
	}
	if len(p.Sets) == 0 || smallCompany(tenant, p.Entity, lim) {
		// A company with at most Limits.Narrow records: every plan reads at
		// most that many, so the plain query needs neither the counts nor
		// the planner's settings (two statements fewer).
		q, err := p.Query(nil)
		if err != nil {
			return nil, err
		}
		return finish(q, p.TimeExpr, p.IDExpr)
	}
	var alone *aloneSet
	if len(p.Sets) == 1 {
		alone = &aloneSet{want: p.Want, walkable: p.Sets[0].Walk != ""}
	}
	est, total, err := estimate(ctx, tx, tenant, p.Entity, p.Sets, lim, alone)
	if err != nil {
		return nil, err
	}
	out, err := runSteps(ctx, tx, tenant, p, est, total, lim, dir, cmp, finish)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, restorePlanSettings); err != nil {
		return nil, err
	}
	return out, nil
}

func runSteps[T any](ctx context.Context, tx bun.IDB, tenant uuid.UUID, p TimePage[T], est []Estimate, total int64, lim Limits, dir, cmp string,
	finish func(*bun.SelectQuery, string, string) ([]T, error)) ([]T, error) {
	walkable := make([]bool, len(p.Sets))
	for i, s := range p.Sets {
		walkable[i] = s.Walk != ""
	}
	for _, step := range Choose(est, total, walkable, p.Want, lim) {
		if p.Trace != nil {
			p.Trace(step)
		}
		switch step.Strategy {
		case Narrow:
			s := p.Sets[step.Set]
			if s.Facet != "" {
				// Counted, maybe long ago: check the bound before relying on it.
				n, err := cappedCount(ctx, tx, s, lim.Narrow+1)
				if err != nil {
					return nil, err
				}
				if n > int64(lim.Narrow) {
					continue // it grew since it was counted
				}
			}
			q, err := p.Query(map[string]bool{s.Key: true})
			if err != nil {
				return nil, err
			}
			// The set's ids as an array, probed by primary key: no join order
			// for the planner to get wrong from table-wide statistics.
			return finish(q.Where(p.IDExpr+" = ANY (ARRAY("+s.IDs+"))", s.Args...), p.TimeExpr, p.IDExpr)
		case Walk:
			// Every walk below reads its index in order and stops at the
			// page: a sort would read the whole set first, and the planner
			// picks one whenever it takes the set for smaller than the
			// walk's bound, which a company that grew since the last ANALYZE
			// is. One statement turns sorts off for all of them.
			if err := sortsOff(ctx, tx); err != nil {
				return nil, err
			}
			out, full, err := walkThenOn(ctx, tx, tenant, p, step, est, lim, dir, cmp)
			if err != nil || full {
				return out, err // restorePlanSettings turns sorts back on
			}
			if step.Set >= 0 {
				// Too few in this set's newest rows: another set's newest
				// rows may hold the page (one more walk, as bounded).
				if j := otherWalk(est, total, walkable, step.Set, p.Want, lim); j >= 0 {
					st := Step{Walk, j}
					if p.Trace != nil {
						p.Trace(st)
					}
					if out, full, err := walkThenOn(ctx, tx, tenant, p, st, est, lim, dir, cmp); err != nil || full {
						return out, err
					}
				}
			}
			if _, err := tx.ExecContext(ctx, "SELECT set_config('enable_sort', 'on', true)"); err != nil {
				return nil, err
			}
			// Still too few: the rest may be anywhere.
		case Intersect:
			if w := smallestWalkable(p.Sets, est); w >= 0 {
				return hashedWalk(ctx, tx, p, w, dir, cmp)
			}
			return intersect(ctx, tx, p, step.Set, finish)
		}
	}
	return nil, errs.E(errs.Internal, "fields: no plan for the list")
}

// walkThenOn walks step's set (or every record) at most Limits.Walk rows and,
// when that found some of the page but not all, goes on from its last match
// as far as walkOn allows. full says the page was found.
func walkThenOn[T any](ctx context.Context, tx bun.IDB, tenant uuid.UUID, p TimePage[T], step Step, est []Estimate, lim Limits, dir, cmp string) ([]T, bool, error) {
	out, err := walkPage(ctx, tx, tenant, p, step, p.After, p.AfterID, lim.Walk, p.Want, lim, dir, cmp)
	if err != nil || len(out) == p.Want {
		return out, err == nil, err
	}
	// Too few matches within the bound. When some were found, the rest is
	// likely as far again as they were apart: the walk goes on from its last
	// match if that is cheaper than the hashes.
	more := walkOn(est, step.Set, len(out), p.Want, lim.Walk)
	if lim.Prefer == Walk && len(out) > 0 {
		more = max(more, lim.Walk) // tests: whatever it costs
	}
	if more <= 0 || p.Position == nil {
		return nil, false, nil
	}
	if p.Trace != nil {
		p.Trace(Step{WalkOn, step.Set})
	}
	at, id := p.Position(out[len(out)-1])
	rest, err := walkPage(ctx, tx, tenant, p, step, &at, id, more, p.Want-len(out), lim, dir, cmp)
	if err != nil || len(out)+len(rest) < p.Want {
		return nil, false, err
	}
	return append(out, rest...), true, nil
}

// walkPage reads want matches of a walk (step: a set, or every record) from
// the position after (nil: from p.After's start), probing at most bound
// walked rows. The caller has turned sorts off (sortsOff).
func walkPage[T any](ctx context.Context, tx bun.IDB, tenant uuid.UUID, p TimePage[T], step Step, after *time.Time, afterID uuid.UUID, bound, want int, lim Limits, dir, cmp string) ([]T, error) {
	walk, args, skip := p.All, p.AllArgs, map[string]bool{Probe: true}
	if step.Set >= 0 {
		s := p.Sets[step.Set]
		walk, args, skip = s.Walk, s.WalkArgs, map[string]bool{s.Key: true, Probe: true}
	}
	sub := "SELECT w.id, w.at FROM (" + walk + ") w"
	args = append([]any{}, args...)
	if after != nil {
		sub += fmt.Sprintf(" WHERE (w.at, w.id) %s (?, ?)", cmp)
		args = append(args, *after, afterID)
	}
	sub += fmt.Sprintf(" ORDER BY w.at %s, w.id %s LIMIT ?", dir, dir)
	args = append(args, bound)
	q, err := p.Query(skip)
	if err != nil {
		return nil, err
	}
	pq := probeEach(tx, q, tenant, p.Table, p.IDExpr, sub, args, dir, want)
	if lim.Statement != nil {
		lim.Statement(ctx, tx, step, pq.String())
	}
	return p.Read(pq)
}

// walkOn is how many more rows a walk (over set driver, or every record for
// -1) that found found of want matches in its first walked rows may probe
// before it gives way to the intersection, or 0 to give way now. The
// intersection hashes every set but the driver (each entry at costEntry); a
// walked row costs a probe of each of those sets and of the record. The walk
// goes on only when the matches it found, as far apart as they were, would
// fill the page within what the hashes cost less what it already walked: so
// a walk that found nothing (the newest rows of one filter never match the
// other) gives way at once, as before, and one that goes on and fails costs
// at most the intersection again.
func walkOn(est []Estimate, driver, found, want, walked int) int {
	if found <= 0 || found >= want {
		return 0
	}
	hashed, probes := 0.0, 1.0
	for i, e := range est {
		if i == driver {
			continue
		}
		hashed += float64(e.N) * costEntry
		probes++
	}
	more := int(hashed/(costEntry+probes*costProbe)) - walked
	need := (want - found) * walked / found
	if more <= 0 || need > more {
		return 0
	}
	return more
}

// sortsOff turns sorts off for the rest of the plan's statements (until
// restorePlanSettings): a walk reads its index in order and stops at the page,
// and a sort would read the whole set first. The planner picks the sort
// whenever it takes the set for smaller than it is (a company that grew since
// the last ANALYZE) and, with a hashed set in the walk's filter, even when its
// own estimates favour the walk.
func sortsOff(ctx context.Context, tx bun.IDB) error {
	_, err := tx.ExecContext(ctx, "SELECT set_config('enable_sort', 'off', true)")
	return err
}

// probeEach reads a walk's page: the walked rows (sub, ordered) one at a
// time, each record found by its id and checked against the list's other
// filters in a subquery of its own, until want rows matched. The subquery's
// LIMIT keeps the planner from joining the walk to the records or the other
// sets as whole relations: their company's size is what the table-wide
// statistics get wrong (a company younger than the last ANALYZE is one row
// to them, and a set's match with the company's records is taken for a
// fraction of it), and with joins by hash or merge off a misjudged join is
// a nested loop that reads the whole company, or a set, for each walked row:
// a cost that grew with the company (issue 23, the soak).
//
// With table set, the record is found by the primary key (tenant_id, id)
// first, and read by the tuple id that gives: a company the statistics do
// not know at all (created after the last ANALYZE of a table whose every
// company is among its most common values) is one row to the planner, and
// then every index that starts with tenant_id costs it the same as the
// primary key for "c.id = pw.id". It took one of them and read the company
// for each walked row (the soak's first minute, before autovacuum). The key
// probe asks for its row in id order with the id bounded from both sides,
// not fixed by an equality that would make the order redundant: only the
// primary key gives that order without a sort (and the walk turns sorts off).
// The record's own scan is then by tuple id, a page cheaper than any index,
// and keeps "c.id = pw.id", so the list's other filters (EXISTS on the
// record's tags, terms, values) still probe their indexes by pw.id.
// tenant_id stays in both scans, so under Citus the probe stays on the
// company's shard.
func probeEach(tx bun.IDB, q *bun.SelectQuery, tenant uuid.UUID, table, idExpr, sub string, args []any, dir string, want int) *bun.SelectQuery {
	out := tx.NewSelect().TableExpr("("+sub+") AS pw", args...)
	q = q.Where(idExpr + " = pw.id")
	if table != "" {
		alias, _, _ := strings.Cut(idExpr, ".")
		out = out.Join("CROSS JOIN LATERAL (SELECT pk.ctid AS tid FROM ? AS pk WHERE pk.tenant_id = ? AND pk.id >= pw.id AND pk.id <= pw.id ORDER BY pk.id LIMIT 1) AS pwk",
			bun.Ident(table), tenant)
		q = q.Where(alias + ".ctid = pwk.tid")
	}
	return out.Join("CROSS JOIN LATERAL (?) AS pr", q.Limit(1)).
		ColumnExpr("pr.*").
		OrderExpr(fmt.Sprintf("pw.at %s, pw.id %s", dir, dir)).Limit(want)
}

// smallestWalkable is the smallest set that can be walked in time order, or -1.
func smallestWalkable(sets []Set, est []Estimate) int {
	best := -1
	for i, s := range sets {
		if s.Walk == "" {
			continue
		}
		if best < 0 || (est[i].Known && (!est[best].Known || est[i].N < est[best].N)) {
			best = i
		}
	}
	return best
}

// hashedWalk is the intersection when a set can be walked in time order: it
// walks that set from the cursor, with no bound, keeping the rows every other
// set holds (each hashed once), and stops at the page's last match. It reads
// no more of the driver than a sort of the whole intersection would, and
// probes only the records the page returns.
func hashedWalk[T any](ctx context.Context, tx bun.IDB, p TimePage[T], driver int, dir, cmp string) ([]T, error) {
	d := p.Sets[driver]
	sub := "SELECT w.id, w.at FROM (" + d.Walk + ") w"
	args := append([]any{}, d.WalkArgs...)
	skip := map[string]bool{}
	var conds []string
	for i, s := range p.Sets {
		skip[s.Key] = true
		if i == driver {
			continue
		}
		conds = append(conds, "CASE WHEN w.id IN ("+s.IDs+") THEN true END")
		args = append(args, s.Args...)
	}
	if p.After != nil {
		conds = append(conds, fmt.Sprintf("(w.at, w.id) %s (?, ?)", cmp))
		args = append(args, *p.After, p.AfterID)
	}
	if len(conds) > 0 {
		sub += " WHERE " + strings.Join(conds, " AND ")
	}
	sub += fmt.Sprintf(" ORDER BY w.at %s, w.id %s", dir, dir)
	q, err := p.Query(skip)
	if err != nil {
		return nil, err
	}
	return p.Read(q.Join("JOIN ("+sub+") AS pw ON pw.id = "+p.IDExpr, args...).
		OrderExpr(fmt.Sprintf("pw.at %s, pw.id %s", dir, dir)).Limit(p.Want))
}

// intersect keeps the driver's ids that every other set holds, each other set
// hashed once (a hashed subplan), and reads only those records by id (joins
// by hash or merge are off: planSettings).
func intersect[T any](ctx context.Context, tx bun.IDB, p TimePage[T], driver int, finish func(*bun.SelectQuery, string, string) ([]T, error)) ([]T, error) {
	d := p.Sets[driver]
	sel := "SELECT d.id"
	if d.Dups {
		sel = "SELECT DISTINCT d.id"
	}
	sub := sel + " FROM (" + d.IDs + ") d"
	args := append([]any{}, d.Args...)
	skip := map[string]bool{}
	var conds []string
	for i, s := range p.Sets {
		skip[s.Key] = true
		if i == driver {
			continue
		}
		// Inside CASE the subquery is not pulled up into a join: it stays a
		// subplan, hashed once, and each driver id costs one hash probe.
		conds = append(conds, "CASE WHEN d.id IN ("+s.IDs+") THEN true END")
		args = append(args, s.Args...)
	}
	if len(conds) > 0 {
		sub += " WHERE " + strings.Join(conds, " AND ")
	}
	q, err := p.Query(skip)
	if err != nil {
		return nil, err
	}
	return finish(q.Join("JOIN ("+sub+") AS pi ON pi.id = "+p.IDExpr, args...), p.TimeExpr, p.IDExpr)
}

// TotalsTTL is how long a process remembers a company's record count read
// with its list counts, to skip planning the lists of a small company.
const TotalsTTL = 30 * time.Second

// totals remembers, per process, each (tenant, entity)'s record count from
// its last counts read: a plan of a small company's list then costs no
// statement of its own. An entry is at most TotalsTTL old, so a company that
// an import has just made large is planned again within that.
var totals = struct {
	sync.Mutex
	m map[[2]string]totalEntry
}{m: map[[2]string]totalEntry{}}

type totalEntry struct {
	n  int64
	at time.Time
}

func rememberTotal(tenant uuid.UUID, entity string, n int64) {
	totals.Lock()
	defer totals.Unlock()
	if len(totals.m) > 100_000 {
		clear(totals.m) // bounded memory; the next reads refill it
	}
	totals.m[[2]string{tenant.String(), entity}] = totalEntry{n: n, at: time.Now()}
}

// smallCompany reports whether the company's records of entity, as counted
// at its last count and read by this process within TotalsTTL, number at
// most lim.Narrow. Tests that force a strategy (lim.Prefer) always plan.
func smallCompany(tenant uuid.UUID, entity string, lim Limits) bool {
	if lim.Prefer != 0 {
		return false
	}
	totals.Lock()
	defer totals.Unlock()
	e, ok := totals.m[[2]string{tenant.String(), entity}]
	return ok && time.Since(e.at) < TotalsTTL && e.n <= int64(lim.Narrow)
}

// forgetTotals drops what this process remembers of a company (a recount).
func forgetTotals(tenant uuid.UUID) {
	totals.Lock()
	defer totals.Unlock()
	for k := range totals.m {
		if k[0] == tenant.String() {
			delete(totals.m, k)
		}
	}
}

// aloneSet is the only set of a page sorted by creation time: the page's rows
// to read, and whether the set can be walked in time order.
type aloneSet struct {
	want     int
	walkable bool
}

// countCap is how far a lone set's count needs to go for Choose to pick what
// the exact count would: past it, a walk costs less than reading the set's
// ids (narrow), whatever the set's size. A walkable set is walked for a page
// once it holds a page. Otherwise the walk reads every record until the page
// fills, about want·total/n of them for a set of n, each probed for the
// record and the set, against n ids read and probed; the two cost the same
// at n = √(want·total·(costEntry+2costProbe)/(costEntry+costProbe)), and
// the walk must also fit in half of Limits.Walk rows. Without the company's
// total (never counted yet), Choose takes a set of unknown share for half
// the records, so the walk reads 2·want rows and costs less than narrow
// past n = 2·want·(costEntry+2costProbe)/(costEntry+costProbe). A search
// that every customer matches then counts a few hundred entries, or 82,
// where it counted up to Narrow+1 (the soak's companies: the count grew
// with the company to 40-60% of the database's time).
func (a aloneSet) countCap(total int64, lim Limits) int {
	if lim.Prefer != 0 {
		return lim.Narrow // tests that force a strategy want the real count
	}
	if a.walkable {
		return min(lim.Narrow, max(a.want, 1))
	}
	w := float64(a.want)
	if total <= 0 {
		if 4*a.want > lim.Walk {
			return lim.Narrow // no walk fits: the count decides narrow or intersect
		}
		return min(lim.Narrow, int(math.Ceil(2*w*(costEntry+2*costProbe)/(costEntry+costProbe))))
	}
	n := float64(total)
	even := math.Sqrt(w * n * (costEntry + 2*costProbe) / (costEntry + costProbe))
	fits := 2 * w * n / float64(lim.Walk)
	return min(lim.Narrow, int(math.Ceil(max(even, fits))))
}

// estimate sizes each set from the company's counts; a set the counts cannot
// size (a range, a search, a company never counted) gets a count capped at
// Narrow+1, which costs at most that many index entries, or, for a lone set
// (alone, nil otherwise), at its countCap.
func estimate(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity string, sets []Set, lim Limits, alone *aloneSet) ([]Estimate, int64, error) {
	var facets, values []string
	for _, s := range sets {
		for _, v := range s.Values {
			if s.Facet != "" {
				facets, values = append(facets, s.Facet), append(values, v)
			}
		}
	}
	have, total, counted, err := counts(ctx, tx, tenant, entity, facets, values)
	if err != nil {
		return nil, 0, err
	}
	if counted {
		rememberTotal(tenant, entity, total)
	}
	out := make([]Estimate, len(sets))
	for i, s := range sets {
		if s.Facet != "" && counted {
			var n int64
			for _, v := range s.Values {
				if c, ok := have[[2]string{s.Facet, v}]; ok {
					n += c
				} else {
					n += CountFloor - 1 // fewer than the floor at the last count
				}
			}
			out[i] = Estimate{N: n, Known: true}
			continue
		}
		if s.Uncountable {
			out[i] = Estimate{N: int64(lim.Narrow) + 1}
			continue
		}
		upTo := lim.Narrow
		if alone != nil {
			upTo = alone.countCap(total, lim)
		}
		n, err := cappedCount(ctx, tx, s, upTo+1)
		if err != nil {
			return nil, 0, err
		}
		out[i] = Estimate{N: n, Known: n <= int64(upTo)}
	}
	return out, total, nil
}

// cappedCount counts the set's ids up to limit: at most limit index entries.
func cappedCount(ctx context.Context, tx bun.IDB, s Set, limit int) (int64, error) {
	var n int64
	err := tx.NewRaw("SELECT count(*) FROM (SELECT 1 FROM ("+s.IDs+") s LIMIT ?) c", append(append([]any{}, s.Args...), limit)...).Scan(ctx, &n)
	return n, err
}

// Set returns the indexed set of records that the custom filter key[op]=raw
// selects, for a planned list; ok is false for a filter that is not a set of
// index rows (ne, empty, prefix, contains), which the list applies with
// Where instead.
func (b *Binding) Set(ctx context.Context, tx bun.IDB, tenant uuid.UUID, key, op, raw string) (Set, bool, error) {
	if b == nil {
		return Set{}, false, nil
	}
	switch op {
	case "", "eq", "in", "gt", "gte", "lt", "lte", "between":
	default:
		return Set{}, false, nil
	}
	if op == "" {
		op = "eq"
	}
	d, ok, err := b.lookup(ctx, tx, tenant, key)
	if err != nil || !ok || !d.Filterable || !d.Indexable() {
		return Set{}, false, err // Where names the problem
	}
	vals := []string{raw}
	if op == "in" || op == "between" {
		vals = nil
		for _, v := range strings.Split(raw, ",") {
			vals = append(vals, strings.TrimSpace(v))
		}
	}
	base := "SELECT fi.record_id AS id FROM field_index fi WHERE fi.tenant_id = ? AND fi.entity = ? AND fi.field_key = ?"
	frag, args, err := filterSQL(d, base, []any{tenant, d.Entity, d.Key}, op, vals, false)
	if err != nil {
		return Set{}, false, err
	}
	if !strings.HasPrefix(frag, "EXISTS (") || !strings.HasSuffix(frag, ")") {
		return Set{}, false, nil
	}
	s := Set{IDs: strings.TrimSuffix(strings.TrimPrefix(frag, "EXISTS ("), ")"), Args: args,
		Dups: d.Type == MultiSelect && op != "eq", Key: "custom." + key + "[" + op + "]=" + raw}
	if d.Column() == "v_num" && op != "eq" && op != "in" {
		s.Uncountable = true
	}
	if (op == "eq" || op == "in") && (d.Column() == "v_text" || d.Column() == "v_bool") {
		s.Facet = "custom." + key
		for _, a := range args[3:] {
			s.Values = append(s.Values, fmt.Sprint(a))
		}
	}
	return s, true, nil
}
