package bi_test

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/authz"
)

// fact is one row a metric counts, as the brute force sees it.
type fact struct {
	dims    map[string][]string // every dimension but time: each value it counts under
	value   float64
	base    float64
	subject uuid.UUID
	// seen says whether the actor's scope reaches it.
	seen func(a authz.Actor) bool
}

// bruteMetric gives a metric's facts that fall in [lo, hi).
type bruteMetric struct {
	agg   string
	facts func(lo, hi time.Time) []fact
}

func in(t, lo, hi time.Time) bool { return !t.Before(lo) && t.Before(hi) }

func idOr(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}

func orNone(vs []string) []string {
	if len(vs) == 0 {
		return []string{""}
	}
	return vs
}

// owns is the scope of an owned record: the owner is the actor (own) or a
// teammate (team).
func owns(id *uuid.UUID) func(authz.Actor) bool {
	return func(a authz.Actor) bool {
		switch a.Visibility() {
		case authz.ScopeAll:
			return true
		case authz.ScopeTeam:
			for _, m := range a.Teammates {
				if id != nil && *id == m {
					return true
				}
			}
			return false
		}
		return id != nil && *id == a.ID
	}
}

func (w *world) teamsOf(id *uuid.UUID) []string {
	if id == nil {
		return []string{""}
	}
	return orNone(w.teams[*id])
}

func (w *world) customerDims(c *gCustomer) map[string][]string {
	return map[string][]string{"owner": {idOr(c.owner)}, "team": w.teamsOf(c.owner), "lifecycle": {c.lifecycle}, "source": {c.source},
		"tag": orNone(c.tags), "province": {c.province}, "city": {c.city}, "custom.tier": {c.tier},
		"rfm_segment": {""}, "churn_risk_band": {""}} // no scoring run in this world
}

func (w *world) dealDims(d *gDeal) map[string][]string {
	return map[string][]string{"owner": {idOr(d.owner)}, "team": w.teamsOf(d.owner), "pipeline": {d.pipeline.String()}, "stage": {d.stage.String()},
		"source": {d.source}, "tag": orNone(d.tags), "custom.region": {d.region}}
}

func ticketDims(k *gTicket) map[string][]string {
	return map[string][]string{"owner": {idOr(k.assignee)}, "team": {idOr(k.team)}, "channel": {k.channel}, "priority": {k.priority},
		"type": {k.typ}, "status": {k.status}, "custom.category": {k.category}}
}

// seen is the scope of a ticket: assigned to the actor or opened by them
// (own); or assigned to a teammate, opened by them, or given to one of
// their teams (team).
func (k *gTicket) seen(a authz.Actor) bool {
	is := func(id *uuid.UUID, ms ...uuid.UUID) bool {
		for _, m := range ms {
			if id != nil && *id == m {
				return true
			}
		}
		return false
	}
	switch a.Visibility() {
	case authz.ScopeAll:
		return true
	case authz.ScopeTeam:
		return is(k.assignee, a.Teammates...) || is(k.creator, a.ID) || is(k.team, a.TeamIDs...)
	}
	return is(k.assignee, a.ID) || is(k.creator, a.ID)
}

// stageAt is the customer's lifecycle stage just before x ("" before any).
func (c *gCustomer) stageAt(x time.Time) string {
	s := ""
	for _, h := range c.history {
		if h.at.Before(x) {
			s = h.to
		}
	}
	return s
}

func (c *gCustomer) churnedIn(lo, hi time.Time) bool {
	for _, h := range c.history {
		if h.to == "churned" && h.from != "" && h.from != "churned" && in(h.at, lo, hi) {
			return true
		}
	}
	return false
}

