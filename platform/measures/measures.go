// Package measures is the metric registry of BI. Modules contribute metrics
// through the optional Provider capability; the BI module lists and runs them
// and never imports a module. A metric is data plus one query builder: its
// facts, a bun query the module writes with its own scope rules. Everything a
// caller chooses (the metric, its dimensions, filter operators, bucket sizes)
// is looked up in what the metric declares, so user input only ever picks
// among module-written SQL fragments or travels as a bound argument.
//
// (platform/metrics is the Prometheus registry of the process; these are the
// business measures a tenant reports on.)
package measures

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/module"
)

// Unit says how a metric's value reads.
type Unit string

// The units of a metric's value. Money is in the tenant's currency; a
// duration is in seconds; a percent runs from 0 to 100.
const (
	Count    Unit = "count"
	Money    Unit = "money"
	Duration Unit = "duration"
	Percent  Unit = "percent"
	Score    Unit = "score"
)

// Agg is how the fact rows of one group become its value.
type Agg string

// The aggregations. Facts select the columns an aggregation reads: subject
// (uuid) for Distinct and Repeat, value (numeric) for Sum, Avg, the
// percentiles and Ratio, base (numeric) for Ratio.
const (
	AggCount    Agg = "count"    // the number of fact rows
	AggDistinct Agg = "distinct" // the number of distinct subjects
	AggSum      Agg = "sum"      // the sum of value (0 when none)
	AggAvg      Agg = "avg"      // the mean of value
	AggRatio    Agg = "ratio"    // 100 * sum(value) / sum(base)
	AggP50      Agg = "p50"      // the median of value (continuous)
	AggP90      Agg = "p90"      // the 90th percentile of value (continuous)
	AggRepeat   Agg = "repeat"   // 100 * subjects with two rows or more / subjects
)

// Additive reports whether a group without facts is worth 0 (rather than
// having no value at all).
func (a Agg) Additive() bool { return a == AggCount || a == AggDistinct || a == AggSum }

// Dim is a dimension a metric allows beyond time, owner, team and custom
// fields: a SQL expression over the fact row (aliased f) that a module writes.
type Dim struct {
	Key string
	// Expr is module-written SQL over the fact row f, giving text (or, with
	// Multi, a text array: a row counts under each of its values).
	Expr  string
	Multi bool
}

// Metric is one measure a module offers.
type Metric struct {
	Key              string // "<module>.<name>": profiles.new_customers
	LabelEN, LabelZH string
	DescEN, DescZH   string // how it is counted
	Unit             Unit
	Agg              Agg
	// Perm is the permission needed to see it (the read permission of the
	// records it counts).
	Perm string
	// Stock marks a metric measured at a moment (the customers at the end of
	// each bucket) rather than summed over events inside it.
	Stock bool
	// Interval marks a stock metric whose facts are intervals: each gives
	// since and until (NULL: still) instead of t, and counts (AggCount) or
	// adds its value (AggSum) at the end of every bucket it spans: from
	// since < end until until >= end. It is computed from the changes, in
	// one pass over the facts, whatever the number of buckets.
	Interval bool
	// Owner is the fact column holding the owning member, giving the owner
	// dimension and, through the member's teams, the team dimension.
	Owner string
	// Team is the fact column holding a team of the record's own (tickets);
	// empty: a team dimension comes from the owner's teams.
	Team string
	// Entity is the entity whose select custom fields are dimensions
	// ("custom.<key>"); the facts then carry the record's custom column.
	Entity string
	Dims   []Dim
	// Pairs are pairs of single-valued dimensions (not time, team of an
	// owner or custom) whose rollups are kept together, so that a question
	// by one and filtered on the other is answered from rollups: "at-risk
	// customers by owner".
	Pairs [][2]string
	// Facts builds the metric's fact rows in the tenant transaction: a
	// select giving t (timestamptz: the moment the fact falls in a bucket)
	// and the columns the aggregation and the dimensions read. It applies
	// the actor's row scope (ctx carries the actor). A stock metric joins
	// the buckets CTE (i, lo, hi) and gives t = b.lo for each bucket.
	Facts func(ctx context.Context, tx bun.IDB, f Frame) *bun.SelectQuery
	// Ends, for an interval metric whose until no index bounds (the next
	// change of a stay), gives the facts whose until may fall in [f.From,
	// f.To), as Facts does, read from the end's side: a rollup refresh of a
	// few days then reads those days, not every fact. A superset is fine;
	// the caller keeps the facts whose until is in the range.
	Ends func(ctx context.Context, tx bun.IDB, f Frame) *bun.SelectQuery
	// Spans lets a distinct count or a stock ratio be rolled up. Each row
	// gives subject, t (timestamptz, NULL: none), since and until (NULL:
	// unbounded) and the dimensions' columns. In a bucket starting at A and
	// ending at B:
	//   - a distinct count counts the rows with t in [A, B) and since < A
	//     <= until (one row per subject and bucket: "moved to churned in
	//     the bucket, and not since a move before it");
	//   - a stock ratio divides those rows by the rows with since < A <=
	//     until, whatever their t (the customers active at the bucket's
	//     start, and those of them who churned within it).
	// The rows are those whose t, since or until may fall in [f.From, f.To);
	// a superset is fine (Frame.Unbounded: every row). Facts stays the
	// source's answer, which the spans must equal.
	Spans func(ctx context.Context, tx bun.IDB, f Frame) *bun.SelectQuery
	// Sample names the values a percentile metric reads when other metrics
	// read the same values at another percentile (the first response's
	// median and 90th percentile). Their rollups are then read once for
	// every percentile, and within a Shared context (one dashboard) the
	// others' answers to the same question are kept for them: the values
	// are sorted once, not once per widget.
	Sample string
	// RolledAs names a metric of the same module whose rollup rows answer
	// this one: the same facts, dimensions and pairs, and the sums this
	// one reads (the average order value reads the revenue's sum of values
	// and their count). This metric's rollups are then not built or
	// refreshed on their own. An average may read a sum's rows.
	RolledAs string
}

