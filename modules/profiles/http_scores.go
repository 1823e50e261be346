package profiles

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// scoreRoutes registers the scores and the classification rules; before
// /customers/{id}, so /customers/scores is not taken for an id.
func (m *Module) scoreRoutes(api huma.API) {
	type jobOut struct {
		Body struct {
			JobID  uuid.UUID `json:"job_id" doc:"follow it at GET .../jobs/{id}"`
			Status string    `json:"status"`
		} `nameHint:"ScoringJob"`
	}
	huma.Register(api, huma.Operation{OperationID: "recompute-customer-scores", Method: http.MethodPost, Path: "/customers/scores/recompute", DefaultStatus: 202,
		Summary:     "Recompute RFM scores and churn risk now",
		Description: "Enqueues the scoring job the nightly schedule runs: every customer's RFM scores, segment and churn risk, then the enabled classification rules over every customer. Follow it at GET .../jobs/{id}. Needs profiles.classify."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, _ *struct{}) (*jobOut, error) {
			j, err := m.RecomputeScores(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			out := &jobOut{}
			out.Body.JobID, out.Body.Status = j.ID, j.Status
			return out, nil
		}))
	type scoreOut struct{ Body *Score }
	huma.Register(api, huma.Operation{OperationID: "get-customer-scores", Method: http.MethodGet, Path: "/customers/{id}/scores",
		Summary:     "A customer's RFM scores, segment and churn risk, with its reasons",
		Description: "As the last scoring run left them (nightly, or recomputed). 404 for a customer outside the caller's scope, or not scored yet. Needs profiles.read."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *idIn) (*scoreOut, error) {
			s, err := m.CustomerScore(ctx, t.ID, in.ID)
			if err != nil {
				return nil, err
			}
			return &scoreOut{Body: s}, nil
		}))

	type ruleOut struct{ Body *Rule }
	type rulesOut struct {
		Body struct {
			Items []Rule `json:"items"`
		} `nameHint:"ClassificationRuleList"`
	}
	type ruleIDIn struct {
		ID uuid.UUID `path:"id"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-classification-rules", Method: http.MethodGet, Path: "/classification-rules",
		Summary: "List the customer classification rules", Description: "In the order they run. Needs profiles.classify."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, _ *struct{}) (*rulesOut, error) {
			rs, err := m.ListRules(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			out := &rulesOut{}
			out.Body.Items = rs
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "create-classification-rule", Method: http.MethodPost, Path: "/classification-rules", DefaultStatus: 201,
		Summary: "Create a customer classification rule",
		Description: "A condition in the customer list's filter syntax (e.g. `rfm.segment=champions`, `revenue[gt]=50000`, `churn_risk[gte]=70&custom.tier=gold`) and an action: " +
			"add_tag or remove_tag (value: the tag), set_lifecycle (value: the stage) or set_field (field: a select custom field, value: an option). " +
			"Off unless enabled; dry-run it first. A condition that does not parse is 422 naming body.condition and the filter. Needs profiles.classify."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *struct{ Body RuleInput }) (*ruleOut, error) {
			r, err := m.CreateRule(ctx, t.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &ruleOut{Body: r}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-classification-rule", Method: http.MethodGet, Path: "/classification-rules/{id}",
		Summary: "Get a customer classification rule", Description: "Needs profiles.classify."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *ruleIDIn) (*ruleOut, error) {
			r, err := m.GetRule(ctx, t.ID, in.ID)
			if err != nil {
				return nil, err
			}
			return &ruleOut{Body: r}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "update-classification-rule", Method: http.MethodPatch, Path: "/classification-rules/{id}",
		Summary: "Change, enable or disable a customer classification rule", Description: "The result is checked as a new rule is. Needs profiles.classify."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body RuleUpdate
		}) (*ruleOut, error) {
			r, err := m.UpdateRule(ctx, t.ID, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &ruleOut{Body: r}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-classification-rule", Method: http.MethodDelete, Path: "/classification-rules/{id}", DefaultStatus: 204,
		Summary: "Delete a customer classification rule", Description: "What the rule changed stays. Needs profiles.classify."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *ruleIDIn) (*struct{}, error) {
			return nil, m.DeleteRule(ctx, t.ID, in.ID)
		}))
	type runOut struct{ Body *RuleRun }
	huma.Register(api, huma.Operation{OperationID: "dry-run-classification-rule", Method: http.MethodPost, Path: "/classification-rules/{id}/dry-run",
		Summary:     "Count the customers a rule would change, changing nothing",
		Description: "Across the company, as the rule acts: the customers its condition matches whose tag, stage or field is not yet what it sets. Running it now changes exactly these. Needs profiles.classify."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *ruleIDIn) (*runOut, error) {
			r, err := m.DryRunRule(ctx, t.ID, in.ID)
			if err != nil {
				return nil, err
			}
			return &runOut{Body: r}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "run-classification-rule", Method: http.MethodPost, Path: "/classification-rules/{id}/run",
		Summary:     "Apply a rule now",
		Description: "Applies the rule to every customer it matches, enabled or not; each change is audited as customer.classify naming the rule. Needs profiles.classify."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *ruleIDIn) (*runOut, error) {
			r, err := m.RunRule(ctx, t.ID, in.ID)
			if err != nil {
				return nil, err
			}
			return &runOut{Body: r}, nil
		}))
}
