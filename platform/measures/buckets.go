package measures

import (
	"fmt"
	"time"
)

// Bucket sizes of the time dimension.
const (
	Day     = "day"
	Week    = "week"
	Month   = "month"
	Quarter = "quarter"
	Year    = "year"
)

// Limits of a query's range: at most MaxBuckets buckets, and at most
// MaxRangeDays days whatever the bucket.
const (
	MaxBuckets   = 1830 // five years by day
	MaxRangeDays = 366 * 20
)

// Date is a calendar day in the tenant's time zone.
type Date struct {
	Y int
	M time.Month
	D int
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return Date{}, fmt.Errorf("must be a date written YYYY-MM-DD")
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Y, d.M, d.D) }

// AddDays is the day n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date { return dateOf(d.civil().AddDate(0, 0, n)) }

// AddMonths is the day n months later, which must be a first of the month to
// stay exact.
func (d Date) AddMonths(n int) Date { return dateOf(d.civil().AddDate(0, n, 0)) }

// Before reports whether d comes before o.
func (d Date) Before(o Date) bool { return d.civil().Before(o.civil()) }

// DaysUntil is the number of days from d to o.
func (d Date) DaysUntil(o Date) int { return int(o.civil().Sub(d.civil()).Hours()/24 + 0.5) }

// Start is the instant the day starts in loc (the first instant of the day when
// a DST change skips midnight).
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Y, d.M, d.D, 0, 0, 0, 0, loc)
}

func (d Date) civil() time.Time { return time.Date(d.Y, d.M, d.D, 0, 0, 0, 0, time.UTC) }

func dateOf(t time.Time) Date { return Date{t.Year(), t.Month(), t.Day()} }

// DateIn is the calendar day of t in loc.
func DateIn(t time.Time, loc *time.Location) Date { return dateOf(t.In(loc)) }

// Trunc is the first day of the bucket of the given size that holds d, weeks
// starting on weekStart.
func Trunc(d Date, size string, weekStart time.Weekday) Date {
	switch size {
	case Week:
		wd := d.civil().Weekday()
		return d.AddDays(-((int(wd) - int(weekStart) + 7) % 7))
	case Month:
		return Date{d.Y, d.M, 1}
	case Quarter:
		return Date{d.Y, time.Month((int(d.M)-1)/3*3 + 1), 1}
	case Year:
		return Date{d.Y, time.January, 1}
	}
	return d
}

// next is the first day of the bucket after the one starting at d.
func next(d Date, size string) Date {
	switch size {
	case Week:
		return d.AddDays(7)
	case Month:
		return d.AddMonths(1)
	case Quarter:
		return d.AddMonths(3)
	case Year:
		return d.AddMonths(12)
	}
	return d.AddDays(1)
}

// Bucket is one time bucket: Key is the first day of the bucket, and [Lo, Hi)
// the instants it covers within the range (the first and last buckets may be
// cut by the range).
type Bucket struct {
	Key    Date
	Lo, Hi time.Time
}

// Buckets cuts the days [from, to] (to included) of loc into buckets of size;
// size "" is one bucket for the whole range.
func Buckets(from, to Date, size string, loc *time.Location, weekStart time.Weekday) []Bucket {
	end := to.AddDays(1)
	if size == "" {
		return []Bucket{{Key: from, Lo: from.Start(loc), Hi: end.Start(loc)}}
	}
	var out []Bucket
	for k := Trunc(from, size, weekStart); k.Before(end); k = next(k, size) {
		lo, hi := k, next(k, size)
		if lo.Before(from) {
			lo = from
		}
		if end.Before(hi) {
			hi = end
		}
		out = append(out, Bucket{Key: k, Lo: lo.Start(loc), Hi: hi.Start(loc)})
	}
	return out
}

// CountBuckets is len(Buckets(...)) without building them, for the limit.
func CountBuckets(from, to Date, size string, weekStart time.Weekday) int {
	if size == "" {
		return 1
	}
	end := to.AddDays(1)
	n := 0
	for k := Trunc(from, size, weekStart); k.Before(end) && n <= MaxBuckets; k = next(k, size) {
		n++
	}
	return n
}

// Previous is the period just before [from, to]: as many whole months when
// the range is whole months, else as many days.
func Previous(from, to Date) (Date, Date) {
	end := to.AddDays(1)
	if from.D == 1 && end.D == 1 {
		months := (end.Y-from.Y)*12 + int(end.M) - int(from.M)
		return from.AddMonths(-months), from.AddDays(-1)
	}
	n := from.DaysUntil(end)
	return from.AddDays(-n), from.AddDays(-1)
}
