package funnel

import (
	"context"
	"net/http"
	"net/url"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// APITags describes the tags of the funnel's operations.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{
		{Name: "pipelines", Description: "Sales pipelines and their stages (销售流程与阶段)."},
		{Name: "deals", Description: "Deals (商机): create, change with a version check, move on the board, list with filters, sorts and saved views."},
		{Name: "lost-reasons", Description: "The company's list of reasons deals are lost (输单原因)."},
		{Name: "exchange-rates", Description: "Dated exchange rates into the company's currency (汇率), which the board's totals and the analytics convert with."},
	}
}

// body is an operation's answer of one record.
type body[T any] struct{ Body *T }

// reply wraps a service's answer, or passes its error on.
func reply[T any](v *T, err error) (*body[T], error) {
	if err != nil {
		return nil, err
	}
	return &body[T]{Body: v}, nil
}

type idIn struct {
	ID uuid.UUID `path:"id"`
}

// Routes registers the funnel's operations.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	m.pipelineRoutes(api)
	m.dealRoutes(api)
	m.reasonRoutes(api)
	m.rateRoutes(api)
	m.analyticsRoutes(api)
}

func (m *Module) pipelineRoutes(api huma.API) {
	type pipelinesOut struct {
		Body struct {
			Items []Pipeline `json:"items"`
		} `nameHint:"PipelineList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-pipelines", Method: http.MethodGet, Path: "/pipelines", Summary: "List pipelines with their stages",
		Description: "Every pipeline of the company in order, each with its stages in order. Needs deals.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, _ *struct{}) (*pipelinesOut, error) {
			items, err := m.ListPipelines(ctx, tn.ID)
			if err != nil {
				return nil, err
			}
			out := &pipelinesOut{}
			out.Body.Items = items
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-board", Method: http.MethodGet, Path: "/pipelines/{id}/board", Summary: "A pipeline's board",
		Description: "Every stage of the pipeline as a column: its count, rotting count, amount and weighted amount (by the stage's probability) in the company's currency, and its totals in each deal currency, over all the deals the filters and your role's scope let through, with the first page of those deals in position order. Each deal converts with the exchange rate in force on its expected close date (today without one); rates lists the rates used. A column loads more with list-deals (stage_id, sort=position, the column's next_cursor). Needs deals.read.",
		Responses:   httpx.Refusals(map[int]string{409: "A deal's currency has no exchange rate in force on the day it converts on; the problem names the currency and the day."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *boardIn) (*body[Board], error) {
			return reply(m.LoadBoard(ctx, tn.ID, in.ID, in.filter, in.Limit))
		}))
	huma.Register(api, huma.Operation{OperationID: "create-pipeline", Method: http.MethodPost, Path: "/pipelines", DefaultStatus: 201, Summary: "Create a pipeline",
		Description: "A pipeline with its stages in order; without stages it gets the default ones (Lead 线索 ... Won 赢单, Lost 输单). The company's first pipeline is its default. Needs deals.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The company has the most pipelines it may keep."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body PipelineInput }) (*body[Pipeline], error) {
			return reply(m.CreatePipeline(ctx, tn.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "get-pipeline", Method: http.MethodGet, Path: "/pipelines/{id}", Summary: "Get a pipeline with its stages",
		Description: "The pipeline with its stages in order, their probabilities, kinds and rotting limits. Needs deals.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*body[Pipeline], error) {
			return reply(m.GetPipeline(ctx, tn.ID, in.ID))
		}))
	huma.Register(api, huma.Operation{OperationID: "update-pipeline", Method: http.MethodPatch, Path: "/pipelines/{id}", Summary: "Rename a pipeline or make it the default",
		Description: "Names in English and Chinese; is_default true makes it where deals go when they name no pipeline. Needs deals.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body PipelineUpdate
		}) (*body[Pipeline], error) {
			return reply(m.UpdatePipeline(ctx, tn.ID, in.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-pipeline", Method: http.MethodDelete, Path: "/pipelines/{id}", DefaultStatus: 204, Summary: "Delete a pipeline",
		Description: "Only a pipeline without live deals, and not the default one. Needs deals.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The pipeline still holds deals, or it is the company's default."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.DeletePipeline(ctx, tn.ID, in.ID)
		}))
	huma.Register(api, huma.Operation{OperationID: "add-stage", Method: http.MethodPost, Path: "/pipelines/{id}/stages", DefaultStatus: 201, Summary: "Add a stage to a pipeline",
		Description: "Last, or at position (the stages from there move one place down). Answers the pipeline. Needs deals.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The pipeline has the most stages it may have."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body StageInput
		}) (*body[Pipeline], error) {
			return reply(m.AddStage(ctx, tn.ID, in.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "update-stage", Method: http.MethodPatch, Path: "/pipelines/{id}/stages/{stage_id}", Summary: "Rename a stage or change its probability, kind or rotting limit",
		Description: "Answers the pipeline. Needs deals.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			// The path's ids, named here: Huma documents no parameter of an
			// unexported embedded struct.
			ID      uuid.UUID `path:"id" doc:"the pipeline"`
			StageID uuid.UUID `path:"stage_id"`
			Body    StageUpdate
		}) (*body[Pipeline], error) {
			return reply(m.UpdateStage(ctx, tn.ID, in.ID, in.StageID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-stage", Method: http.MethodDelete, Path: "/pipelines/{id}/stages/{stage_id}", Summary: "Delete a stage, moving its deals",
		Description: "A stage that holds deals needs target_stage_id, another stage of the same pipeline: its deals move to the end of that column, with their history, in the same transaction as the delete. Answers the pipeline. Needs deals.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The stage holds deals and no target was given, or it is the pipeline's last open stage."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			// The path's ids, named here: Huma documents no parameter of an
			// unexported embedded struct.
			ID      uuid.UUID `path:"id" doc:"the pipeline"`
			StageID uuid.UUID `path:"stage_id"`
			Target  string    `query:"target_stage_id" format:"uuid" doc:"where the stage's deals go; required when it holds any"`
		}) (*body[Pipeline], error) {
			var target *uuid.UUID
			if in.Target != "" {
				id, err := uuid.Parse(in.Target)
				if err != nil {
					return nil, errs.Field("query.target_stage_id", "must be a stage id")
				}
				target = &id
			}
			return reply(m.DeleteStage(ctx, tn.ID, in.ID, in.StageID, target))
		}))
	huma.Register(api, huma.Operation{OperationID: "reorder-stages", Method: http.MethodPut, Path: "/pipelines/{id}/stage-order", Summary: "Reorder a pipeline's stages",
		Description: "stage_ids lists every stage of the pipeline once, in the new order. Answers the pipeline. Needs deals.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body struct {
				StageIDs []uuid.UUID `json:"stage_ids" minItems:"1" maxItems:"50"`
			} `nameHint:"StageOrder"`
		}) (*body[Pipeline], error) {
			return reply(m.ReorderStages(ctx, tn.ID, in.ID, in.Body.StageIDs))
		}))
}

// boardIn is the board's query: the deal list's filters narrow every column
// (owner, tag, status, expected close, custom fields).
type boardIn struct {
	filter Filter

	ID uuid.UUID `path:"id"`
	DealFilterParams
	Limit int `query:"limit" minimum:"1" maximum:"200" default:"50" doc:"deals per column"`
}

// DealFilterParams documents the filters the deal list and the board share,
// for the API document: both read them, custom fields included, from the
// whole query string in Resolve (filterFromQuery), the form saved views keep.
// Exported because Huma reads the parameters of exported embedded structs only.
type DealFilterParams struct {
	Owner     string   `query:"owner" format:"uuid" doc:"only deals of this owner"`
	NoOwner   string   `query:"owner[empty]" enum:"true," doc:"true: only deals nobody owns"`
	Team      string   `query:"team" format:"uuid" doc:"only deals whose owner is a member of this team"`
	NoTeam    string   `query:"team[empty]" enum:"true," doc:"true: only deals whose owner is in no team, or that nobody owns"`
	Customer  string   `query:"customer_id" format:"uuid" doc:"only deals of this customer"`
	Tag       []string `query:"tag,explode" maxItems:"100" doc:"only deals with every given tag; repeat the parameter"`
	NoTags    string   `query:"tag[empty]" enum:"true," doc:"true: only deals without a tag"`
	Status    string   `query:"status" enum:"open,won,lost," doc:"open, won or lost"`
	CloseGTE  string   `query:"expected_close[gte]" doc:"expected close on or after, YYYY-MM-DD"`
	CloseLTE  string   `query:"expected_close[lte]" doc:"expected close on or before, YYYY-MM-DD"`
	Source    []string `query:"source,explode" maxItems:"100" doc:"only deals from one of these sources; repeat the parameter"`
	NoSource  string   `query:"source[empty]" enum:"true," doc:"true: only deals without a source"`
	Currency  string   `query:"currency" maxLength:"3" doc:"only deals in this currency (ISO 4217)"`
	CreateGTE string   `query:"created_at[gte]" format:"date-time" doc:"created at or after this instant (RFC 3339)"`
	CreateLT  string   `query:"created_at[lt]" format:"date-time" doc:"created before this instant (RFC 3339)"`
	WonGTE    string   `query:"won_at[gte]" format:"date-time" doc:"won at or after this instant (RFC 3339)"`
	WonLT     string   `query:"won_at[lt]" format:"date-time" doc:"won before this instant (RFC 3339)"`
	LostGTE   string   `query:"lost_at[gte]" format:"date-time" doc:"lost at or after this instant (RFC 3339)"`
	LostLT    string   `query:"lost_at[lt]" format:"date-time" doc:"lost before this instant (RFC 3339)"`
	ClosedGTE string   `query:"closed_at[gte]" format:"date-time" doc:"won, or else lost, at or after this instant (RFC 3339): the deals the win rate counts"`
	ClosedLT  string   `query:"closed_at[lt]" format:"date-time" doc:"won, or else lost, before this instant (RFC 3339)"`
	OpenAt    string   `query:"open_at" format:"date-time" doc:"only deals open at this instant (RFC 3339): created before it and neither won nor lost before it, as the pipeline value counts them"`
}

// Resolve reads the filters, custom ones included; a board is one pipeline,
// so it takes no pipeline or stage filter.
func (in *boardIn) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	q := u.Query()
	for _, k := range []string{"pipeline_id", "stage_id", "sort", "cursor", "view_id"} {
		if q.Has(k) {
			return []error{&huma.ErrorDetail{Location: "query." + k, Message: "a board shows one pipeline's stages in position order; this parameter belongs to the deal list"}}
		}
	}
	f, errs := resolveFilter(q)
	in.filter = f
	return errs
}

// dealListIn is the deal list's query. The filters (listFilterNames) are
// read by Resolve from the whole query string, the form saved views keep;
// the fields here document them.
type dealListIn struct {
	filter Filter

	Pipeline string   `query:"pipeline_id" format:"uuid" doc:"only deals of this pipeline"`
	Stage    []string `query:"stage_id,explode" format:"uuid" maxItems:"100" doc:"only deals in these stages (ids); repeat the parameter. Read with the other filters by Resolve, which names a bad id"`
	DealFilterParams
	View   string `query:"view_id" format:"uuid" doc:"apply a saved view of deals: its filter, which the other filters narrow further, and its sort unless sort is given"`
	Sort   string `query:"sort" maxLength:"80" doc:"created_at, updated_at, amount or custom.<key> of a sortable custom field; - for descending; default -created_at"`
	Cursor string `query:"cursor" maxLength:"300"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

// Resolve reads the filters, custom ones included, which Huma's fixed
// parameters cannot express.
func (in *dealListIn) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	f, errs := resolveFilter(u.Query())
	in.filter = f
	return errs
}

// resolveFilter reads a list's filters for an input's Resolve: the filter, or
// Huma's error details naming each bad parameter.
func resolveFilter(q url.Values) (Filter, []error) {
	f, err := filterFromQuery(q, "query")
	if err == nil {
		return f, nil
	}
	e, ok := err.(*errs.Error)
	if !ok {
		return f, []error{err}
	}
	out := make([]error, 0, len(e.Errors))
	for _, fe := range e.Errors {
		out = append(out, &huma.ErrorDetail{Location: fe.Location, Message: fe.Message})
	}
	return f, out
}

func (m *Module) dealRoutes(api huma.API) {
	type dealsOut struct {
		Body struct {
			Items      []Deal `json:"items"`
			NextCursor string `json:"next_cursor,omitempty"`
		} `nameHint:"DealPage"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-deals", Method: http.MethodGet, Path: "/deals", Summary: "List deals",
		Description: "Keyset pages (pass next_cursor as cursor) of the deals your role's scope shows you; JSON by default, XML or CSV with Accept. Custom fields filter as custom.<key>[op]=value (eq, ne, in, gt, gte, lt, lte, between, prefix, empty as the field's type allows). Needs deals.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *dealListIn) (*dealsOut, error) {
			f := in.filter
			f.Sort, f.Cursor, f.Limit = in.Sort, in.Cursor, in.Limit
			if in.View != "" {
				vid, err := uuid.Parse(in.View)
				if err != nil {
					return nil, errs.Field("query.view_id", "must be a saved view id")
				}
				vf, sortBy, err := m.savedView(ctx, tn.ID, vid)
				if err != nil {
					return nil, err
				}
				f.View = &vf
				if f.Sort == "" {
					f.Sort = sortBy
				}
			}
			items, next, err := m.ListDeals(ctx, tn.ID, f)
			if err != nil {
				return nil, err
			}
			out := &dealsOut{}
			out.Body.Items, out.Body.NextCursor = items, next
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "create-deal", Method: http.MethodPost, Path: "/deals", DefaultStatus: 201, Summary: "Create a deal",
		Description: "A deal of a customer of this company, placed at the end of its stage's column: the stage given, or the first open stage of the pipeline given or of the default pipeline. Needs deals.write."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body DealInput }) (*body[Deal], error) {
			return reply(m.CreateDeal(ctx, tn.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "get-deal", Method: http.MethodGet, Path: "/deals/{id}", Summary: "Get a deal",
		Description: "Needs deals.read, and a deal within your role's scope."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*body[Deal], error) {
			return reply(m.GetDeal(ctx, tn.ID, in.ID))
		}))
	huma.Register(api, huma.Operation{OperationID: "update-deal", Method: http.MethodPatch, Path: "/deals/{id}", Summary: "Change a deal",
		Description: "Send the version you read; a stale one gets 409 with the deal as it is now in current. Stage and position change through move. Needs deals.write.",
		Responses:   httpx.Refusals(map[int]string{409: "The version is stale: someone changed the deal since you read it (current holds it as it is)."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body DealUpdate
		}) (*body[Deal], error) {
			return reply(m.UpdateDeal(ctx, tn.ID, in.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-deal", Method: http.MethodDelete, Path: "/deals/{id}", DefaultStatus: 204, Summary: "Delete a deal",
		Description: "With version, only if the deal is still at that version. Its stage history stays for the analytics. Needs deals.write.",
		Responses:   httpx.Refusals(map[int]string{409: "The version is stale."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID      uuid.UUID `path:"id"`
			Version int       `query:"version" minimum:"0" doc:"delete only this version; 0 or absent: any"`
		}) (*struct{}, error) {
			var v *int
			if in.Version > 0 {
				v = &in.Version
			}
			return nil, m.DeleteDeal(ctx, tn.ID, in.ID, v)
		}))
	type historyOut struct {
		Body struct {
			Items []StageStay `json:"items"`
		} `nameHint:"DealHistory"`
	}
	huma.Register(api, huma.Operation{OperationID: "get-deal-history", Method: http.MethodGet, Path: "/deals/{id}/history", Summary: "A deal's stage history",
		Description: "Every stage the deal entered and left, oldest first: when, by whom, and its amount at each moment. Needs deals.read, and a deal within your role's scope."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*historyOut, error) {
			items, err := m.DealHistory(ctx, tn.ID, in.ID)
			if err != nil {
				return nil, err
			}
			out := &historyOut{}
			out.Body.Items = items
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "move-deal", Method: http.MethodPost, Path: "/deals/{id}/move", Summary: "Move a deal on the board",
		Description: "To stage_id, just before before_id or just after after_id (deals of that stage), or at the end of the column. A stage of another pipeline needs that pipeline_id; a lost stage needs lost_reason_id. Entering a won or lost stage stamps the time. A stale version gets 409 with the deal as it is. Needs deals.write.",
		Responses:   httpx.Refusals(map[int]string{409: "The version is stale: someone changed or moved the deal since you read it (current holds it as it is)."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body MoveInput
		}) (*body[Deal], error) {
			return reply(m.MoveDeal(ctx, tn.ID, in.ID, in.Body))
		}))
}

// savedView reads a saved view of deals: its filter and its sort.
func (m *Module) savedView(ctx context.Context, tenant, id uuid.UUID) (Filter, string, error) {
	if m.d.Views == nil {
		return Filter{}, "", errs.E(errs.NotFound, "view not found").WithFields(errs.FieldError{Location: "query.view_id", Message: "no such view of deals visible to you"})
	}
	v, err := m.d.Views.Get(ctx, tenant, EntityDeals, id)
	if errs.Is(err, errs.NotFound) {
		return Filter{}, "", errs.E(errs.NotFound, "view not found").WithFields(errs.FieldError{Location: "query.view_id", Message: "no such view of deals visible to you"})
	}
	if err != nil {
		return Filter{}, "", err
	}
	q, err := url.ParseQuery(v.Query)
	if err != nil {
		return Filter{}, "", errs.Field("query.view_id", "the view's filter is no longer valid; edit the view")
	}
	f, err := filterFromQuery(q, "query.view_id")
	return f, v.Sort, err
}

func (m *Module) reasonRoutes(api huma.API) {
	type reasonsOut struct {
		Body struct {
			Items []LostReason `json:"items"`
		} `nameHint:"LostReasonList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-lost-reasons", Method: http.MethodGet, Path: "/lost-reasons", Summary: "List the lost reasons",
		Description: "The company's reasons deals are lost, in English and Chinese, in order. Needs deals.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, _ *struct{}) (*reasonsOut, error) {
			items, err := m.ListLostReasons(ctx, tn.ID)
			if err != nil {
				return nil, err
			}
			out := &reasonsOut{}
			out.Body.Items = items
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "create-lost-reason", Method: http.MethodPost, Path: "/lost-reasons", DefaultStatus: 201, Summary: "Add a lost reason",
		Description: "Adds a reason, in English or Chinese or both, at the end of the list. Needs deals.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body Names }) (*body[LostReason], error) {
			return reply(m.CreateLostReason(ctx, tn.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "update-lost-reason", Method: http.MethodPatch, Path: "/lost-reasons/{id}", Summary: "Rename a lost reason",
		Description: "Deals lost for it show the new name. Needs deals.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body NamesUpdate
		}) (*body[LostReason], error) {
			return reply(m.UpdateLostReason(ctx, tn.ID, in.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-lost-reason", Method: http.MethodDelete, Path: "/lost-reasons/{id}", DefaultStatus: 204, Summary: "Delete a lost reason",
		Description: "Only one no deal was lost for. Needs deals.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "Deals were lost for this reason; rename it instead."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.DeleteLostReason(ctx, tn.ID, in.ID)
		}))
}

func (m *Module) rateRoutes(api huma.API) {
	type ratesOut struct {
		Body struct {
			Base  string         `json:"base" doc:"the company's currency (set in the company's settings), which every rate converts into"`
			Items []ExchangeRate `json:"items"`
		} `nameHint:"ExchangeRateList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-exchange-rates", Method: http.MethodGet, Path: "/exchange-rates", Summary: "List the exchange rates",
		Description: "The company's currency and every rate into it, by currency, newest first. A total converts a deal with the rate of its currency in force on its expected close date: the latest one valid from that day or before. Needs deals.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, _ *struct{}) (*ratesOut, error) {
			base, items, err := m.ListRates(ctx, tn.ID)
			if err != nil {
				return nil, err
			}
			out := &ratesOut{}
			out.Body.Base, out.Body.Items = base, items
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "set-exchange-rate", Method: http.MethodPost, Path: "/exchange-rates", Summary: "Set an exchange rate",
		Description: "The rate of a currency into the company's currency from valid_from on; a rate of the same currency and day is replaced. Needs deals.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The company keeps the most rates it may."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body RateInput }) (*body[ExchangeRate], error) {
			return reply(m.SetRate(ctx, tn.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-exchange-rate", Method: http.MethodDelete, Path: "/exchange-rates/{id}", DefaultStatus: 204, Summary: "Delete an exchange rate",
		Description: "Totals that used it convert with the rate before it, or say that none is in force. Needs deals.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.DeleteRate(ctx, tn.ID, in.ID)
		}))
}

// analyticsIn is the query of the analytics and the forecast.
type analyticsIn struct {
	ID    uuid.UUID `path:"id" doc:"the pipeline"`
	From  string    `query:"from" maxLength:"10" doc:"first day, YYYY-MM-DD in the company's time zone; default the first day of the month 11 months ago"`
	To    string    `query:"to" maxLength:"10" doc:"last day, included; default the last day of the current month; at most two years after from"`
	Owner string    `query:"owner" format:"uuid" doc:"only deals of this owner"`
}

func (in *analyticsIn) query() (AnalyticsQuery, error) {
	q := AnalyticsQuery{Pipeline: in.ID, From: Date(in.From), To: Date(in.To)}
	if in.Owner != "" {
		id, err := uuid.Parse(in.Owner)
		if err != nil {
			return q, errs.Field("query.owner", "must be a member id")
		}
		q.Owner = &id
	}
	return q, nil
}

func (m *Module) analyticsRoutes(api huma.API) {
	missing := httpx.Refusals(map[int]string{409: "An amount's currency has no exchange rate in force on the day it converts on; the problem names the currency and the day."})
	huma.Register(api, huma.Operation{OperationID: "get-pipeline-analytics", Method: http.MethodGet, Path: "/pipelines/{id}/analytics", Summary: "A pipeline's conversion, win rate, stage times, sales cycle and deal size",
		Description: "Computed from the stage history over the days from..to in the company's time zone, for the deals your role's scope shows (and owner's, if given): per stage the deals that entered it and how many went on to a later stage that is not lost, and the mean time of the stays that ended; the wins and losses, win rate, mean sales cycle (from a deal's creation to its win) and mean won amount in the company's currency, with the exchange rates used. Needs deals.read.",
		Responses:   missing},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *analyticsIn) (*body[Analytics], error) {
			q, err := in.query()
			if err != nil {
				return nil, err
			}
			return reply(m.Analytics(ctx, tn.ID, q))
		}))
	huma.Register(api, huma.Operation{OperationID: "get-pipeline-forecast", Method: http.MethodGet, Path: "/pipelines/{id}/forecast", Summary: "A pipeline's forecast by month and owner",
		Description: "Open deals expected to close from..to, by month and by owner: weighted by their stage's probability, best case (won plus every open amount) and committed (won plus the open amounts in stages of at least commit_probability), with what was won in each month; months that are over also carry the weighted forecast as it stood when they began. In the company's currency, with the exchange rates used. Needs deals.read.",
		Responses:   missing},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *analyticsIn) (*body[Forecast], error) {
			q, err := in.query()
			if err != nil {
				return nil, err
			}
			return reply(m.Forecast(ctx, tn.ID, q))
		}))
}
