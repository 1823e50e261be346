// Package tasks is follow-up work about any record: a task is assigned to a
// member, may link to a record of any entity (a customer today, a deal or a
// ticket later) and may remind its assignee when it falls due. It learns about
// records only through platform/records, where each module registers how to
// check that one of its records exists and is visible, and it notifies through
// platform/notify; no other module imports it.
package tasks

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/notify"
	"github.com/clientele-crm/clientele/platform/records"
)

// Permissions of the module. Linking a task to a record also needs that the
// actor may see the record (the entity's own read permission and scope).
const (
	PermRead  = "tasks.read"
	PermWrite = "tasks.write"
)

// Enqueuer records background jobs (platform/jobs.Client).
type Enqueuer interface {
	Enqueue(ctx context.Context, tenant uuid.UUID, s jobs.Spec) (*jobs.Job, error)
}

// Deps are what the module needs, built in cmd.
type Deps struct {
	DB      *bun.DB
	Jobs    Enqueuer          // reminders; nil disables them
	Members authz.Directory   // checks assignees; nil skips the check (tests)
	Notify  notify.Notifier   // where reminders go; nil: reminders do nothing
	Records *records.Registry // the entities tasks may link to
	Events  *events.Bus       // task.created, task.updated, task.completed; nil: none
	Log     *slog.Logger
}

// Module is the tasks module.
type Module struct{ d Deps }

// New builds the module.
func New(d Deps) *Module {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Records == nil {
		d.Records = records.NewRegistry()
	}
	return &Module{d: d}
}

// Name is the namespace of the module's jobs and permissions.
func (m *Module) Name() string { return "tasks" }

// Permissions declares what roles may be granted.
func (m *Module) Permissions() []authz.Permission {
	return []authz.Permission{
		{Key: PermRead, Label: "See tasks", LabelZH: "查看任务"},
		{Key: PermWrite, Label: "Create, complete and snooze tasks", LabelZH: "创建、完成和推迟任务"},
	}
}