func active(s string) bool { return s == "customer" || s == "at_risk" }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// brute is every built-in metric computed the long way over the world.
func (w *world) brute() map[string]bruteMetric {
	cust := func(keep func(c *gCustomer, lo, hi time.Time) (bool, float64, float64)) func(lo, hi time.Time) []fact {
		return func(lo, hi time.Time) []fact {
			var out []fact
			for _, c := range w.cust {
				if c.deleted {
					continue
				}
				if ok, v, b := keep(c, lo, hi); ok {
					out = append(out, fact{dims: w.customerDims(c), value: v, base: b, subject: c.id, seen: owns(c.owner)})
				}
			}
			return out
		}
	}
	buys := func(money bool, value func(p *gPurchase) float64) func(lo, hi time.Time) []fact {
		return func(lo, hi time.Time) []fact {
			var out []fact
			for _, p := range w.buys {
				if p.cust.deleted || !in(p.at, lo, hi) || (money && p.currency != w.currency) {
					continue
				}
				d := w.customerDims(p.cust)
				d["channel"] = []string{p.channel}
				out = append(out, fact{dims: d, value: value(p), subject: p.cust.id, seen: owns(p.cust.owner)})
			}
			return out
		}
	}
	amount := func(p *gPurchase) float64 { return float64(p.amount) / 100 }
	deals := func(keep func(d *gDeal, lo, hi time.Time) (bool, float64, float64)) func(lo, hi time.Time) []fact {
		return func(lo, hi time.Time) []fact {
			var out []fact
			for _, d := range w.deals {
				if d.deleted {
					continue
				}
				if ok, v, b := keep(d, lo, hi); ok {
					out = append(out, fact{dims: w.dealDims(d), value: v, base: b, subject: d.id, seen: owns(d.owner)})
				}
			}
			return out
		}
	}
	openAt := func(d *gDeal, x time.Time) bool {
		return d.created.Before(x) && (d.won == nil || !d.won.Before(x)) && (d.lost == nil || !d.lost.Before(x))
	}
	wonIn := func(money bool, v func(d *gDeal) float64) func(d *gDeal, lo, hi time.Time) (bool, float64, float64) {
		return func(d *gDeal, lo, hi time.Time) (bool, float64, float64) {
			if d.won == nil || !in(*d.won, lo, hi) || (money && d.currency != w.currency) {
				return false, 0, 0
			}
			return true, v(d), 0
		}
	}
	dealAmount := func(d *gDeal) float64 { return float64(d.amount) / 100 }
	tickets := func(keep func(k *gTicket, lo, hi time.Time) (bool, float64, float64)) func(lo, hi time.Time) []fact {
		return func(lo, hi time.Time) []fact {
			var out []fact
			for _, k := range w.tickets {
				if k.merged {
					continue
				}
				if ok, v, b := keep(k, lo, hi); ok {
					out = append(out, fact{dims: ticketDims(k), value: v, base: b, subject: k.id, seen: k.seen})
				}
			}
			return out
		}
	}
	secs := func(a time.Time, b *time.Time) float64 { return b.Sub(a).Seconds() }
	responded := func(k *gTicket, lo, hi time.Time) (bool, float64, float64) {
		if k.responded == nil || !in(*k.responded, lo, hi) {
			return false, 0, 0
		}
		return true, secs(k.created, k.responded), 0
	}
	solved := func(k *gTicket, lo, hi time.Time) (bool, float64, float64) {
		if k.solved == nil || !in(*k.solved, lo, hi) {
			return false, 0, 0
		}
		return true, secs(k.created, k.solved), 0
	}
	return map[string]bruteMetric{
		"profiles.customers": {"count", cust(func(c *gCustomer, lo, hi time.Time) (bool, float64, float64) { return c.created.Before(hi), 0, 0 })},
		"profiles.new_customers": {"count", cust(func(c *gCustomer, lo, hi time.Time) (bool, float64, float64) {
			return in(c.created, lo, hi), 0, 0
		})},
		"profiles.active_customers": {"count", cust(func(c *gCustomer, lo, hi time.Time) (bool, float64, float64) {
			return c.created.Before(hi) && active(c.stageAt(hi)), 0, 0
		})},
		"profiles.churned_customers": {"distinct", cust(func(c *gCustomer, lo, hi time.Time) (bool, float64, float64) {
			return c.churnedIn(lo, hi), 0, 0
		})},
		"profiles.churn_rate": {"ratio", cust(func(c *gCustomer, lo, hi time.Time) (bool, float64, float64) {
			return c.created.Before(lo) && active(c.stageAt(lo)), b2f(c.churnedIn(lo, hi)), 1
		})},
		"purchases.revenue":     {"sum", buys(true, amount)},
		"purchases.orders":      {"count", buys(false, amount)},
		"purchases.aov":         {"avg", buys(true, amount)},
		"purchases.repeat_rate": {"repeat", buys(false, amount)},
		"funnel.deals":          {"count", deals(func(d *gDeal, lo, hi time.Time) (bool, float64, float64) { return in(d.created, lo, hi), 0, 0 })},
		"funnel.pipeline_value": {"sum", deals(func(d *gDeal, lo, hi time.Time) (bool, float64, float64) {
			return openAt(d, hi) && d.currency == w.currency, dealAmount(d), 0
		})},
		"funnel.weighted_value": {"sum", deals(func(d *gDeal, lo, hi time.Time) (bool, float64, float64) {
			return openAt(d, hi) && d.currency == w.currency, dealAmount(d) * float64(w.stageP[d.stage]) / 100, 0
		})},
		"funnel.won_revenue": {"sum", deals(wonIn(true, dealAmount))},
		"funnel.win_rate": {"ratio", deals(func(d *gDeal, lo, hi time.Time) (bool, float64, float64) {
			c := d.won
			if c == nil {
				c = d.lost
			}
			return c != nil && in(*c, lo, hi), b2f(d.won != nil), 1
		})},
		"funnel.stage_conversion": {"ratio", func(lo, hi time.Time) []fact {
			var out []fact
			for _, d := range w.deals {
				if d.deleted {
					continue
				}
				for j, st := range d.stays {
					if !in(st.at, lo, hi) {
						continue
					}
					dims := w.dealDims(d)
					dims["stage"] = []string{st.stage.String()}
					moved := false
					if j+1 < len(d.stays) {
						nx := d.stays[j+1].stage
						moved = w.stageK[nx] == "won" || (w.stageK[nx] == "open" && w.stagePl[nx] == w.stagePl[st.stage] && w.stagePos[nx] > w.stagePos[st.stage])
					}
					out = append(out, fact{dims: dims, value: b2f(moved), base: 1, subject: d.id, seen: owns(d.owner)})
				}
			}
			return out
		}},
		"funnel.avg_deal_size":       {"avg", deals(wonIn(true, dealAmount))},
		"funnel.cycle_length":        {"avg", deals(wonIn(false, func(d *gDeal) float64 { return d.won.Sub(d.created).Seconds() }))},
		"tickets.tickets":            {"count", tickets(func(k *gTicket, lo, hi time.Time) (bool, float64, float64) { return in(k.created, lo, hi), 0, 0 })},
		"tickets.first_response_p50": {"p50", tickets(responded)},
		"tickets.first_response_p90": {"p90", tickets(responded)},
		"tickets.resolution_p50":     {"p50", tickets(solved)},
		"tickets.resolution_p90":     {"p90", tickets(solved)},
		"tickets.sla_compliance": {"ratio", tickets(func(k *gTicket, lo, hi time.Time) (bool, float64, float64) {
			if k.solved == nil || !in(*k.solved, lo, hi) || (k.respDue == nil && k.resDue == nil) {
				return false, 0, 0
			}
			met := (k.resDue == nil || !k.solved.After(*k.resDue)) && (k.respDue == nil || (k.responded != nil && !k.responded.After(*k.respDue)))
			return true, b2f(met), 1
		})},
		"tickets.csat": {"avg", tickets(func(k *gTicket, lo, hi time.Time) (bool, float64, float64) {
			if k.rated == nil || !in(*k.rated, lo, hi) {
				return false, 0, 0
			}
			return true, float64(k.rating), 0
		})},
		"tickets.complaints": {"count", tickets(func(k *gTicket, lo, hi time.Time) (bool, float64, float64) {
			return k.typ == "complaint" && in(k.created, lo, hi), 0, 0
		})},
	}
}

