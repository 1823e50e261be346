package profiles

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/tenancy"
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

func (m *Module) segmentRoutes(api huma.API) {
	type segmentsOut struct {
		Body struct {
			Items []Segment `json:"items"`
		} `nameHint:"SegmentList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-segments", Method: http.MethodGet, Path: "/segments", Summary: "My segments and shared ones, with live counts",
		Description: "The caller's own segments and those shared in the company, each with the number of customers it matches now. Needs profiles.read."},
		func(ctx context.Context, _ *struct{}) (*segmentsOut, error) {
			t, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			if err := authz.Require(ctx, PermRead); err != nil {
				return nil, err
			}
			out := &segmentsOut{}
			out.Body.Items = []Segment{}
			err = db.InTenant(ctx, m.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewRaw(`SELECT id, name, owner_id, shared, query, created_at, updated_at FROM segments
					WHERE tenant_id = ? AND (shared OR owner_id = ?) ORDER BY lower(name)`, t.ID, authz.ActorFrom(ctx).ID).Scan(ctx, &out.Body.Items)
			})
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, db.Classify(err, "segment")
			}
			for i := range out.Body.Items {
				f, ferr := filterFromQuery(out.Body.Items[i].Query)
				if ferr != nil {
					continue // a segment saved before a field was removed: shown without a count
				}
				if n, cerr := m.CountCustomers(ctx, t.ID, f); cerr == nil {
					out.Body.Items[i].Count = &n
				}
			}
			return out, nil
		})
	type segmentOut struct{ Body Segment }
	huma.Register(api, huma.Operation{OperationID: "create-segment", Method: http.MethodPost, Path: "/segments", DefaultStatus: 201, Summary: "Save a filter as a segment",
		Description: "Saves a customer filter (the query string of GET .../customers, e.g. lifecycle=lead&tags[contains]=vip) under a name, private or shared with the company. Needs profiles.read."},
		func(ctx context.Context, in *struct{ Body newSegment }) (*segmentOut, error) {
			t, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			if err := authz.Require(ctx, PermRead); err != nil {
				return nil, err
			}
			f, err := filterFromQuery(in.Body.Query)
			if err != nil {
				return nil, err
			}
			a := authz.ActorFrom(ctx)
			if a.Kind != authz.ActorUser {
				return nil, errs.E(errs.Forbidden, "Segments belong to people; sign in to save one.")
			}
			sg := Segment{ID: uuid.New(), Name: strings.TrimSpace(in.Body.Name), OwnerID: a.ID, Shared: in.Body.Shared, Query: strings.TrimPrefix(in.Body.Query, "?")}
			err = db.InTenant(ctx, m.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
				if err := tx.NewRaw(`INSERT INTO segments (tenant_id, id, name, owner_id, shared, query) VALUES (?, ?, ?, ?, ?, ?) RETURNING created_at, updated_at`,
					t.ID, sg.ID, sg.Name, sg.OwnerID, sg.Shared, sg.Query).Scan(ctx, &sg.CreatedAt, &sg.UpdatedAt); err != nil {
					return err
				}
				return audit.Record(ctx, tx, audit.Entry{Action: "segment.create", Entity: "segment", EntityID: sg.ID.String(), After: sg})
			})
			if err != nil {
				return nil, db.Classify(err, "segment")
			}
			if n, err := m.CountCustomers(ctx, t.ID, f); err == nil {
				sg.Count = &n
			}
			return &segmentOut{Body: sg}, nil
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
			return nil, db.InTenant(ctx, m.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
				res, err := tx.ExecContext(ctx, "DELETE FROM segments WHERE tenant_id = ? AND id = ? AND owner_id = ?", t.ID, in.ID, authz.ActorFrom(ctx).ID)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					return errs.E(errs.NotFound, "segment not found")
				}
				return audit.Record(ctx, tx, audit.Entry{Action: "segment.delete", Entity: "segment", EntityID: in.ID.String()})
			})
		})
}

// segmentFilter loads a visible segment's filter for the list endpoint.
func (m *Module) segmentFilter(ctx context.Context, tenant, id uuid.UUID) (Filter, error) {
	f, _, err := m.segmentQuery(ctx, tenant, id)
	return f, err
}

// segmentQuery loads a visible segment: its filter and the saved query string.
func (m *Module) segmentQuery(ctx context.Context, tenant, id uuid.UUID) (Filter, string, error) {
	var raw string
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT query FROM segments WHERE tenant_id = ? AND id = ? AND (shared OR owner_id = ?)", tenant, id, authz.ActorFrom(ctx).ID).Scan(ctx, &raw)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Filter{}, "", errs.E(errs.NotFound, "segment not found").WithFields(errs.FieldError{Location: "query.segment_id", Message: "no such segment visible to you"})
	}
	if err != nil {
		return Filter{}, "", db.Classify(err, "segment")
	}
	f, err := filterFromQuery(raw)
	return f, raw, err
}

// newSegment is a filter saved under a name.
type newSegment struct {
	Name   string `json:"name" minLength:"1" maxLength:"100"`
	Shared bool   `json:"shared,omitempty"`
	Query  string `json:"query" maxLength:"2000"`
}
