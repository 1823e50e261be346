package tasks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/notify"
)

// TypeRemind is the reminder task type.
const TypeRemind = "tasks:remind"

// legacyTypeRemind is what reminders scheduled before tasks left profiles are
// recorded as; they are delivered the same way.
const legacyTypeRemind = "profiles:remind"

// visibleTasks restricts q to the tasks the actor's scope reaches, by their
// assignee as customers go by their owner: their own (own), their teammates'
// (team), or all. A task is work given to a person; whoever may not see that
// person's work may not see or change the task.
func visibleTasks(ctx context.Context, q *bun.SelectQuery) *bun.SelectQuery {
	a := authz.ActorFrom(ctx)
	switch a.Visibility() {
	case authz.ScopeAll:
		return q
	case authz.ScopeTeam:
		if len(a.Teammates) > 0 {
			return q.Where("t.assignee_id IN (?)", bun.In(a.Teammates))
		}
	}
	return q.Where("t.assignee_id = ?", a.ID)
}

// link resolves the record a new task is about: (entity, record_id), or the
// customer_id shorthand.
func link(in TaskInput) (*string, *uuid.UUID, error) {
	entity, id := strings.TrimSpace(in.Entity), in.RecordID
	if in.CustomerID != nil {
		if (entity != "" && entity != EntityCustomers) || (id != nil && *id != *in.CustomerID) {
			return nil, nil, errs.Field("body.customer_id", "conflicts with entity and record_id; send one or the other")
		}
		entity, id = EntityCustomers, in.CustomerID
	}
	switch {
	case entity == "" && id == nil:
		return nil, nil, nil
	case entity == "":
		return nil, nil, errs.Field("body.entity", "is required with record_id")
	case id == nil:
		return nil, nil, errs.Field("body.record_id", "is required with entity")
	}
	return &entity, id, nil
}

// CreateTask stores a task and schedules its reminder in the same transaction.
// A task about a record needs that the actor may see that record.
func (m *Module) CreateTask(ctx context.Context, tenant uuid.UUID, in TaskInput) (*Task, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	entity, record, err := link(in)
	if err != nil {
		return nil, err
	}
	t := &Task{TenantID: tenant, ID: uuid.New(), Title: strings.TrimSpace(in.Title), Notes: in.Notes, Entity: entity, RecordID: record,
		Status: "open", DueAt: in.DueAt, RemindAt: in.RemindAt, CreatedBy: authz.RequesterID(ctx)}
	if in.AssigneeID != nil {
		t.AssigneeID = *in.AssigneeID
	} else if a := authz.ActorFrom(ctx); a.Kind == authz.ActorUser {
		t.AssigneeID = a.ID
	} else {
		return nil, errs.Field("body.assignee_id", "is required when an API key creates a task")
	}
	if t.Title == "" {
		return nil, errs.Field("body.title", "is required")
	}
	if !errs.OneLine(t.Title) {
		return nil, errs.Field("body.title", errs.OneLineMessage)
	}
	if in.AssigneeID != nil {
		if err := m.checkMember(ctx, tenant, *in.AssigneeID); err != nil {
			return nil, err
		}
	}
	err = db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if t.RecordID != nil {
			if err := m.checkRecord(ctx, tx, tenant, *t.Entity, *t.RecordID, in.CustomerID != nil); err != nil {
				return err
			}
		}
		if _, err := tx.NewInsert().Model(t).ExcludeColumn("created_at", "updated_at", "completed_at").Returning("created_at, updated_at").Exec(ctx); err != nil {
			return err
		}
		if err := m.scheduleReminder(ctx, tx, t); err != nil {
			return err
		}
		m.d.Events.Publish(ctx, events.Event{Topic: "task.created", EntityID: t.ID.String()})
		return audit.Record(ctx, tx, audit.Entry{Action: "task.create", Entity: "task", EntityID: t.ID.String(), After: t})
	})
	if err != nil {
		return nil, db.Classify(err, "task")
	}
	return t.fill(), nil
}

// checkRecord refuses a link to a record that does not exist or that the actor
// may not see, naming the field the caller sent.
func (m *Module) checkRecord(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, id uuid.UUID, asCustomer bool) error {
	loc := "body.record_id"
	if asCustomer {
		loc = "body.customer_id"
	}
	err := m.d.Records.Check(ctx, tx, tenant, entity, id, "body.entity")
	if errs.Is(err, errs.NotFound) {
		if asCustomer {
			return errs.Field(loc, "no such customer")
		}
		return errs.Field(loc, "no such "+entity+" record, or you may not see it")
	}
	return err
}

