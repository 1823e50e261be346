package bi

import (
	"context"
	"mime"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// subscriptionRoutes registers scheduled-report subscriptions and the report
// inbox.
func (m *Module) subscriptionRoutes(api huma.API) {
	type subOut struct{ Body *Subscription }
	type subsOut struct {
		Body struct {
			Items      []Subscription `json:"items"`
			NextCursor string         `json:"next_cursor,omitempty"`
		} `nameHint:"ReportSubscriptionList"`
	}
	notYours := httpx.Refusals(map[int]string{404: "No subscription of yours has this id (with bi.manage: none of the company's)."})
	huma.Register(api, huma.Operation{OperationID: "create-report-subscription", Method: http.MethodPost, Path: "/bi/subscriptions", DefaultStatus: 201,
		Summary: "Subscribe to a report or a dashboard",
		Description: "Sends a report or a dashboard you can see by email, daily, weekly (on a weekday) or monthly (on a day), at a time in the company's time zone: " +
			"to yourself, or, with bi.manage, to every member of a role. Each recipient's copy is counted with their own rights and scope, and lands in their report inbox too. Needs bi.read.",
		Responses: httpx.Refusals(map[int]string{403: "Subscribing a role needs bi.manage.", 422: "An unknown report or dashboard, a bad time, or a schedule without its weekday or day."})},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *struct{ Body SubscriptionInput }) (*subOut, error) {
			s, err := m.CreateSubscription(ctx, in.Body)
			if err != nil {
				return nil, err
			}
			return &subOut{Body: s}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "list-report-subscriptions", Method: http.MethodGet, Path: "/bi/subscriptions", Summary: "List report subscriptions",
		Description: "Your own subscriptions, newest first; with bi.manage, every subscription of the company. Needs bi.read."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *listIn) (*subsOut, error) {
			items, next, err := m.ListSubscriptions(ctx, in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			out := &subsOut{}
			out.Body.Items, out.Body.NextCursor = items, next
			if out.Body.Items == nil {
				out.Body.Items = []Subscription{}
			}
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-report-subscription", Method: http.MethodGet, Path: "/bi/subscriptions/{id}", Summary: "Read a report subscription",
		Description: "One of your subscriptions (any, with bi.manage). Needs bi.read.", Responses: notYours},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *idIn) (*subOut, error) {
			s, err := m.GetSubscription(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &subOut{Body: s}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "update-report-subscription", Method: http.MethodPut, Path: "/bi/subscriptions/{id}", Summary: "Change a report subscription",
		Description: "Replaces what is sent, to whom and when. Needs bi.read, and to be its recipient or hold bi.manage.", Responses: notYours},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body SubscriptionInput
		}) (*subOut, error) {
			s, err := m.UpdateSubscription(ctx, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &subOut{Body: s}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-report-subscription", Method: http.MethodDelete, Path: "/bi/subscriptions/{id}", DefaultStatus: 204,
		Summary: "Unsubscribe", Description: "Stops the subscription; the reports it delivered stay in the inbox. Needs bi.read, and to be its recipient or hold bi.manage.", Responses: notYours},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.DeleteSubscription(ctx, in.ID)
		}))

	type inboxOut struct {
		Body struct {
			Items      []InboxItem `json:"items"`
			NextCursor string      `json:"next_cursor,omitempty"`
		} `nameHint:"ReportInboxList"`
	}
	type itemOut struct{ Body *InboxItem }
	notInbox := httpx.Refusals(map[int]string{404: "No report delivered to you has this id."})
	huma.Register(api, huma.Operation{OperationID: "list-report-inbox", Method: http.MethodGet, Path: "/bi/inbox", Summary: "List the reports delivered to you",
		Description: "The scheduled reports sent to you, newest first, with their files. Only your own: nobody sees another member's inbox. Needs bi.read."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *listIn) (*inboxOut, error) {
			items, next, err := m.ListInbox(ctx, in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			out := &inboxOut{}
			out.Body.Items, out.Body.NextCursor = items, next
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-report-inbox-item", Method: http.MethodGet, Path: "/bi/inbox/{id}", Summary: "Read a delivered report",
		Description: "A report delivered to you, with its files. Needs bi.read.", Responses: notInbox},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *idIn) (*itemOut, error) {
			it, err := m.GetInboxItem(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &itemOut{Body: it}, nil
		}))
	type fileIn struct {
		ID       uuid.UUID `path:"id" format:"uuid"`
		Position int       `path:"position" minimum:"0" maximum:"1000" doc:"the file's position in the report's files"`
	}
	type fileOut struct {
		ContentType        string `header:"Content-Type"`
		ContentDisposition string `header:"Content-Disposition"`
		NoSniff            string `header:"X-Content-Type-Options"`
		CacheControl       string `header:"Cache-Control"`
		Body               []byte
	}
	huma.Register(api, huma.Operation{OperationID: "download-report-inbox-file", Method: http.MethodGet, Path: "/bi/inbox/{id}/files/{position}", Summary: "Download a delivered report's file",
		Description: "A picture, spreadsheet or PDF of a report delivered to you, as a download. Needs bi.read.",
		Responses:   httpx.Refusals(map[int]string{404: "No report delivered to you has this id, or it has no such file."})},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *fileIn) (*fileOut, error) {
			f, err := m.GetInboxFile(ctx, in.ID, in.Position)
			if err != nil {
				return nil, err
			}
			disp := mime.FormatMediaType("attachment", map[string]string{"filename": f.Name})
			if disp == "" {
				disp = "attachment"
			}
			return &fileOut{ContentType: f.ContentType, ContentDisposition: disp, NoSniff: "nosniff", CacheControl: "private, no-store", Body: f.Data}, nil
		}))
}

// SchemaName names the subscription in the API document.
func (Subscription) SchemaName() string { return "ReportSubscription" }

// SchemaName names the subscription input in the API document.
func (SubscriptionInput) SchemaName() string { return "NewReportSubscription" }

// SchemaName names an inbox item in the API document.
func (InboxItem) SchemaName() string { return "ReportInboxItem" }

// SchemaName names an inbox file in the API document.
func (InboxFile) SchemaName() string { return "ReportInboxFile" }
