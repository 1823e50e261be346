// Package authz holds the access primitives modules declare and check. Roles and
// memberships live in tenants/; modules see only these types.
package authz

import (
	"context"
	"sort"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
)

// Permission is one thing a role may do, namespaced by module: "profiles.read".
type Permission struct {
	Key         string // module.verb
	Label       string // English label for the roles screen
	LabelZH     string // Simplified Chinese label
	Description string
	// AdminOnly keeps the permission out of the built-in manager, agent and
	// viewer roles: destructive or company-wide powers (erasing a person,
	// defining fields, managing everyone's jobs). Owners and admins hold it, and
	// a custom role may be given it by someone who holds it.
	AdminOnly bool
}

// Scope says which records a role may see: its own, its team's, or all.
type Scope string

// The visibility scopes.
const (
	ScopeOwn  Scope = "own"
	ScopeTeam Scope = "team"
	ScopeAll  Scope = "all"
)

// rank orders the scopes from the narrowest; an unknown or empty scope counts as
// own, so a mistake narrows rather than widens.
func (s Scope) rank() int {
	switch s {
	case ScopeAll:
		return 2
	case ScopeTeam:
		return 1
	}
	return 0
}

// Covers reports whether s is at least as wide as o.
func (s Scope) Covers(o Scope) bool { return s.rank() >= o.rank() }

// ActorKind says who acts: a signed-in person, an API key, or the system itself.
type ActorKind string

// The actor kinds. ActorNone is the zero value: nobody, who may do nothing.
const (
	ActorNone   ActorKind = ""
	ActorUser   ActorKind = "user"
	ActorAPIKey ActorKind = "api_key"
	ActorSystem ActorKind = "system"
)

// Actor is who performs a request or a job, with what the tenant lets them do.
type Actor struct {
	ID          uuid.UUID
	Kind        ActorKind
	Role        string
	Permissions map[string]bool
	Scope       Scope
	TeamIDs     []uuid.UUID
	// Teammates are the members sharing a team with the actor, itself included;
	// team-scoped records are those owned by one of them.
	Teammates []uuid.UUID
}

// System is the actor of work nobody asked for: schedules, sweepers, seeding,
// migrations. It holds every permission, so code must choose it explicitly.
func System() Actor { return Actor{Kind: ActorSystem, Scope: ScopeAll} }

// AsSystem returns ctx acting as the system.
func AsSystem(ctx context.Context) context.Context { return WithActor(ctx, System()) }

// Can reports whether the actor holds a permission. System actors hold all;
// nobody (ActorNone) holds none, whatever the map says.
func (a Actor) Can(perm string) bool {
	switch a.Kind {
	case ActorSystem:
		return true
	case ActorNone:
		return false
	}
	return a.Permissions[perm]
}

// Require is the one permission check: nil when the actor in ctx holds perm, a
// Forbidden error naming it otherwise.
func Require(ctx context.Context, perm string) error {
	if !ActorFrom(ctx).Can(perm) {
		return errs.E(errs.Forbidden, "Your role does not include %s. Ask an owner or admin of this company.", perm)
	}
	return nil
}

// RequesterID is who acts in ctx, for created_by columns: nil for the system and
// for nobody.
func RequesterID(ctx context.Context) *uuid.UUID {
	if a := ActorFrom(ctx); a.ID != uuid.Nil {
		return &a.ID
	}
	return nil
}

// Visibility is the scope that decides which records the actor sees. An API key
// owns no records, so it sees everything its role may read; the system sees all.
func (a Actor) Visibility() Scope {
	if a.Kind == ActorSystem || a.Kind == ActorAPIKey {
		return ScopeAll
	}
	if a.Scope.rank() == 0 {
		return ScopeOwn
	}
	return a.Scope
}

// SeesOwner reports whether a record owned by owner (nil: nobody) is within the
// actor's visibility. Nobody sees no record.
func (a Actor) SeesOwner(owner *uuid.UUID) bool {
	if a.Kind == ActorNone {
		return false
	}
	switch a.Visibility() {
	case ScopeAll:
		return true
	case ScopeTeam:
		if owner == nil {
			return false
		}
		for _, m := range a.Teammates {
			if m == *owner {
				return true
			}
		}
	}
	return owner != nil && *owner == a.ID
}

// Snapshot is what a background job keeps of the actor who asked for it, so that
// the job later acts with exactly their rights: their scope, their teammates and
// their permissions (pii.read among them) as they were when they asked.
type Snapshot struct {
	ID          uuid.UUID   `json:"id"`
	Kind        ActorKind   `json:"kind"`
	Role        string      `json:"role,omitempty"`
	Permissions []string    `json:"permissions"`
	Scope       Scope       `json:"scope"`
	Teammates   []uuid.UUID `json:"teammates,omitempty"`
}

// Snapshot records the actor for a job.
func (a Actor) Snapshot() Snapshot {
	s := Snapshot{ID: a.ID, Kind: a.Kind, Role: a.Role, Scope: a.Scope, Teammates: a.Teammates, Permissions: []string{}}
	for p, ok := range a.Permissions {
		if ok {
			s.Permissions = append(s.Permissions, p)
		}
	}
	sort.Strings(s.Permissions)
	return s
}

// Actor is the actor the snapshot recorded. An empty snapshot (a job recorded
// before snapshots existed) is a user with no permissions and own scope, so it
// can do nothing it was not explicitly given.
func (s Snapshot) Actor() Actor {
	kind := s.Kind
	if kind == "" {
		kind = ActorUser
	}
	a := Actor{ID: s.ID, Kind: kind, Role: s.Role, Scope: s.Scope, Teammates: s.Teammates, Permissions: make(map[string]bool, len(s.Permissions))}
	for _, p := range s.Permissions {
		a.Permissions[p] = true
	}
	return a
}

type actorKey struct{}

// WithActor returns ctx carrying the actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx; without one it is nobody (ActorNone), who
// holds no permission and sees no record. Work that nobody asked for acts as
// System, which its code sets with AsSystem.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{}
}

// Directory answers questions about a tenant's members for modules, which may not
// import tenants: tenants implements it and cmd passes it in.
type Directory interface {
	// IsMember reports whether id is a member of the tenant.
	IsMember(ctx context.Context, tenant, id uuid.UUID) (bool, error)
}

// Teams answers questions about a tenant's teams for modules whose records
// are given to a team (tickets): tenants implements it and cmd passes it in.
type Teams interface {
	// IsTeam reports whether id is a team of the tenant.
	IsTeam(ctx context.Context, tenant, id uuid.UUID) (bool, error)
	// TeamMembers lists the members of a team, ordered by id; none for a team
	// that does not exist.
	TeamMembers(ctx context.Context, tenant, team uuid.UUID) ([]uuid.UUID, error)
}
