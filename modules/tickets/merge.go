package tickets

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
)

// MergeTicket merges ticket from into ticket into, both of the same
// requester and within the actor's scope: from's conversation follows into's
// (in its order, after into's own messages), into gets a note saying so,
// from is closed with a link to into, and whatever other modules keep about
// from (tasks) moves to into. Both tickets are locked in id order, so two
// merges of the same pair cannot deadlock.
func (m *Module) MergeTicket(ctx context.Context, tenant, from, into uuid.UUID) (*Ticket, error) {
	if from == into {
		return nil, errs.Field("body.into_id", "is this ticket itself; name the ticket to merge it into")
	}
	return m.ticketTx(ctx, tenant, PermWrite, func(ctx context.Context, tx bun.Tx) (*Ticket, error) {
		first, second := from, into
		if bytes.Compare(first[:], second[:]) > 0 {
			first, second = second, first
		}
		locked, missing := map[uuid.UUID]*Ticket{}, map[uuid.UUID]error{}
		for _, id := range []uuid.UUID{first, second} {
			t, err := scopedTicket(ctx, tx, tenant, id, true)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return nil, err
			}
			locked[id], missing[id] = t, err
		}
		// The ticket in the path answers first, whichever was locked first.
		if err := missing[from]; err != nil {
			return nil, err
		}
		if missing[into] != nil {
			return nil, errs.Field("body.into_id", "no such ticket, or you may not see it")
		}
		src, dst := locked[from], locked[into]
		switch {
		case src.RequesterID != dst.RequesterID:
			return nil, errs.Field("body.into_id", "belongs to another requester; only tickets of one requester merge")
		case src.Status == "closed":
			return nil, errs.E(errs.Conflict, "Ticket #%d is closed; a closed ticket is final.", src.Number)
		case dst.Status == "closed":
			return nil, errs.E(errs.Conflict, "Ticket #%d is closed; merge into an open ticket.", dst.Number).
				WithFields(errs.FieldError{Location: "body.into_id", Message: "is closed"})
		}
		beforeDst := *dst
		if _, err := tx.ExecContext(ctx, "UPDATE ticket_messages SET ticket_id = ?, seq = seq + ? WHERE tenant_id = ? AND ticket_id = ?",
			into, dst.MessageCount, tenant, from); err != nil {
			return nil, err
		}
		// The files go with the conversation (and the form's files with it).
		if _, err := tx.ExecContext(ctx, "UPDATE ticket_attachments SET ticket_id = ? WHERE tenant_id = ? AND ticket_id = ?", into, tenant, from); err != nil {
			return nil, err
		}
		dst.MessageCount += src.MessageCount + 1
		note := &Message{TenantID: tenant, ID: uuid.New(), TicketID: into, Seq: dst.MessageCount, Kind: "note", AuthorID: authz.RequesterID(ctx),
			Body: fmt.Sprintf("Ticket #%d (%s) was merged into this ticket. 工单 #%d（%s）已合并到此工单。", src.Number, src.Subject, src.Number, src.Subject)}
		if _, err := tx.NewInsert().Model(note).ExcludeColumn("created_at", "emailed_at").Returning("created_at").Exec(ctx); err != nil {
			return nil, err
		}
		if dst.FirstRespondedAt == nil || (src.FirstRespondedAt != nil && src.FirstRespondedAt.Before(*dst.FirstRespondedAt)) {
			dst.FirstRespondedAt = src.FirstRespondedAt
		}
		dst.Version++
		if _, err := tx.NewUpdate().Model(dst).Column("message_count", "first_responded_at", "version").Set("updated_at = now()").
			WherePK().Returning("updated_at").Exec(ctx); err != nil {
			return nil, err
		}
		beforeSrc := *src
		now := time.Now().UTC().Truncate(time.Microsecond)
		fromStatus := src.Status
		src.Status, src.MergedIntoID, src.MessageCount, src.ClosedAt = "closed", &into, 0, &now
		if src.SolvedAt == nil {
			src.SolvedAt = &now
		}
		if err := m.moveSLAClock(ctx, tx, src, fromStatus, now); err != nil {
			return nil, err
		}
		src.Version++
		if _, err := tx.NewUpdate().Model(src).Column(append([]string{"status", "merged_into_id", "message_count", "solved_at", "closed_at", "version"}, slaColumns...)...).
			Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
			return nil, err
		}
		// The merged ticket's alarms go (a merge is no resolution, met or
		// missed); the ticket merged into may have met its first response.
		if _, err := tx.ExecContext(ctx, "DELETE FROM ticket_sla_alarms WHERE tenant_id = ? AND ticket_id = ? AND fired_at IS NULL", tenant, from); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE tickets SET sla_due_at = NULL WHERE tenant_id = ? AND id = ?", tenant, from); err != nil {
			return nil, err
		}
		if err := m.syncAlarms(ctx, tx, dst); err != nil {
			return nil, err
		}
		if err := m.d.Records.Merged(ctx, tx, tenant, EntityTickets, []uuid.UUID{from}, into); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "ticket.merge", Entity: "ticket", EntityID: from.String(),
			Before: map[string]any{"status": beforeSrc.Status}, After: map[string]any{"status": src.Status, "merged_into": into.String()}}); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "ticket.merge_into", Entity: "ticket", EntityID: into.String(),
			Before: map[string]any{"message_count": beforeDst.MessageCount}, After: map[string]any{"message_count": dst.MessageCount, "merged_from": from.String()}}); err != nil {
			return nil, err
		}
		m.publish(ctx, "ticket.merged", from)
		m.publish(ctx, "ticket.updated", into)
		return dst, nil
	})
}
