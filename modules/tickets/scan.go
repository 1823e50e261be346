package tickets

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
)

// ticketColumns are the columns of a Ticket as bun selects them for the
// model, in its field order, which scanTicket reads.
var ticketColumns = []string{"tenant_id", "id", "number", "subject", "description", "requester_id", "channel", "type", "priority", "status",
	"assignee_id", "team_id", "tags", "custom", "version", "message_count", "first_responded_at", "solved_at", "closed_at", "sla_policy_id",
	"first_response_warn_at", "first_response_due_at", "next_response_started_at", "next_response_warn_at", "next_response_due_at",
	"next_response_cycle", "resolution_warn_at", "resolution_due_at", "sla_due_at", "sla_paused_seconds", "sla_paused_business_seconds",
	"sla_paused_at", "csat_rating", "csat_comment", "csat_rated_at", "merged_into_id", "created_by", "created_at", "updated_at"}

// readTickets runs a list query built on the Ticket model and reads its rows
// by hand: a page of fifty tickets of 39 columns scanned through bun's
// reflection cost more than the query (docs/benchmarks.md, the tickets
// benchmark). The columns are checked against ticketColumns once per page,
// so a field added to Ticket cannot shift the values read.
func readTickets(ctx context.Context, q *bun.SelectQuery, capacity int) ([]Ticket, error) {
	out := make([]Ticket, 0, capacity)
	checked := false
	err := db.ReadRows(ctx, q, func(rows pgx.Rows) error {
		if !checked {
			fds := rows.FieldDescriptions()
			if len(fds) != len(ticketColumns) {
				return fmt.Errorf("tickets: the list selects %d columns, the reader knows %d", len(fds), len(ticketColumns))
			}
			for i, fd := range fds {
				if fd.Name != ticketColumns[i] {
					return fmt.Errorf("tickets: column %d is %s, the reader expects %s", i, fd.Name, ticketColumns[i])
				}
			}
			checked = true
		}
		out = append(out, Ticket{})
		return scanTicket(rows, &out[len(out)-1])
	})
	return out, err
}

func scanTicket(rows pgx.Rows, t *Ticket) error {
	var custom []byte
	r := db.NewTextRow(rows)
	r.UUID(&t.TenantID)
	r.UUID(&t.ID)
	r.Int64(&t.Number)
	r.String(&t.Subject)
	r.String(&t.Description)
	r.UUID(&t.RequesterID)
	r.String(&t.Channel)
	r.String(&t.Type)
	r.String(&t.Priority)
	r.String(&t.Status)
	r.NullUUID(&t.AssigneeID)
	r.NullUUID(&t.TeamID)
	r.StringArray(&t.Tags)
	r.JSON(&custom)
	r.Int(&t.Version)
	r.Int(&t.MessageCount)
	r.NullTime(&t.FirstRespondedAt)
	r.NullTime(&t.SolvedAt)
	r.NullTime(&t.ClosedAt)
	r.NullUUID(&t.SLAPolicyID)
	r.NullTime(&t.FirstResponseWarnAt)
	r.NullTime(&t.FirstResponseDueAt)
	r.NullTime(&t.NextResponseStartedAt)
	r.NullTime(&t.NextResponseWarnAt)
	r.NullTime(&t.NextResponseDueAt)
	r.Int(&t.NextResponseCycle)
	r.NullTime(&t.ResolutionWarnAt)
	r.NullTime(&t.ResolutionDueAt)
	r.NullTime(&t.SLADueAt)
	r.Int64(&t.SLAPausedSeconds)
	r.Int64(&t.SLAPausedBusinessSeconds)
	r.NullTime(&t.SLAPausedAt)
	r.NullInt(&t.CSATRating)
	r.NullString(&t.CSATComment)
	r.NullTime(&t.CSATRatedAt)
	r.NullUUID(&t.MergedIntoID)
	r.NullUUID(&t.CreatedBy)
	r.Time(&t.CreatedAt)
	r.Time(&t.UpdatedAt)
	if err := r.Err(); err != nil {
		return fmt.Errorf("tickets: scan ticket: %w", err)
	}
	if custom != nil {
		if err := json.Unmarshal(custom, &t.Custom); err != nil {
			return fmt.Errorf("tickets: custom fields of ticket %s: %w", t.ID, err)
		}
	}
	return nil
}
