package tenancy

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
)

// Require is the start of a tenant operation: the tenant of the request, once the
// actor is known to hold perm. With perm "" any actor may go on, but nobody (a
// context with no actor) never does.
func Require(ctx context.Context, perm string) (Tenant, error) {
	t, err := MustFrom(ctx)
	if err != nil {
		return t, err
	}
	if perm == "" && authz.ActorFrom(ctx).Kind == authz.ActorNone {
		return t, errs.E(errs.Forbidden, "This needs a signed-in member or an API key of this company.")
	}
	if perm != "" {
		if err := authz.Require(ctx, perm); err != nil {
			return t, err
		}
	}
	return t, nil
}

// Tx is the one way to open a tenant transaction guarded by a permission: it
// checks perm as Require does, then runs fn in db.InTenant for the request's
// tenant (joining a transaction ctx already carries for it).
func Tx(ctx context.Context, d *bun.DB, perm string, fn func(ctx context.Context, tx bun.Tx, t Tenant) error) error {
	t, err := Require(ctx, perm)
	if err != nil {
		return err
	}
	return db.InTenant(ctx, d, t.ID, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx, t) })
}
