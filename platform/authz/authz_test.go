package authz

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
)

// A context with no actor is nobody: it holds no permission, sees no record and
// is refused by Require. Only code that says so acts as the system.
func TestNoActorMeansNoPermission(t *testing.T) {
	ctx := context.Background()
	a := ActorFrom(ctx)
	if a.Kind != ActorNone {
		t.Fatalf("no actor in ctx gave %+v, want nobody", a)
	}
	owner := uuid.Nil
	someone := uuid.New()
	for _, perm := range []string{"profiles.read", "profiles.write", "pii.read", "jobs.manage", "tenants.admin"} {
		if a.Can(perm) {
			t.Errorf("nobody can %s", perm)
		}
		if err := Require(ctx, perm); !errs.Is(err, errs.Forbidden) {
			t.Errorf("Require(%s) with no actor: %v, want forbidden", perm, err)
		}
	}
	if a.Visibility() != ScopeOwn || a.SeesOwner(&owner) || a.SeesOwner(&someone) || a.SeesOwner(nil) {
		t.Errorf("nobody sees records: visibility %s", a.Visibility())
	}
	// A map of permissions does not make nobody somebody.
	forged := Actor{Permissions: map[string]bool{"profiles.read": true}, Scope: ScopeAll}
	if forged.Can("profiles.read") || forged.SeesOwner(&someone) {
		t.Error("an actor of no kind acted on its permissions map")
	}

	sys := ActorFrom(AsSystem(ctx))
	if sys.Kind != ActorSystem || !sys.Can("anything.at_all") || !sys.SeesOwner(&someone) || Require(AsSystem(ctx), "x.y") != nil {
		t.Errorf("the explicit system actor %+v", sys)
	}
	user := Actor{ID: someone, Kind: ActorUser, Permissions: map[string]bool{"profiles.read": true}}
	uctx := WithActor(ctx, user)
	if Require(uctx, "profiles.read") != nil || !errs.Is(Require(uctx, "profiles.write"), errs.Forbidden) {
		t.Error("a member's permissions are not what Require checks")
	}
}

// A snapshot gives back exactly the actor it recorded.
func TestSnapshotRoundTrips(t *testing.T) {
	a := Actor{ID: uuid.New(), Kind: ActorUser, Role: "manager", Scope: ScopeTeam,
		Permissions: map[string]bool{"profiles.read": true, "pii.read": false}, Teammates: []uuid.UUID{uuid.New()}}
	b := a.Snapshot().Actor()
	if b.ID != a.ID || b.Kind != a.Kind || b.Role != a.Role || b.Scope != a.Scope || len(b.Teammates) != 1 || b.Teammates[0] != a.Teammates[0] {
		t.Fatalf("round trip: %+v, want %+v", b, a)
	}
	if !b.Can("profiles.read") || b.Can("pii.read") || len(b.Permissions) != 1 {
		t.Fatalf("round trip permissions %v", b.Permissions)
	}
}
