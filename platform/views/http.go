package views

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Module serves the saved views routes; it is part of the kernel, on for
// every company.
type Module struct{ svc *Service }

// NewModule returns the kernel module over the service.
func NewModule(s *Service) *Module { return &Module{svc: s} }

// Name is the route prefix.
func (m *Module) Name() string { return "views" }

// APITags describes the tag of the operations.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{{Name: "views", Description: "Saved views of any list (filter, sort, columns), private or shared, with live counts."}}
}

// SchemaName implements httpx.SchemaNamer.
func (View) SchemaName() string { return "SavedViewRecord" }

// SchemaName implements httpx.SchemaNamer.
func (NewView) SchemaName() string { return "SavedViewNew" }

// SchemaName implements httpx.SchemaNamer.
func (Patch) SchemaName() string { return "SavedViewPatch" }

// EntityInfo is a list that has saved views.
type EntityInfo struct {
	Name    string          `json:"name" doc:"e.g. customers"`
	LabelEN string          `json:"label_en"`
	LabelZH string          `json:"label_zh"`
	Columns []module.Column `json:"columns" doc:"the columns a view may show, in their default order; custom.<key> adds a custom field"`
	Sorts   []string        `json:"sorts" doc:"the standard sorts; custom.<key> of a sortable custom field works too"`
}

type idIn struct {
	ID uuid.UUID `path:"id" doc:"the view id"`
}

type viewOut struct{ Body View }

// Routes registers the operations.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	type entitiesOut struct {
		Body struct {
			Items []EntityInfo `json:"items"`
		} `nameHint:"SavedViewEntityList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-view-entities", Method: http.MethodGet, Path: "/views/entities", Summary: "Lists that have saved views",
		Description: "The entities whose lists can be saved as views, with the columns and sorts a view may keep."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, _ *struct{}) (*entitiesOut, error) {
			out := &entitiesOut{}
			out.Body.Items = []EntityInfo{}
			for _, e := range m.svc.Entities() {
				cols := e.Columns
				if cols == nil {
					cols = []module.Column{}
				}
				sorts := e.Sorts
				if sorts == nil {
					sorts = []string{}
				}
				out.Body.Items = append(out.Body.Items, EntityInfo{Name: e.Name, LabelEN: e.LabelEN, LabelZH: e.LabelZH, Columns: cols, Sorts: sorts})
			}
			return out, nil
		}))
	type listOut struct {
		Body struct {
			Items []View `json:"items"`
		} `nameHint:"SavedViewList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-views", Method: http.MethodGet, Path: "/views", Summary: "My saved views and shared ones, with live counts",
		Description: "The caller's own views and those shared in the company, of one list (entity=customers) or of every list the caller may read, each with the number of records it matches now. Needs the list's read permission."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *struct {
			Entity string `query:"entity" maxLength:"64" doc:"only the views of this list, e.g. customers"`
		}) (*listOut, error) {
			out := &listOut{}
			var err error
			out.Body.Items, err = m.svc.List(ctx, t.ID, in.Entity, true)
			return out, err
		}))
	huma.Register(api, huma.Operation{OperationID: "create-view", Method: http.MethodPost, Path: "/views", DefaultStatus: http.StatusCreated, Summary: "Save a view of a list",
		Description: "Saves a list's filter (its query string, e.g. lifecycle=lead&tags[contains]=vip), sort and columns under a name, private or shared with the company. Needs the list's read permission."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *struct{ Body NewView }) (*viewOut, error) {
			v, err := m.svc.Create(ctx, t.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &viewOut{Body: v}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-view", Method: http.MethodGet, Path: "/views/{id}", Summary: "One saved view, with its live count",
		Description: "A view the caller owns or one shared in the company; any other answers 404."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *idIn) (*viewOut, error) {
			v, err := m.svc.Get(ctx, t.ID, "", in.ID)
			if err != nil {
				return nil, err
			}
			m.svc.count(ctx, t.ID, &v)
			return &viewOut{Body: v}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "update-view", Method: http.MethodPatch, Path: "/views/{id}", Summary: "Change one of my saved views",
		Description: "Renames, shares or unshares one of the caller's own views, or changes its filter, sort or columns; a view of someone else answers 404."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id" doc:"the view id"`
			Body Patch
		}) (*viewOut, error) {
			v, err := m.svc.Update(ctx, t.ID, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &viewOut{Body: v}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-view", Method: http.MethodDelete, Path: "/views/{id}", DefaultStatus: http.StatusNoContent, Summary: "Delete one of my saved views",
		Description: "Deletes one of the caller's own views; a view of someone else, shared or not, answers 404."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.svc.Delete(ctx, t.ID, in.ID)
		}))
}

// SchemaName implements httpx.SchemaNamer.
func (EntityInfo) SchemaName() string { return "SavedViewEntity" }
