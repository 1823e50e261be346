package bi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"

	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// APITags describes the tag of the BI operations.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{{Name: "bi", Description: "Business intelligence: the metrics of every module, by dimension and period, compared with the period before."}}
}

// QueryInput is a question to one metric.
type QueryInput struct {
	Metric     string            `json:"metric" maxLength:"80" doc:"a metric key from GET /bi/metrics"`
	Dimensions []string          `json:"dimensions,omitempty" maxItems:"2" doc:"up to two of the metric's dimensions; time buckets by bucket"`
	Bucket     string            `json:"bucket,omitempty" enum:"day,week,month,quarter,year," doc:"the size of a time bucket (month by default), in the company's time zone"`
	From       string            `json:"from" maxLength:"10" doc:"the first day of the range, YYYY-MM-DD in the company's time zone"`
	To         string            `json:"to" maxLength:"10" doc:"the last day of the range (included)"`
	Filters    []measures.Filter `json:"filters,omitempty" maxItems:"10"`
	Compare    bool              `json:"compare,omitempty" doc:"also answer the previous period: as many whole months before a range of whole months, else as many days"`
	WeekStart  int               `json:"week_start,omitempty" minimum:"0" maximum:"7" doc:"the first day of a week bucket, 1 Monday ... 7 Sunday; the company's by default"`
}

// Routes registers the BI operations.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	type metricsOut struct {
		Body struct {
			Items []MetricInfo `json:"items"`
		} `nameHint:"MetricList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-metrics", Method: http.MethodGet, Path: "/bi/metrics", Summary: "List the metrics offered",
		Description: "The metrics of the modules on for the company whose records the caller may read, with their labels, unit and the dimensions each allows (the company's select custom fields among them). Needs bi.read."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, _ *struct{}) (*metricsOut, error) {
			items, err := m.ListMetrics(ctx)
			if err != nil {
				return nil, err
			}
			out := &metricsOut{}
			out.Body.Items = items
			return out, nil
		}))
	type queryOut struct{ Body *measures.Result }
	huma.Register(api, huma.Operation{OperationID: "query-metric", Method: http.MethodPost, Path: "/bi/query", Summary: "Ask a metric",
		Description: "One metric over a range of days, split by up to two dimensions, filtered, and optionally compared with the previous period. Counts only the records the caller's scope reaches. Needs bi.read and the read permission of the metric's records.",
		Responses:   httpx.Refusals(map[int]string{422: "An unknown metric, dimension or filter, a dimension the metric does not allow, or a range over the limit (at most 1,830 buckets: five years by day)."})},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *struct{ Body QueryInput }) (*queryOut, error) {
			b := in.Body
			res, err := m.RunQuery(ctx, measures.Request{Metric: b.Metric, Dimensions: b.Dimensions, Bucket: b.Bucket, From: b.From, To: b.To,
				Filters: b.Filters, Compare: b.Compare, WeekStart: b.WeekStart}, "body")
			if err != nil {
				return nil, err
			}
			return &queryOut{Body: res}, nil
		}))
	m.reportRoutes(api)
	m.subscriptionRoutes(api)
	type settingsOut struct{ Body Settings }
	huma.Register(api, huma.Operation{OperationID: "get-bi-settings", Method: http.MethodGet, Path: "/bi/settings", Summary: "Read the company's BI settings",
		Description: "The first day of the company's weeks. Needs bi.read."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, _ *struct{}) (*settingsOut, error) {
			s, err := m.GetSettings(ctx)
			if err != nil {
				return nil, err
			}
			return &settingsOut{Body: s}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "set-bi-settings", Method: http.MethodPut, Path: "/bi/settings", Summary: "Change the company's BI settings",
		Description: "Sets the first day of the company's weeks for weekly buckets. Needs bi.manage."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, in *struct{ Body Settings }) (*settingsOut, error) {
			s, err := m.SetSettings(ctx, in.Body)
			if err != nil {
				return nil, err
			}
			return &settingsOut{Body: s}, nil
		}))
}

// SchemaName names the request in the API document.
func (QueryInput) SchemaName() string { return "MetricQuery" }

// SchemaName names the settings in the API document.
func (Settings) SchemaName() string { return "BISettings" }

// SchemaName names a metric in the API document.
func (MetricInfo) SchemaName() string { return "Metric" }

// SchemaName names a dimension in the API document.
func (Dimension) SchemaName() string { return "MetricDimension" }
