package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/notify"
)

// TypeSLAAlarms is the job that sends a company's due SLA warnings and
// breaches, on the critical queue.
const TypeSLAAlarms = "tickets:sla-alarms"

// The targets of an SLA and the stages of their alarms.
const (
	MetricFirstResponse = "first_response"
	MetricNextResponse  = "next_response"
	MetricResolution    = "resolution"
	stageWarning        = "warning"
	stageBreach         = "breach"
)

// alarmBatch caps the alarms one delivery claims in its transaction; when
// more are due it enqueues another delivery to go on.
const alarmBatch = 500

// alarmPayload is what a delivery job carries: the second it is due, for the
// record. A delivery sends whatever is due for its company.
type alarmPayload struct {
	Due int64 `json:"due,omitempty"`
}

// slaRunning says whether t's SLA clock runs: the ticket is new or open and
// not paused.
func slaRunning(t *Ticket) bool {
	return t.SLAPausedAt == nil && (t.Status == "new" || t.Status == "open")
}

// alarm is one warning or breach to send.
type alarm struct {
	metric, stage string
	cycle         int
	at            time.Time
}

// liveAlarms are the alarms t's deadlines call for now: those of the targets
// not met yet, while the clock runs.
func liveAlarms(t *Ticket) []alarm {
	if t.SLAPolicyID == nil || !slaRunning(t) {
		return nil
	}
	var out []alarm
	add := func(metric string, cycle int, warn, due *time.Time) {
		if warn != nil {
			out = append(out, alarm{metric, stageWarning, cycle, *warn})
		}
		if due != nil {
			out = append(out, alarm{metric, stageBreach, cycle, *due})
		}
	}
	if t.FirstRespondedAt == nil {
		add(MetricFirstResponse, 0, t.FirstResponseWarnAt, t.FirstResponseDueAt)
	}
	if t.NextResponseDueAt != nil {
		add(MetricNextResponse, t.NextResponseCycle, t.NextResponseWarnAt, t.NextResponseDueAt)
	}
	add(MetricResolution, 0, t.ResolutionWarnAt, t.ResolutionDueAt)
	return out
}

// slaDue is the earliest due time of t's targets still running.
func slaDue(t *Ticket) *time.Time {
	var out *time.Time
	for _, a := range liveAlarms(t) {
		if a.stage == stageBreach && (out == nil || a.at.Before(*out)) {
			at := a.at
			out = &at
		}
	}
	return out
}

// recordBreach notes that a target was missed; once per ticket, target and
// cycle, whoever notices first (the breach alarm, or the late answer).
func recordBreach(ctx context.Context, tx bun.Tx, t *Ticket, metric string, cycle int, due time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ticket_sla_breaches (tenant_id, ticket_id, metric, cycle, policy_id, due_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, t.TenantID, t.ID, metric, cycle, t.SLAPolicyID, due)
	return err
}

// syncAlarms rewrites, in the caller's transaction, the alarms of t not sent
// yet so they follow its deadlines as they are now, records the targets it
// met late, and makes sure a delivery runs when the first alarm is due; that
// delivery chains the next (chainAlarms), and so on, so every alarm is sent.
// Sent alarms stay: a warning already sent for a target and cycle is not sent
// again when the deadline moves.
func (m *Module) syncAlarms(ctx context.Context, tx bun.Tx, t *Ticket) error {
	if t.FirstRespondedAt != nil && t.FirstResponseDueAt != nil && t.FirstRespondedAt.After(*t.FirstResponseDueAt) {
		if err := recordBreach(ctx, tx, t, MetricFirstResponse, 0, *t.FirstResponseDueAt); err != nil {
			return err
		}
	}
	if t.SolvedAt != nil && t.ResolutionDueAt != nil && t.SolvedAt.After(*t.ResolutionDueAt) {
		if err := recordBreach(ctx, tx, t, MetricResolution, 0, *t.ResolutionDueAt); err != nil {
			return err
		}
	}
	if due := slaDue(t); !sameInstant(due, t.SLADueAt) {
		if _, err := tx.ExecContext(ctx, "UPDATE tickets SET sla_due_at = ? WHERE tenant_id = ? AND id = ?", due, t.TenantID, t.ID); err != nil {
			return err
		}
		t.SLADueAt = due
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM ticket_sla_alarms WHERE tenant_id = ? AND ticket_id = ? AND fired_at IS NULL", t.TenantID, t.ID); err != nil {
		return err
	}
	live := liveAlarms(t)
	if len(live) == 0 {
		return nil
	}
	var inserted []time.Time
	err := tx.NewRaw(`INSERT INTO ticket_sla_alarms (tenant_id, ticket_id, metric, stage, cycle, fire_at)
		SELECT ?, ?, x.metric, x.stage, x.cycle, x.fire_at FROM unnest(?::text[], ?::text[], ?::int[], ?::timestamptz[]) AS x(metric, stage, cycle, fire_at)
		ON CONFLICT DO NOTHING RETURNING fire_at`, alarmArgs(t, live)...).Scan(ctx, &inserted)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if len(inserted) == 0 {
		return nil
	}
	return m.scheduleAlarms(ctx, tx, t.TenantID, earliest(inserted))
}

