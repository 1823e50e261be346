package profiles

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// TypeRemind is the reminder task type.
const TypeRemind = "profiles:remind"

// Enqueuer records and reads background jobs (platform/jobs.Client).
type Enqueuer interface {
	Enqueue(ctx context.Context, tenant uuid.UUID, s jobs.Spec) (*jobs.Job, error)
	Get(ctx context.Context, tenant, id uuid.UUID) (*jobs.Job, error)
}

// Task is a follow-up.
type Task struct {
	bun.BaseModel `bun:"table:tasks,alias:t"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	Title         string     `bun:"title" json:"title"`
	Notes         string     `bun:"notes" json:"notes"`
	CustomerID    *uuid.UUID `bun:"customer_id,type:uuid" json:"customer_id,omitempty"`
	AssigneeID    uuid.UUID  `bun:"assignee_id,type:uuid" json:"assignee_id"`
	Status        string     `bun:"status" json:"status" enum:"open,done,canceled"`
	DueAt         *time.Time `bun:"due_at" json:"due_at,omitempty"`
	RemindAt      *time.Time `bun:"remind_at" json:"remind_at,omitempty"`
	CreatedBy     *uuid.UUID `bun:"created_by,type:uuid" json:"created_by,omitempty"`
	CompletedAt   *time.Time `bun:"completed_at" json:"completed_at,omitempty"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at" json:"updated_at"`
}

// TaskInput creates a task.
type TaskInput struct {
	Title      string     `json:"title" minLength:"1" maxLength:"300"`
	Notes      string     `json:"notes,omitempty" maxLength:"5000"`
	CustomerID *uuid.UUID `json:"customer_id,omitempty"`
	AssigneeID *uuid.UUID `json:"assignee_id,omitempty" doc:"default: the caller"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	RemindAt   *time.Time `json:"remind_at,omitempty" doc:"when to remind the assignee (in-app notification)"`
}

type remindPayload struct {
	Task     uuid.UUID `json:"task"`
	RemindAt int64     `json:"remind_at_ms"`
}

// CreateTask stores a task and schedules its reminder in the same transaction.
func (m *Module) CreateTask(ctx context.Context, tenant uuid.UUID, in TaskInput) (*Task, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	t := &Task{TenantID: tenant, ID: uuid.New(), Title: strings.TrimSpace(in.Title), Notes: in.Notes, CustomerID: in.CustomerID,
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
	if in.AssigneeID != nil {
		if err := m.checkMember(ctx, tenant, in.AssigneeID, "body.assignee_id"); err != nil {
			return nil, err
		}
	}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if t.CustomerID != nil {
			if _, err := m.lockVisible(ctx, tx, tenant, *t.CustomerID); err != nil {
				if errs.Is(err, errs.NotFound) {
					return errs.Field("body.customer_id", "no such customer")
				}
				return err
			}
		}
		if _, err := tx.NewInsert().Model(t).ExcludeColumn("created_at", "updated_at", "completed_at").Returning("created_at, updated_at").Exec(ctx); err != nil {
			return err
		}
		if err := m.scheduleReminder(ctx, t); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "task.create", Entity: "task", EntityID: t.ID.String(), After: t})
	})
	if err != nil {
		return nil, db.Classify(err, "task")
	}
	return t, nil
}

// scheduleReminder records a reminder job inside the caller's transaction.
func (m *Module) scheduleReminder(ctx context.Context, t *Task) error {
	if t.RemindAt == nil || t.Status != "open" || m.d.Jobs == nil {
		return nil
	}
	ms := t.RemindAt.UnixMilli()
	_, err := m.d.Jobs.Enqueue(ctx, t.TenantID, jobs.Spec{
		Type: TypeRemind, Queue: jobs.QueueCritical, RunAt: *t.RemindAt,
		Payload: remindPayload{Task: t.ID, RemindAt: ms}, DedupeKey: fmt.Sprintf("remind:%s:%d", t.ID, ms),
	})
	return err
}

// deliverReminder turns a due reminder into one notification. A stale reminder
// (the task was done, canceled or snoozed meanwhile) does nothing.
func (m *Module) deliverReminder(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
	var p remindPayload
	if err := j.Decode(&p); err != nil {
		return errs.E(errs.Invalid, "malformed reminder payload")
	}
	t := &Task{}
	err := tx.NewSelect().Model(t).Where("t.tenant_id = ? AND t.id = ?", j.TenantID, p.Task).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.Status != "open" || t.RemindAt == nil || t.RemindAt.UnixMilli() != p.RemindAt {
		return nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO notifications (tenant_id, recipient_id, kind, title, body, link, source_key)
		VALUES (?, ?, 'task.reminder', ?, ?, ?, ?) ON CONFLICT (tenant_id, source_key) DO NOTHING`,
		j.TenantID, t.AssigneeID, t.Title, t.Notes, "/tasks/"+t.ID.String(), fmt.Sprintf("task:%s:%d", t.ID, p.RemindAt))
	if err != nil {
		return err
	}
	// Mail only for the delivery that created the notification, after it commits.
	if n, _ := res.RowsAffected(); n == 1 && m.d.Mail != nil {
		tenant, member, title, due := j.TenantID, t.AssigneeID, t.Title, ""
		if t.DueAt != nil {
			due = " (due " + t.DueAt.UTC().Format("2006-01-02 15:04 UTC") + ")"
		}
		db.AfterCommit(ctx, func(ctx context.Context) {
			if err := m.d.Mail.MailMember(context.WithoutCancel(ctx), tenant, member, "Reminder: "+title,
				"Reminder: "+title+due+"\n提醒："+title+"\n\nOpen it in Clientele under Tasks."); err != nil {
				m.d.Log.WarnContext(ctx, "profiles: reminder mail failed; the in-app notification stands", "error", err.Error())
			}
		})
	}
	return nil
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
			if err := m.scheduleReminder(ctx, t); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "task.update", Entity: "task", EntityID: id.String(), Before: before, After: t})
	})
	if err != nil {
		return nil, db.Classify(err, "task")
	}
	return t, nil
}

