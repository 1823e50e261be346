package funnel

import (
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestPositionsBetween(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"", "", "1"},
		{"1", "", "2"},
		{"2.5", "", "3"},
		{"", "1", "0"},
		{"", "0.5", "0"},
		{"", "-3", "-4"},
		{"1", "2", "1.5"},
		{"1", "1.5", "1.25"},
		{"-1", "0", "-0.5"},
		{"0.125", "0.13", "0.1275"},
	} {
		if got := posBetween(tc.a, tc.b); got != tc.want {
			t.Errorf("between(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

// Random placements, the way a board makes them (before a deal, after one, or
// at the end), keep every position strictly between its neighbours and never
// produce two equal ones.
func TestPositionsStayOrderedAndDistinct(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	col := []string{} // in order
	for i := 0; i < 3000; i++ {
		at := r.IntN(len(col) + 1)
		if i%50 == 0 {
			at = 0 // the same gap, again and again
		}
		var a, b string
		if at > 0 {
			a = col[at-1]
		}
		if at < len(col) {
			b = col[at]
		}
		p := posBetween(a, b)
		if (a != "" && cmp(a, p) >= 0) || (b != "" && cmp(p, b) >= 0) {
			t.Fatalf("between(%q, %q) = %q is not between", a, b, p)
		}
		col = append(col[:at], append([]string{p}, col[at:]...)...)
	}
	sorted := append([]string(nil), col...)
	sort.Slice(sorted, func(i, j int) bool { return cmp(sorted[i], sorted[j]) < 0 })
	for i := range col {
		if col[i] != sorted[i] || (i > 0 && cmp(col[i-1], col[i]) == 0) {
			t.Fatalf("column out of order or with a duplicate at %d", i)
		}
		if len(col[i]) > 60 {
			t.Fatalf("position %q grew too long", col[i])
		}
	}
}

func cmp(a, b string) int {
	x, _ := new(big.Rat).SetString(a)
	y, _ := new(big.Rat).SetString(b)
	return x.Cmp(y)
}
