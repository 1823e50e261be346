package tenants

import (
	"testing"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
)

// mayGrant and mayManageMember over the built-in roles and a few custom ones:
// nobody hands out, or acts on, more than they hold.
func TestGrantsNeverExceedTheGranter(t *testing.T) {
	catalogue := append(OwnPermissions(), authz.Permission{Key: "profiles.read"}, authz.Permission{Key: "profiles.write"},
		authz.Permission{Key: "profiles.erase", AdminOnly: true}, authz.Permission{Key: "jobs.manage", AdminOnly: true})
	roles := builtInRoles(catalogue)
	actor := func(r Role) authz.Actor {
		return authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Role: r.Key, Permissions: permSet(r.Permissions), Scope: r.Scope}
	}
	hr := Role{Key: "hr", Permissions: []string{PermMembersManage, "profiles.read"}, Scope: authz.ScopeTeam}
	readerOwn := Role{Key: "reader", Permissions: []string{"profiles.read"}, Scope: authz.ScopeOwn}
	readerAll := Role{Key: "reader_all", Permissions: []string{"profiles.read"}, Scope: authz.ScopeAll}
	cases := []struct {
		name    string
		by      authz.Actor
		grant   Role
		forKey  bool
		allowed bool
	}{
		{"owner makes an owner", actor(roles[RoleOwner]), roles[RoleOwner], false, true},
		{"admin makes an owner", actor(roles[RoleAdmin]), roles[RoleOwner], false, false},
		{"admin makes an admin", actor(roles[RoleAdmin]), roles[RoleAdmin], false, true},
		{"admin makes an admin key", actor(roles[RoleAdmin]), roles[RoleAdmin], true, true},
		{"manager makes an agent", actor(roles[RoleManager]), roles[RoleAgent], false, true},
		{"manager makes a viewer (scope all)", actor(roles[RoleManager]), roles[RoleViewer], false, false},
		{"manager makes an admin", actor(roles[RoleManager]), roles[RoleAdmin], false, false},
		{"agent makes a manager (scope team)", actor(roles[RoleAgent]), roles[RoleManager], false, false},
		{"hr grants its own role", actor(hr), hr, false, true},
		{"hr grants an own-scope reader", actor(hr), readerOwn, false, true},
		{"hr grants an all-scope reader", actor(hr), readerAll, false, false},
		{"hr grants a reader key (a key sees all)", actor(hr), readerOwn, true, false},
		{"a viewer grants a reader key", actor(roles[RoleViewer]), readerOwn, true, true},
		{"the system grants an owner", authz.Actor{Kind: authz.ActorSystem}, roles[RoleOwner], false, true},
	}
	for _, tc := range cases {
		err := mayGrant(tc.by, tc.grant, tc.forKey)
		if (err == nil) != tc.allowed {
			t.Errorf("%s: %v, want allowed=%v", tc.name, err, tc.allowed)
		}
		if err != nil && !errs.Is(err, errs.Forbidden) {
			t.Errorf("%s: %v is not a 403", tc.name, err)
		}
	}
	for _, tc := range []struct {
		name    string
		by      authz.Actor
		target  Role
		allowed bool
	}{
		{"admin acts on an owner", actor(roles[RoleAdmin]), roles[RoleOwner], false},
		{"owner acts on an owner", actor(roles[RoleOwner]), roles[RoleOwner], true},
		{"admin acts on an admin", actor(roles[RoleAdmin]), roles[RoleAdmin], true},
		{"hr acts on an admin", actor(hr), roles[RoleAdmin], false},
		{"hr acts on a reader", actor(hr), readerOwn, true},
	} {
		if err := mayManageMember(tc.by, tc.target); (err == nil) != tc.allowed {
			t.Errorf("%s: %v, want allowed=%v", tc.name, err, tc.allowed)
		}
	}
	// The built-in roles: what a module declares admin-only (erase, jobs.manage)
	// is for owners and admins only.
	for _, r := range []string{RoleManager, RoleAgent, RoleViewer} {
		for _, p := range roles[r].Permissions {
			if p == "profiles.erase" || p == "jobs.manage" {
				t.Errorf("the built-in role %s holds %s", r, p)
			}
		}
	}
}
