package fields

import "testing"

// A sorted page's walk probes as many rows as hashing the counted sets would
// cost, over the probes each row costs, and never fewer than the configured
// bound: a set of 137,545 records (the hostile sort at a million customers)
// lets one set's walk go 6,877 rows; two such sets, two probes a row, as far;
// small or uncounted sets keep the bound.
func TestSortedWalkFollowsTheIntersectionsCost(t *testing.T) {
	cases := []struct {
		est  []Estimate
		want int
	}{
		{[]Estimate{{N: 137545, Known: true}}, 6877},
		{[]Estimate{{N: 137545, Known: true}, {N: 137545, Known: true}}, 6877},
		{[]Estimate{{N: 5000, Known: true}}, 1000},
		{[]Estimate{{N: 137545, Known: false}}, 1000},
		{[]Estimate{{N: 400000, Known: true}, {N: 10, Known: false}}, 10000},
		{nil, 1000},
	}
	for _, c := range cases {
		if got := sortedWalkBound(c.est, 1000); got != c.want {
			t.Errorf("sortedWalkBound(%v, 1000) = %d, want %d", c.est, got, c.want)
		}
	}
}