// Frame is what a metric's facts may depend on.
type Frame struct {
	Tenant   uuid.UUID
	Currency string    // the tenant's: money metrics count amounts in it only
	From, To time.Time // the whole range, [From, To): flow facts keep within it
}

// Unbounded reports whether the frame is every day a fact can fall on (a
// full rollup build), where a restriction to the frame would only cost.
func (f Frame) Unbounded() bool {
	return f.From.Year() <= AllDays.From.Y && f.To.Year() >= AllDays.To.Y-1
}

// Provider is the module capability by which a module contributes metrics.
type Provider interface{ Measures() []Metric }

// Touches is the optional capability of a Provider whose metrics are rolled
// up: which of its events change the facts of their metrics. RollupTouch
// says whether an event of topic changes the facts of the record it names
// (its entity id, a fact's subject), or of every record of the module (a
// bulk change: its rollups are rebuilt). A provider without it has its
// rollups rebuilt only by the nightly reconcile.
type Touches interface {
	RollupTouch(topic string) (subject, whole bool)
}

// Entry is a registered metric and the module that offers it.
type Entry struct {
	Module string
	Metric
}

// Registry holds every module's metrics, in module order.
type Registry struct {
	all   []Entry
	byKey map[string]int
}

var (
	keyPattern   = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)
	identPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

// Collect gathers the metrics of the modules that provide some, refusing a
// malformed declaration: wiring stops at start, not at the first query.
func Collect(s module.Set) (*Registry, error) {
	r := &Registry{byKey: map[string]int{}}
	for _, m := range s {
		p, ok := m.(Provider)
		if !ok {
			continue
		}
		for _, mt := range p.Measures() {
			if err := check(m.Name(), mt); err != nil {
				return nil, err
			}
			if _, dup := r.byKey[mt.Key]; dup {
				return nil, fmt.Errorf("measures: metric %q declared twice", mt.Key)
			}
			r.byKey[mt.Key] = len(r.all)
			r.all = append(r.all, Entry{Module: m.Name(), Metric: mt})
		}
	}
	for _, e := range r.all {
		if e.RolledAs == "" {
			continue
		}
		i, ok := r.byKey[e.RolledAs]
		bad := func(why string) error {
			return fmt.Errorf("measures: module %s, metric %q rolled as %q: %s", e.Module, e.Key, e.RolledAs, why)
		}
		switch {
		case !ok || r.all[i].Module != e.Module:
			return nil, bad("no such metric in the module")
		case !r.all[i].Built() || !e.Rollable():
			return nil, bad("both must be rollable, and the other built on its own")
		case e.Agg != r.all[i].Agg && !(e.Agg == AggAvg && r.all[i].Agg == AggSum):
			return nil, bad("an average may read a sum's rows; other aggregations only their own")
		case e.Interval != r.all[i].Interval || e.Stock != r.all[i].Stock || (e.Spans == nil) != (r.all[i].Spans == nil) ||
			!slices.Equal(e.RolledDims(), r.all[i].RolledDims()) || !reflect.DeepEqual(e.Pairs, r.all[i].Pairs):
			return nil, bad("the two must have the same kind, dimensions and pairs")
		}
	}
	return r, nil
}

