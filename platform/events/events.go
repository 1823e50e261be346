// Package events is the in-process event bus. Events are published after the
// tenant transaction that caused them commits, never for work that rolled back.
// Subscribers should be quick (enqueue a job for anything slow); they feed webhooks
// and let modules react to each other without importing each other.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/db"
)

// Event is something that happened in a tenant: "customer.merged".
type Event struct {
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

// Bus delivers events to subscribers by topic; "*" subscribes to every topic.
type Bus struct {
	log  *slog.Logger
	mu   sync.RWMutex
	subs map[string][]sub
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

// Publish is the one way to publish an event: it delivers e once the
// transaction in ctx commits (at once outside one), never for work that rolled
// back. A failing or panicking subscriber is logged and does not stop the
// others. On a nil Bus (a module built without events) it does nothing, so
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
