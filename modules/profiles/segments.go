package profiles

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/views"
)

// Segment is a saved filter over customers, private to its owner or shared.
type Segment struct {
	ID        uuid.UUID `json:"id" bun:"id"`
	Name      string    `json:"name" bun:"name"`
	OwnerID   uuid.UUID `json:"owner_id" bun:"owner_id"`
	Shared    bool      `json:"shared" bun:"shared"`
	Query     string    `json:"query" bun:"query" doc:"the customer list's query string, e.g. tag=vip&lifecycle=customer"`
	Count     *int      `json:"count,omitempty" bun:"-" doc:"customers matching now"`
	CreatedAt time.Time `json:"created_at" bun:"created_at"`
	UpdatedAt time.Time `json:"updated_at" bun:"updated_at"`
}

// filterFromQuery turns a saved query string into a list filter, validating it
// as the list endpoint would.
func filterFromQuery(raw string) (Filter, error) { return filterAt(raw, "body.query") }

// filterAt is filterFromQuery for a query string sent in the body field loc:
// errors name loc and the parameter within it.
func filterAt(raw, loc string) (Filter, error) {
	vals, err := url.ParseQuery(strings.TrimPrefix(raw, "?"))
	if err != nil {
		return Filter{}, errs.Field(loc, "is not a query string such as tag=vip&lifecycle=customer")
	}
	ff, err := ParseFilters(vals)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			for i := range e.Errors {
				if rest, ok := strings.CutPrefix(e.Errors[i].Location, "query."); ok {
					e.Errors[i].Location = loc + "." + rest
				} else {
					e.Errors[i].Location = loc
				}
			}
			if len(e.Errors) > 0 {
				e.Detail = e.Errors[0].Location + ": " + e.Errors[0].Message
			}
		}
		return Filter{}, err
	}
	f := Filter{Q: vals.Get("q"), Lifecycle: splitAll(vals["lifecycle"]), Tags: splitAll(vals["tag"]), Kind: vals.Get("kind"), Fields: ff}
	for _, l := range f.Lifecycle {
		if !lifecycles[l] {
			return Filter{}, errs.Field("body.query.lifecycle", "use lead, prospect, customer, at_risk or churned")
		}
	}
	if o := vals.Get("owner"); o != "" {
		id, err := uuid.Parse(o)
		if err != nil {
			return Filter{}, errs.Field("body.query.owner", "must be a member id")
		}
		f.Owner = &id
	}
	return f, nil
}

// CountCustomers counts the customers a filter matches, within the actor's scope.
func (m *Module) CountCustomers(ctx context.Context, tenant uuid.UUID, f Filter) (int, error) {
	var n int
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q, err := m.customerQuery(ctx, tx, tx.NewSelect().Model((*Customer)(nil)), tenant, f)
		if err != nil {
			return err
		}
		n, err = q.Count(ctx)
		return err
	})
	return n, db.Classify(err, "customer")
}

// segmentRoutes keeps the segment routes of the customers list as they were:
// segments are the saved views of customers (platform/views), and these
// routes answer in the segment shape.
func (m *Module) segmentRoutes(api huma.API) {
	if m.d.Views == nil {
		return
	}
	type segmentsOut struct {
		Body struct {
			Items []Segment `json:"items"`
		} `nameHint:"SegmentList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-segments", Method: http.MethodGet, Path: "/segments", Summary: "My segments and shared ones, with live counts",
		Description: "The caller's own segments and those shared in the company, each with the number of customers it matches now: the saved views of customers (GET .../views?entity=customers). Needs profiles.read."},
		func(ctx context.Context, _ *struct{}) (*segmentsOut, error) {
			t, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			if err := authz.Require(ctx, PermRead); err != nil {
				return nil, err
			}
			vs, err := m.d.Views.List(ctx, t.ID, EntityCustomers, true)
			if err != nil {
				return nil, err
			}
			out := &segmentsOut{}
			out.Body.Items = make([]Segment, len(vs))
			for i, v := range vs {
				out.Body.Items[i] = segmentOf(v)
			}
			return out, nil
		})
	type segmentOut struct{ Body Segment }
	huma.Register(api, huma.Operation{OperationID: "create-segment", Method: http.MethodPost, Path: "/segments", DefaultStatus: 201, Summary: "Save a filter as a segment",
		Description: "Saves a customer filter (the query string of GET .../customers, e.g. lifecycle=lead&tags[contains]=vip) under a name, private or shared with the company: a saved view of customers (POST .../views). Needs profiles.read."},
		func(ctx context.Context, in *struct{ Body newSegment }) (*segmentOut, error) {
			t, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			if err := authz.Require(ctx, PermRead); err != nil {
				return nil, err
			}
			v, err := m.d.Views.Create(ctx, t.ID, views.NewView{Entity: EntityCustomers, Name: in.Body.Name, Shared: in.Body.Shared, Query: in.Body.Query})
			if err != nil {
				return nil, err
			}
			return &segmentOut{Body: segmentOf(v)}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "delete-segment", Method: http.MethodDelete, Path: "/segments/{id}", DefaultStatus: 204, Summary: "Delete one of my segments",
		Description: "Deletes one of the caller's own segments; a shared segment of someone else answers 404."},
		func(ctx context.Context, in *struct {
			ID uuid.UUID `path:"id" doc:"the segment id"`
		}) (*struct{}, error) {
			t, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			return nil, m.d.Views.Delete(ctx, t.ID, in.ID)
		})
}

func segmentOf(v views.View) Segment {
	return Segment{ID: v.ID, Name: v.Name, OwnerID: v.OwnerID, Shared: v.Shared, Query: v.Query, Count: v.Count, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

// segmentQuery loads a visible segment (a saved view of customers): its
// filter and the saved query string.
func (m *Module) segmentQuery(ctx context.Context, tenant, id uuid.UUID) (Filter, string, error) {
	v, err := m.savedView(ctx, tenant, id)
	if err != nil {
		return Filter{}, "", err
	}
	f, err := filterFromQuery(v.Query)
	return f, v.Query, err
}

// savedView loads a saved view of customers the actor sees.
func (m *Module) savedView(ctx context.Context, tenant, id uuid.UUID) (views.View, error) {
	var v views.View
	var err error = errs.E(errs.NotFound, "segment not found")
	if m.d.Views != nil {
		v, err = m.d.Views.Get(ctx, tenant, EntityCustomers, id)
	}
	if errs.Is(err, errs.NotFound) {
		return v, errs.E(errs.NotFound, "segment not found").WithFields(errs.FieldError{Location: "query.segment_id", Message: "no such segment visible to you"})
	}
	return v, err
}

// newSegment is a filter saved under a name.
type newSegment struct {
	Name   string `json:"name" minLength:"1" maxLength:"100"`
	Shared bool   `json:"shared,omitempty"`
	Query  string `json:"query" maxLength:"2000"`
}
