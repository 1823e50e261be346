// Package records lets a module's records be the subject of another module's
// rows without either importing the other. The owner of an entity registers a
// Kind: how to check that a record exists and that the actor may see it. A module
// that keeps rows about records of any entity (tasks about a customer, later a
// deal or a ticket) is a Dependent: the owner tells the registry, inside its own
// transaction, when records are removed for good or merged, and each dependent
// follows in that same transaction. That is the cascade a foreign key gave when
// the rows pointed at one table; a link to any entity cannot have one.
package records

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
)

// Kind is one entity whose records others may link to.
type Kind struct {
	Entity string // "customers": the entity name fields and transfer use too
	// ReadPerm is the permission that reads the entity's records.
	ReadPerm string
	// Visible returns nil when the record exists (and is not deleted) and the
	// actor in ctx may see it, an errs.NotFound error when it does not or they
	// may not, and any other error as is. It runs in the caller's tenant
	// transaction and may lock the record against a concurrent removal.
	Visible func(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID) error
}

// Provider is the module capability that declares linkable entities.
type Provider interface{ RecordKinds() []Kind }

// Dependent keeps rows about other modules' records and follows them.
type Dependent interface {
	// RecordsRemoved drops what is about ids, which are gone for good.
	RecordsRemoved(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, ids []uuid.UUID) error
	// RecordsMerged moves what is about from onto into.
	RecordsMerged(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, from []uuid.UUID, into uuid.UUID) error
}

// Registry holds the kinds and dependents of the wired modules. It is filled
// once in cmd, after every module is built, and only read afterwards.
type Registry struct {
	mu        sync.RWMutex
	kinds     map[string]Kind
	deps      []Dependent
	timelines []Timeline
	signals   []Signal
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{kinds: map[string]Kind{}} }

// Collect registers the kinds, dependents, timelines and customer signals of
// every module that has some.
func Collect[M any](r *Registry, mods []M) error {
	for _, m := range mods {
		if p, ok := any(m).(Provider); ok {
			for _, k := range p.RecordKinds() {
				if err := r.Register(k); err != nil {
					return err
				}
			}
		}
		if d, ok := any(m).(Dependent); ok {
			r.AddDependent(d)
		}
		if t, ok := any(m).(Timeline); ok {
			r.AddTimeline(t)
		}
		if s, ok := any(m).(Signaller); ok {
			r.AddSignals(s.CustomerSignals()...)
		}
	}
	return nil
}

// Register adds a kind; an entity registered twice is a wiring mistake.
func (r *Registry) Register(k Kind) error {
	if k.Entity == "" || k.Visible == nil {
		return fmt.Errorf("records: kind %q needs an entity and a Visible check", k.Entity)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[k.Entity]; dup {
		return fmt.Errorf("records: entity %q registered twice", k.Entity)
	}
	r.kinds[k.Entity] = k
	return nil
}

// AddDependent adds a module that follows removals and merges.
func (r *Registry) AddDependent(d Dependent) {
	r.mu.Lock()
	r.deps = append(r.deps, d)
	r.mu.Unlock()
}

// Entities lists the registered entities, sorted.
func (r *Registry) Entities() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.kinds))
	for e := range r.kinds {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// Kind returns the registered kind of an entity.
func (r *Registry) Kind(entity string) (Kind, bool) {
	if r == nil {
		return Kind{}, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[entity]
	return k, ok
}

// Check answers whether the record exists and the actor may see it: nil, or an
// errs.Invalid error naming location when the entity is unknown, or NotFound.
func (r *Registry) Check(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, id uuid.UUID, location string) error {
	k, ok := r.Kind(entity)
	if !ok {
		return errs.Field(location, fmt.Sprintf("unknown entity %q", entity))
	}
	return k.Visible(ctx, tx, tenant, id)
}

// Removed tells every dependent that records of entity are gone for good. The
// owner calls it in the transaction that deletes them.
func (r *Registry) Removed(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, ids []uuid.UUID) error {
	if r == nil || len(ids) == 0 {
		return nil
	}
	return r.tell("removed "+entity, func(d Dependent) error { return d.RecordsRemoved(ctx, tx, tenant, entity, ids) })
}

// Merged tells every dependent that records from were merged into into. The
// owner calls it in the transaction of the merge.
func (r *Registry) Merged(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, from []uuid.UUID, into uuid.UUID) error {
	if r == nil || len(from) == 0 {
		return nil
	}
	return r.tell("merged "+entity, func(d Dependent) error { return d.RecordsMerged(ctx, tx, tenant, entity, from, into) })
}

// tell calls fn for every dependent in turn and stops at the first error,
// which it wraps with what happened.
func (r *Registry) tell(what string, fn func(Dependent) error) error {
	r.mu.RLock()
	deps := r.deps
	r.mu.RUnlock()
	for _, d := range deps {
		if err := fn(d); err != nil {
			return fmt.Errorf("records: %s: %w", what, err)
		}
	}
	return nil
}
