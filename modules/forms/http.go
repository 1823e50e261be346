package forms

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

type body[T any] struct{ Body *T }

func reply[T any](v *T, err error) (*body[T], error) {
	if err != nil {
		return nil, err
	}
	return &body[T]{Body: v}, nil
}

type idIn struct {
	ID uuid.UUID `path:"id"`
}

// maxSubmission caps a submission's body: 30 fields of a few KB at most.
const maxSubmission = 64 << 10

// Routes registers the admin operations; every one needs forms.manage.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	type listOut struct {
		Body struct {
			Items []Form `json:"items"`
		} `nameHint:"LeadFormList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-lead-forms", Method: http.MethodGet, Path: "/lead-forms", Summary: "List web-to-lead forms",
		Description: "Every form of the company, oldest first, with its hosted page and snippet. Needs forms.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, _ *struct{}) (*listOut, error) {
			items, err := m.ListForms(ctx, tn.ID)
			if err != nil {
				return nil, err
			}
			out := &listOut{}
			out.Body.Items = items
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "create-lead-form", Method: http.MethodPost, Path: "/lead-forms", DefaultStatus: 201, Summary: "Build a web-to-lead form",
		Description: "Saves a form, switched on, with a public token. Its fields are standard fields (name, email, phone, message) or customers' custom fields (custom.<key>); it needs an email or a phone field. Needs forms.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The company has the most forms it may keep."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body FormInput }) (*body[Form], error) {
			return reply(m.CreateForm(ctx, tn.ID, in.Body))
		}))
	type fieldsOut struct {
		Body struct {
			Items []AvailableField `json:"items"`
		} `nameHint:"LeadFormFieldList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-lead-form-fields", Method: http.MethodGet, Path: "/lead-form-fields", Summary: "List the fields a form may ask for",
		Description: "The standard fields and the customers' active custom fields, with their labels in English and Chinese. Needs forms.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, _ *struct{}) (*fieldsOut, error) {
			items, err := m.AvailableFields(ctx, tn.ID)
			if err != nil {
				return nil, err
			}
			out := &fieldsOut{}
			out.Body.Items = items
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-lead-form", Method: http.MethodGet, Path: "/lead-forms/{id}", Summary: "Get a web-to-lead form",
		Description: "The form with its hosted page and snippet. Needs forms.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*body[Form], error) {
			return reply(m.GetForm(ctx, tn.ID, in.ID))
		}))
	huma.Register(api, huma.Operation{OperationID: "update-lead-form", Method: http.MethodPut, Path: "/lead-forms/{id}", Summary: "Change a web-to-lead form",
		Description: "Replaces the form's settings; its token and submissions stay. Needs forms.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body FormInput
		}) (*body[Form], error) {
			return reply(m.UpdateForm(ctx, tn.ID, in.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "enable-lead-form", Method: http.MethodPost, Path: "/lead-forms/{id}/enable", Summary: "Switch a form on",
		Description: "The hosted page takes submissions again. Needs forms.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*body[Form], error) {
			return reply(m.SetFormEnabled(ctx, tn.ID, in.ID, true))
		}))
	huma.Register(api, huma.Operation{OperationID: "disable-lead-form", Method: http.MethodPost, Path: "/lead-forms/{id}/disable", Summary: "Switch a form off",
		Description: "The hosted page and snippet answer 410 until the form is switched on. Needs forms.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*body[Form], error) {
			return reply(m.SetFormEnabled(ctx, tn.ID, in.ID, false))
		}))
	huma.Register(api, huma.Operation{OperationID: "rotate-lead-form-token", Method: http.MethodPost, Path: "/lead-forms/{id}/rotate-token", Summary: "Give a form a new public token",
		Description: "The old link and snippets stop working (404); copy the new snippet. Needs forms.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*body[Form], error) {
			return reply(m.RotateToken(ctx, tn.ID, in.ID))
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-lead-form", Method: http.MethodDelete, Path: "/lead-forms/{id}", DefaultStatus: 204, Summary: "Delete a web-to-lead form",
		Description: "Removes the form and its submissions; the customers, timeline entries, tasks and deals they made stay. Needs forms.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.DeleteForm(ctx, tn.ID, in.ID)
		}))
	type subsIn struct {
		ID     uuid.UUID `path:"id"`
		Cursor string    `query:"cursor" maxLength:"500"`
		Limit  int       `query:"limit" minimum:"0" maximum:"200" doc:"default 50"`
	}
	type subsOut struct {
		Body struct {
			Items      []Submission `json:"items"`
			NextCursor string       `json:"next_cursor,omitempty"`
		} `nameHint:"LeadFormSubmissionList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-lead-form-submissions", Method: http.MethodGet, Path: "/lead-forms/{id}/submissions", Summary: "List a form's submissions",
		Description: "Newest first: what was sent, the customer it went to (and whether it was created), the consent text and time, the page and UTM parameters, and the task and deal made. Needs forms.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *subsIn) (*subsOut, error) {
			items, next, err := m.ListSubmissions(ctx, tn.ID, in.ID, in.Cursor, in.Limit)
			if err != nil {
				return nil, err
			}
			out := &subsOut{}
			out.Body.Items, out.Body.NextCursor = items, next
			return out, nil
		}))
}

// PublicRoutes registers the hosted form's operations for people who do not
// sign in: the token is the key.
func (m *Module) PublicRoutes(api huma.API) {
	type showIn struct {
		Token string `path:"token" maxLength:"64" doc:"the form's public token"`
		Lang  string `query:"lang" enum:"en,zh-CN," doc:"the language to show; default the company's"`
	}
	type formOut struct{ Body *PublicForm }
	huma.Register(api, huma.Operation{OperationID: "get-lead-form-page", Method: http.MethodGet, Path: "/lead-forms/{token}", Summary: "Open a web-to-lead form",
		Tags:        []string{"lead-forms"},
		Description: "The form's title, fields, consent text and button in the company's language. No sign-in; limited per client address and company.",
		Responses:   httpx.Refusals(map[int]string{410: "The form is switched off."}),
	},
		func(ctx context.Context, in *showIn) (*formOut, error) {
			f, err := m.ShowForm(ctx, in.Token, in.Lang)
			if err != nil {
				return nil, err
			}
			return &formOut{Body: f}, nil
		})
	type submitIn struct {
		Token string `path:"token" maxLength:"64" doc:"the form's public token"`
		Body  SubmissionInput
	}
	huma.Register(api, huma.Operation{OperationID: "submit-lead-form", Method: http.MethodPost, Path: "/lead-forms/{token}", DefaultStatus: 201, Summary: "Send a web-to-lead form",
		Tags:         []string{"lead-forms"},
		MaxBodyBytes: maxSubmission,
		Description:  "Creates or updates the customer matched by email or phone, notes the submission on its timeline with the page and UTM parameters, and creates the task or deal the form asks for, all at once or not at all. Answers the thank-you message. No sign-in; limited per client address and company; the website field must stay empty; bodies over 64 KB are refused.",
		Responses:    httpx.Refusals(map[int]string{410: "The form is switched off.", 413: "The submission is over 64 KB."}),
	},
		func(ctx context.Context, in *submitIn) (*body[Receipt], error) {
			return reply(m.Submit(ctx, in.Token, in.Body))
		})
}
