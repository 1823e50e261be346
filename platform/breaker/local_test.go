package breaker

import (
	"testing"
	"time"
)

func TestLocalCountsCountPerKeyWithinTheWindow(t *testing.T) {
	var c LocalCounts
	t0 := time.Unix(1_800_000_000, 0)
	for i := int64(1); i <= 3; i++ {
		if n, left := c.Count("a", time.Minute, t0.Add(time.Duration(i)*time.Second)); n != i || left != time.Minute-time.Duration(i-1)*time.Second {
			t.Fatalf("hit %d: n %d left %s", i, n, left)
		}
	}
	if n, _ := c.Count("b", time.Minute, t0.Add(5*time.Second)); n != 1 {
		t.Fatalf("another key shares the count: %d", n)
	}
	// The window ends a minute after the key's first hit; the count starts over.
	if n, left := c.Count("a", time.Minute, t0.Add(61*time.Second)); n != 1 || left != time.Minute {
		t.Fatalf("after the window: n %d left %s", n, left)
	}
}

func TestLocalCountsStayBounded(t *testing.T) {
	var c LocalCounts
	t0 := time.Unix(1_800_000_000, 0)
	for i := 0; i < maxLocalCounts+10; i++ {
		c.Count(string(rune(i))+"k", time.Minute, t0)
	}
	if len(c.m) > maxLocalCounts {
		t.Fatalf("%d keys kept, bound %d", len(c.m), maxLocalCounts)
	}
}
