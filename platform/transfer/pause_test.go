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