// scheduleFirstAlarm makes sure a delivery runs when the first alarm of a
// ticket being created falls due. That delivery, like every delivery, chains
// the next one when it is done (chainAlarms), so the ticket's later alarms
// are sent in turn without a job of their own each.
func (m *Module) scheduleFirstAlarm(ctx context.Context, tx bun.Tx, t *Ticket) error {
	live := liveAlarms(t)
	if len(live) == 0 {
		return nil
	}
	ats := make([]time.Time, len(live))
	for i, a := range live {
		ats[i] = a.at
	}
	return m.scheduleAlarms(ctx, tx, t.TenantID, earliest(ats))
}

// writeNewAlarms writes the alarms of a ticket just inserted, which has none
// yet and whose sla_due_at the insert set; the rows travel with COMMIT (see
// writeLater). scheduleFirstAlarm scheduled their delivery.
func writeNewAlarms(ctx context.Context, tx bun.Tx, t *Ticket) error {
	live := liveAlarms(t)
	if len(live) == 0 {
		return nil
	}
	return writeLater(ctx, tx, `INSERT INTO ticket_sla_alarms (tenant_id, ticket_id, metric, stage, cycle, fire_at)
		SELECT ?, ?, x.metric, x.stage, x.cycle, x.fire_at FROM unnest(?::text[], ?::text[], ?::int[], ?::timestamptz[]) AS x(metric, stage, cycle, fire_at)`,
		alarmArgs(t, live)...)
}

// alarmArgs are the arguments of an insert of t's alarms: the ticket, then
// one array per column.
func alarmArgs(t *Ticket, live []alarm) []any {
	metrics, stages, cycles, ats := make([]string, len(live)), make([]string, len(live)), make([]int, len(live)), make([]time.Time, len(live))
	for i, a := range live {
		metrics[i], stages[i], cycles[i], ats[i] = a.metric, a.stage, a.cycle, a.at.UTC()
	}
	return []any{t.TenantID, t.ID, pgdialect.Array(metrics), pgdialect.Array(stages), pgdialect.Array(cycles), pgdialect.Array(ats)}
}

// earliest is the first of ts, which is not empty.
func earliest(ts []time.Time) time.Time {
	first := ts[0]
	for _, t := range ts[1:] {
		if t.Before(first) {
			first = t
		}
	}
	return first
}

