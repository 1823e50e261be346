package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/page"
)

// Delivery is one event sent, or to be sent, to one subscription.
type Delivery struct {
	ID             uuid.UUID       `json:"id" bun:"id"`
	SubscriptionID uuid.UUID       `json:"subscription_id" bun:"subscription_id"`
	EventID        uuid.UUID       `json:"event_id" bun:"event_id"`
	EventType      string          `json:"event_type" bun:"event_type"`
	EntityID       string          `json:"entity_id,omitempty" bun:"entity_id"`
	OccurredAt     time.Time       `json:"occurred_at" bun:"occurred_at"`
	Status         string          `json:"status" enum:"pending,sending,succeeded,failed" bun:"status"`
	Sequence       *int64          `json:"sequence,omitempty" bun:"seq"`
	Attempts       int             `json:"attempts" bun:"attempts"`
	NextAttemptAt  *time.Time      `json:"next_attempt_at,omitempty" doc:"when a pending delivery is tried next" bun:"next_attempt_at"`
	LastStatus     *int            `json:"last_status,omitempty" doc:"the HTTP status of the last answer" bun:"last_status"`
	LastError      string          `json:"last_error,omitempty" bun:"last_error"`
	LastLatencyMS  *int            `json:"last_latency_ms,omitempty" bun:"last_latency_ms"`
	LastResponse   string          `json:"last_response,omitempty" doc:"the first KB of the last answer" bun:"last_response"`
	ReplayOf       *uuid.UUID      `json:"replay_of,omitempty" bun:"replay_of"`
	CreatedAt      time.Time       `json:"created_at" bun:"created_at"`
	DeliveredAt    *time.Time      `json:"delivered_at,omitempty" bun:"delivered_at"`
	Body           json.RawMessage `json:"body,omitempty" doc:"the body as sent; only when one delivery is read" bun:"body"`
}

const deliveryColumns = `id, subscription_id, event_id, event_type, entity_id, occurred_at, status, seq, attempts,
	CASE WHEN status = 'pending' THEN next_attempt_at END AS next_attempt_at, last_status, last_error, last_latency_ms, last_response, replay_of, created_at, delivered_at`

// DeliveryFilter narrows the delivery log.
type DeliveryFilter struct {
	Status    string `query:"status" enum:"pending,sending,succeeded,failed" doc:"only deliveries in this state"`
	EventType string `query:"event_type" maxLength:"64"`
	Limit     int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor    string `query:"cursor" maxLength:"200"`
}

type deliveryCursor struct {
	At time.Time `json:"a"`
	ID uuid.UUID `json:"i"`
}

// ListDeliveries is a subscription's delivery log, newest first.
func (m *Module) ListDeliveries(ctx context.Context, tenant, subID uuid.UUID, f DeliveryFilter) ([]Delivery, string, error) {
	after, err := page.Start[deliveryCursor](f.Cursor)
	if err != nil {
		return nil, "", errs.Field("query.cursor", "is not a cursor this list gave out; start again without it")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var rows []Delivery
	err = m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := getSub(ctx, tx, tenant, subID, false); err != nil {
			return err
		}
		q := tx.NewSelect().TableExpr("webhook_deliveries").ColumnExpr(deliveryColumns).
			Where("tenant_id = ? AND subscription_id = ?", tenant, subID).
			OrderExpr("created_at DESC, id DESC").Limit(f.Limit + 1)
		if f.Status != "" {
			q = q.Where("status = ?", f.Status)
		}
		if f.EventType != "" {
			q = q.Where("event_type = ?", f.EventType)
		}
		if after != nil {
			q = q.Where("(created_at, id) < (?, ?)", after.At, after.ID)
		}
		if err := q.Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	rows, next := page.Cut(rows, f.Limit, func(d Delivery) any { return deliveryCursor{At: d.CreatedAt, ID: d.ID} })
	if rows == nil {
		rows = []Delivery{}
	}
	return rows, next, nil
}

// GetDelivery is one delivery with the body it sent.
func (m *Module) GetDelivery(ctx context.Context, tenant, subID, id uuid.UUID) (*Delivery, error) {
	var d Delivery
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT "+deliveryColumns+", body FROM webhook_deliveries WHERE tenant_id = ? AND subscription_id = ? AND id = ?",
			tenant, subID, id).Scan(ctx, &d)
	})
	if errs.Is(err, errs.NotFound) {
		return nil, errs.E(errs.NotFound, "delivery not found")
	}
	return &d, err
}

