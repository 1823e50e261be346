package records

import (
	"context"

	"github.com/google/uuid"
)

// Contact is how a module names a person it has no customer id for: an email
// or a phone (at least one), as a requester gives them, and where each came
// from in the caller's request, so a refusal names the caller's field.
type Contact struct {
	Name          string // for a new lead; empty uses the email or phone
	Email         string
	Phone         string
	Source        string // a new lead's source, such as "tickets"
	EmailLocation string // "body.requester_email"
	PhoneLocation string // "body.requester_phone"
}

// People finds the customer behind an email or phone, or makes a lead of it,
// for modules whose records have a requester (tickets) and may not import the
// module that owns customers. The customers module implements it and cmd
// passes it in. It works in the caller's tenant transaction carried by ctx,
// matches across the whole company (not only what the actor may see, so the
// same person never becomes two leads), and serialises concurrent calls for
// the same contact. Creating a lead needs the actor's right to create
// customers.
type People interface {
	MatchOrCreateLead(ctx context.Context, tenant uuid.UUID, c Contact) (id uuid.UUID, created bool, err error)
	// Address is the name and first email of a live customer, to write to
	// them; email is "" when they have none, and a customer that is gone is
	// NotFound.
	Address(ctx context.Context, tenant, id uuid.UUID) (name, email string, err error)
}
