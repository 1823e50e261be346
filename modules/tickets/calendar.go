package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones do not depend on the host's zoneinfo

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
)

// weekdays are the days of Hours, Sunday first as time.Weekday counts them.
var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Hours are working hours on some weekdays, local to the calendar's time zone.
type Hours struct {
	Days  []string `json:"days" minItems:"1" maxItems:"7" doc:"mon, tue, wed, thu, fri, sat or sun"`
	Start string   `json:"start" pattern:"^[0-9]{2}:[0-9]{2}$" doc:"HH:MM, local time"`
	End   string   `json:"end" pattern:"^[0-9]{2}:[0-9]{2}$" doc:"HH:MM, local time, after start; 24:00 is the end of the day"`
}

// Holiday is a local date on which nobody works.
type Holiday struct {
	Date string `json:"date" pattern:"^[0-9]{4}-[0-9]{2}-[0-9]{2}$" doc:"YYYY-MM-DD"`
	Name string `json:"name,omitempty" maxLength:"100"`
}

// Calendar is a business-hour calendar: the company's default, or a team's.
type Calendar struct {
	bun.BaseModel `bun:"table:sla_calendars,alias:c"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	Name          string     `bun:"name" json:"name"`
	TimeZone      string     `bun:"time_zone" json:"time_zone" doc:"an IANA time zone such as Asia/Shanghai"`
	TeamID        *uuid.UUID `bun:"team_id,type:uuid" json:"team_id,omitempty" doc:"the team whose tickets count this calendar's hours"`
	Default       bool       `bun:"is_default" json:"default" doc:"the calendar of tickets whose team has none"`
	Hours         []Hours    `bun:"hours,type:jsonb" json:"hours"`
	Holidays      []Holiday  `bun:"holidays,type:jsonb" json:"holidays"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at" json:"updated_at"`
}

// SchemaName implements httpx.SchemaNamer.
func (Calendar) SchemaName() string { return "SLACalendar" }

// CalendarInput creates or replaces a calendar.
type CalendarInput struct {
	Name     string     `json:"name" minLength:"1" maxLength:"100"`
	TimeZone string     `json:"time_zone" minLength:"1" maxLength:"64" doc:"an IANA time zone such as Asia/Shanghai or Europe/Berlin"`
	TeamID   *uuid.UUID `json:"team_id,omitempty" doc:"a team of this company; its tickets count this calendar's hours"`
	Default  bool       `json:"default,omitempty" doc:"the company's calendar for tickets whose team has none; one calendar at most"`
	Hours    []Hours    `json:"hours" minItems:"1" maxItems:"50"`
	Holidays []Holiday  `json:"holidays,omitempty" maxItems:"400"`
}

// SchemaName implements httpx.SchemaNamer.
func (CalendarInput) SchemaName() string { return "SLACalendarInput" }

// span is working time within a local day, in minutes from midnight.
type span struct{ start, end int }

// clock counts business time by a calendar. A nil clock counts around the
// clock.
type clock struct {
	loc      *time.Location
	week     [7][]span
	holidays map[string]bool
}

// maxCalendarDays bounds the days a computation walks: a target that a thin
// calendar cannot fit within 30 years ends there.
const maxCalendarDays = 366 * 30

// hhmm reads "HH:MM" as minutes; 24:00 is allowed as an end.
func hhmm(s string, end bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || m < 0 || m > 59 || h < 0 || h > 24 || (h == 24 && (m != 0 || !end)) {
		return 0, false
	}
	return h*60 + m, true
}

