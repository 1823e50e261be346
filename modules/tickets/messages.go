package tickets

import (
	"context"
	"database/sql"
	"encoding/json"
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
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/page"
)

// TypeMailReply is the job that emails one public reply to the requester.
const TypeMailReply = "tickets:mail-reply"

type mailPayload struct {
	Message uuid.UUID `json:"message"`
}

// AddMessage adds a public reply or an internal note to a ticket's
// conversation, at the next place in its order, and may change the status
// with it under the rules. The first public reply is the ticket's first
// response; a reply to a new ticket opens it unless another status is given.
// A public reply's email to the requester is a job recorded in the same
// transaction, so it goes out exactly when the reply exists.
func (m *Module) AddMessage(ctx context.Context, tenant, id uuid.UUID, in MessageInput) (*Message, *Ticket, error) {
	if err := in.check(); err != nil {
		return nil, nil, err
	}
	return m.addMessage(ctx, tenant, id, in, nil)
}

// check trims the body and refuses a message that is no reply or note, or
// has no body.
func (in *MessageInput) check() error {
	in.Body = strings.TrimSpace(in.Body)
	switch {
	case in.Kind != "reply" && in.Kind != "note":
		return errs.Field("body.kind", "must be reply or note")
	case in.Body == "" || len([]rune(in.Body)) > 50000:
		return errs.Field("body.body", "is required, at most 50000 characters")
	}
	return nil
}