func check(mod string, mt Metric) error {
	bad := func(why string) error { return fmt.Errorf("measures: module %s, metric %q: %s", mod, mt.Key, why) }
	switch {
	case !keyPattern.MatchString(mt.Key):
		return bad("the key is not <module>.<name>")
	case mt.LabelEN == "" || mt.LabelZH == "":
		return bad("needs labels in English and Chinese")
	case mt.Facts == nil:
		return bad("has no facts")
	case mt.Perm == "":
		return bad("names no permission")
	case mt.Sample != "" && mt.Agg != AggP50 && mt.Agg != AggP90:
		return bad("only a percentile reads a sample")
	case mt.Owner != "" && !identPattern.MatchString(mt.Owner), mt.Team != "" && !identPattern.MatchString(mt.Team):
		return bad("owner and team are plain column names")
	case mt.Interval && mt.Agg != AggCount && mt.Agg != AggSum:
		return bad("an interval metric counts or sums")
	case mt.Spans != nil && mt.Agg != AggDistinct && !(mt.Agg == AggRatio && mt.Stock && !mt.Interval):
		return bad("spans are for a distinct count or a stock ratio")
	}
	switch mt.Unit {
	case Count, Money, Duration, Percent, Score:
	default:
		return bad("unknown unit " + string(mt.Unit))
	}
	switch mt.Agg {
	case AggCount, AggDistinct, AggSum, AggAvg, AggRatio, AggP50, AggP90, AggRepeat:
	default:
		return bad("unknown aggregation " + string(mt.Agg))
	}
	seen := map[string]bool{DimTime: true, DimOwner: mt.Owner != "", DimTeam: mt.Owner != "" || mt.Team != ""}
	for _, d := range mt.Dims {
		if _, known := dimLabels[d.Key]; !known {
			return bad("dimension " + d.Key + " has no labels in dimLabels")
		}
		if seen[d.Key] || d.Expr == "" {
			return bad("dimension " + d.Key + " is declared twice or has no expression")
		}
		seen[d.Key] = true
	}
	for _, pr := range mt.Pairs {
		for _, d := range pr {
			if !seen[d] || d == DimTime || mt.multi(d) {
				return bad("pair " + pr[0] + "|" + pr[1] + " names " + d + ", not a single-valued dimension of the metric")
			}
		}
		if pr[0] == pr[1] {
			return bad("pair " + pr[0] + "|" + pr[1] + " names one dimension twice")
		}
	}
	return nil
}

// All lists every registered metric, in module order.
func (r *Registry) All() []Entry { return append([]Entry(nil), r.all...) }

// Find returns the metric with that key.
func (r *Registry) Find(key string) (Entry, bool) {
	i, ok := r.byKey[key]
	if !ok {
		return Entry{}, false
	}
	return r.all[i], true
}

// Keys lists the metric keys, sorted.
func (r *Registry) Keys() []string {
	out := make([]string, 0, len(r.all))
	for _, e := range r.all {
		out = append(out, e.Key)
	}
	sort.Strings(out)
	return out
}

// The dimension keys with a meaning of their own.
const (
	DimTime   = "time"
	DimOwner  = "owner"
	DimTeam   = "team"
	CustomDim = "custom." // prefix of a select custom field: custom.<key>
)

// Label is a name in both languages.
type Label struct{ EN, ZH string }

// dimLabels names every dimension a metric may declare; a new one is added
// here with its labels.
var dimLabels = map[string]Label{
	DimTime:     {"Time", "时间"},
	DimOwner:    {"Owner", "负责人"},
	DimTeam:     {"Team", "团队"},
	"pipeline":  {"Pipeline", "销售流程"},
	"stage":     {"Stage", "阶段"},
	"channel":   {"Channel", "渠道"},
	"priority":  {"Priority", "优先级"},
	"type":      {"Type", "类型"},
	"status":    {"Status", "状态"},
	"lifecycle": {"Lifecycle stage", "生命周期阶段"},
	"source":    {"Source", "来源"},
	"tag":       {"Tag", "标签"},
	"province":  {"Province", "省份"},
	"city":      {"City", "城市"},
	// The customers' scores (profiles): values are the segment keys, and
	// low, medium or high.
	"rfm_segment":     {"RFM segment", "RFM 客户分群"},
	"churn_risk_band": {"Churn risk (low under 40, high from 70)", "流失风险（40 以下为低，70 及以上为高）"},
}

// DimLabel is the label of a standard dimension.
func DimLabel(key string) (Label, bool) {
	l, ok := dimLabels[key]
	return l, ok
}

// Allowed lists the dimension keys the metric allows besides custom fields,
// time first.
func (m Metric) Allowed() []string {
	out := []string{DimTime}
	if m.Owner != "" {
		out = append(out, DimOwner)
	}
	if m.Owner != "" || m.Team != "" {
		out = append(out, DimTeam)
	}
	for _, d := range m.Dims {
		out = append(out, d.Key)
	}
	return out
}
