package measures

import (
	"testing"
	"time"
)

func d(s string) Date {
	x, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return x
}

// Buckets are cut at local midnights, whatever the clock does in between,
// and the first and last are cut by the range.
func TestBucketsFollowTheLocalCalendar(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	bs := Buckets(d("2026-03-04"), d("2026-03-10"), Week, ny, time.Sunday)
	if len(bs) != 2 || bs[0].Key != d("2026-03-01") || bs[1].Key != d("2026-03-08") {
		t.Fatalf("weeks from Sunday: %+v", bs)
	}
	if got := bs[0].Lo; !got.Equal(time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)) {
		t.Fatalf("the first bucket starts at the range: %v", got)
	}
	// 8 March 2026 is 23 hours long in New York.
	if got := bs[1].Hi.Sub(bs[1].Lo); got != 3*24*time.Hour-time.Hour {
		t.Fatalf("the week after the change is %v long", got)
	}
	cases := []struct {
		size string
		in   string
		ws   time.Weekday
		want string
	}{
		{Week, "2026-03-04", time.Monday, "2026-03-02"},
		{Week, "2026-03-02", time.Monday, "2026-03-02"},
		{Week, "2026-03-01", time.Monday, "2026-02-23"},
		{Week, "2026-03-07", time.Saturday, "2026-03-07"},
		{Month, "2026-02-28", time.Monday, "2026-02-01"},
		{Quarter, "2026-06-30", time.Monday, "2026-04-01"},
		{Quarter, "2026-01-01", time.Monday, "2026-01-01"},
		{Year, "2026-12-31", time.Monday, "2026-01-01"},
		{Day, "2026-12-31", time.Monday, "2026-12-31"},
	}
	for _, c := range cases {
		if got := Trunc(d(c.in), c.size, c.ws).String(); got != c.want {
			t.Errorf("%s of %s (weeks from %v): %s, want %s", c.size, c.in, c.ws, got, c.want)
		}
	}
}

// The previous period is as many whole months before a range of whole
// months, else as many days.
func TestPreviousPeriod(t *testing.T) {
	cases := [][4]string{
		{"2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28"},
		{"2026-01-01", "2026-03-31", "2025-10-01", "2025-12-31"},
		{"2026-03-01", "2026-03-14", "2026-02-15", "2026-02-28"},
		{"2026-03-05", "2026-03-05", "2026-03-04", "2026-03-04"},
		{"2024-03-01", "2025-02-28", "2023-03-01", "2024-02-29"},
	}
	for _, c := range cases {
		f, to := Previous(d(c[0]), d(c[1]))
		if f.String() != c[2] || to.String() != c[3] {
			t.Errorf("before %s..%s: %s..%s, want %s..%s", c[0], c[1], f, to, c[2], c[3])
		}
	}
}

// The limit counts buckets: five years by day pass, a day more does not.
func TestBucketLimit(t *testing.T) {
	if n := CountBuckets(d("2021-01-01"), d("2025-12-31"), Day, time.Monday); n != 1826 || n > MaxBuckets {
		t.Fatalf("five years by day: %d", n)
	}
	if n := CountBuckets(d("2020-01-01"), d("2025-12-31"), Day, time.Monday); n <= MaxBuckets {
		t.Fatalf("six years by day: %d", n)
	}
	if n := CountBuckets(d("2006-01-01"), d("2025-12-31"), Month, time.Monday); n != 240 {
		t.Fatalf("twenty years by month: %d", n)
	}
}
