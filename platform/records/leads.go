package records

import (
	"context"

	"github.com/google/uuid"
)

// Lead is a person a web-to-lead form brings in: an email or a phone (at
// least one) to match them by, and the customer fields the form asked for.
// Locations say where each value came from in the caller's request, so a
// refusal names the form's field: keys are "name", "email", "phone" and
// "custom.<key>".
type Lead struct {
	Name      string
	Email     string
	Phone     string
	Custom    map[string]any // custom customer fields by key
	Source    string         // a new lead's source, such as "web_form"
	Owner     *uuid.UUID     // a new lead's owner; nil: none
	Locations map[string]string
}

// Captured is what became of a lead: the customer, whether it is new, and
// its owner (nil when it has none).
type Captured struct {
	ID      uuid.UUID
	Created bool
	Owner   *uuid.UUID
}

// LeadNote is a note on a customer's timeline written by another module (a
// form submission with its source and campaign); see Timeline for entries a
// module keeps itself.
type LeadNote struct {
	Channel string
	Summary string
	Body    string
}

// Leads takes people in from outside (web-to-lead forms) for modules that may
// not import the module that owns customers; the customers module implements
// it and cmd passes it in. It works in the caller's tenant transaction carried
// by ctx.
type Leads interface {
	// CaptureLead finds the oldest live customer of the whole company holding
	// the lead's email or phone and sets the custom fields the lead carries
	// (and an email or phone it lacked), or else creates a lead with them.
	// Concurrent calls for one contact are serialised, so one person never
	// becomes two leads.
	CaptureLead(ctx context.Context, tenant uuid.UUID, l Lead) (Captured, error)
	// AddTimelineEntry writes a note on a live customer's timeline.
	AddTimelineEntry(ctx context.Context, tenant, customer uuid.UUID, e LeadNote) error
}
