package tickets

import (
	"testing"
	"time"

	"github.com/clientele-crm/clientele/platform/errs"
)

func mustClock(t *testing.T, in CalendarInput) *clock {
	t.Helper()
	_, k, err := calendarFrom(in)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func utc(s string) time.Time {
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return v
}

// Beijing office: weekdays 09:00-12:00 and 13:00-18:00 (a lunch break), New
// Year's Day 2027 (a Friday) off. New York: weekdays 09:00-17:00; daylight
// saving time begins on Sunday 2027-03-14 at 02:00. Every expected time below
// is worked out by hand from those hours, and given in UTC.
func TestBusinessTimeAgainstHandComputedDueTimes(t *testing.T) {
	wd := []string{"mon", "tue", "wed", "thu", "fri"}
	beijing := mustClock(t, CalendarInput{Name: "Beijing", TimeZone: "Asia/Shanghai",
		Hours:    []Hours{{Days: wd, Start: "09:00", End: "12:00"}, {Days: wd, Start: "13:00", End: "18:00"}},
		Holidays: []Holiday{{Date: "2027-01-01", Name: "元旦"}}})
	newYork := mustClock(t, CalendarInput{Name: "NY", TimeZone: "America/New_York", Hours: []Hours{{Days: wd, Start: "09:00", End: "17:00"}}})
	allDay := mustClock(t, CalendarInput{Name: "Always", TimeZone: "America/New_York", Hours: []Hours{{Days: weekdays, Start: "00:00", End: "24:00"}}})
	for _, c := range []struct {
		name    string
		k       *clock
		from    string
		minutes int
		want    string
	}{
		// Fri 2027-01-08 17:00 CST: one hour on Friday, the weekend off, one hour from Mon 09:00 CST.
		{"across a weekend", beijing, "2027-01-08 09:00", 120, "2027-01-11 02:00"},
		// Thu 2026-12-31 17:30 CST: 30 min on Thursday, the holiday and the weekend off, Mon 2027-01-04 09:30 CST.
		{"across a holiday", beijing, "2026-12-31 09:30", 60, "2027-01-04 01:30"},
		// Mon 11:30 CST: 30 min to the lunch break, then 13:00-13:30 CST.
		{"across the lunch break", beijing, "2027-01-11 03:30", 60, "2027-01-11 05:30"},
		// Sunday 23:00 UTC is Monday 07:00 in Beijing: work starts at 09:00 CST the same Monday.
		{"across a time-zone boundary", beijing, "2027-01-10 23:00", 60, "2027-01-11 02:00"},
		// Fri 2027-03-12 16:00 EST (UTC-5): one hour on Friday; Monday 09:00 is EDT (UTC-4), so one hour more ends 14:00 UTC, not 15:00.
		{"across a daylight-saving change", newYork, "2027-03-12 21:00", 120, "2027-03-15 14:00"},
		// Around the clock on the day the clocks go forward: Sat 23:00 EST + 4 h of real time is Sun 04:00 EDT = 08:00 UTC.
		{"through the lost hour", allDay, "2027-03-14 04:00", 240, "2027-03-14 08:00"},
		// Exactly at the end of a span it is due then, not the next morning.
		{"ending with the day", beijing, "2027-01-11 01:00", 480, "2027-01-11 10:00"},
	} {
		got := c.k.add(utc(c.from), time.Duration(c.minutes)*time.Minute)
		if !got.Equal(utc(c.want)) {
			t.Errorf("%s: due %s UTC, want %s UTC", c.name, got.UTC().Format("2006-01-02 15:04"), c.want)
		}
		if b := c.k.between(utc(c.from), got); b != time.Duration(c.minutes)*time.Minute {
			t.Errorf("%s: %s of business time between start and due, want %d min", c.name, b, c.minutes)
		}
	}
	// The Sunday the clocks go forward has 23 hours.
	if b := allDay.between(utc("2027-03-14 05:00"), utc("2027-03-15 04:00")); b != 23*time.Hour {
		t.Errorf("the short day holds %s, want 23h", b)
	}
	// Around the clock (no calendar) is plain arithmetic.
	var none *clock
	if got := none.add(utc("2027-01-09 10:00"), 90*time.Minute); !got.Equal(utc("2027-01-09 11:30")) {
		t.Errorf("no calendar: %s", got)
	}
}

// A clock stopped while a ticket was pending starts again with the business
// time that was left: Beijing hours, a 4-hour target from Mon 09:00 CST would
// be due 14:00 CST; stopped at 10:00 CST with 3 hours left, started again Tue
// 16:00 CST, it is due Wed 10:00 CST (16-18 on Tuesday, 09-10 on Wednesday).
func TestPauseAndResumeMovesDueTimesByBusinessTime(t *testing.T) {
	wd := []string{"mon", "tue", "wed", "thu", "fri"}
	k := mustClock(t, CalendarInput{Name: "Beijing", TimeZone: "Asia/Shanghai",
		Hours: []Hours{{Days: wd, Start: "09:00", End: "12:00"}, {Days: wd, Start: "13:00", End: "18:00"}}})
	four := 240
	tk := &Ticket{CreatedAt: utc("2027-01-11 01:00")}
	tk.ResolutionWarnAt, tk.ResolutionDueAt = deadlines(k, tk.CreatedAt, &four, 50, 0)
	if !tk.ResolutionDueAt.Equal(utc("2027-01-11 06:00")) || !tk.ResolutionWarnAt.Equal(utc("2027-01-11 03:00")) {
		t.Fatalf("due %s, warn %s; want 06:00 and 03:00 UTC", tk.ResolutionDueAt, tk.ResolutionWarnAt)
	}
	stopped := utc("2027-01-11 02:00")
	tk.SLAPausedAt = &stopped
	resume(k, tk, utc("2027-01-12 08:00"))
	if !tk.ResolutionDueAt.Equal(utc("2027-01-13 02:00")) {
		t.Errorf("due after the pause %s, want 2027-01-13 02:00 UTC", tk.ResolutionDueAt.UTC())
	}
	// The warning had 1 h left (due at 11:00 CST): Tue 16:00-17:00 CST.
	if !tk.ResolutionWarnAt.Equal(utc("2027-01-12 09:00")) {
		t.Errorf("warning after the pause %s, want 2027-01-12 09:00 UTC", tk.ResolutionWarnAt.UTC())
	}
	// Stopped Mon 10:00 to Tue 16:00 CST holds 7 h (Monday) + 6 h (Tuesday) of business time.
	if tk.SLAPausedBusinessSeconds != 13*3600 || tk.SLAPausedSeconds != 30*3600 {
		t.Errorf("paused %ds (%ds business), want 108000 (46800)", tk.SLAPausedSeconds, tk.SLAPausedBusinessSeconds)
	}
	// Applied anew from creation with the pause counted, the policy gives the same due time.
	_, again := deadlines(k, tk.CreatedAt, &four, 50, time.Duration(tk.SLAPausedBusinessSeconds)*time.Second)
	if !again.Equal(*tk.ResolutionDueAt) {
		t.Errorf("applied anew: %s, want %s", again, tk.ResolutionDueAt)
	}
}

func TestCalendarInputIsChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		in   CalendarInput
		loc  string
	}{
		{"an unknown time zone", CalendarInput{Name: "x", TimeZone: "Mars/Olympus", Hours: []Hours{{Days: []string{"mon"}, Start: "09:00", End: "17:00"}}}, "body.time_zone"},
		{"overlapping hours", CalendarInput{Name: "x", TimeZone: "UTC", Hours: []Hours{{Days: []string{"mon", "tue"}, Start: "09:00", End: "13:00"}, {Days: []string{"tue"}, Start: "12:00", End: "17:00"}}}, "body.hours[1]"},
		{"an end before the start", CalendarInput{Name: "x", TimeZone: "UTC", Hours: []Hours{{Days: []string{"mon"}, Start: "17:00", End: "09:00"}}}, "body.hours[0].end"},
		{"an unknown day", CalendarInput{Name: "x", TimeZone: "UTC", Hours: []Hours{{Days: []string{"someday"}, Start: "09:00", End: "17:00"}}}, "body.hours[0].days[0]"},
		{"a bad hour", CalendarInput{Name: "x", TimeZone: "UTC", Hours: []Hours{{Days: []string{"mon"}, Start: "25:00", End: "26:00"}}}, "body.hours[0].start"},
		{"no hours", CalendarInput{Name: "x", TimeZone: "UTC"}, "body.hours"},
		{"a bad holiday", CalendarInput{Name: "x", TimeZone: "UTC", Hours: []Hours{{Days: []string{"mon"}, Start: "09:00", End: "17:00"}}, Holidays: []Holiday{{Date: "2027-02-30"}}}, "body.holidays[0].date"},
	} {
		_, _, err := calendarFrom(c.in)
		e := errs.From(err)
		found := false
		for _, f := range e.Errors {
			found = found || f.Location == c.loc
		}
		if err == nil || e.Code != errs.Invalid || !found {
			t.Errorf("%s: %v, want invalid naming %s", c.name, err, c.loc)
		}
	}
	// Adjacent spans do not overlap.
	if _, _, err := calendarFrom(CalendarInput{Name: "x", TimeZone: "UTC", Hours: []Hours{{Days: []string{"mon"}, Start: "09:00", End: "12:00"}, {Days: []string{"mon"}, Start: "12:00", End: "24:00"}}}); err != nil {
		t.Errorf("adjacent spans: %v", err)
	}
}
