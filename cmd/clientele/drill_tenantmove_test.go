package main

import (
	"reflect"
	"testing"
)

// The online tenant move splits where isolate_tenant_to_new_shard would: the
// tenant's hash value alone in the middle piece, and no empty piece at either
// end of the shard's range.
func TestSplitAroundLeavesTheHashAlone(t *testing.T) {
	for _, c := range []struct {
		name      string
		h, lo, hi int32
		points    []string
	}{
		{"inside", 1628870076, 1610612736, 1744830463, []string{"1628870075", "1628870076"}},
		{"at the low end", -100, -100, 50, []string{"-100"}},
		{"at the high end", 50, -100, 50, []string{"49"}},
		{"the lowest int", -2147483648, -2147483648, -2013265921, []string{"-2147483648"}},
		{"the highest int", 2147483647, 2013265920, 2147483647, []string{"2147483646"}},
		{"alone already", 7, 7, 7, nil},
	} {
		points, nodes := splitAround(c.h, c.lo, c.hi, 3)
		if !reflect.DeepEqual(points, c.points) {
			t.Errorf("%s: split points %v, want %v", c.name, points, c.points)
		}
		if len(nodes) != len(points)+1 {
			t.Errorf("%s: %d nodes for %d points", c.name, len(nodes), len(points))
		}
		for _, n := range nodes {
			if n != 3 {
				t.Errorf("%s: a piece on node %d, want 3", c.name, n)
			}
		}
	}
}