// day is a calendar day, for the brute force's own bucketing.
type day struct{ t time.Time } // midnight UTC of the day

func mkDay(s string) day {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return day{t}
}

func (d day) start(loc *time.Location) time.Time {
	return time.Date(d.t.Year(), d.t.Month(), d.t.Day(), 0, 0, 0, 0, loc)
}

// bucketKey is the first day of the bucket holding d.
func bucketKey(d day, size string, weekStart time.Weekday) day {
	t := d.t
	switch size {
	case "day":
	case "week":
		for t.Weekday() != weekStart {
			t = t.AddDate(0, 0, -1)
		}
	case "month":
		t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case "quarter":
		for t.Day() != 1 || (t.Month()-1)%3 != 0 {
			t = t.AddDate(0, 0, -1)
		}
	case "year":
		t = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	case "":
		return day{}
	}
	return day{t}
}

type span struct {
	key    string
	lo, hi time.Time
}

// spans walks the days from..to one by one and cuts them where the bucket
// key changes.
func spans(from, to string, size string, loc *time.Location, weekStart time.Weekday) []span {
	var out []span
	last := mkDay(to)
	for d := mkDay(from); !d.t.After(last.t); d = (day{d.t.AddDate(0, 0, 1)}) {
		k := bucketKey(d, size, weekStart)
		key := k.t.Format("2006-01-02")
		if size == "" {
			key = ""
		}
		next := day{d.t.AddDate(0, 0, 1)}.start(loc)
		if len(out) > 0 && out[len(out)-1].key == key {
			out[len(out)-1].hi = next
			continue
		}
		out = append(out, span{key: key, lo: d.start(loc), hi: next})
	}
	return out
}

