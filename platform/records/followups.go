package records

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// FollowUp is a task about a record, as a module hands it over to be stored
// (its demo data), without knowing where tasks live.
type FollowUp struct {
	ID          uuid.UUID // zero: a new id; set it to know the task's id after
	Entity      string
	RecordID    uuid.UUID
	Title       string
	Assignee    uuid.UUID
	CreatedBy   uuid.UUID
	DueAt       *time.Time
	Done        bool
	CompletedAt *time.Time
}

// FollowUps is what a module may ask of the tasks, through cmd: store some, and
// count the open ones for an overview. The tasks module implements it.
type FollowUps interface {
	// AddFollowUps stores tasks in tx, the caller's tenant transaction.
	AddFollowUps(ctx context.Context, tx bun.Tx, tenant uuid.UUID, fs []FollowUp) error
	// CountOpenFollowUps counts open tasks and the overdue among them, of one
	// assignee, or of everyone when assignee is nil.
	CountOpenFollowUps(ctx context.Context, tx bun.Tx, tenant uuid.UUID, assignee *uuid.UUID) (open, overdue int64, err error)
}
