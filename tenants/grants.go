package tenants

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
)

// Delegation rules. Managing members, roles, teams or API keys is a delegated
// power, and a delegated power must not lead to more than its holder already
// has: otherwise members.manage is one PATCH away from admin, roles.manage one
// PUT, api_keys.manage one key. Every place that hands out rights (a member's
// role, an invitation, a custom role, a key, a team) goes through mayGrant.

// role returns a built-in or custom role of the tenant, or a 422 naming the field.
func (s *Service) role(ctx context.Context, tx bun.Tx, tenant uuid.UUID, key string) (Role, error) {
	if r, ok := s.builtIn[key]; ok {
		return r, nil
	}
	r := Role{Key: key}
	err := tx.NewRaw("SELECT name, permissions, scope FROM roles WHERE tenant_id = ? AND key = ?", tenant, key).
		Scan(ctx, &r.Name, pgdialect.Array(&r.Permissions), &r.Scope)
	if errors.Is(err, sql.ErrNoRows) {
		return Role{}, errs.E(errs.Invalid, "There is no role %q in this company.", key).
			WithFields(errs.FieldError{Location: "body.role", Message: "unknown role; use owner, admin, manager, agent, viewer or a custom role", Value: key})
	}
	return r, err
}

// mayGrant refuses to hand out r unless the actor holds every permission of it
// and sees at least as wide as it lets its holder see. A key sees every record
// its role may read (it owns none), so granting a key counts as granting all.
// Only an owner makes owners: an admin holds the same permissions, but an owner
// is the one an admin cannot remove.
func mayGrant(a authz.Actor, r Role, forKey bool) error {
	if a.Kind == authz.ActorSystem {
		return nil
	}
	if r.Key == RoleOwner && a.Role != RoleOwner {
		return errs.E(errs.Forbidden, "Only an owner can make someone an owner.")
	}
	var missing []string
	for _, p := range r.Permissions {
		if !a.Can(p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return errs.E(errs.Forbidden, "You can grant only what you hold yourself; the role %s includes %s, which your role does not.", r.Key, strings.Join(missing, ", "))
	}
	scope := r.Scope
	if forKey {
		scope = authz.ScopeAll
	}
	if !a.Visibility().Covers(scope) {
		if forKey {
			return errs.E(errs.Forbidden, "An API key sees every customer its role may read, and your role sees only %s ones; ask an owner or admin for the key.", a.Visibility())
		}
		return errs.E(errs.Forbidden, "You can grant only what you hold yourself; the role %s sees %s records, and yours only %s ones.", r.Key, scope, a.Visibility())
	}
	return nil
}

// mayManageMember refuses to change or remove a member whose rights the actor
// could not have granted: only an owner acts on an owner, and nobody on a member
// who holds more than they do (who could otherwise be demoted, then removed).
func mayManageMember(a authz.Actor, current Role) error {
	if a.Kind == authz.ActorSystem {
		return nil
	}
	if current.Key == RoleOwner && a.Role != RoleOwner {
		return errs.E(errs.Forbidden, "Only an owner can change or remove an owner.")
	}
	if err := mayGrant(a, current, false); err != nil {
		return errs.E(errs.Forbidden, "This member's role %s holds more than yours; ask an owner or admin.", current.Key)
	}
	return nil
}

// mayEditRole refuses to change the custom role the actor holds, whatever the
// change: widening it would be self-promotion by another name.
func mayEditRole(a authz.Actor, key string) error {
	if a.Kind != authz.ActorSystem && a.Role == key {
		return errs.E(errs.Forbidden, "Nobody changes the role they hold; ask an owner or admin.")
	}
	return nil
}

// mayChangeTeams refuses team changes to anyone who does not see every
// customer: team membership widens who sees whose records, so it is a grant of
// visibility, and an actor with a narrower scope would be granting more than
// they see (or widening their own scope by joining).
func mayChangeTeams(a authz.Actor) error {
	if a.Visibility() != authz.ScopeAll {
		return errs.E(errs.Forbidden, "Teams decide who sees whose customers; only someone who sees every customer may change them.")
	}
	return nil
}
