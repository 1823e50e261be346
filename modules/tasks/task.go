package tasks

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// EntityCustomers is the entity of customer records (modules/profiles); the
// API's customer_id is shorthand for a link to one.
const EntityCustomers = "customers"

// Task is a follow-up.
type Task struct {
	bun.BaseModel `bun:"table:tasks,alias:t"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	Title         string     `bun:"title" json:"title"`
	Notes         string     `bun:"notes" json:"notes"`
	Entity        *string    `bun:"entity" json:"entity,omitempty" doc:"the entity of the record the task is about, such as customers"`
	RecordID      *uuid.UUID `bun:"record_id,type:uuid" json:"record_id,omitempty" doc:"the record the task is about"`
	CustomerID    *uuid.UUID `bun:"-" json:"customer_id,omitempty" doc:"record_id when the record is a customer"`
	AssigneeID    uuid.UUID  `bun:"assignee_id,type:uuid" json:"assignee_id"`
	Status        string     `bun:"status" json:"status" enum:"open,done,canceled"`
	DueAt         *time.Time `bun:"due_at" json:"due_at,omitempty"`
	RemindAt      *time.Time `bun:"remind_at" json:"remind_at,omitempty"`
	RemindedAt    *time.Time `bun:"reminded_at" json:"-"` // the remind_at last delivered
	CreatedBy     *uuid.UUID `bun:"created_by,type:uuid" json:"created_by,omitempty"`
	CompletedAt   *time.Time `bun:"completed_at" json:"completed_at,omitempty"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at" json:"updated_at"`
}

// fill sets the derived customer_id of a task about a customer.
func (t *Task) fill() *Task {
	t.CustomerID = nil
	if t.Entity != nil && *t.Entity == EntityCustomers {
		t.CustomerID = t.RecordID
	}
	return t
}

// TaskInput creates a task.
type TaskInput struct {
	Title      string     `json:"title" minLength:"1" maxLength:"300"`
	Notes      string     `json:"notes,omitempty" maxLength:"5000"`
	Entity     string     `json:"entity,omitempty" maxLength:"40" doc:"the entity of the record the task is about, such as customers; with record_id"`
	RecordID   *uuid.UUID `json:"record_id,omitempty" doc:"the record the task is about; with entity"`
	CustomerID *uuid.UUID `json:"customer_id,omitempty" doc:"shorthand for entity customers and this record_id"`
	AssigneeID *uuid.UUID `json:"assignee_id,omitempty" doc:"default: the caller"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	RemindAt   *time.Time `json:"remind_at,omitempty" doc:"when to remind the assignee (in the app, and by email if they chose it)"`
}
