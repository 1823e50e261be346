package tenancy_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// The guarded tenant transaction opens only for an actor holding the
// permission, inside the request's tenant; nobody (no actor) is refused, and so
// is a context with no tenant.
func TestTxIsGuardedByThePermission(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	base := tenancy.With(context.Background(), tenancy.Tenant{ID: a.ID, Slug: a.Slug})
	member := authz.WithActor(base, authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Permissions: map[string]bool{"x.read": true}})
	ran := func(ctx context.Context, perm string) (bool, error) {
		in := false
		err := tenancy.Tx(ctx, env.App, perm, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
			got, _ := db.TenantOf(ctx)
			in = tn.ID == a.ID && got == a.ID
			return nil
		})
		return in, err
	}
	if in, err := ran(member, "x.read"); err != nil || !in {
		t.Fatalf("a holder of x.read: ran %v, %v", in, err)
	}
	for name, c := range map[string]struct {
		ctx  context.Context
		perm string
		code errs.Code
	}{
		"without the permission": {member, "x.write", errs.Forbidden},
		"no actor":               {base, "x.read", errs.Forbidden},
		"no actor, no perm":      {base, "", errs.Forbidden},
		"a member, no perm":      {member, "", ""},
		"no tenant":              {authz.AsSystem(context.Background()), "x.read", errs.Internal},
	} {
		in, err := ran(c.ctx, c.perm)
		if c.code == "" {
			if err != nil || !in {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if in || !errs.Is(err, c.code) {
			t.Errorf("%s: ran %v, %v; want %s", name, in, err, c.code)
		}
	}
}
