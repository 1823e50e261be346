// Package events is the in-process event bus. Events are published after the
// tenant transaction that caused them commits, never for work that rolled back.
// Subscribers should be quick (enqueue a job for anything slow); they feed webhooks
// and let modules react to each other without importing each other.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/db"
)

// Event is something that happened in a tenant: "customer.merged".
type Event struct {
	// ID names this event everywhere it goes (a webhook delivery carries it);
	// Publish sets it when it is zero.
	ID       uuid.UUID
	Topic    string
	TenantID uuid.UUID
	EntityID string
	Payload  any
	At       time.Time
}

// Handler reacts to an event. Its ctx carries no transaction.
type Handler func(ctx context.Context, e Event) error

type sub struct {
	name string
	h    Handler
}

// Recorder writes an event down inside the transaction that caused it, so the
// record exists exactly when the change does (an outbox). It runs during
// Publish, on the caller's goroutine, with the caller's ctx, and should queue
// its write with db.Defer: a write that fails then rolls the whole transaction
// back. An error it returns at once is logged; it cannot undo the caller's work.
type Recorder func(ctx context.Context, e Event) error

type recorder struct {
	name string
	r    Recorder
}

// Bus delivers events to subscribers by topic; "*" subscribes to every topic.
type Bus struct {
	log  *slog.Logger
	mu   sync.RWMutex
	subs map[string][]sub
	recs []recorder
}

// New returns an empty bus.
func New(log *slog.Logger) *Bus {
	if log == nil {
		log = slog.Default()
	}
	return &Bus{log: log, subs: map[string][]sub{}}
}

// Subscribe registers h for topic under a name used in logs.
func (b *Bus) Subscribe(topic, name string, h Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[topic] = append(b.subs[topic], sub{name: name, h: h})
}

// Record registers r for every event, inside the publishing transaction.
func (b *Bus) Record(name string, r Recorder) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recs = append(b.recs, recorder{name: name, r: r})
}

// Publish is the one way to publish an event: it delivers e once the
// transaction in ctx commits (at once outside one), never for work that rolled
// back. Recorders run first, inside that transaction. A failing or panicking
// subscriber is logged and does not stop the others. On a nil Bus (a module built without events) it does nothing, so
// callers need no check of their own.
func (b *Bus) Publish(ctx context.Context, e Event) {
	if b == nil {
		return
	}
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	if e.TenantID == uuid.Nil {
		if t, ok := db.TenantOf(ctx); ok {
			e.TenantID = t
		}
	}
	if e.ID == uuid.Nil {
		e.ID = uuid.New()
	}
	b.mu.RLock()
	recs := b.recs
	b.mu.RUnlock()
	for _, r := range recs {
		if err := r.r(ctx, e); err != nil {
			b.log.ErrorContext(ctx, "event recorder failed", "topic", e.Topic, "recorder", r.name, "error", err.Error())
		}
	}
	db.AfterCommit(ctx, func(ctx context.Context) { b.deliver(ctx, e) })
}

func (b *Bus) deliver(ctx context.Context, e Event) {
	b.mu.RLock()
	subs := append(append([]sub(nil), b.subs[e.Topic]...), b.subs["*"]...)
	b.mu.RUnlock()
	for _, s := range subs {
		func() {
			defer func() {
				if r := recover(); r != nil {
					b.log.ErrorContext(ctx, "event subscriber panicked", "topic", e.Topic, "subscriber", s.name, "panic", fmt.Sprint(r))
				}
			}()
			if err := s.h(ctx, e); err != nil {
				b.log.ErrorContext(ctx, "event subscriber failed", "topic", e.Topic, "subscriber", s.name, "error", err.Error())
			}
		}()
	}
}

// MergedAway reads the ids a merge event's payload says were merged away
// ("loser_ids"), whatever their Go type: the records a merge took away,
// which readers that keep copies treat as deleted.
func MergedAway(payload any) []string {
	m, ok := payload.(map[string]any)
	if !ok {
		return nil
	}
	raw, err := json.Marshal(m["loser_ids"])
	if err != nil {
		return nil
	}
	var ids []string
	_ = json.Unmarshal(raw, &ids)
	return ids
}