// Replay sends a delivery again: a new delivery of the same event, with the
// same body (so the same event id and sequence), due now.
func (m *Module) Replay(ctx context.Context, tenant, subID, id uuid.UUID) (*Delivery, error) {
	var newID uuid.UUID
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		s, err := getSub(ctx, tx, tenant, subID, false)
		if err != nil {
			return err
		}
		if !s.Enabled {
			return errs.E(errs.Conflict, "The subscription is switched off. Switch it on, then replay.")
		}
		var d struct {
			Status string `bun:"status"`
			Body   []byte `bun:"body"`
		}
		if err := tx.NewRaw("SELECT status, body FROM webhook_deliveries WHERE tenant_id = ? AND subscription_id = ? AND id = ?", tenant, subID, id).Scan(ctx, &d); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "delivery not found")
			}
			return err
		}
		if d.Body == nil {
			return errs.E(errs.Conflict, "This delivery has not been sent yet; it goes out on its own.")
		}
		newID, err = m.copyDeliveries(ctx, tx, tenant, subID, "id = ?", id)
		return err
	})
	if err != nil {
		return nil, err
	}
	m.kick(ctx, tenant, 0, "replay:"+newID.String())
	return m.GetDelivery(ctx, tenant, subID, newID)
}

// ReplayInput chooses deliveries to send again in bulk.
type ReplayInput struct {
	Status string     `json:"status,omitempty" enum:"failed,succeeded" default:"failed" doc:"replay the deliveries in this state"`
	Since  time.Time  `json:"since" doc:"created at or after"`
	Until  *time.Time `json:"until,omitempty" doc:"created before; absent: now"`
}

// MaxBulkReplay is how many deliveries one bulk replay may queue.
const MaxBulkReplay = 10000

// ReplayMany queues again every delivery of a subscription in a state over a
// time range, oldest first, up to MaxBulkReplay; it returns how many.
func (m *Module) ReplayMany(ctx context.Context, tenant, subID uuid.UUID, in ReplayInput) (int, error) {
	if in.Status == "" {
		in.Status = "failed"
	}
	until := time.Now()
	if in.Until != nil {
		until = *in.Until
	}
	if !in.Since.Before(until) {
		return 0, errs.Field("body.since", "must be before until")
	}
	var n int
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		s, err := getSub(ctx, tx, tenant, subID, false)
		if err != nil {
			return err
		}
		if !s.Enabled {
			return errs.E(errs.Conflict, "The subscription is switched off. Switch it on, then replay.")
		}
		if err := tx.NewRaw(`SELECT count(*) FROM webhook_deliveries WHERE tenant_id = ? AND subscription_id = ? AND status = ?
			AND body IS NOT NULL AND created_at >= ? AND created_at < ?`, tenant, subID, in.Status, in.Since, until).Scan(ctx, &n); err != nil {
			return err
		}
		if n > MaxBulkReplay {
			return errs.E(errs.Invalid, "%d deliveries match; one replay may send at most %d. Narrow since and until.", n, MaxBulkReplay).
				WithFields(errs.FieldError{Location: "body.since", Message: "covers too many deliveries"})
		}
		if n == 0 {
			return nil
		}
		_, err = m.copyDeliveries(ctx, tx, tenant, subID, "status = ? AND body IS NOT NULL AND created_at >= ? AND created_at < ?", in.Status, in.Since, until)
		return err
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		m.kick(ctx, tenant, 0, "replay:"+uuid.NewString())
	}
	return n, nil
}

// copyDeliveries queues copies of the subscription's deliveries matching
// where (with args), and returns the id of the last copy.
func (m *Module) copyDeliveries(ctx context.Context, tx bun.Tx, tenant, subID uuid.UUID, where string, args ...any) (uuid.UUID, error) {
	var ids []uuid.UUID
	all := append([]any{tenant, subID}, args...)
	err := tx.NewRaw(`INSERT INTO webhook_deliveries (tenant_id, id, subscription_id, event_id, event_type, entity_id, occurred_at, seq, body, replay_of)
		SELECT tenant_id, gen_random_uuid(), subscription_id, event_id, event_type, entity_id, occurred_at, seq, body, id
		FROM webhook_deliveries WHERE tenant_id = ? AND subscription_id = ? AND `+where+` ORDER BY created_at, id
		RETURNING id`, all...).Scan(ctx, &ids)
	if err != nil {
		return uuid.Nil, err
	}
	if len(ids) == 0 {
		return uuid.Nil, errs.E(errs.NotFound, "delivery not found")
	}
	return ids[len(ids)-1], nil
}

// SendTest queues a webhook.test event to one subscription.
func (m *Module) SendTest(ctx context.Context, tenant, subID uuid.UUID) (*Delivery, error) {
	id := uuid.New()
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		s, err := getSub(ctx, tx, tenant, subID, false)
		if err != nil {
			return err
		}
		if !s.Enabled {
			return errs.E(errs.Conflict, "The subscription is switched off. Switch it on to send a test event.")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (tenant_id, id, subscription_id, event_id, event_type, occurred_at)
			VALUES (?, ?, ?, ?, ?, now())`, tenant, id, subID, uuid.New(), TestEvent)
		return err
	})
	if err != nil {
		return nil, err
	}
	m.kick(ctx, tenant, 0, "test:"+id.String())
	return m.GetDelivery(ctx, tenant, subID, id)
}