// visibleTasks restricts q to the tasks the actor's scope reaches, by their
// assignee as customers go by their owner: their own (own), their teammates'
// (team), or all. A task is work given to a person; whoever may not see that
// person's work may not see or change the task.
func visibleTasks(ctx context.Context, q *bun.SelectQuery) *bun.SelectQuery {
	return inScope(ctx, q, "t.assignee_id")
}

// Notification is one in-app message.
type Notification struct {
	ID        uuid.UUID  `json:"id" bun:"id"`
	Kind      string     `json:"kind" bun:"kind"`
	Title     string     `json:"title" bun:"title"`
	Body      string     `json:"body" bun:"body"`
	Link      string     `json:"link" bun:"link"`
	CreatedAt time.Time  `json:"created_at" bun:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty" bun:"read_at"`
}

func (m *Module) taskRoutes(api huma.API) {
	type taskOut struct{ Body *Task }
	huma.Register(api, huma.Operation{OperationID: "create-task", Method: http.MethodPost, Path: "/tasks", DefaultStatus: 201, Summary: "Create a follow-up task",
		Description: "A follow-up task about a customer, due at a time, assigned to a member (the caller by default); the assignee is notified when it falls due. Needs profiles.write."},
		func(ctx context.Context, in *struct{ Body TaskInput }) (*taskOut, error) {
			tn, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			t, err := m.CreateTask(ctx, tn.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &taskOut{Body: t}, nil
		})
	type listTasksIn struct {
		Assignee string `query:"assignee" doc:"a member id, or me (default)"`
		Status   string `query:"status" enum:"open,done,canceled," default:"open"`
		Customer string `query:"customer_id" format:"uuid" doc:"only tasks about this customer"`
		Limit    int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	}
	type tasksOut struct {
		Body struct {
			Items []Task `json:"items"`
		} `nameHint:"TaskList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-tasks", Method: http.MethodGet, Path: "/tasks", Summary: "List tasks, soonest due first",
		Description: "Open tasks by default, soonest due first: the caller's own, or another member's (assignee) or a customer's. Needs profiles.read."},
		func(ctx context.Context, in *listTasksIn) (*tasksOut, error) {
			tn, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			if err := authz.Require(ctx, PermRead); err != nil {
				return nil, err
			}
			out := &tasksOut{}
			out.Body.Items = []Task{}
			err = db.InTenant(ctx, m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
				q := tx.NewSelect().Model(&out.Body.Items).Where("t.tenant_id = ?", tn.ID)
				a := authz.ActorFrom(ctx)
				switch {
				case in.Assignee == "" || in.Assignee == "me":
					q = q.Where("t.assignee_id = ?", a.ID)
				default:
					id, perr := uuid.Parse(in.Assignee)
					if perr != nil {
						return errs.Field("query.assignee", "a member id or me")
					}
					if a.Visibility() == authz.ScopeOwn && id != a.ID {
						return errs.E(errs.Forbidden, "Your role sees only your own tasks.")
					}
					q = q.Where("t.assignee_id = ?", id)
				}
				q = visibleTasks(ctx, q)
				if in.Status != "" {
					q = q.Where("t.status = ?", in.Status)
				}
				if in.Customer != "" {
					id, perr := uuid.Parse(in.Customer)
					if perr != nil {
						return errs.Field("query.customer_id", "must be a customer id")
					}
					q = q.Where("t.customer_id = ?", id)
				}
				return q.OrderExpr("t.due_at ASC NULLS LAST, t.id").Limit(in.Limit).Scan(ctx)
			})
			return out, db.Classify(err, "task")
		})
	type taskIDIn struct {
		ID uuid.UUID `path:"id"`
	}
	huma.Register(api, huma.Operation{OperationID: "complete-task", Method: http.MethodPost, Path: "/tasks/{id}/complete", Summary: "Mark a task done",
		Description: "Marks an open task done; a task that is done or canceled answers 409. Needs profiles.write.",
		Responses:   httpx.Refusals(map[int]string{409: "The task is done or canceled already."}),
	},
		func(ctx context.Context, in *taskIDIn) (*taskOut, error) {
			tn, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			t, err := m.ChangeTask(ctx, tn.ID, in.ID, func(t *Task) error {
				if t.Status != "open" {
					return errs.E(errs.Conflict, "This task is already %s.", t.Status)
				}
				now := time.Now().UTC()
				t.Status, t.CompletedAt = "done", &now
				return nil
			})
			if err != nil {
				return nil, err
			}
			return &taskOut{Body: t}, nil
		})
	type snoozeIn struct {
		ID   uuid.UUID `path:"id"`
		Body struct {
			Until time.Time `json:"until" doc:"remind again at this time"`
		} `nameHint:"TaskSnooze"`
	}
	huma.Register(api, huma.Operation{OperationID: "snooze-task", Method: http.MethodPost, Path: "/tasks/{id}/snooze", Summary: "Remind again later",
		Description: "Moves an open task's due time later, so its reminder comes again then. Needs profiles.write.",
		Responses:   httpx.Refusals(map[int]string{409: "The task is done or canceled already."}),
	},
		func(ctx context.Context, in *snoozeIn) (*taskOut, error) {
			tn, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			if !in.Body.Until.After(time.Now()) {
				return nil, errs.Field("body.until", "must be in the future")
			}
			t, err := m.ChangeTask(ctx, tn.ID, in.ID, func(t *Task) error {
				if t.Status != "open" {
					return errs.E(errs.Conflict, "This task is already %s.", t.Status)
				}
				u := in.Body.Until.UTC()
				t.RemindAt = &u
				return nil
			})
			if err != nil {
				return nil, err
			}
			return &taskOut{Body: t}, nil
		})
	type notesOut struct {
		Body struct {
			Items  []Notification `json:"items"`
			Unread int            `json:"unread"`
		} `nameHint:"NotificationList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-notifications", Method: http.MethodGet, Path: "/notifications", Summary: "My notifications, newest first, with the unread count",
		Description: "The caller's own notifications (reminders of tasks falling due), newest first, and how many are unread."},
		func(ctx context.Context, in *struct {
			Limit int `query:"limit" minimum:"1" maximum:"200" default:"50"`
		}) (*notesOut, error) {
			tn, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			me := authz.ActorFrom(ctx).ID
			out := &notesOut{}
			out.Body.Items = []Notification{}
			err = db.InTenant(ctx, m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
				if err := tx.NewRaw(`SELECT id, kind, title, body, link, created_at, read_at FROM notifications WHERE tenant_id = ? AND recipient_id = ?
					ORDER BY created_at DESC, id DESC LIMIT ?`, tn.ID, me, in.Limit).Scan(ctx, &out.Body.Items); err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				return tx.NewRaw("SELECT count(*) FROM notifications WHERE tenant_id = ? AND recipient_id = ? AND read_at IS NULL", tn.ID, me).Scan(ctx, &out.Body.Unread)
			})
			return out, db.Classify(err, "notification")
		})
	huma.Register(api, huma.Operation{OperationID: "read-notification", Method: http.MethodPost, Path: "/notifications/{id}/read", DefaultStatus: 204, Summary: "Mark one notification read",
		Description: "Marks one of the caller's notifications read; reading it twice is harmless."},
		func(ctx context.Context, in *taskIDIn) (*struct{}, error) {
			tn, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			err = db.InTenant(ctx, m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
				res, err := tx.ExecContext(ctx, "UPDATE notifications SET read_at = least(read_at, now()) WHERE tenant_id = ? AND id = ? AND recipient_id = ?", tn.ID, in.ID, authz.ActorFrom(ctx).ID)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					return errs.E(errs.NotFound, "notification not found")
				}
				return nil
			})
			return nil, err
		})
	huma.Register(api, huma.Operation{OperationID: "read-all-notifications", Method: http.MethodPost, Path: "/notifications/read-all", DefaultStatus: 204, Summary: "Mark all my notifications read",
		Description: "Marks every unread notification of the caller read."},
		func(ctx context.Context, _ *struct{}) (*struct{}, error) {
			tn, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			return nil, db.InTenant(ctx, m.d.DB, tn.ID, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE notifications SET read_at = now() WHERE tenant_id = ? AND recipient_id = ? AND read_at IS NULL", tn.ID, authz.ActorFrom(ctx).ID)
				return err
			})
		})
}

// Jobs declares the module's task handlers.
func (m *Module) Jobs() []jobs.Handler {
	return []jobs.Handler{
		{Type: TypeRemind, Queue: jobs.QueueCritical, Timeout: 30 * time.Second, Run: m.deliverReminder},
	}
}