func (m *Module) checkMember(ctx context.Context, tenant, id uuid.UUID) error {
	if m.d.Members == nil {
		return nil
	}
	ok, err := m.d.Members.IsMember(ctx, tenant, id)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Field("body.assignee_id", "not a member of this company")
	}
	return nil
}

// remindBatch caps the reminders one delivery takes in its transaction; when
// more are due it enqueues another delivery to go on.
const remindBatch = 500

// duePayload is what a delivery job carries: the second it is due, for the
// record. A delivery takes whatever is due for its tenant, so jobs queued in
// the older shape (one reminder each: remindPayload) deliver the same way.
type duePayload struct {
	Due int64 `json:"due,omitempty"`
}

// remindPayload is the older, one-reminder-per-job payload, still used by the
// fallback job of a reminder scheduled late.
type remindPayload struct {
	Task     uuid.UUID `json:"task"`
	RemindAt int64     `json:"remind_at_ms"`
}

// scheduleReminder makes sure, inside the caller's transaction, that a
// delivery job will run when the task's reminder is due. The task row holds
// the due time; the job is the tenant's delivery for that whole second
// (deduplicated by its key), so 10,000 reminders due in a minute make at most
// 60 jobs, each delivering its second's reminders in batches. The job row is
// in PostgreSQL, so a job Redis lost is enqueued again by the jobs sweeper.
//
// The second's job is locked (FOR SHARE) until this transaction commits, so it
// cannot start before the task is visible to it. When it has started or run
// already (a reminder set in the past, or late in its second), the reminder
// gets a job of its own.
func (m *Module) scheduleReminder(ctx context.Context, tx bun.Tx, t *Task) error {
	if t.RemindAt == nil || t.Status != "open" || m.d.Jobs == nil {
		return nil
	}
	if t.RemindedAt != nil && t.RemindedAt.Equal(*t.RemindAt) {
		return nil // this very reminder was delivered already
	}
	due := t.RemindAt.Truncate(time.Second)
	if due.Before(*t.RemindAt) {
		due = due.Add(time.Second)
	}
	// The second's job delivers every reminder of the company due then, not
	// only this member's: it is the company's work, so it runs as the system,
	// never with the rights of whichever member happened to create it first.
	j, err := m.d.Jobs.Enqueue(authz.AsSystem(ctx), t.TenantID, jobs.Spec{
		Type: TypeRemind, Queue: jobs.QueueCritical, RunAt: due,
		Payload: duePayload{Due: due.Unix()}, DedupeKey: fmt.Sprintf("remind-due:%d", due.Unix()),
	})
	if err != nil {
		return err
	}
	if j.Status == jobs.StatusQueued {
		// SKIP LOCKED: a worker taking the job right now holds or awaits its
		// row; rather than wait (and risk a deadlock with another writer),
		// the reminder gets a job of its own below.
		var queued bool
		err := tx.NewRaw("SELECT true FROM jobs WHERE tenant_id = ? AND id = ? AND status = ? FOR SHARE SKIP LOCKED",
			t.TenantID, j.ID, jobs.StatusQueued).Scan(ctx, &queued)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if queued {
			return nil
		}
	}
	ms := t.RemindAt.UnixMilli()
	_, err = m.d.Jobs.Enqueue(ctx, t.TenantID, jobs.Spec{
		Type: TypeRemind, Queue: jobs.QueueCritical, RunAt: *t.RemindAt,
		Payload: remindPayload{Task: t.ID, RemindAt: ms}, DedupeKey: fmt.Sprintf("remind-late:%s:%d:%s", t.ID, ms, uuid.NewString()),
	})
	return err
}

// ReminderSourceKey identifies the notice of one reminder: the task and the
// time it was due to remind. A second delivery finds it and adds nothing.
func ReminderSourceKey(task uuid.UUID, remindAtMS int64) string {
	return fmt.Sprintf("task:%s:%d", task, remindAtMS)
}