type acc struct {
	n        int
	sum, bas float64
	vals     []float64
	subjects map[uuid.UUID]int
}

// expect answers a query the long way: group key (bucket index, then the
// other dimensions' values) -> value (nil: none).
func expect(bm bruteMetric, dims []string, size, from, to string, loc *time.Location, weekStart time.Weekday, actor *authz.Actor) (map[string]*string, []string) {
	sp := spans(from, to, size, loc, weekStart)
	groups := map[string]*acc{}
	var order []string
	for i, s := range sp {
		for _, f := range bm.facts(s.lo, s.hi) {
			if actor != nil && !f.seen(*actor) {
				continue
			}
			keys := [][]string{{}}
			for _, d := range dims {
				if d == "time" {
					continue
				}
				var next [][]string
				for _, k := range keys {
					for _, v := range f.dims[d] {
						next = append(next, append(append([]string{}, k...), v))
					}
				}
				keys = next
			}
			for _, k := range keys {
				g := fmt.Sprint(i, "|", strings.Join(k, "|"))
				a := groups[g]
				if a == nil {
					a = &acc{subjects: map[uuid.UUID]int{}}
					groups[g] = a
					order = append(order, g)
				}
				a.n++
				a.sum += f.value
				a.bas += f.base
				a.vals = append(a.vals, f.value)
				a.subjects[f.subject]++
			}
		}
	}
	out := map[string]*string{}
	for g, a := range groups {
		out[g] = value(bm.agg, a)
	}
	onlyTime := len(dims) == 0 || (len(dims) == 1 && dims[0] == "time")
	if onlyTime {
		for i := range sp {
			g := fmt.Sprint(i, "|")
			if _, ok := out[g]; !ok {
				out[g] = value(bm.agg, &acc{subjects: map[uuid.UUID]int{}})
			}
		}
	}
	keys := make([]string, len(sp))
	for i, s := range sp {
		keys[i] = s.key
	}
	return out, keys
}

func value(agg string, a *acc) *string {
	f := func(x float64) *string { s := fmt.Sprintf("%.4f", x); return &s }
	switch agg {
	case "count":
		return f(float64(a.n))
	case "distinct":
		return f(float64(len(a.subjects)))
	case "sum":
		return f(a.sum)
	case "avg":
		if a.n == 0 {
			return nil
		}
		return f(a.sum / float64(a.n))
	case "ratio":
		if a.bas == 0 {
			return nil
		}
		return f(a.sum * 100 / a.bas)
	case "p50", "p90":
		if a.n == 0 {
			return nil
		}
		p := 0.5
		if agg == "p90" {
			p = 0.9
		}
		v := append([]float64{}, a.vals...)
		sort.Float64s(v)
		pos := p * float64(len(v)-1)
		lo := math.Floor(pos)
		x := v[int(lo)]
		if int(lo)+1 < len(v) {
			x += (pos - lo) * (v[int(lo)+1] - v[int(lo)])
		}
		return f(x)
	case "repeat":
		if len(a.subjects) == 0 {
			return nil
		}
		n := 0
		for _, c := range a.subjects {
			if c >= 2 {
				n++
			}
		}
		return f(float64(n) * 100 / float64(len(a.subjects)))
	}
	panic(agg)
}