// calendarFrom checks an input and makes the calendar it describes, naming
// the field of every problem: an unknown time zone, hours that overlap or
// end before they start, a day or date that is not one.
func calendarFrom(in CalendarInput) (Calendar, *clock, error) {
	c := Calendar{Name: strings.TrimSpace(in.Name), TimeZone: strings.TrimSpace(in.TimeZone), TeamID: in.TeamID, Default: in.Default,
		Hours: []Hours{}, Holidays: []Holiday{}}
	var fe []errs.FieldError
	if c.Name == "" || len([]rune(c.Name)) > 100 {
		fe = append(fe, errs.FieldError{Location: "body.name", Message: "is required, 1 to 100 characters"})
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if c.TimeZone == "" || c.TimeZone == "Local" || err != nil {
		fe = append(fe, errs.FieldError{Location: "body.time_zone", Message: "is not a known time zone; use an IANA name such as Asia/Shanghai", Value: in.TimeZone})
		loc = time.UTC
	}
	if c.TeamID != nil && c.Default {
		fe = append(fe, errs.FieldError{Location: "body.default", Message: "a team's calendar cannot be the company's default"})
	}
	k := &clock{loc: loc, holidays: map[string]bool{}}
	type owned struct {
		span
		entry int
	}
	var week [7][]owned
	if len(in.Hours) == 0 {
		fe = append(fe, errs.FieldError{Location: "body.hours", Message: "give at least one span of working hours"})
	}
	if len(in.Hours) > 50 {
		fe = append(fe, errs.FieldError{Location: "body.hours", Message: "at most 50 entries"})
		in.Hours = in.Hours[:50]
	}
	for i, h := range in.Hours {
		s, ok1 := hhmm(h.Start, false)
		e, ok2 := hhmm(h.End, true)
		switch {
		case !ok1:
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.hours[%d].start", i), Message: "must be HH:MM from 00:00 to 23:59", Value: h.Start})
			continue
		case !ok2:
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.hours[%d].end", i), Message: "must be HH:MM from 00:01 to 24:00", Value: h.End})
			continue
		case e <= s:
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.hours[%d].end", i), Message: "must be after start", Value: h.End})
			continue
		}
		if len(h.Days) == 0 || len(h.Days) > 7 {
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.hours[%d].days", i), Message: "give 1 to 7 days"})
			continue
		}
		days := []string{}
		for j, d := range h.Days {
			d = strings.ToLower(strings.TrimSpace(d))
			w := -1
			for n, name := range weekdays {
				if name == d {
					w = n
				}
			}
			if w < 0 {
				fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.hours[%d].days[%d]", i, j), Message: "must be mon, tue, wed, thu, fri, sat or sun", Value: h.Days[j]})
				continue
			}
			if oneOf(d, days) {
				continue
			}
			days = append(days, d)
			for _, o := range week[w] {
				if s < o.end && o.start < e {
					fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.hours[%d]", i),
						Message: fmt.Sprintf("overlaps hours[%d] on %s; working hours of one day must not overlap", o.entry, d)})
				}
			}
			week[w] = append(week[w], owned{span{s, e}, i})
		}
		c.Hours = append(c.Hours, Hours{Days: days, Start: h.Start, End: h.End})
	}
	for w := range week {
		for _, o := range week[w] {
			k.week[w] = append(k.week[w], o.span)
		}
		sort.Slice(k.week[w], func(i, j int) bool { return k.week[w][i].start < k.week[w][j].start })
	}
	if len(in.Holidays) > 400 {
		fe = append(fe, errs.FieldError{Location: "body.holidays", Message: "at most 400 holidays"})
		in.Holidays = in.Holidays[:400]
	}
	for i, h := range in.Holidays {
		d, err := time.Parse("2006-01-02", strings.TrimSpace(h.Date))
		if err != nil {
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.holidays[%d].date", i), Message: "must be a date, YYYY-MM-DD", Value: h.Date})
			continue
		}
		if len([]rune(h.Name)) > 100 {
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.holidays[%d].name", i), Message: "is at most 100 characters"})
			continue
		}
		key := d.Format("2006-01-02")
		if !k.holidays[key] {
			k.holidays[key] = true
			c.Holidays = append(c.Holidays, Holiday{Date: key, Name: strings.TrimSpace(h.Name)})
		}
	}
	sort.Slice(c.Holidays, func(i, j int) bool { return c.Holidays[i].Date < c.Holidays[j].Date })
	if len(fe) > 0 {
		return c, nil, errs.E(errs.Invalid, "The calendar could not be saved: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	return c, k, nil
}

// clockOf makes the clock of a stored calendar.
func clockOf(c *Calendar) (*clock, error) {
	_, k, err := calendarFrom(CalendarInput{Name: c.Name, TimeZone: c.TimeZone, Hours: c.Hours, Holidays: c.Holidays})
	return k, err
}

// spans calls fn with each working span of the local days from the one
// holding from, in order, until fn returns false or the days run out.
func (k *clock) spans(from time.Time, fn func(s, e time.Time) bool) {
	l := from.In(k.loc)
	y, mo, d := l.Date()
	for i := 0; i < maxCalendarDays; i++ {
		noon := time.Date(y, mo, d+i, 12, 0, 0, 0, k.loc)
		if k.holidays[noon.Format("2006-01-02")] {
			continue
		}
		ny, nm, nd := noon.Date()
		for _, sp := range k.week[noon.Weekday()] {
			// time.Date takes minutes past 59 and a nonexistent local time
			// (a daylight-saving gap) and settles on the real instant.
			if !fn(time.Date(ny, nm, nd, 0, sp.start, 0, 0, k.loc), time.Date(ny, nm, nd, 0, sp.end, 0, 0, k.loc)) {
				return
			}
		}
	}
}

// add is the instant at which d of business time has passed since from.
func (k *clock) add(from time.Time, d time.Duration) time.Time {
	if k == nil {
		return from.Add(d)
	}
	if d <= 0 {
		return from
	}
	out := from.Add(time.Duration(maxCalendarDays) * 24 * time.Hour)
	k.spans(from, func(s, e time.Time) bool {
		if !e.After(from) {
			return true
		}
		if s.Before(from) {
			s = from
		}
		avail := e.Sub(s)
		if avail <= 0 {
			return true
		}
		if d <= avail {
			out = s.Add(d)
			return false
		}
		d -= avail
		return true
	})
	return out
}

// between is the business time from a to b; zero when b is not after a.
func (k *clock) between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if k == nil {
		return b.Sub(a)
	}
	var sum time.Duration
	k.spans(a, func(s, e time.Time) bool {
		if !s.Before(b) {
			return false
		}
		if s.Before(a) {
			s = a
		}
		if e.After(b) {
			e = b
		}
		if e.After(s) {
			sum += e.Sub(s)
		}
		return true
	})
	return sum
}