// deliverDue delivers, in the job's transaction, up to remindBatch of the
// tenant's due reminders not yet delivered: the tasks still open whose
// remind_at has come and differs from their reminded_at. It locks them FOR
// UPDATE SKIP LOCKED, so deliveries running side by side share the work,
// notifies each assignee (the notice's source key makes a repeat add
// nothing), and marks them delivered; all of it commits with the job's
// success, exactly once. When more are due it enqueues the next delivery in
// the same transaction. A stale reminder (done, canceled or snoozed meanwhile)
// is simply not due. Whatever the job's payload, it delivers everything due,
// so jobs queued in the older one-reminder shape still deliver theirs.
func (m *Module) deliverDue(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
	var due []Task
	err := tx.NewSelect().Model(&due).
		Where("t.tenant_id = ? AND t.status = 'open' AND t.remind_at IS NOT NULL", j.TenantID).
		Where("t.remind_at <= now() AND t.reminded_at IS DISTINCT FROM t.remind_at").
		OrderExpr("t.remind_at").Limit(remindBatch + 1).For("UPDATE SKIP LOCKED").Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	more := len(due) > remindBatch
	if more {
		due = due[:remindBatch]
	}
	if len(due) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(due))
	ns := make([]notify.Addressed, len(due))
	for i := range due {
		t := &due[i]
		ids[i] = t.ID
		body := t.Notes
		if t.DueAt != nil {
			body = strings.TrimSpace("Due " + t.DueAt.UTC().Format("2006-01-02 15:04 UTC") + ". 截止时间 " + t.DueAt.UTC().Format("2006-01-02 15:04 UTC") + "。\n" + t.Notes)
		}
		ns[i] = notify.Addressed{Recipient: t.AssigneeID, Notice: notify.Notice{Kind: "task.reminder", Title: t.Title, Body: body,
			Link: "/tasks/" + t.ID.String(), SourceKey: ReminderSourceKey(t.ID, t.RemindAt.UnixMilli())}}
	}
	if many, ok := m.d.Notify.(notify.BatchNotifier); ok {
		if _, err := many.NotifyMany(ctx, j.TenantID, ns); err != nil {
			return err
		}
	} else if m.d.Notify != nil {
		for _, a := range ns {
			if _, err := m.d.Notify.Notify(ctx, j.TenantID, a.Recipient, a.Notice); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE tasks SET reminded_at = remind_at WHERE tenant_id = ? AND id IN (?)", j.TenantID, bun.In(ids)); err != nil {
		return err
	}
	if m.d.Jobs == nil {
		return nil
	}
	if more {
		_, err := m.d.Jobs.Enqueue(ctx, j.TenantID, jobs.Spec{Type: TypeRemind, Queue: jobs.QueueCritical,
			Payload: duePayload{}, DedupeKey: "remind-more:" + j.ID.String()})
		return err
	}
	return m.chainNext(ctx, tx, j.TenantID)
}

// chainHorizon is how far ahead a delivery looks for the next due reminder.
const chainHorizon = 5 * time.Minute

// chainNext enqueues a delivery for the second of the tenant's next pending
// reminder, under a key of its own. The second's own job usually exists
// already; this one is a fresh row handed to Redis now, so when Redis lost the
// scheduled jobs (a flush), the deliveries that still run carry the burst on
// without waiting for the sweeper. At most one such job per tenant and second.
func (m *Module) chainNext(ctx context.Context, tx bun.Tx, tenant uuid.UUID) error {
	var next sql.NullTime
	err := tx.NewRaw(`SELECT min(remind_at) FROM tasks WHERE tenant_id = ? AND status = 'open' AND remind_at IS NOT NULL
		AND reminded_at IS DISTINCT FROM remind_at AND remind_at > now() AND remind_at <= now() + make_interval(secs => ?)`,
		tenant, chainHorizon.Seconds()).Scan(ctx, &next)
	if err != nil || !next.Valid {
		return err
	}
	due := next.Time.Truncate(time.Second)
	if due.Before(next.Time) {
		due = due.Add(time.Second)
	}
	_, err = m.d.Jobs.Enqueue(authz.AsSystem(ctx), tenant, jobs.Spec{Type: TypeRemind, Queue: jobs.QueueCritical, RunAt: due,
		Payload: duePayload{Due: due.Unix()}, DedupeKey: fmt.Sprintf("remind-next:%d", due.Unix())})
	return err
}