// addMessage adds a checked message with the rows of its stored files.
func (m *Module) addMessage(ctx context.Context, tenant, id uuid.UUID, in MessageInput, files []stagedFile) (*Message, *Ticket, error) {
	var msg *Message
	t, err := m.ticketTx(ctx, tenant, PermWrite, func(ctx context.Context, tx bun.Tx) (*Ticket, error) {
		t, err := scopedTicket(ctx, tx, tenant, id, true)
		if err != nil {
			return nil, err
		}
		if t.Status == "closed" {
			return nil, errs.E(errs.Conflict, "A closed ticket is final; open a new ticket for a new request.")
		}
		before := t.Status
		status := in.Status
		if status == "" && in.Kind == "reply" && t.Status == "new" {
			status = "open"
		}
		if status != "" && status != t.Status {
			if err := m.setStatus(ctx, tx, t, status, "body.status"); err != nil {
				return nil, err
			}
			t.Version++
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		if in.Kind == "reply" && t.FirstRespondedAt == nil {
			t.FirstRespondedAt = &now
		}
		if in.Kind == "reply" && t.NextResponseDueAt != nil {
			// The requester who came back has their answer.
			if now.After(*t.NextResponseDueAt) {
				if err := recordBreach(ctx, tx, t, MetricNextResponse, t.NextResponseCycle, *t.NextResponseDueAt); err != nil {
					return nil, err
				}
			}
			t.NextResponseStartedAt, t.NextResponseWarnAt, t.NextResponseDueAt = nil, nil, nil
		}
		t.MessageCount++
		msg = &Message{TenantID: tenant, ID: uuid.New(), TicketID: id, Seq: t.MessageCount, Kind: in.Kind, Body: in.Body, AuthorID: authz.RequesterID(ctx)}
		if in.Kind == "reply" && m.d.Jobs != nil && m.d.Mail != nil {
			pending := "pending"
			msg.EmailState = &pending
		}
		if _, err := tx.NewUpdate().Model(t).Column(append([]string{"status", "solved_at", "closed_at", "version", "message_count", "first_responded_at"}, slaColumns...)...).
			Set("updated_at = now()").WherePK().Returning("updated_at").Exec(ctx); err != nil {
			return nil, err
		}
		if _, err := tx.NewInsert().Model(msg).ExcludeColumn("created_at", "emailed_at").Returning("created_at").Exec(ctx); err != nil {
			return nil, err
		}
		if msg.Attachments, err = insertAttachments(ctx, tx, id, &msg.ID, files); err != nil {
			return nil, err
		}
		if in.Kind == "reply" || t.Status != before {
			if err := m.syncAlarms(ctx, tx, t); err != nil {
				return nil, err
			}
		}
		if msg.EmailState != nil {
			if _, err := m.d.Jobs.Enqueue(ctx, tenant, jobs.Spec{Type: TypeMailReply, Queue: jobs.QueueDefault,
				Payload: mailPayload{Message: msg.ID}, DedupeKey: "mail-reply:" + msg.ID.String()}); err != nil {
				return nil, err
			}
		}
		// The body is the conversation itself, read where it is kept; the
		// audit row says who added what, and where it is.
		if err := audit.Record(ctx, tx, audit.Entry{Action: "ticket." + in.Kind, Entity: "ticket", EntityID: id.String(),
			Before: map[string]any{"status": before}, After: map[string]any{"status": t.Status, "message": msg.ID.String(), "seq": msg.Seq, "attachments": attachmentNames(msg.Attachments)}}); err != nil {
			return nil, err
		}
		m.publish(ctx, "ticket."+map[string]string{"reply": "replied", "note": "noted"}[in.Kind], id)
		if t.Status != before {
			m.publish(ctx, "ticket.status_changed", id)
		}
		return t, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return msg, t, nil
}

// MessageFilter pages a conversation in its order.
type MessageFilter struct {
	Kind   string // reply or note; empty: both
	Cursor string
	Limit  int
}

// messageAfter is the position in a conversation a cursor holds.
type messageAfter struct {
	Seq int `json:"s"`
}

// ListMessages returns one page of a ticket's conversation, oldest first.
func (m *Module) ListMessages(ctx context.Context, tenant, id uuid.UUID, f MessageFilter) ([]Message, string, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	after, err := page.Start[messageAfter](f.Cursor)
	if err != nil {
		return nil, "", err
	}
	out := []Message{}
	err = db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := scopedTicket(ctx, tx, tenant, id, false); err != nil {
			return err
		}
		q := tx.NewSelect().Model(&out).Where("m.tenant_id = ? AND m.ticket_id = ?", tenant, id)
		if f.Kind != "" {
			q = q.Where("m.kind = ?", f.Kind)
		}
		if after != nil {
			q = q.Where("m.seq > ?", after.Seq)
		}
		if err := q.OrderExpr("m.seq").Limit(f.Limit + 1).Scan(ctx); err != nil {
			return err
		}
		return messageAttachments(ctx, tx, tenant, out)
	})
	if err != nil {
		return nil, "", db.Classify(err, "ticket")
	}
	out, next := page.Cut(out, f.Limit, func(last Message) any { return messageAfter{Seq: last.Seq} })
	return out, next, nil
}

// mailReply emails one public reply to the requester, in the job's
// transaction: the reply is marked sent there and the mail goes out last, so
// a failed send rolls the mark back and the job's retry sends it again. A
// reply already sent (a repeated job) sends nothing. A requester without an
// email address is marked no_address.
func (m *Module) mailReply(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
	var p mailPayload
	if err := j.Decode(&p); err != nil || p.Message == uuid.Nil {
		return errs.E(errs.Invalid, "malformed reply mail payload")
	}
	var r struct {
		Body    string    `bun:"body"`
		State   *string   `bun:"email_state"`
		Number  int64     `bun:"number"`
		Subject string    `bun:"subject"`
		Who     uuid.UUID `bun:"requester_id"`
	}
	err := tx.NewRaw(`SELECT m.body, m.email_state, t.number, t.subject, t.requester_id FROM ticket_messages m
		JOIN tickets t ON t.tenant_id = m.tenant_id AND t.id = m.ticket_id
		WHERE m.tenant_id = ? AND m.id = ? FOR UPDATE OF m`, j.TenantID, p.Message).Scan(ctx, &r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the ticket was removed meanwhile: nobody to write to
	}
	if err != nil {
		return err
	}
	if r.State == nil || *r.State != "pending" {
		return nil
	}
	name, email := "", ""
	if m.d.People != nil {
		// Writing to the requester is the desk's duty once the reply exists,
		// whoever wrote it and whatever customers they may see.
		if name, email, err = m.d.People.Address(authz.AsSystem(ctx), j.TenantID, r.Who); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	state := "sent"
	if email == "" || m.d.Mail == nil {
		state = "no_address"
	}
	if _, err := tx.ExecContext(ctx, "UPDATE ticket_messages SET email_state = ?, emailed_at = CASE WHEN ? = 'sent' THEN now() END WHERE tenant_id = ? AND id = ?",
		state, state, j.TenantID, p.Message); err != nil {
		return err
	}
	if state != "sent" {
		return nil
	}
	greeting := "Hello,"
	if name != "" {
		greeting = "Hello " + name + ","
	}
	text := fmt.Sprintf("%s\n\n%s\n\n-- \nTicket #%d: %s\n工单 #%d：%s",
		greeting, r.Body, r.Number, r.Subject, r.Number, r.Subject)
	return m.d.Mail.Send(ctx, identity.Mail{To: email, Subject: fmt.Sprintf("[#%d] %s", r.Number, r.Subject), Text: text})
}

// Jobs declares the module's task handlers.
func (m *Module) Jobs() []jobs.Handler {
	return []jobs.Handler{
		{Type: TypeMailReply, Queue: jobs.QueueDefault, Timeout: 30 * time.Second, Run: m.mailReply},
		{Type: TypeSLAAlarms, Queue: jobs.QueueCritical, Timeout: 60 * time.Second, Run: m.deliverAlarms},
		{Type: TypeMailCSAT, Queue: jobs.QueueDefault, Timeout: 30 * time.Second, Run: m.mailCSAT},
		{Type: TypeMailReceipt, Queue: jobs.QueueDefault, Timeout: 30 * time.Second, Run: m.mailReceipt},
		{Type: TypeSLASweep, Queue: jobs.QueueCritical, Timeout: time.Minute, MaxRetry: 1,
			RunGlobal: func(ctx context.Context, _ json.RawMessage) error {
				_, err := m.SweepOverdueAlarms(ctx, time.Now())
				return err
			}},
	}
}
