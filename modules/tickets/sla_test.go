package tickets_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/testkit"
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

// countNotices counts a company's notices of a kind, and the most any one
// source key has (1 when nothing was sent twice).
func countNotices(t *testing.T, r *rigT, tenant uuid.UUID, kind string) (n, most int) {
	t.Helper()
	ctx := context.Background()
	if err := r.env.Owner.NewRaw("SELECT count(*) FROM notifications WHERE tenant_id = ? AND kind = ?", tenant, kind).Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	_ = r.env.Owner.NewRaw("SELECT coalesce(max(k), 0) FROM (SELECT count(*) AS k FROM notifications WHERE tenant_id = ? AND kind = ? GROUP BY source_key) s", tenant, kind).Scan(ctx, &most)
	return n, most
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			var jobs []map[string]any
			_ = testkit.Get(t).Owner.NewRaw("SELECT task_type, status, run_at, error FROM jobs ORDER BY created_at DESC LIMIT 10").Scan(context.Background(), &jobs)
			t.Fatalf("waited %s for %s; the latest jobs: %v", d, what, jobs)
		}
	}
}

// A warning reaches the assignee when the configured share of a target has
// passed; a breach reaches the team's lead and the assignee and is recorded;
// each once. A paused ticket warns nobody, and a target met late is recorded
// as a breach too.
func TestSLAWarningsAndBreachesReachAssigneeAndLead(t *testing.T) {
	r := rig(t, true)
	agent, boss, team := uuid.New(), uuid.New(), uuid.New()
	r.dir.members[agent], r.dir.members[boss], r.dir.teams[team] = true, true, true
	r.dir.roster[team] = []uuid.UUID{agent, boss}
	if _, err := r.m.SetAgent(lead, r.a.ID, team, boss, tickets.AgentInput{Lead: true}); err != nil {
		t.Fatal(err)
	}
	sixty := 60
	if _, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Hour", WarnPercent: 50, FirstResponseMinutes: &sixty}); err != nil {
		t.Fatal(err)
	}
	backdate := func(tk *tickets.Ticket, ago time.Duration, tag string) {
		r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE tickets SET created_at = now() - ?::interval WHERE tenant_id = ? AND id = ?", fmt.Sprintf("%d seconds", int(ago.Seconds())), r.a.ID, tk.ID)
			return err
		})
		cur, err := r.m.GetTicket(lead, r.a.ID, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.m.UpdateTicket(lead, r.a.ID, tk.ID, tickets.TicketUpdate{Version: cur.Version, Tags: &[]string{tag}}); err != nil {
			t.Fatal(err)
		}
	}
	tk := r.ticket(t, lead, tickets.TicketInput{AssigneeID: &agent, TeamID: &team})
	paused := r.ticket(t, lead, tickets.TicketInput{AssigneeID: &agent, TeamID: &team})
	if _, err := r.m.ChangeStatus(lead, r.a.ID, paused.ID, "pending", 0); err != nil {
		t.Fatal(err)
	}
	backdate(tk, 40*time.Minute, "a") // past the warning, before the breach
	backdate(paused, 3*time.Hour, "a")
	waitFor(t, "the warning", 15*time.Second, func() bool { n, _ := countNotices(t, r, r.a.ID, "ticket.sla_warning"); return n >= 1 })
	backdate(tk, 2*time.Hour, "b") // now breached too
	waitFor(t, "the breach", 15*time.Second, func() bool { n, _ := countNotices(t, r, r.a.ID, "ticket.sla_breach"); return n >= 2 })
	time.Sleep(time.Second) // room for a repeat to show
	ctx := context.Background()
	var rows []struct {
		Recipient uuid.UUID `bun:"recipient_id"`
		Kind      string    `bun:"kind"`
		Link      string    `bun:"link"`
	}
	if err := r.env.Owner.NewRaw("SELECT recipient_id, kind, link FROM notifications WHERE tenant_id = ? ORDER BY kind, recipient_id", r.a.ID).Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, n := range rows {
		if n.Link != "/tickets/"+tk.ID.String() {
			t.Errorf("a notice about %s; the paused ticket warns nobody", n.Link)
		}
		who := map[uuid.UUID]string{agent: "agent", boss: "lead"}[n.Recipient]
		got[n.Kind+" to "+who]++
	}
	if len(rows) != 3 || got["ticket.sla_warning to agent"] != 1 || got["ticket.sla_breach to agent"] != 1 || got["ticket.sla_breach to lead"] != 1 {
		t.Fatalf("notices %v, want one warning to the agent and a breach to the agent and the lead", got)
	}
	var breaches []string
	_ = r.env.Owner.NewRaw("SELECT metric FROM ticket_sla_breaches WHERE tenant_id = ? AND ticket_id = ?", r.a.ID, tk.ID).Scan(ctx, &breaches)
	if len(breaches) != 1 || breaches[0] != tickets.MetricFirstResponse {
		t.Fatalf("breaches recorded %v", breaches)
	}
	// A first response given late counts as a breach without any alarm.
	late := r.ticket(t, lead, tickets.TicketInput{})
	r.env.InTenant(t, r.a.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE tickets SET first_response_due_at = now() - interval '1 minute' WHERE tenant_id = ? AND id = ?", r.a.ID, late.ID)
		return err
	})
	if _, _, err := r.m.AddMessage(lead, r.a.ID, late.ID, tickets.MessageInput{Kind: "reply", Body: "Sorry for the wait."}); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = r.env.Owner.NewRaw("SELECT count(*) FROM ticket_sla_breaches WHERE tenant_id = ? AND ticket_id = ?", r.a.ID, late.ID).Scan(ctx, &n)
	if n != 1 {
		t.Fatalf("late first response: %d breaches recorded, want 1", n)
	}
}

