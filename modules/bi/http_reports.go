package bi

import (
	"context"
	"mime"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

type idIn struct {
	ID uuid.UUID `path:"id" format:"uuid"`
}

type listIn struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor string `query:"cursor" maxLength:"200" doc:"the next_cursor of the previous page"`
}

// reportRoutes registers saved reports and dashboards.
func (m *Module) reportRoutes(api huma.API) {
	type reportOut struct{ Body *Report }
	type reportsOut struct {
		Body struct {
			Items      []Report `json:"items"`
			NextCursor string   `json:"next_cursor,omitempty"`
		} `nameHint:"ReportList"`
	}
	type resultOut struct{ Body *measures.Result }
	notYours := httpx.Refusals(map[int]string{403: "Only the owner, or someone with bi.manage, may change or remove it.", 404: "No report you can see has this id."})
	huma.Register(api, huma.Operation{OperationID: "create-report", Method: http.MethodPost, Path: "/bi/reports", DefaultStatus: 201, Summary: "Save a report",
		Description: "A question to one metric (dimensions, filters, a range that moves with the calendar or fixed days) and a chart type, owned by the caller and private unless shared with roles. Whoever runs it sees only the numbers their own role and scope reach. Needs bi.read and the metric's read permission."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *struct{ Body ReportInput }) (*reportOut, error) {
			r, err := m.CreateReport(ctx, in.Body)
			if err != nil {
				return nil, err
			}
			return &reportOut{Body: r}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "list-reports", Method: http.MethodGet, Path: "/bi/reports", Summary: "List the reports you can see",
		Description: "Your reports and those shared with your role, newest first. Needs bi.read."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *listIn) (*reportsOut, error) {
			items, next, err := m.ListReports(ctx, in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			out := &reportsOut{}
			out.Body.Items, out.Body.NextCursor = items, next
			if out.Body.Items == nil {
				out.Body.Items = []Report{}
			}
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-report", Method: http.MethodGet, Path: "/bi/reports/{id}", Summary: "Read a report",
		Description: "A report you own or that is shared with your role. Needs bi.read.", Responses: notYours},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *idIn) (*reportOut, error) {
			r, err := m.GetReport(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &reportOut{Body: r}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "update-report", Method: http.MethodPut, Path: "/bi/reports/{id}", Summary: "Change a report",
		Description: "Replaces the report's name, chart, question and sharing. Needs bi.read, and to own it or hold bi.manage.", Responses: notYours},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body ReportInput
		}) (*reportOut, error) {
			r, err := m.UpdateReport(ctx, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &reportOut{Body: r}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-report", Method: http.MethodDelete, Path: "/bi/reports/{id}", DefaultStatus: 204, Summary: "Remove a report",
		Description: "Removes the report from every dashboard too. Needs bi.read, and to own it or hold bi.manage.", Responses: notYours},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.DeleteReport(ctx, in.ID)
		}))
	huma.Register(api, huma.Operation{OperationID: "run-report", Method: http.MethodPost, Path: "/bi/reports/{id}/run", Summary: "Run a report",
		Description: "The report's question for its range as of now, with your own permissions and scope. Needs bi.read and the metric's read permission.",
		Responses:   httpx.Refusals(map[int]string{404: "No report you can see has this id."})},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *idIn) (*resultOut, error) {
			res, err := m.RunReport(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &resultOut{Body: res}, nil
		}))

	type exportIn struct {
		ID        uuid.UUID `path:"id" format:"uuid"`
		Format    string    `query:"format" enum:"xlsx,png" default:"xlsx" doc:"xlsx (the default): the numbers as a spreadsheet; png: the chart as a picture"`
		Dashboard string    `query:"dashboard" format:"uuid" doc:"run it as a widget of this dashboard: the dashboard's range and filters apply"`
	}
	type exportOut struct {
		ContentType        string `header:"Content-Type"`
		ContentDisposition string `header:"Content-Disposition"`
		NoSniff            string `header:"X-Content-Type-Options"`
		CacheControl       string `header:"Cache-Control"`
		Body               []byte
	}
	huma.Register(api, huma.Operation{OperationID: "export-report", Method: http.MethodGet, Path: "/bi/reports/{id}/export", Summary: "Export a report",
		Description: "The report run as of now with your own permissions and scope (as a widget of a dashboard when one is named), as an XLSX of its numbers or a PNG of its chart, as a download. Needs bi.read and the metric's read permission.",
		Responses:   httpx.Refusals(map[int]string{404: "No report you can see has this id.", 422: "A format other than xlsx or png, or a dashboard you cannot see."})},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *exportIn) (*exportOut, error) {
			var dash *uuid.UUID
			if in.Dashboard != "" {
				d, err := uuid.Parse(in.Dashboard)
				if err != nil {
					return nil, errs.Field("query.dashboard", "must be a uuid")
				}
				dash = &d
			}
			f, err := m.ExportReport(ctx, in.ID, dash, in.Format)
			if err != nil {
				return nil, err
			}
			disp := mime.FormatMediaType("attachment", map[string]string{"filename": f.Name})
			if disp == "" {
				disp = "attachment"
			}
			return &exportOut{ContentType: f.ContentType, ContentDisposition: disp, NoSniff: "nosniff", CacheControl: "private, no-store", Body: f.Data}, nil
		}))

	type dashboardOut struct{ Body *Dashboard }
	type dashboardsOut struct {
		Body struct {
			Items      []Dashboard `json:"items"`
			NextCursor string      `json:"next_cursor,omitempty"`
		} `nameHint:"DashboardList"`
	}
	type runOut struct{ Body *DashboardResult }
	notYoursD := httpx.Refusals(map[int]string{403: "Only the owner, or someone with bi.manage, may change or remove it.", 404: "No dashboard you can see has this id."})
	huma.Register(api, huma.Operation{OperationID: "create-dashboard", Method: http.MethodPost, Path: "/bi/dashboards", DefaultStatus: 201, Summary: "Save a dashboard",
		Description: "A grid of reports you can see (12 columns), with a range and filters of its own and an auto-refresh, private unless shared with roles. Needs bi.read."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *struct{ Body DashboardInput }) (*dashboardOut, error) {
			d, err := m.CreateDashboard(ctx, in.Body)
			if err != nil {
				return nil, err
			}
			return &dashboardOut{Body: d}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "list-dashboards", Method: http.MethodGet, Path: "/bi/dashboards", Summary: "List the dashboards you can see",
		Description: "Your dashboards and those shared with your role, newest first, without their widgets. Needs bi.read."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *listIn) (*dashboardsOut, error) {
			items, next, err := m.ListDashboards(ctx, in.Limit, in.Cursor)
			if err != nil {
				return nil, err
			}
			out := &dashboardsOut{}
			out.Body.Items, out.Body.NextCursor = items, next
			if out.Body.Items == nil {
				out.Body.Items = []Dashboard{}
			}
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-dashboard", Method: http.MethodGet, Path: "/bi/dashboards/{id}", Summary: "Read a dashboard",
		Description: "A dashboard you own or that is shared with your role, with its widgets. Needs bi.read.", Responses: notYoursD},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *idIn) (*dashboardOut, error) {
			d, err := m.GetDashboard(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &dashboardOut{Body: d}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "update-dashboard", Method: http.MethodPut, Path: "/bi/dashboards/{id}", Summary: "Change a dashboard",
		Description: "Replaces the dashboard: name, range, filters, refresh, sharing and widgets (as the grid moved and resized them). Needs bi.read, and to own it or hold bi.manage.", Responses: notYoursD},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id" format:"uuid"`
			Body DashboardInput
		}) (*dashboardOut, error) {
			d, err := m.UpdateDashboard(ctx, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &dashboardOut{Body: d}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-dashboard", Method: http.MethodDelete, Path: "/bi/dashboards/{id}", DefaultStatus: 204, Summary: "Remove a dashboard",
		Description: "Removes the dashboard; its reports stay. Needs bi.read, and to own it or hold bi.manage.", Responses: notYoursD},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.DeleteDashboard(ctx, in.ID)
		}))
	huma.Register(api, huma.Operation{OperationID: "run-dashboard", Method: http.MethodPost, Path: "/bi/dashboards/{id}/run", Summary: "Run a dashboard",
		Description: "Every widget's numbers with the dashboard's range (or the one asked for) and filters, as of now, with your own permissions and scope; a widget you may not see says why instead. Needs bi.read.",
		Responses:   httpx.Refusals(map[int]string{404: "No dashboard you can see has this id."})},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *struct {
			ID     uuid.UUID `path:"id" format:"uuid"`
			Preset string    `query:"range" enum:"last_7_days,last_30_days,last_90_days,this_month,last_month,this_quarter,last_quarter,this_year,last_year,last_12_months,custom," doc:"look at another range than the dashboard's own, without changing it"`
			From   string    `query:"from" maxLength:"10" doc:"with range custom: the first day, YYYY-MM-DD"`
			To     string    `query:"to" maxLength:"10" doc:"with range custom: the last day (included)"`
		}) (*runOut, error) {
			var over *Range
			if in.Preset != "" {
				over = &Range{Preset: in.Preset, From: in.From, To: in.To}
			}
			res, err := m.RunDashboardFor(ctx, in.ID, over)
			if err != nil {
				return nil, err
			}
			return &runOut{Body: res}, nil
		}))
}

// SchemaName names the report in the API document.
func (Report) SchemaName() string { return "Report" }

// SchemaName names the report input in the API document.
func (ReportInput) SchemaName() string { return "NewReport" }

// SchemaName names the saved question in the API document.
func (SavedQuery) SchemaName() string { return "SavedMetricQuery" }

// SchemaName names the range in the API document.
func (Range) SchemaName() string { return "ReportRange" }

// SchemaName names the dashboard in the API document.
func (Dashboard) SchemaName() string { return "Dashboard" }

// SchemaName names the dashboard input in the API document.
func (DashboardInput) SchemaName() string { return "NewDashboard" }

// SchemaName names the widget in the API document.
func (Widget) SchemaName() string { return "DashboardWidget" }

// SchemaName names a widget's numbers in the API document.
func (WidgetResult) SchemaName() string { return "WidgetResult" }

// SchemaName names a dashboard's numbers in the API document.
func (DashboardResult) SchemaName() string { return "DashboardResult" }
