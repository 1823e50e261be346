package tasks

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// APITags describes the tag of the task operations.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{{Name: "tasks", Description: "Follow-up tasks on any record (customers today), with reminders."}}
}

// Routes registers the task operations.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	type taskOut struct{ Body *Task }
	huma.Register(api, huma.Operation{OperationID: "create-task", Method: http.MethodPost, Path: "/tasks", DefaultStatus: 201, Summary: "Create a follow-up task",
		Description: "A follow-up task, optionally about a record (entity and record_id, or customer_id for a customer), due at a time, assigned to a member (the caller by default); the assignee is reminded at remind_at. Needs tasks.write, and that you may see the record."},
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
		Entity   string `query:"entity" maxLength:"40" doc:"with record_id: only tasks about this record"`
		Record   string `query:"record_id" format:"uuid" doc:"with entity: only tasks about this record"`
		Customer string `query:"customer_id" format:"uuid" doc:"only tasks about this customer (entity customers)"`
		Limit    int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	}
	type tasksOut struct {
		Body struct {
			Items []Task `json:"items"`
		} `nameHint:"TaskList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-tasks", Method: http.MethodGet, Path: "/tasks", Summary: "List tasks, soonest due first",
		Description: "Open tasks by default, soonest due first: the caller's own, or another member's (assignee), optionally only those about one record. Needs tasks.read."},
		func(ctx context.Context, in *listTasksIn) (*tasksOut, error) {
			tn, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			f := TaskFilter{Status: in.Status, Limit: in.Limit}
			if in.Assignee != "" && in.Assignee != "me" {
				id, perr := uuid.Parse(in.Assignee)
				if perr != nil {
					return nil, errs.Field("query.assignee", "a member id or me")
				}
				f.Assignee = &id
			}
			switch {
			case in.Customer != "":
				id, perr := uuid.Parse(in.Customer)
				if perr != nil {
					return nil, errs.Field("query.customer_id", "must be a customer id")
				}
				f.Entity, f.RecordID = EntityCustomers, &id
			case in.Record != "":
				id, perr := uuid.Parse(in.Record)
				if perr != nil {
					return nil, errs.Field("query.record_id", "must be a record id")
				}
				if in.Entity == "" {
					return nil, errs.Field("query.entity", "is required with record_id")
				}
				f.Entity, f.RecordID = in.Entity, &id
			case in.Entity != "":
				return nil, errs.Field("query.record_id", "is required with entity")
			}
			items, err := m.ListTasks(ctx, tn.ID, f)
			if err != nil {
				return nil, err
			}
			out := &tasksOut{}
			out.Body.Items = items
			return out, nil
		})
	type taskIDIn struct {
		ID uuid.UUID `path:"id"`
	}
	huma.Register(api, huma.Operation{OperationID: "complete-task", Method: http.MethodPost, Path: "/tasks/{id}/complete", Summary: "Mark a task done",
		Description: "Marks an open task done; a task that is done or canceled answers 409. Needs tasks.write.",
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
		Description: "Moves an open task's reminder later, so it comes again then. Needs tasks.write.",
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
}
