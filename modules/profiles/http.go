package profiles

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

type customerOut struct{ Body *Customer }

type idIn struct {
	ID uuid.UUID `path:"id" doc:"the customer id"`
}

type customerListIn struct {
	filters []FieldFilter

	Q         string   `query:"q" maxLength:"100" doc:"search name (Chinese from one character), email or phone prefix"`
	Lifecycle []string `query:"lifecycle,explode" doc:"lead, prospect, customer, at_risk or churned; repeat for several"`
	Owner     string   `query:"owner" format:"uuid" doc:"owner member id"`
	Tag       []string `query:"tag,explode" doc:"only customers with every given tag"`
	Kind      string   `query:"kind" enum:"person,company,"`
	Sort      string   `query:"sort" maxLength:"80" doc:"created_at, updated_at, name or custom.<key> of a sortable custom field; - for descending; default -created_at"`
	Segment   string   `query:"segment_id" format:"uuid" doc:"apply a saved segment; other filters narrow it further"`
	View      string   `query:"view_id" format:"uuid" doc:"apply a saved view of customers (a segment is one): its filter, which other filters narrow further, and its sort unless sort is given"`
	Cursor    string   `query:"cursor" maxLength:"300"`
	Limit     int      `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

// Resolve reads the field[op]=value filters, which Huma's fixed parameters cannot
// express.
func (in *customerListIn) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	ff, err := ParseFilters(u.Query())
	if err != nil {
		e := err.(*errs.Error)
		out := make([]error, 0, len(e.Errors))
		for _, f := range e.Errors {
			out = append(out, &huma.ErrorDetail{Location: f.Location, Message: f.Message})
		}
		return out
	}
	in.filters = ff
	return nil
}

type customerListOut struct {
	Body struct {
		Items      []Customer `json:"items"`
		NextCursor string     `json:"next_cursor,omitempty"`
	} `nameHint:"CustomerPage"`
}

// Routes registers the customer operations.
func (m *Module) Routes(api huma.API, r fiber.Router) {
	type createIn struct {
		AllowDuplicate bool `query:"allow_duplicate" doc:"create even when the email or phone belongs to another customer"`
		Body           CustomerInput
	}
	huma.Register(api, huma.Operation{OperationID: "create-customer", Method: http.MethodPost, Path: "/customers", DefaultStatus: 201,
		Summary: "Create a customer", Description: "A customer whose normalised email or phone exists already gets 409 naming it, unless allow_duplicate=true.",
		Responses: httpx.Refusals(map[int]string{409: "An email or phone belongs to another customer already (errors names each, the detail links the customer; send allow_duplicate=true to create anyway), or a unique custom value is taken."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *createIn) (*customerOut, error) {
			c, err := m.CreateCustomer(ctx, t.ID, in.Body, in.AllowDuplicate)
			if err != nil {
				return nil, err
			}
			return &customerOut{Body: c}, nil
		}))
	m.batchRoute(api)
	m.listRoute(api)
	m.mergeRoutes(api) // before /customers/{id}, so /customers/duplicates is not taken for an id
	m.massRoutes(api)  // likewise /customers/bulk and /customers/stats
	m.scoreRoutes(api) // /customers/scores, the classification rules
	huma.Register(api, huma.Operation{OperationID: "get-customer", Method: http.MethodGet, Path: "/customers/{id}", Summary: "Get a customer",
		Description: "One customer with its custom field values; sensitive values are masked unless the caller holds pii.read. A customer outside the caller's scope answers 404. Needs profiles.read."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *idIn) (*customerOut, error) {
			c, err := m.GetCustomer(ctx, t.ID, in.ID)
			if err != nil {
				return nil, err
			}
			return &customerOut{Body: c}, nil
		}))
	type updateIn struct {
		ID   uuid.UUID `path:"id"`
		Body CustomerUpdate
	}
	huma.Register(api, huma.Operation{OperationID: "update-customer", Method: http.MethodPatch, Path: "/customers/{id}", Summary: "Change a customer",
		Description: "Changes the given attributes and custom values and leaves the others; custom values are checked against the field definitions. Needs profiles.write.",
		Responses:   httpx.Refusals(map[int]string{409: "A unique custom value belongs to another customer."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *updateIn) (*customerOut, error) {
			c, err := m.UpdateCustomer(ctx, t.ID, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &customerOut{Body: c}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-customer", Method: http.MethodDelete, Path: "/customers/{id}", DefaultStatus: 204,
		Summary: "Delete a customer", Description: "Soft delete: POST .../restore brings it back."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *idIn) (*struct{}, error) {
			_, err := m.DeleteCustomer(ctx, t.ID, in.ID, false)
			return nil, err
		}))
	huma.Register(api, huma.Operation{OperationID: "restore-customer", Method: http.MethodPost, Path: "/customers/{id}/restore", Summary: "Restore a deleted customer",
		Description: "Brings a soft-deleted customer back. Needs profiles.write."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *idIn) (*customerOut, error) {
			c, err := m.DeleteCustomer(ctx, t.ID, in.ID, true)
			if err != nil {
				return nil, err
			}
			return &customerOut{Body: c}, nil
		}))
	m.interactionRoutes(api)
	m.eraseRoutes(api)
	m.segmentRoutes(api)
}

// listRoute registers the customer list: filters, a saved view or segment,
// and keyset pages.
func (m *Module) listRoute(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "list-customers", Method: http.MethodGet, Path: "/customers", Summary: "List and search customers",
		Description: "Keyset pages (pass next_cursor as cursor); JSON by default, XML or CSV with Accept. Needs profiles.read." + filterGrammar,
		Parameters:  filterParams()},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *customerListIn) (*customerListOut, error) {
			f := Filter{Q: in.Q, Lifecycle: splitAll(in.Lifecycle), Tags: splitAll(in.Tag), Kind: in.Kind, Sort: in.Sort, Cursor: in.Cursor, Limit: in.Limit, Fields: in.filters}
			for i, l := range f.Lifecycle {
				if !lifecycles[l] {
					return nil, errs.E(errs.Invalid, "Unknown lifecycle %q.", l).WithFields(errs.FieldError{Location: "query.lifecycle", Message: "use lead, prospect, customer, at_risk or churned", Value: f.Lifecycle[i]})
				}
			}
			if in.Owner != "" {
				id, perr := uuid.Parse(in.Owner)
				if perr != nil {
					return nil, errs.Field("query.owner", "must be a member id (UUID)")
				}
				f.Owner = &id
			}
			if in.View != "" {
				if in.Segment != "" {
					return nil, errs.Field("query.view_id", "send a view_id or a segment_id, not both")
				}
				in.Segment = in.View
			}
			if in.Segment != "" {
				sid, perr := uuid.Parse(in.Segment)
				if perr != nil {
					return nil, errs.Field("query.segment_id", "must be a segment id")
				}
				v, serr := m.savedView(ctx, t.ID, sid)
				if serr != nil {
					return nil, serr
				}
				sf, serr := filterFromQuery(v.Query)
				if serr != nil {
					return nil, serr
				}
				if in.View != "" && f.Sort == "" {
					f.Sort = v.Sort
				}
				f.Lifecycle = intersect(f.Lifecycle, sf.Lifecycle)
				f.Tags = append(f.Tags, sf.Tags...)
				f.Fields = append(f.Fields, sf.Fields...)
				if f.Q == "" {
					f.Q = sf.Q
				}
				if f.Owner == nil {
					f.Owner = sf.Owner
				}
				if f.Kind == "" {
					f.Kind = sf.Kind
				}
			}
			out := &customerListOut{}
			var err error
			out.Body.Items, out.Body.NextCursor, err = m.ListCustomers(ctx, t.ID, f)
			return out, err
		}))
}

// splitAll accepts both repeated parameters and comma lists.
func splitAll(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// intersect narrows one lifecycle list by another; an empty list means any.
func intersect(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := []string{}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
			}
		}
	}
	if len(out) == 0 {
		return []string{"-none-"} // nothing can match both
	}
	return out
}