// ChangeTask completes, snoozes or edits a task; a new remind_at schedules a new
// reminder and the old one becomes stale.
func (m *Module) ChangeTask(ctx context.Context, tenant, id uuid.UUID, apply func(t *Task) error) (*Task, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	t := &Task{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(t).Where("t.tenant_id = ? AND t.id = ?", tenant, id).For("UPDATE")
		if err := visibleTasks(ctx, q).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "task not found")
			}
			return err
		}
		before := *t
		if err := apply(t); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(t).ExcludeColumn("tenant_id", "id", "created_at", "created_by", "updated_at").Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
			return err
		}
		if t.RemindAt != nil && (before.RemindAt == nil || !before.RemindAt.Equal(*t.RemindAt) || before.Status != t.Status) {
			if err := m.scheduleReminder(ctx, tx, t); err != nil {
				return err
			}
		}
		topic := "task.updated"
		if t.Status == "done" && before.Status != "done" {
			topic = "task.completed"
		}
		m.d.Events.Publish(ctx, events.Event{Topic: topic, EntityID: id.String()})
		return audit.Record(ctx, tx, audit.Entry{Action: "task.update", Entity: "task", EntityID: id.String(), Before: before, After: t})
	})
	if err != nil {
		return nil, db.Classify(err, "task")
	}
	return t.fill(), nil
}

// GetTask returns one task the actor may see, as the API does.
func (m *Module) GetTask(ctx context.Context, tenant, id uuid.UUID) (*Task, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	t := &Task{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		err := visibleTasks(ctx, tx.NewSelect().Model(t).Where("t.tenant_id = ? AND t.id = ?", tenant, id)).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "task not found")
		}
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "task")
	}
	return t.fill(), nil
}

// TaskFilter narrows a list of tasks.
type TaskFilter struct {
	Assignee *uuid.UUID // nil: the caller
	Status   string     // empty: any
	Entity   string     // with RecordID: only tasks about that record
	RecordID *uuid.UUID
	Limit    int
}

// ListTasks lists tasks soonest due first, within the actor's scope.
func (m *Module) ListTasks(ctx context.Context, tenant uuid.UUID, f TaskFilter) ([]Task, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	a := authz.ActorFrom(ctx)
	who := a.ID
	if f.Assignee != nil {
		if a.Visibility() == authz.ScopeOwn && *f.Assignee != a.ID {
			return nil, errs.E(errs.Forbidden, "Your role sees only your own tasks.")
		}
		who = *f.Assignee
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	out := []Task{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(&out).Where("t.tenant_id = ?", tenant).Where("t.assignee_id = ?", who)
		q = visibleTasks(ctx, q)
		if f.Status != "" {
			q = q.Where("t.status = ?", f.Status)
		}
		if f.RecordID != nil {
			q = q.Where("t.entity = ? AND t.record_id = ?", f.Entity, *f.RecordID)
		}
		return q.OrderExpr("t.due_at ASC NULLS LAST, t.id").Limit(f.Limit).Scan(ctx)
	})
	if err != nil {
		return nil, db.Classify(err, "task")
	}
	for i := range out {
		out[i].fill()
	}
	return out, nil
}

// RecordsRemoved implements records.Dependent: tasks about records removed for
// good go with them, as the customers foreign key's cascade did.
func (m *Module) RecordsRemoved(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, ids []uuid.UUID) error {
	_, err := tx.ExecContext(ctx, "DELETE FROM tasks WHERE tenant_id = ? AND entity = ? AND record_id IN (?)", tenant, entity, bun.In(ids))
	return err
}

// RecordsMerged implements records.Dependent: tasks follow merged records.
func (m *Module) RecordsMerged(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, from []uuid.UUID, into uuid.UUID) error {
	_, err := tx.ExecContext(ctx, "UPDATE tasks SET record_id = ?, updated_at = now() WHERE tenant_id = ? AND entity = ? AND record_id IN (?)", into, tenant, entity, bun.In(from))
	return err
}

// Jobs declares the module's task handlers.
func (m *Module) Jobs() []jobs.Handler {
	return []jobs.Handler{
		{Type: TypeRemind, Queue: jobs.QueueCritical, Timeout: 30 * time.Second, Run: m.deliverDue},
		{Type: legacyTypeRemind, Queue: jobs.QueueCritical, Timeout: 30 * time.Second, Run: m.deliverDue},
	}
}
