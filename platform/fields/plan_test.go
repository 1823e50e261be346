package fields

import (
	"reflect"
	"testing"
)

// The plan reads the company's counts: the same filters get a different plan
// when the company's data differs.
func TestChooseReadsTheCounts(t *testing.T) {
	lim := Limits{Narrow: 5000, Walk: 2000}
	k := func(n int64) Estimate { return Estimate{N: n, Known: true} }
	cases := []struct {
		name     string
		est      []Estimate
		total    int64
		walkable []bool
		want     []Step
	}{
		{"a narrow set drives", []Estimate{k(120_000), k(900)}, 1_000_000, []bool{true, false},
			[]Step{{Narrow, 1}, {Intersect, 1}}},
		{"two broad, dense enough: walk the walkable one, then intersect", []Estimate{k(226_000), k(118_000)}, 1_000_000, []bool{false, true},
			[]Step{{Walk, 1}, {Intersect, 1}}},
		{"two broad, too sparse to walk: intersect", []Estimate{k(30_000), k(20_000)}, 1_000_000, []bool{true, true},
			[]Step{{Intersect, 1}}},
		{"no walkable set: walk every record", []Estimate{k(600_000), k(500_000)}, 1_000_000, []bool{false, false},
			[]Step{{Walk, -1}, {Intersect, 1}}},
		{"unknown broad sizes count as half", []Estimate{{N: 5001}, {N: 5001}}, 0, []bool{false, false},
			[]Step{{Walk, -1}, {Intersect, 0}}},
	}
	for _, c := range cases {
		if got := Choose(c.est, c.total, c.walkable, 51, lim); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