// clockFor is the clock of a ticket's team: its team's calendar, else the
// company's default calendar, else nil (around the clock).
func clockFor(ctx context.Context, tx bun.Tx, tenant uuid.UUID, team *uuid.UUID) (*clock, error) {
	c := &Calendar{}
	q := tx.NewSelect().Model(c).Where("c.tenant_id = ?", tenant)
	if team != nil {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("c.team_id = ?", *team).WhereOr("c.is_default")
		}).OrderExpr("c.team_id IS NULL") // the team's own first
	} else {
		q = q.Where("c.is_default")
	}
	if err := q.Limit(1).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, err
	}
	return clockOf(c)
}

// ListCalendars lists the company's calendars by name.
func (m *Module) ListCalendars(ctx context.Context, tenant uuid.UUID) ([]Calendar, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	out := []Calendar{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&out).Where("c.tenant_id = ?", tenant).OrderExpr("c.name, c.id").Scan(ctx)
	})
	return out, db.Classify(err, "calendar")
}

// GetCalendar returns one calendar.
func (m *Module) GetCalendar(ctx context.Context, tenant, id uuid.UUID) (*Calendar, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	c := &Calendar{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(c).Where("c.tenant_id = ? AND c.id = ?", tenant, id).Scan(ctx)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "calendar not found")
	}
	return c, db.Classify(err, "calendar")
}

// SaveCalendar creates a calendar (id nil) or replaces one. Tickets keep the
// due times they have; tickets created or changed afterwards count its hours.
func (m *Module) SaveCalendar(ctx context.Context, tenant uuid.UUID, id *uuid.UUID, in CalendarInput) (*Calendar, error) {
	if err := authz.Require(ctx, PermManage); err != nil {
		return nil, err
	}
	c, _, err := calendarFrom(in)
	if err != nil {
		return nil, err
	}
	if c.TeamID != nil && m.d.Teams != nil {
		ok, err := m.d.Teams.IsTeam(ctx, tenant, *c.TeamID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Field("body.team_id", "not a team of this company")
		}
	}
	c.TenantID = tenant
	err = db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		m.slaChanged(ctx, tenant)
		if id == nil {
			c.ID = uuid.New()
			if _, err := tx.NewInsert().Model(&c).ExcludeColumn("created_at", "updated_at").Returning("created_at, updated_at").Exec(ctx); err != nil {
				return err
			}
			return audit.Record(ctx, tx, audit.Entry{Action: "sla_calendar.create", Entity: "sla_calendar", EntityID: c.ID.String(), After: c})
		}
		before := Calendar{}
		if err := tx.NewSelect().Model(&before).Where("c.tenant_id = ? AND c.id = ?", tenant, *id).For("UPDATE").Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "calendar not found")
			}
			return err
		}
		c.ID, c.CreatedAt = *id, before.CreatedAt
		if _, err := tx.NewUpdate().Model(&c).ExcludeColumn("tenant_id", "id", "created_at", "updated_at").Set("updated_at = now()").WherePK().Returning("updated_at").Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "sla_calendar.update", Entity: "sla_calendar", EntityID: c.ID.String(), Before: before, After: c})
	})
	switch {
	case db.IsUniqueViolation(err, "sla_calendars_name_key"):
		return nil, errs.E(errs.Conflict, "Another calendar has this name.").WithFields(errs.FieldError{Location: "body.name", Message: "is taken by another calendar", Value: c.Name})
	case db.IsUniqueViolation(err, "sla_calendars_team_key"):
		return nil, errs.E(errs.Conflict, "The team has a calendar already.").WithFields(errs.FieldError{Location: "body.team_id", Message: "the team has another calendar; change that one"})
	case db.IsUniqueViolation(err, "sla_calendars_default_key"):
		return nil, errs.E(errs.Conflict, "Another calendar is the company's default.").WithFields(errs.FieldError{Location: "body.default", Message: "another calendar is the default; unset it there first"})
	case err != nil:
		return nil, db.Classify(err, "calendar")
	}
	return &c, nil
}

// DeleteCalendar removes a calendar; tickets keep the due times they have.
func (m *Module) DeleteCalendar(ctx context.Context, tenant, id uuid.UUID) error {
	if err := authz.Require(ctx, PermManage); err != nil {
		return err
	}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		m.slaChanged(ctx, tenant)
		before := Calendar{}
		if err := tx.NewDelete().Model(&before).Where("tenant_id = ? AND id = ?", tenant, id).Returning("*").Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "calendar not found")
			}
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "sla_calendar.delete", Entity: "sla_calendar", EntityID: id.String(), Before: before})
	})
	return db.Classify(err, "calendar")
}
