package bi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/page"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Enqueuer records a job in the caller's transaction (platform/jobs.Client).
type Enqueuer interface {
	Enqueue(ctx context.Context, tenant uuid.UUID, s jobs.Spec) (*jobs.Job, error)
}

// Members is what scheduled reports need of the company's members; tenants
// implements it and cmd passes it in.
type Members interface {
	// MemberActor is a member's rights as they are now; NotFound when id is
	// no longer a member. A report is run with them, never with the rights
	// of whoever subscribed the recipient.
	MemberActor(ctx context.Context, tenant, id uuid.UUID) (authz.Actor, error)
	// MembersWithRole lists the members holding role, by id.
	MembersWithRole(ctx context.Context, tenant uuid.UUID, role string) ([]uuid.UUID, error)
	// MailMemberFiles mails a member at their address in the company (m.To
	// is ignored), with m's attachments.
	MailMemberFiles(ctx context.Context, tenant, member uuid.UUID, m identity.Mail) error
}

// Subscription sends a report or a dashboard by email on a schedule, in the
// company's time zone: to the member who subscribed themselves, or to every
// member of a role.
type Subscription struct {
	bun.BaseModel `bun:"table:bi_subscriptions,alias:s"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	ReportID      *uuid.UUID `bun:"report_id,type:uuid" json:"report_id,omitempty"`
	DashboardID   *uuid.UUID `bun:"dashboard_id,type:uuid" json:"dashboard_id,omitempty"`
	MemberID      *uuid.UUID `bun:"member_id,type:uuid" json:"member_id,omitempty" doc:"the member who receives it"`
	Role          *string    `bun:"role" json:"role,omitempty" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles; every member holding it receives the report"`
	Frequency     string     `bun:"frequency" json:"frequency" enum:"daily,weekly,monthly"`
	Weekday       *int       `bun:"weekday" json:"weekday,omitempty" doc:"weekly: 1 Monday ... 7 Sunday"`
	MonthDay      *int       `bun:"month_day" json:"month_day,omitempty" doc:"monthly: the day of the month; 29 to 31 mean the month's last day in a shorter month"`
	AtMinute      int        `bun:"at_minute" json:"-"`
	Time          string     `bun:"-" json:"time" doc:"HH:MM in the company's time zone"`
	NextRunAt     time.Time  `bun:"next_run_at" json:"next_run_at" doc:"when it is sent next"`
	CreatedBy     uuid.UUID  `bun:"created_by,type:uuid" json:"created_by"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at" json:"updated_at"`
}

// SubscriptionInput is a subscription as a member writes it.
type SubscriptionInput struct {
	ReportID    *uuid.UUID `json:"report_id,omitempty" doc:"a report you can see; or dashboard_id"`
	DashboardID *uuid.UUID `json:"dashboard_id,omitempty" doc:"a dashboard you can see; or report_id"`
	Role        string     `json:"role,omitempty" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles; subscribes every member holding it instead of yourself (needs bi.manage)"`
	Frequency   string     `json:"frequency" enum:"daily,weekly,monthly"`
	Weekday     int        `json:"weekday,omitempty" minimum:"0" maximum:"7" doc:"weekly: 1 Monday ... 7 Sunday"`
	MonthDay    int        `json:"month_day,omitempty" minimum:"0" maximum:"31" doc:"monthly: 1 to 31 (the last day of a shorter month)"`
	Time        string     `json:"time" maxLength:"5" doc:"HH:MM, 24-hour, in the company's time zone"`
}

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)

func subscriptionNotFound() error { return errs.E(errs.NotFound, "subscription not found") }