// Many tickets whose warnings fall due in the same second each get exactly
// one warning, although Redis loses everything in the middle of the
// deliveries: the alarms and their delivery jobs are rows in PostgreSQL, the
// jobs sweeper hands back what Redis lost, and a delivery claims alarms and
// marks them sent in one transaction. The tickets are created under a
// calendar whose working day starts at a minute after the last is created,
// so every one's warning is due at the same instant. 2,000 tickets keep the
// test near a minute; TICKETS_SLA_WARNINGS=10000 runs the figure.
func TestSLAWarningsAreSentExactlyOnceAcrossRedisLoss(t *testing.T) {
	n := 2_000
	if v, err := strconv.Atoi(os.Getenv("TICKETS_SLA_WARNINGS")); err == nil && v >= 1000 {
		n = v - v%500
	}
	r := rig(t, false)
	ctx := context.Background()
	client := jobstest.Client(t, r.env.App)
	notices := notify.New(notify.Deps{DB: r.env.App})
	m := tickets.New(tickets.Deps{DB: r.env.App, Members: r.dir, Teams: r.dir, Records: r.reg, Jobs: client, Notify: notices})
	client.Register(m.Jobs()...)
	agent := uuid.New()
	r.dir.members[agent] = true

	// A zone where it is around noon, so the working day can start at a
	// minute soon and run to midnight on every day.
	now := time.Now().UTC()
	off := 12 - now.Hour()
	zone := "Etc/GMT"
	if off > 0 {
		zone = fmt.Sprintf("Etc/GMT-%d", off)
	} else if off < 0 {
		zone = fmt.Sprintf("Etc/GMT+%d", -off)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	// Creation takes about 5 ms a ticket here; leave twice that. On Citus
	// every statement takes a hop from the coordinator to a worker on the
	// same two cores, and a ticket about 25 ms: leave 40.
	each := 10 * time.Millisecond
	if r.env.Citus {
		each = 40 * time.Millisecond
	}
	start := now.Add(time.Duration(n)*each + 5*time.Second + time.Minute - time.Nanosecond).Truncate(time.Minute)
	if _, err := m.SaveCalendar(lead, r.a.ID, nil, tickets.CalendarInput{Name: "From " + start.In(loc).Format("15:04"), TimeZone: zone, Default: true,
		Hours: []tickets.Hours{{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Start: start.In(loc).Format("15:04"), End: "24:00"}}}); err != nil {
		t.Fatal(err)
	}
	one := 1
	if _, err := m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Business", BusinessHours: true, WarnPercent: 10, FirstResponseMinutes: &one}); err != nil {
		t.Fatal(err)
	}
	warnAt := start.Add(6 * time.Second)
	began := time.Now()
	for batch := 0; batch < n/500; batch++ {
		err := db.InTenant(lead, r.env.App, r.a.ID, func(ctx context.Context, _ bun.Tx) error {
			for i := 0; i < 500; i++ {
				tk, err := m.CreateTicket(ctx, r.a.ID, tickets.TicketInput{Subject: "Order missing 订单丢失", Channel: "email", RequesterID: &r.first.ID, AssigneeID: &agent})
				if err != nil {
					return err
				}
				if tk.FirstResponseWarnAt == nil || !tk.FirstResponseWarnAt.Equal(warnAt) {
					return fmt.Errorf("ticket #%d warns at %v, want %v (created too late?)", tk.Number, tk.FirstResponseWarnAt, warnAt)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("created %d tickets in %s; their warnings are all due at %s (in %s)", n, time.Since(began).Round(time.Millisecond), warnAt.Format("15:04:05"), time.Until(warnAt).Round(time.Second))

	srv := jobstest.Worker(t, jobs.ServerOptions{Concurrency: 8, Handlers: m.Jobs(),
		SweepInterval: -1, NoScheduler: true, PollInterval: 200 * time.Millisecond, ShutdownTimeout: 5 * time.Second})
	flushed := false
	for deadline := warnAt.Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		c, _ := countNotices(t, r, r.a.ID, "ticket.sla_warning")
		if !flushed && c > 0 {
			if c >= n {
				t.Fatalf("all %d warnings went out before the test could flush Redis in the middle", n)
			}
			if err := r.env.Redis.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			flushed = true
			t.Logf("Redis flushed with %d of %d warnings sent", c, n)
		}
		if flushed {
			if _, err := srv.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if c >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d warnings 2 minutes after they were due", c, n)
		}
	}
	t.Logf("all %d warnings sent %s after they were due", n, time.Since(warnAt).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // give a duplicate a chance to show
	if c, most := countNotices(t, r, r.a.ID, "ticket.sla_warning"); c != n || most != 1 {
		t.Fatalf("%d warnings (at most %d for one ticket), want exactly %d, one each", c, most, n)
	}
	var fired int
	_ = r.env.Owner.NewRaw("SELECT count(*) FROM ticket_sla_alarms WHERE tenant_id = ? AND stage = 'warning' AND fired_at IS NOT NULL", r.a.ID).Scan(ctx, &fired)
	if fired != n {
		t.Fatalf("%d warning alarms marked sent, want %d", fired, n)
	}
	// The breaches are due a minute later: drop them and their jobs so
	// nothing of this test runs in the next one.
	for _, q := range []string{"DELETE FROM ticket_sla_alarms WHERE tenant_id = ? AND fired_at IS NULL",
		"UPDATE jobs SET status = 'canceled' WHERE tenant_id = ? AND status NOT IN ('succeeded', 'failed', 'canceled')"} {
		if _, err := r.env.Owner.ExecContext(ctx, q, r.a.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// A worker killed while sending a warning leaves its job row running with a
// heartbeat that stops; with Redis flushed too, nothing but the rows is left.
// The sweeper hands the job to the next worker, and the warning arrives once.
func TestSLAWarningSurvivesAWorkerKilledMidDelivery(t *testing.T) {
	r := rig(t, false)
	ctx := context.Background()
	client := jobstest.Client(t, r.env.App)
	m := tickets.New(tickets.Deps{DB: r.env.App, Members: r.dir, Records: r.reg, Jobs: client, Notify: notify.New(notify.Deps{DB: r.env.App})})
	client.Register(m.Jobs()...)
	agent := uuid.New()
	r.dir.members[agent] = true
	sixty := 60
	if _, err := m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Hour", WarnPercent: 50, FirstResponseMinutes: &sixty}); err != nil {
		t.Fatal(err)
	}
	tk, err := m.CreateTicket(lead, r.a.ID, tickets.TicketInput{Subject: "Killed mid-delivery", Channel: "email", RequesterID: &r.first.ID, AssigneeID: &agent})
	if err != nil {
		t.Fatal(err)
	}
	// The warning is due now; what the killed worker left: every delivery
	// row taken (attempt 1), no heartbeat for minutes, Redis empty.
	for _, q := range []string{
		"UPDATE ticket_sla_alarms SET fire_at = now() - interval '1 minute' WHERE tenant_id = ? AND stage = 'warning'",
		`UPDATE jobs SET status = 'running', attempts = 1, run_at = now() - interval '6 minutes', started_at = now() - interval '5 minutes',
			heartbeat_at = now() - interval '5 minutes' WHERE tenant_id = ? AND task_type = 'tickets:sla-alarms'`,
	} {
		if _, err := r.env.Owner.ExecContext(ctx, q, r.a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.env.Redis.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	srv := jobstest.Worker(t, jobs.ServerOptions{Concurrency: 2, Handlers: m.Jobs(), SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond})
	if n, err := srv.Sweep(ctx); err != nil || n == 0 {
		t.Fatalf("sweep handed back %d jobs (%v), want the killed ones", n, err)
	}
	waitFor(t, "the warning", 15*time.Second, func() bool { n, _ := countNotices(t, r, r.a.ID, "ticket.sla_warning"); return n >= 1 })
	_, _ = srv.Sweep(ctx) // a second sweep, and the jobs run again, add nothing
	time.Sleep(time.Second)
	if n, most := countNotices(t, r, r.a.ID, "ticket.sla_warning"); n != 1 || most != 1 {
		t.Fatalf("%d warnings for ticket #%d, want exactly 1", n, tk.Number)
	}
	if _, err := r.env.Owner.ExecContext(ctx, "UPDATE jobs SET status = 'canceled' WHERE tenant_id = ? AND status NOT IN ('succeeded', 'failed', 'canceled')", r.a.ID); err != nil {
		t.Fatal(err)
	}
}

// A delivery that failed for good (its retries spent) leaves its alarms
// unsent. The minutely sweep finds them once they are overdue by more than
// its grace, gives the company a delivery of its own, and the warning
// arrives once; a second sweep in the same minute adds no delivery, and one
// running later sends nothing twice. An alarm overdue by less than the grace
// is left to its own delivery.
func TestSLASweepSendsWhatAFailedDeliveryLeft(t *testing.T) {
	r := rig(t, false)
	ctx := context.Background()
	client := jobstest.Client(t, r.env.App)
	m := tickets.New(tickets.Deps{DB: r.env.App, Members: r.dir, Records: r.reg, Jobs: client, Notify: notify.New(notify.Deps{DB: r.env.App})})
	client.Register(m.Jobs()...)
	agent := uuid.New()
	r.dir.members[agent] = true
	sixty := 60
	if _, err := m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Hour", WarnPercent: 50, FirstResponseMinutes: &sixty}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateTicket(lead, r.a.ID, tickets.TicketInput{Subject: "Left by a failed delivery", Channel: "email", RequesterID: &r.first.ID, AssigneeID: &agent}); err != nil {
		t.Fatal(err)
	}
	sweeps := func() int {
		var n int
		if err := r.env.Owner.NewRaw("SELECT count(*) FROM jobs WHERE tenant_id = ? AND dedupe_key LIKE 'sla-sweep:%'", r.a.ID).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Due a minute ago, its delivery failed for good: within the grace,
	// the sweep leaves it alone.
	for _, q := range []string{
		"UPDATE ticket_sla_alarms SET fire_at = now() - interval '1 minute' WHERE tenant_id = ? AND stage = 'warning'",
		"UPDATE jobs SET status = 'failed', attempts = 5, finished_at = now() WHERE tenant_id = ? AND task_type = 'tickets:sla-alarms'",
	} {
		if _, err := r.env.Owner.ExecContext(ctx, q, r.a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.env.Redis.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SweepOverdueAlarms(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := sweeps(); n != 0 {
		t.Fatalf("the sweep gave a delivery to an alarm 1 minute late (grace 2 minutes): %d", n)
	}
	// Five minutes late: the sweep hands it on, once per minute.
	if _, err := r.env.Owner.ExecContext(ctx, "UPDATE ticket_sla_alarms SET fire_at = now() - interval '5 minutes' WHERE tenant_id = ? AND stage = 'warning'", r.a.ID); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := 0; i < 2; i++ {
		if n, err := m.SweepOverdueAlarms(ctx, now); err != nil || n < 1 {
			t.Fatalf("sweep %d asked for %d deliveries (%v), want at least this company's", i+1, n, err)
		}
	}
	if n := sweeps(); n != 1 {
		t.Fatalf("%d sweep deliveries for the company after two sweeps in one minute, want 1", n)
	}
	jobstest.Worker(t, jobs.ServerOptions{Concurrency: 2, Handlers: m.Jobs(), SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond})
	waitFor(t, "the warning", 15*time.Second, func() bool { n, _ := countNotices(t, r, r.a.ID, "ticket.sla_warning"); return n >= 1 })
	// A sweep a minute later finds nothing left to send.
	if _, err := m.SweepOverdueAlarms(ctx, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := sweeps(); n != 1 {
		t.Fatalf("%d sweep deliveries once the warning was sent, want still 1", n)
	}
	time.Sleep(time.Second)
	if n, most := countNotices(t, r, r.a.ID, "ticket.sla_warning"); n != 1 || most != 1 {
		t.Fatalf("%d warnings, want exactly 1", n)
	}
	if _, err := r.env.Owner.ExecContext(ctx, "UPDATE jobs SET status = 'canceled' WHERE tenant_id = ? AND status NOT IN ('succeeded', 'failed', 'canceled')", r.a.ID); err != nil {
		t.Fatal(err)
	}
}

// The inbox's "breaching soon": tickets whose clock runs, by the earliest
// due time of their running targets; a paused ticket, or one with every
// target met, is not in it; a first response moves a ticket to its
// resolution due time.
func TestBreachingSoonListsRunningTicketsByDueTime(t *testing.T) {
	r := rig(t, false)
	ten, sixty, day := 10, 60, 1440
	if _, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Urgent", Position: 1, Priorities: []string{"urgent"}, FirstResponseMinutes: &ten, ResolutionMinutes: &sixty}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.m.SavePolicy(lead, r.a.ID, nil, tickets.PolicyInput{Name: "Normal", Position: 2, ResolutionMinutes: &day}); err != nil {
		t.Fatal(err)
	}
	urgent := r.ticket(t, lead, tickets.TicketInput{Priority: "urgent"})
	normal := r.ticket(t, lead, tickets.TicketInput{})
	paused := r.ticket(t, lead, tickets.TicketInput{Priority: "urgent"})
	if _, err := r.m.ChangeStatus(lead, r.a.ID, paused.ID, "on_hold", 0); err != nil {
		t.Fatal(err)
	}
	if urgent.SLADueAt == nil || !urgent.SLADueAt.Equal(*urgent.FirstResponseDueAt) {
		t.Fatalf("urgent ticket's SLA due %v, want its first response %v", urgent.SLADueAt, urgent.FirstResponseDueAt)
	}
	order := func(f tickets.Filter) []int64 {
		t.Helper()
		f.Sort, f.Limit = "sla_due_at", 1
		var out []int64
		for {
			page, next, err := r.m.ListTickets(lead, r.a.ID, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range page {
				out = append(out, tk.Number)
			}
			if next == "" {
				return out
			}
			f.Cursor = next
		}
	}
	if got := order(tickets.Filter{}); fmt.Sprint(got) != fmt.Sprint([]int64{urgent.Number, normal.Number}) {
		t.Fatalf("by SLA due time %v, want the urgent then the normal ticket, not the paused one", got)
	}
	soon := tickets.Filter{Fields: []tickets.FieldFilter{{Field: "sla_due_at", Op: "lte", Value: time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)}}}
	if got := order(soon); fmt.Sprint(got) != fmt.Sprint([]int64{urgent.Number}) {
		t.Fatalf("breaching within 2 hours %v, want the urgent ticket", got)
	}
	_, replied, err := r.m.AddMessage(lead, r.a.ID, urgent.ID, tickets.MessageInput{Kind: "reply", Body: "On it."})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := r.m.GetTicket(lead, r.a.ID, urgent.ID)
	if replied.SLADueAt == nil || !replied.SLADueAt.Equal(*urgent.ResolutionDueAt) || !stored.SLADueAt.Equal(*urgent.ResolutionDueAt) {
		t.Fatalf("after the first response: due %v (stored %v), want the resolution %v", replied.SLADueAt, stored.SLADueAt, urgent.ResolutionDueAt)
	}
	if _, err := r.m.ChangeStatus(lead, r.a.ID, urgent.ID, "solved", 0); err != nil {
		t.Fatal(err)
	}
	if got := order(tickets.Filter{}); fmt.Sprint(got) != fmt.Sprint([]int64{normal.Number}) {
		t.Fatalf("after solving the urgent ticket %v", got)
	}
	_, _, err = r.m.ListTickets(lead, r.a.ID, tickets.Filter{Fields: []tickets.FieldFilter{{Field: "sla_due_at", Op: "lte", Value: "soon"}}})
	wantField(t, "a due time that is no time", err, errs.Invalid, "query.sla_due_at[lte]")
}
