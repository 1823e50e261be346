package tickets_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
)

func at(s string) time.Time {
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return v
}

func sameTime(a *time.Time, want string) bool { return a != nil && a.Equal(at(want)) }

// backdate moves a ticket's creation to when and applies its SLA anew (a tag
// change re-applies it), so its stored due times can be checked against
// hand-computed ones.
func (r *rigT) backdate(t *testing.T, tk *tickets.Ticket, when string, tags ...string) *tickets.Ticket {
	t.Helper()
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE tickets SET created_at = ? WHERE tenant_id = ? AND id = ?", at(when), r.a.ID, tk.ID)
		return err
	})
	cur, err := r.m.GetTicket(lead, r.a.ID, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: cur.Version, Tags: &tags})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := r.m.GetTicket(lead, r.a.ID, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !sameTime(stored.FirstResponseDueAt, out.FirstResponseDueAt.UTC().Format("2006-01-02 15:04")) {
		t.Fatalf("stored due %v, answered %v", stored.FirstResponseDueAt, out.FirstResponseDueAt)
	}
	return stored
}

// Calendars are managed under tickets.manage and checked field by field; a
// policy counting business hours stores due times from the ticket's team's
// calendar, else the company's default, and the next-response clock starts
// when the requester comes back.
func TestCalendarsDriveStoredDueTimes(t *testing.T) {
	r := rig(t, false)
	wd := []string{"mon", "tue", "wed", "thu", "fri"}
	beijing := tickets.CalendarInput{Name: "Beijing 北京", TimeZone: "Asia/Shanghai", Default: true,
		Hours:    []tickets.Hours{{Days: wd, Start: "09:00", End: "12:00"}, {Days: wd, Start: "13:00", End: "18:00"}},
		Holidays: []tickets.Holiday{{Date: "2027-01-01", Name: "元旦"}}}
	_, err := r.m.SaveCalendar(actorCtx(uuid.New(), authz.ScopeAll, nil, nil, tickets.PermRead, tickets.PermWrite), r.a.ID, nil, beijing)
	if !errs.Is(err, errs.Forbidden) {
		t.Errorf("a calendar saved without tickets.manage: %v", err)
	}
	bad := beijing
	bad.TimeZone = "Asia/Atlantis"
	_, err = r.m.SaveCalendar(lead, r.a.ID, nil, bad)
	wantField(t, "an unknown time zone", err, errs.Invalid, "body.time_zone")
	bad = beijing
	bad.Hours = append(bad.Hours, tickets.Hours{Days: []string{"fri"}, Start: "17:00", End: "20:00"})
	_, err = r.m.SaveCalendar(lead, r.a.ID, nil, bad)
	wantField(t, "overlapping hours", err, errs.Invalid, "body.hours[2]")
	cal, err := r.m.SaveCalendar(lead, r.a.ID, nil, beijing)
	if err != nil {
		t.Fatal(err)
	}
	second := beijing
	second.Name = "Also default"
	_, err = r.m.SaveCalendar(lead, r.a.ID, nil, second)
	wantField(t, "a second default", err, errs.Conflict, "body.default")
	team := uuid.New()
	newYork := tickets.CalendarInput{Name: "New York", TimeZone: "America/New_York", TeamID: &team, Hours: []tickets.Hours{{Days: wd, Start: "09:00", End: "17:00"}}}
	_, err = r.m.SaveCalendar(lead, r.a.ID, nil, newYork)
	wantField(t, "a team of nobody", err, errs.Invalid, "body.team_id")
	r.dir.teams[team] = true
	if _, err := r.m.SaveCalendar(lead, r.a.ID, nil, newYork); err != nil {
		t.Fatal(err)
	}

	// Another company sees none of them.
	b := r.env.NewTenant(t)
	if _, err := r.m.GetCalendar(lead, b.ID, cal.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("another company reads the calendar: %v", err)
	}
	if _, err := r.m.SaveCalendar(lead, b.ID, &cal.ID, beijing); !errs.Is(err, errs.NotFound) {
		t.Errorf("another company replaces the calendar: %v", err)
	}
	if err := r.m.DeleteCalendar(lead, b.ID, cal.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("another company deletes the calendar: %v", err)
	}
	if list, err := r.m.ListCalendars(lead, b.ID); err != nil || len(list) != 0 {
		t.Errorf("another company lists %v, %v", list, err)
	}

	two, four, one := 120, 240, 60
	if _, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Business", BusinessHours: true, WarnPercent: 50,
		FirstResponseMinutes: &two, NextResponseMinutes: &one, ResolutionMinutes: &four}); err != nil {
		t.Fatal(err)
	}
	_, err = r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Bad share", WarnPercent: 100, ResolutionMinutes: &four})
	wantField(t, "a warning at 100%", err, errs.Invalid, "body.warn_percent")

	// Fri 2027-01-08 17:00 CST: the first response is due one hour that
	// Friday and one hour on Monday, 10:00 CST; the warning at half of it,
	// Friday 18:00 CST; resolution Monday 12:00 CST.
	tk := r.backdate(t, r.ticket(t, lead, tickets.TicketInput{}), "2027-01-08 09:00", "a")
	if !sameTime(tk.FirstResponseDueAt, "2027-01-11 02:00") || !sameTime(tk.FirstResponseWarnAt, "2027-01-08 10:00") || !sameTime(tk.ResolutionDueAt, "2027-01-11 04:00") {
		t.Fatalf("Beijing calendar: first response due %v (warn %v), resolution due %v", tk.FirstResponseDueAt, tk.FirstResponseWarnAt, tk.ResolutionDueAt)
	}
	// Thu 2026-12-31 17:30 CST, New Year's Day off: due Mon 2027-01-04 10:30 CST.
	tk = r.backdate(t, tk, "2026-12-31 09:30", "b")
	if !sameTime(tk.FirstResponseDueAt, "2027-01-04 02:30") {
		t.Fatalf("across the holiday: due %v", tk.FirstResponseDueAt)
	}
	// The ticket moves to the New York team: its calendar counts now. Fri
	// 2027-03-12 16:00 EST; Monday is EDT: due 10:00 EDT, 14:00 UTC.
	ver := tk.Version
	tk, err = r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: ver, TeamID: &team})
	if err != nil {
		t.Fatal(err)
	}
	tk = r.backdate(t, tk, "2027-03-12 21:00", "c")
	if !sameTime(tk.FirstResponseDueAt, "2027-03-15 14:00") {
		t.Fatalf("New York team across the clock change: due %v", tk.FirstResponseDueAt)
	}

	// The next response: none until the requester comes back after the
	// first response; then due in business time; a reply meets it.
	live := r.ticket(t, lead, tickets.TicketInput{})
	if _, _, err := r.m.AddMessage(lead, r.a.ID, live.ID, tickets.MessageInput{Kind: "reply", Body: "Could you send a photo?", Status: "pending"}); err != nil {
		t.Fatal(err)
	}
	back, err := r.m.ChangeStatus(lead, r.a.ID, live.ID, "open", 0)
	if err != nil {
		t.Fatal(err)
	}
	if back.NextResponseCycle != 1 || back.NextResponseStartedAt == nil || back.NextResponseDueAt == nil || back.NextResponseWarnAt == nil ||
		back.NextResponseDueAt.Before(back.NextResponseStartedAt.Add(time.Hour)) {
		t.Fatalf("the requester came back: cycle %d, started %v, due %v", back.NextResponseCycle, back.NextResponseStartedAt, back.NextResponseDueAt)
	}
	_, answered, err := r.m.AddMessage(lead, r.a.ID, live.ID, tickets.MessageInput{Kind: "reply", Body: "Thanks, a new one is on its way."})
	if err != nil || answered.NextResponseDueAt != nil {
		t.Fatalf("answered: %+v, %v", answered, err)
	}
	if err := r.m.DeleteCalendar(lead, r.a.ID, cal.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := r.m.ListCalendars(lead, r.a.ID); err != nil || len(list) != 1 || list[0].Name != "New York" {
		t.Fatalf("calendars after the delete: %+v, %v", list, err)
	}
}
