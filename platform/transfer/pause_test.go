package transfer

import (
	"testing"
	"time"
)

func TestBulkPauseKeepsTheDutyAndTheProgressCadence(t *testing.T) {
	for _, c := range []struct {
		worked time.Duration
		duty   int
		want   time.Duration
	}{
		{600 * time.Millisecond, 100, 0},
		{600 * time.Millisecond, 0, 0}, // unset: no pause
		{600 * time.Millisecond, 50, 600 * time.Millisecond},
		{600 * time.Millisecond, 75, 200 * time.Millisecond},
		{600 * time.Millisecond, 25, 1500 * time.Millisecond}, // 1.8 s, capped so progress moves every 2 s
		{2 * time.Second, 10, 1500 * time.Millisecond},
	} {
		if got := bulkPauseFor(c.worked, c.duty); got != c.want {
			t.Errorf("batch of %s at %d%%: pause %s, want %s", c.worked, c.duty, got, c.want)
		}
	}
}

// An import refreshes statistics beside its batches at 5,000 rows and each
// doubling, but not after its last batch, which its end follows with the
// same refresh.
func TestRefreshAsideSkipsTheLastBatch(t *testing.T) {
	for _, c := range []struct {
		prev, written, processed, total int64
		want                            bool
	}{
		{0, 5000, 5000, 5000, false},        // the whole import in one go: its end refreshes
		{4500, 5000, 5000, 5000, false},     // the last batch of 5,000
		{4500, 5000, 5000, 20000, true},     // 5,000 of 20,000
		{5000, 6000, 6000, 20000, false},    // no doubling crossed
		{9000, 10000, 10100, 20000, true},   // 10,000 written (some rows skipped)
		{9000, 10000, 10000, 0, true},       // total unknown: as statsDue
		{19000, 20000, 20000, 20000, false}, // the last batch crossing a doubling
	} {
		if got := refreshAside(c.prev, c.written, c.processed, c.total); got != c.want {
			t.Errorf("refreshAside(%d, %d, %d, %d) = %v, want %v", c.prev, c.written, c.processed, c.total, got, c.want)
		}
	}
}