// nextRun is the first time after `after` that the schedule falls on, in
// loc: daily, weekly on a weekday (1 Monday ... 7 Sunday) or monthly on a
// day (the last day of a month shorter than it). A local time that a
// daylight-saving change skips moves forward by the length of the gap.
func nextRun(after time.Time, loc *time.Location, freq string, weekday, monthDay, atMinute int) time.Time {
	t := after.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, loc)
	for i := 0; i < 400; i++ {
		d := day.AddDate(0, 0, i)
		ok := false
		switch freq {
		case "daily":
			ok = true
		case "weekly":
			wd := int(d.Weekday())
			if wd == 0 {
				wd = 7
			}
			ok = wd == weekday
		case "monthly":
			last := time.Date(d.Year(), d.Month()+1, 0, 12, 0, 0, 0, loc).Day()
			ok = d.Day() == min(monthDay, last)
		}
		if !ok {
			continue
		}
		at := time.Date(d.Year(), d.Month(), d.Day(), atMinute/60, atMinute%60, 0, 0, loc)
		if at.Hour()*60+at.Minute() != atMinute {
			// The clock skips this time today: send when it resumes, as
			// long after the change as the time was meant to be.
			_, before := at.Zone()
			_, after := at.Add(6 * time.Hour).Zone()
			at = at.Add(time.Duration(after-before) * time.Second)
		}
		if at.After(after) {
			return at.UTC()
		}
	}
	return after.Add(24 * time.Hour).UTC() // unreachable for a valid schedule
}

// visible reports whether the actor may see and change s: their own, or any
// with bi.manage.
func visibleSub(ctx context.Context, s *Subscription) bool {
	a := authz.ActorFrom(ctx)
	return a.Can(PermManage) || (s.MemberID != nil && *s.MemberID == a.ID && a.ID != uuid.Nil)
}

func scopedSubscription(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID, lock bool) (*Subscription, error) {
	s := &Subscription{}
	q := tx.NewSelect().Model(s).Where("s.tenant_id = ? AND s.id = ?", tenant, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, subscriptionNotFound()
		}
		return nil, err
	}
	if !visibleSub(ctx, s) {
		return nil, subscriptionNotFound()
	}
	s.fill()
	return s, nil
}

func (s *Subscription) fill() { s.Time = fmt.Sprintf("%02d:%02d", s.AtMinute/60, s.AtMinute%60) }

