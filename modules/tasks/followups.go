package tasks

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/records"
)

var _ records.FollowUps = (*Module)(nil)
var _ records.Dependent = (*Module)(nil)

// AddFollowUps implements records.FollowUps: it stores tasks another module
// hands over (its demo data) in that module's transaction, in one statement.
// They have no reminder.
func (m *Module) AddFollowUps(ctx context.Context, tx bun.Tx, tenant uuid.UUID, fs []records.FollowUp) error {
	if len(fs) == 0 {
		return nil
	}
	rows := make([]Task, 0, len(fs))
	for _, f := range fs {
		id := f.ID
		if id == uuid.Nil {
			id = uuid.New()
		}
		t := Task{TenantID: tenant, ID: id, Title: f.Title, AssigneeID: f.Assignee, Status: "open", DueAt: f.DueAt}
		if f.Entity != "" {
			e, id := f.Entity, f.RecordID
			t.Entity, t.RecordID = &e, &id
		}
		if f.CreatedBy != uuid.Nil {
			by := f.CreatedBy
			t.CreatedBy = &by
		}
		if f.Done {
			t.Status, t.CompletedAt = "done", f.CompletedAt
		}
		rows = append(rows, t)
	}
	_, err := tx.NewInsert().Model(&rows).ExcludeColumn("created_at", "updated_at").Exec(ctx)
	return err
}

// CountOpenFollowUps implements records.FollowUps.
func (m *Module) CountOpenFollowUps(ctx context.Context, tx bun.Tx, tenant uuid.UUID, assignee *uuid.UUID) (open, overdue int64, err error) {
	q := tx.NewSelect().TableExpr("tasks AS t").ColumnExpr("count(*), count(*) FILTER (WHERE t.due_at < now())").
		Where("t.tenant_id = ? AND t.status = 'open'", tenant)
	if assignee != nil {
		q = q.Where("t.assignee_id = ?", *assignee)
	}
	err = q.Scan(ctx, &open, &overdue)
	return open, overdue, err
}
