package jobs

import (
	"context"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
)

// PermManage lets its holder see, download, cancel and revert everyone's jobs and
// the records they belong to (imports, exports). Without it a member sees only
// what they asked for themselves: someone else's export may hold records, or
// values, that the member's own role would never show them.
const PermManage = "jobs.manage"

// MayAccess reports whether the actor may see and act on a job, or on a record
// of one, that requester asked for: the requester themselves (a member or an API
// key) or a holder of PermManage. A job nobody asked for (the system's own) is
// only for PermManage.
func MayAccess(a authz.Actor, requester *uuid.UUID) bool {
	if a.Can(PermManage) {
		return true
	}
	return requester != nil && a.ID != uuid.Nil && *requester == a.ID
}

// GetFor returns one job of the tenant that the actor in ctx may access; another
// member's job answers NotFound, as another tenant's does, so ids do not leak.
func (c *Client) GetFor(ctx context.Context, tenant, id uuid.UUID) (*Job, error) {
	j, err := c.Get(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if !MayAccess(authz.ActorFrom(ctx), j.CreatedBy) {
		return nil, errs.E(errs.NotFound, "job not found")
	}
	return j, nil
}