// checkSubscription validates the input into s (all but ids and times).
func (m *Module) checkSubscription(ctx context.Context, tx bun.Tx, tn tenancy.Tenant, in SubscriptionInput, s *Subscription) error {
	a := authz.ActorFrom(ctx)
	switch {
	case (in.ReportID == nil) == (in.DashboardID == nil):
		return errs.Field("body.report_id", "name either a report_id or a dashboard_id")
	case in.ReportID != nil:
		if _, err := scopedReport(ctx, tx, tn.ID, *in.ReportID, false); err != nil {
			if errs.Is(err, errs.NotFound) {
				return errs.Field("body.report_id", "no report you can see has this id")
			}
			return err
		}
	default:
		if _, err := scopedDashboard(ctx, tx, tn.ID, *in.DashboardID, false); err != nil {
			if errs.Is(err, errs.NotFound) {
				return errs.Field("body.dashboard_id", "no dashboard you can see has this id")
			}
			return err
		}
	}
	s.ReportID, s.DashboardID = in.ReportID, in.DashboardID
	if in.Role != "" {
		if !a.Can(PermManage) {
			return errs.E(errs.Forbidden, "Only someone with bi.manage may subscribe a role; subscribe yourself instead.")
		}
		if !roleKey.MatchString(in.Role) {
			return errs.Field("body.role", "is not a role key such as manager or agent")
		}
		r := in.Role
		s.Role, s.MemberID = &r, nil
	} else {
		if a.ID == uuid.Nil {
			return errs.E(errs.Forbidden, "A subscription is sent to a member; an API key cannot receive one.")
		}
		id := a.ID
		s.MemberID, s.Role = &id, nil
	}
	hm := hhmm.FindStringSubmatch(in.Time)
	if hm == nil {
		return errs.Field("body.time", "must be HH:MM on a 24-hour clock, such as 08:30")
	}
	var h, mi int
	fmt.Sscanf(hm[1]+" "+hm[2], "%d %d", &h, &mi)
	s.AtMinute = h*60 + mi
	s.Frequency, s.Weekday, s.MonthDay = in.Frequency, nil, nil
	switch in.Frequency {
	case "daily":
	case "weekly":
		if in.Weekday < 1 || in.Weekday > 7 {
			return errs.Field("body.weekday", "a weekly report needs a weekday: 1 Monday ... 7 Sunday")
		}
		wd := in.Weekday
		s.Weekday = &wd
	case "monthly":
		if in.MonthDay < 1 || in.MonthDay > 31 {
			return errs.Field("body.month_day", "a monthly report needs a day of the month, 1 to 31")
		}
		md := in.MonthDay
		s.MonthDay = &md
	default:
		return errs.Field("body.frequency", "must be daily, weekly or monthly")
	}
	_, loc, err := tenantOf(ctx, tx, tn)
	if err != nil {
		return err
	}
	s.NextRunAt = nextRun(time.Now(), loc, s.Frequency, deref(s.Weekday), deref(s.MonthDay), s.AtMinute)
	s.fill()
	return nil
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// CreateSubscription subscribes the actor (or, with bi.manage, a role) to a
// report or a dashboard they can see.
func (m *Module) CreateSubscription(ctx context.Context, in SubscriptionInput) (*Subscription, error) {
	var out *Subscription
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		now := time.Now().UTC()
		s := &Subscription{TenantID: tn.ID, ID: uuid.New(), CreatedBy: authz.ActorFrom(ctx).ID, CreatedAt: now, UpdatedAt: now}
		if err := m.checkSubscription(ctx, tx, tn, in, s); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(s).Exec(ctx); err != nil {
			return err
		}
		out = s
		return audit.Record(ctx, tx, audit.Entry{Action: "subscription.create", Entity: "report_subscription", EntityID: s.ID.String(), After: s})
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

// UpdateSubscription changes a subscription's target, recipient or schedule.
func (m *Module) UpdateSubscription(ctx context.Context, id uuid.UUID, in SubscriptionInput) (*Subscription, error) {
	var out *Subscription
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		s, err := scopedSubscription(ctx, tx, tn.ID, id, true)
		if err != nil {
			return err
		}
		before := *s
		if err := m.checkSubscription(ctx, tx, tn, in, s); err != nil {
			return err
		}
		s.UpdatedAt = time.Now().UTC()
		if _, err := tx.NewUpdate().Model(s).Column("report_id", "dashboard_id", "member_id", "role", "frequency", "weekday", "month_day",
			"at_minute", "next_run_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		out = s
		return audit.Record(ctx, tx, audit.Entry{Action: "subscription.update", Entity: "report_subscription", EntityID: s.ID.String(), Before: before, After: s})
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

// DeleteSubscription stops a subscription; what it delivered stays in the
// recipients' inboxes.
func (m *Module) DeleteSubscription(ctx context.Context, id uuid.UUID) error {
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		s, err := scopedSubscription(ctx, tx, tn.ID, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(s).WherePK().Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "subscription.delete", Entity: "report_subscription", EntityID: s.ID.String(), Before: s})
	})
	return errs.From(err)
}

// GetSubscription reads one of the actor's subscriptions (any, with
// bi.manage).
func (m *Module) GetSubscription(ctx context.Context, id uuid.UUID) (*Subscription, error) {
	var out *Subscription
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		var err error
		out, err = scopedSubscription(ctx, tx, tn.ID, id, false)
		return err
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

// ListSubscriptions lists the actor's own subscriptions, or every one of the
// company with bi.manage, newest first.
func (m *Module) ListSubscriptions(ctx context.Context, limit int, cursor string) ([]Subscription, string, error) {
	after, err := page.Start[page.After](cursor)
	if err != nil {
		return nil, "", err
	}
	var rows []Subscription
	err = tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		q := tx.NewSelect().Model(&rows).Where("s.tenant_id = ?", tn.ID).OrderExpr("s.created_at DESC, s.id DESC").Limit(limit + 1)
		if a := authz.ActorFrom(ctx); !a.Can(PermManage) {
			q = q.Where("s.member_id = ?", a.ID)
		}
		if after != nil {
			q = q.Where("(s.created_at, s.id) < (?, ?)", after.At, after.ID)
		}
		return q.Scan(ctx)
	})
	if err != nil {
		return nil, "", errs.From(err)
	}
	rows, next := page.Cut(rows, limit, func(s Subscription) any { return page.After{At: s.CreatedAt, ID: s.ID} })
	for i := range rows {
		rows[i].fill()
	}
	return rows, next, nil
}
