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

// A time-ordered walk that found some matches within its bound goes on from
// its last match only when, at the density it found, the rest of the page
// lies within what hashing the other sets would cost, less what it walked.
// The hostile search at a million customers: the term walked, the tag
// (137,545 records) probed, 20 of 51 found in 1,000 rows, about 1,550 more
// rows to go within a bound of 2,354. A walk that found nothing, or too few
// for the bound, gives way at once, and so does one over small sets.
func TestTimeWalkGoesOnOnlyWithinTheIntersectionsCost(t *testing.T) {
	tag := Estimate{N: 137545, Known: true}
	term := Estimate{N: 50000, Known: true}
	cases := []struct {
		name                 string
		est                  []Estimate
		driver, found, want  int
		walked, wantMoreRows int
	}{
		{"search, some found", []Estimate{term, tag}, 0, 20, 51, 1000, 2354},
		{"search, nothing found", []Estimate{term, tag}, 0, 0, 51, 1000, 0},
		{"search, too sparse", []Estimate{term, tag}, 0, 5, 51, 1000, 0},
		{"page already full", []Estimate{term, tag}, 0, 51, 51, 1000, 0},
		{"small other set", []Estimate{tag, {N: 20000, Known: true}}, 0, 20, 51, 1000, 0},
		{"every record walked, two sets probed", []Estimate{tag, tag}, -1, 40, 51, 1000, 3509},
	}
	for _, c := range cases {
		if got := walkOn(c.est, c.driver, c.found, c.want, c.walked); got != c.wantMoreRows {
			t.Errorf("%s: walkOn = %d, want %d", c.name, got, c.wantMoreRows)
		}
	}
}

// When the first walk finds too few, one other walkable set is walked: the
// smallest whose walk would fill the page within half the bound if the sets
// were independent. The search (uncounted, over the narrow bound) beside a
// counted tag of 137,545 among a million; two broad tags; a walk already of
// the only walkable set; a second set too narrow to hold a page soon.
func TestOtherWalkIsTheNextSetWorthWalking(t *testing.T) {
	lim := Limits{Narrow: 5000, Walk: 1000}
	tag := Estimate{N: 137545, Known: true}
	search := Estimate{N: 5001}
	cases := []struct {
		name     string
		est      []Estimate
		walkable []bool
		tried    int
		want     int
	}{
		{"tag walked, then the search", []Estimate{search, tag}, []bool{true, true}, 1, 0},
		{"two broad tags", []Estimate{{N: 500000, Known: true}, {N: 500200, Known: true}}, []bool{true, true}, 0, 1},
		{"nothing else walkable", []Estimate{tag, {N: 226000, Known: true}}, []bool{true, false}, 0, -1},
		{"the other would filter too much", []Estimate{{N: 20000, Known: true}, {N: 30000, Known: true}}, []bool{true, true}, 0, -1},
	}
	for _, c := range cases {
		if got := otherWalk(c.est, 1000000, c.walkable, c.tried, 51, lim); got != c.want {
			t.Errorf("%s: otherWalk = %d, want %d", c.name, got, c.want)
		}
	}
}
