package records

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Lifecycle moves a customer along its lifecycle (lead, prospect, customer,
// at_risk, churned) when something happens in another module: a deal made
// for a lead makes it a prospect, a won deal makes it a customer. The
// customers module implements it and cmd passes it to the modules that need
// it, so neither imports the other.
type Lifecycle interface {
	// AdvanceLifecycle moves the live customer id to stage `to` when its
	// lifecycle is one of from, recording the change as the actor in ctx
	// (its history, audit and event) in the caller's transaction, and does
	// nothing otherwise.
	AdvanceLifecycle(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, from []string, to string) error
}
