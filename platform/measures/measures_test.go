package measures

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/module"
)

type provider struct {
	name string
	ms   []Metric
}

func (p provider) Name() string       { return p.name }
func (p provider) Measures() []Metric { return p.ms }

type plain struct{}

func (plain) Name() string { return "plain" }

func facts(context.Context, bun.IDB, Frame) *bun.SelectQuery { return nil }

func ok(key string) Metric {
	return Metric{Key: key, LabelEN: "A", LabelZH: "甲", Unit: Count, Agg: AggCount, Perm: "x.read", Owner: "owner_id",
		Dims: []Dim{{Key: "channel", Expr: "f.channel"}}, Facts: facts}
}

// The registry gathers the metrics of the modules that provide some, and
// refuses a declaration that would let a query go wrong.
func TestCollectChecksDeclarations(t *testing.T) {
	r, err := Collect(module.Set{provider{"a", []Metric{ok("a.one"), ok("a.two")}}, plain{}, provider{"b", []Metric{ok("b.one")}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Keys(), ","); got != "a.one,a.two,b.one" {
		t.Fatalf("keys %s", got)
	}
	if e, found := r.Find("b.one"); !found || e.Module != "b" {
		t.Fatalf("find: %+v %v", e, found)
	}
	if got := strings.Join(ok("a.one").Allowed(), ","); got != "time,owner,team,channel" {
		t.Fatalf("allowed %s", got)
	}
	bad := map[string]func(m *Metric){
		"the key is not":      func(m *Metric) { m.Key = "Bad Key" },
		"labels":              func(m *Metric) { m.LabelZH = "" },
		"has no facts":        func(m *Metric) { m.Facts = nil },
		"names no permission": func(m *Metric) { m.Perm = "" },
		"plain column":        func(m *Metric) { m.Owner = "c.owner_id; DROP" },
		"unknown unit":        func(m *Metric) { m.Unit = "bananas" },
		"unknown aggregation": func(m *Metric) { m.Agg = "max" },
		"has no labels":       func(m *Metric) { m.Dims = []Dim{{Key: "colour", Expr: "f.colour"}} },
		"declared twice":      func(m *Metric) { m.Dims = []Dim{{Key: "owner", Expr: "f.x"}} },
		"has no expression":   func(m *Metric) { m.Dims = []Dim{{Key: "channel"}} },
		"reads a sample":      func(m *Metric) { m.Sample = "a.values" },
	}
	for why, spoil := range bad {
		m := ok("a.one")
		spoil(&m)
		if _, err := Collect(module.Set{provider{"a", []Metric{m}}}); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: %v", why, err)
		}
	}
	if _, err := Collect(module.Set{provider{"a", []Metric{ok("a.one")}}, provider{"b", []Metric{ok("a.one")}}}); err == nil {
		t.Error("a key declared twice passed")
	}

	// A metric answered from another's rollup rows: an average from a sum
	// of the same module, with the same dimensions.
	sum, avg := ok("a.sum"), ok("a.avg")
	sum.Agg, avg.Agg, avg.RolledAs = AggSum, AggAvg, "a.sum"
	if _, err := Collect(module.Set{provider{"a", []Metric{sum, avg}}}); err != nil {
		t.Fatalf("an average rolled as a sum: %v", err)
	}
	rolled := map[string]func(s, a *Metric){
		"no such metric":        func(s, a *Metric) { a.RolledAs = "a.none" },
		"an average may read":   func(s, a *Metric) { s.Agg = AggCount },
		"same kind, dimensions": func(s, a *Metric) { a.Dims = nil },
		"built on its own":      func(s, a *Metric) { s.RolledAs = "a.avg" },
		"both must be rollable": func(s, a *Metric) { s.Stock = true },
	}
	for why, spoil := range rolled {
		s, a := sum, avg
		spoil(&s, &a)
		if _, err := Collect(module.Set{provider{"a", []Metric{s, a}}}); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%s: %v", why, err)
		}
	}
	if _, err := Collect(module.Set{provider{"a", []Metric{sum}}, provider{"b", []Metric{avg}}}); err == nil || !strings.Contains(err.Error(), "no such metric in the module") {
		t.Errorf("rolled as another module's metric: %v", err)
	}
}
