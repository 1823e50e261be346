package records

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// TimelineEntry is something another module keeps about a customer, shown
// on the customer's timeline beside its interactions: a deal created, moved
// to a stage, won or lost.
type TimelineEntry struct {
	ID       uuid.UUID // unique across the timeline (a history row's id)
	At       time.Time
	Kind     string // "deal"
	Summary  string // in English and Chinese
	ActorID  *uuid.UUID
	Amount   *string // an exact decimal
	Currency *string
	Link     string // the record in the web app, e.g. /deals?deal=<id>
}

// TimelineQuery is one page of a customer's timeline: entries at From or
// later and before To (zero: unbounded), strictly before (BeforeAt,
// BeforeID) in the timeline's order, newest first, at most Limit.
type TimelineQuery struct {
	From, To time.Time
	BeforeAt time.Time // zero: from the newest
	BeforeID uuid.UUID
	Limit    int
}

// Timeline is the module capability that adds entries to customers'
// timelines. The customers module merges them with its interactions; cmd
// wires it through the registry, so neither imports the other.
type Timeline interface {
	// CustomerTimeline lists, in the caller's transaction and newest first
	// by (At, ID), the entries about customer the actor in ctx may see:
	// none when it may not read the module's records.
	CustomerTimeline(ctx context.Context, tx bun.Tx, tenant, customer uuid.UUID, q TimelineQuery) ([]TimelineEntry, error)
}

// AddTimeline adds a module whose entries appear on customers' timelines.
func (r *Registry) AddTimeline(t Timeline) {
	r.mu.Lock()
	r.timelines = append(r.timelines, t)
	r.mu.Unlock()
}

// Timelines lists the modules that add to customers' timelines.
func (r *Registry) Timelines() []Timeline {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]Timeline(nil), r.timelines...)
}