// sameInstant says whether two optional times are the same instant.
func sameInstant(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// dueSecond is the whole second at or after at.
func dueSecond(at time.Time) time.Time {
	due := at.Truncate(time.Second)
	if due.Before(at) {
		due = due.Add(time.Second)
	}
	return due
}

// scheduleAlarms makes sure, inside the caller's transaction, that a
// delivery runs when an alarm falls due at at. The delivery is the company's
// job for that whole second (deduplicated by its key), so 10,000 warnings due
// in one minute make at most 60 jobs, each sending its second's alarms in
// batches. The job is a row in PostgreSQL, so one Redis lost is enqueued
// again by the jobs sweeper. The second's job is locked (FOR SHARE) until
// this transaction commits, so it cannot start before the alarm is visible
// to it; when it has started or run already, the alarm gets a job of its own.
func (m *Module) scheduleAlarms(ctx context.Context, tx bun.Tx, tenant uuid.UUID, at time.Time) error {
	if m.d.Jobs == nil {
		return nil
	}
	due := dueSecond(at)
	// Most alarms fall due in a second whose delivery is queued already (a
	// busy desk opens many tickets a second): then one statement locks it.
	var queued bool
	err := tx.NewRaw("SELECT true FROM jobs WHERE tenant_id = ? AND dedupe_key = ? AND task_type = ? AND status = ? FOR SHARE SKIP LOCKED",
		tenant, fmt.Sprintf("sla-due:%d", due.Unix()), TypeSLAAlarms, jobs.StatusQueued).Scan(ctx, &queued)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if queued {
		return nil
	}
	// The delivery sends every alarm of the company due then: the company's
	// work, run as the system, never with the rights of whoever came first.
	sys := authz.AsSystem(ctx)
	j, err := m.d.Jobs.Enqueue(sys, tenant, jobs.Spec{Type: TypeSLAAlarms, Queue: jobs.QueueCritical, RunAt: due,
		Payload: alarmPayload{Due: due.Unix()}, DedupeKey: fmt.Sprintf("sla-due:%d", due.Unix())})
	if err != nil {
		return err
	}
	if j.Status == jobs.StatusQueued {
		err := tx.NewRaw("SELECT true FROM jobs WHERE tenant_id = ? AND id = ? AND status = ? FOR SHARE SKIP LOCKED",
			tenant, j.ID, jobs.StatusQueued).Scan(ctx, &queued)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if queued {
			return nil
		}
	}
	_, err = m.d.Jobs.Enqueue(sys, tenant, jobs.Spec{Type: TypeSLAAlarms, Queue: jobs.QueueCritical, RunAt: at,
		Payload: alarmPayload{Due: due.Unix()}, DedupeKey: fmt.Sprintf("sla-late:%d:%s", due.Unix(), uuid.NewString())})
	return err
}

// dueAlarm is a claimed alarm with what sending it needs of its ticket.
type dueAlarm struct {
	TicketID uuid.UUID `bun:"ticket_id"`
	Metric   string    `bun:"metric"`
	Stage    string    `bun:"stage"`
	Cycle    int       `bun:"cycle"`
	FireAt   time.Time `bun:"fire_at"`
	Ticket
}

// AlarmSourceKey identifies the notice of one alarm to one recipient; a
// second delivery finds it and adds nothing.
func AlarmSourceKey(ticket uuid.UUID, metric, stage string, cycle int, recipient uuid.UUID) string {
	return fmt.Sprintf("sla:%s:%s:%d:%s:%s", ticket, metric, cycle, stage, recipient)
}

var metricNames = map[string][2]string{
	MetricFirstResponse: {"first response", "首次响应"},
	MetricNextResponse:  {"next response", "下次响应"},
	MetricResolution:    {"resolution", "解决"},
}

// deliverAlarms sends, in the job's transaction, up to alarmBatch of the
// company's due alarms not sent yet. It claims them FOR UPDATE SKIP LOCKED,
// so deliveries running side by side share the work; notifies the assignee
// of a warning (the team's leads when nobody is assigned) and the team's
// leads and the assignee of a breach; records breaches; and marks the alarms
// fired, all committing with the job's success, exactly once. An alarm whose
// target was met or whose clock stopped meanwhile is dropped. When more are
// due it enqueues the next delivery in the same transaction.
func (m *Module) deliverAlarms(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
	var due []dueAlarm
	err := tx.NewRaw(`SELECT a.ticket_id, a.metric, a.stage, a.cycle, a.fire_at, t.*
		FROM ticket_sla_alarms a JOIN tickets t ON t.tenant_id = a.tenant_id AND t.id = a.ticket_id
		WHERE a.tenant_id = ? AND a.fired_at IS NULL AND a.fire_at <= now()
		ORDER BY a.fire_at, a.ticket_id LIMIT ? FOR UPDATE OF a SKIP LOCKED`, j.TenantID, alarmBatch+1).Scan(ctx, &due)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	more := len(due) > alarmBatch
	if more {
		due = due[:alarmBatch]
	}
	if len(due) == 0 {
		return m.chainAlarms(ctx, tx, j.TenantID)
	}
	leads, err := teamLeads(ctx, tx, j.TenantID, due)
	if err != nil {
		return err
	}
	var ns []notify.Addressed
	var tids []uuid.UUID
	var mets, stgs []string
	var cycs []int
	var fired []bool
	for i := range due {
		a := &due[i]
		t := &a.Ticket
		stillDue := false
		for _, l := range liveAlarms(t) {
			if l.metric == a.Metric && l.stage == a.Stage && l.cycle == a.Cycle {
				stillDue = true
			}
		}
		tids, mets, stgs, cycs, fired = append(tids, a.TicketID), append(mets, a.Metric), append(stgs, a.Stage), append(cycs, a.Cycle), append(fired, stillDue)
		if !stillDue {
			continue
		}
		var to []uuid.UUID
		if t.TeamID != nil && (a.Stage == stageBreach || t.AssigneeID == nil) {
			to = append(to, leads[*t.TeamID]...)
		}
		if t.AssigneeID != nil && !containsID(to, *t.AssigneeID) {
			to = append(to, *t.AssigneeID)
		}
		name := metricNames[a.Metric]
		var n notify.Notice
		dueAt := dueOf(t, a.Metric)
		if a.Stage == stageWarning {
			n = notify.Notice{Kind: "ticket.sla_warning",
				Title: fmt.Sprintf("SLA warning: #%d %s due %s / SLA 预警：工单 #%d %s将于 %s 到期", t.Number, name[0], dueAt, t.Number, name[1], dueAt)}
		} else {
			n = notify.Notice{Kind: "ticket.sla_breach",
				Title: fmt.Sprintf("SLA breached: #%d %s was due %s / SLA 已违约：工单 #%d %s已于 %s 到期", t.Number, name[0], dueAt, t.Number, name[1], dueAt)}
			if err := recordBreach(ctx, tx, t, a.Metric, a.Cycle, a.FireAt); err != nil {
				return err
			}
		}
		n.Body, n.Link = t.Subject, "/tickets/"+t.ID.String()
		for _, r := range to {
			n.SourceKey = AlarmSourceKey(t.ID, a.Metric, a.Stage, a.Cycle, r)
			ns = append(ns, notify.Addressed{Recipient: r, Notice: n})
		}
	}
	if m.d.Notify != nil {
		many, batch := m.d.Notify.(notify.BatchNotifier)
		for start := 0; start < len(ns); start += notify.MaxBatch {
			chunk := ns[start:min(start+notify.MaxBatch, len(ns))]
			if batch {
				if _, err := many.NotifyMany(ctx, j.TenantID, chunk); err != nil {
					return err
				}
				continue
			}
			for _, a := range chunk {
				if _, err := m.d.Notify.Notify(ctx, j.TenantID, a.Recipient, a.Notice); err != nil {
					return err
				}
			}
		}
	}
	// Sent alarms are marked; those no longer due are dropped.
	if _, err := tx.ExecContext(ctx, `WITH x AS (SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[], ?::int[], ?::boolean[]) AS x(ticket_id, metric, stage, cycle, fired)),
		gone AS (DELETE FROM ticket_sla_alarms a USING x WHERE a.tenant_id = ? AND a.ticket_id = x.ticket_id AND a.metric = x.metric AND a.stage = x.stage AND a.cycle = x.cycle AND NOT x.fired)
		UPDATE ticket_sla_alarms a SET fired_at = now() FROM x WHERE a.tenant_id = ? AND a.ticket_id = x.ticket_id AND a.metric = x.metric AND a.stage = x.stage AND a.cycle = x.cycle AND x.fired`,
		uuidArray(tids), pgdialect.Array(mets), pgdialect.Array(stgs), pgdialect.Array(cycs), pgdialect.Array(fired), j.TenantID, j.TenantID); err != nil {
		return err
	}
	if m.d.Jobs == nil {
		return nil
	}
	if more {
		_, err := m.d.Jobs.Enqueue(ctx, j.TenantID, jobs.Spec{Type: TypeSLAAlarms, Queue: jobs.QueueCritical,
			Payload: alarmPayload{}, DedupeKey: "sla-more:" + j.ID.String()})
		return err
	}
	return m.chainAlarms(ctx, tx, j.TenantID)
}

// dueOf writes the due time of a ticket's target for a notice.
func dueOf(t *Ticket, metric string) string {
	d := map[string]*time.Time{MetricFirstResponse: t.FirstResponseDueAt, MetricNextResponse: t.NextResponseDueAt, MetricResolution: t.ResolutionDueAt}[metric]
	if d == nil {
		return "-"
	}
	return d.UTC().Format("2006-01-02 15:04 UTC")
}

func containsID(ids []uuid.UUID, id uuid.UUID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// teamLeads are the leads of the teams of the alarms' tickets.
func teamLeads(ctx context.Context, tx bun.Tx, tenant uuid.UUID, due []dueAlarm) (map[uuid.UUID][]uuid.UUID, error) {
	var teams []uuid.UUID
	for i := range due {
		if t := due[i].TeamID; t != nil && !containsID(teams, *t) {
			teams = append(teams, *t)
		}
	}
	out := map[uuid.UUID][]uuid.UUID{}
	if len(teams) == 0 {
		return out, nil
	}
	var rows []struct {
		TeamID   uuid.UUID `bun:"team_id"`
		MemberID uuid.UUID `bun:"member_id"`
	}
	err := tx.NewRaw("SELECT team_id, member_id FROM ticket_agents WHERE tenant_id = ? AND team_id IN (?) AND lead ORDER BY member_id", tenant, bun.In(teams)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	for _, r := range rows {
		out[r.TeamID] = append(out[r.TeamID], r.MemberID)
	}
	return out, nil
}

// chainAlarms enqueues a delivery for the second of the company's next
// pending alarm, however far ahead, under a key of its own. Deliveries chain
// one another this way: a ticket schedules only its first alarm's delivery,
// and each delivery, when done, schedules the next, which therefore sees
// every alarm committed before it. The second's own job may exist already;
// this one is a fresh row handed to Redis now, so when Redis lost the
// scheduled jobs (a flush), the deliveries that still run carry a burst on
// without waiting for the sweeper.
func (m *Module) chainAlarms(ctx context.Context, tx bun.Tx, tenant uuid.UUID) error {
	if m.d.Jobs == nil {
		return nil
	}
	var next sql.NullTime
	err := tx.NewRaw(`SELECT min(fire_at) FROM ticket_sla_alarms WHERE tenant_id = ? AND fired_at IS NULL AND fire_at > now()`, tenant).Scan(ctx, &next)
	if err != nil || !next.Valid {
		return err
	}
	due := next.Time.Truncate(time.Second)
	if due.Before(next.Time) {
		due = due.Add(time.Second)
	}
	_, err = m.d.Jobs.Enqueue(authz.AsSystem(ctx), tenant, jobs.Spec{Type: TypeSLAAlarms, Queue: jobs.QueueCritical, RunAt: due,
		Payload: alarmPayload{Due: due.Unix()}, DedupeKey: fmt.Sprintf("sla-next:%d", due.Unix())})
	return err
}

// TypeSLASweep is the periodic sweep that hands overdue alarms to a new
// delivery.
const TypeSLASweep = "tickets:sla-sweep"

// alarmGrace is how long after it fell due an alarm may stay unsent before
// the sweep gives it a delivery of its own. Deliveries normally send within
// seconds; a delivery that failed for good (its retries spent) leaves its
// alarms unsent, and without the sweep they would wait for the company's
// next alarm to fall due, which may never come.
const alarmGrace = 2 * time.Minute

// Schedules runs the SLA sweep every minute, at the same task id in every
// scheduler replica, so it runs once per tick.
func (m *Module) Schedules() []jobs.Schedule {
	return []jobs.Schedule{{Name: "tickets-sla-sweep", Cron: "* * * * *", Type: TypeSLASweep}}
}

// SweepOverdueAlarms enqueues a delivery for every company holding alarms
// unsent more than alarmGrace after they fell due (as of now), one per
// company and minute however often it runs. A delivery claims alarms FOR
// UPDATE SKIP LOCKED and marks them sent in its own transaction, so one
// running beside a late one adds nothing twice. It returns how many
// deliveries it asked for.
func (m *Module) SweepOverdueAlarms(ctx context.Context, now time.Time) (int, error) {
	if m.d.Jobs == nil {
		return 0, nil
	}
	var tenants []uuid.UUID
	err := m.d.DB.RunInTx(ctx, &sql.TxOptions{ReadOnly: true}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL ROLE "+jobs.SweeperRole); err != nil {
			return err
		}
		return tx.NewRaw(`SELECT DISTINCT tenant_id FROM ticket_sla_alarms
			WHERE fired_at IS NULL AND fire_at < ? LIMIT 10000`, now.Add(-alarmGrace)).Scan(ctx, &tenants)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("tickets: SLA sweep: %w", err)
	}
	sys := authz.AsSystem(ctx)
	minute := now.Unix() / 60
	for _, t := range tenants {
		if _, err := m.d.Jobs.Enqueue(sys, t, jobs.Spec{Type: TypeSLAAlarms, Queue: jobs.QueueCritical,
			Payload: alarmPayload{Due: now.Unix()}, DedupeKey: fmt.Sprintf("sla-sweep:%d", minute)}); err != nil {
			return 0, fmt.Errorf("tickets: SLA sweep in %s: %w", t, err)
		}
	}
	return len(tenants), nil
}
