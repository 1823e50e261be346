package funnel

import (
	"context"
	"net/url"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/module"
)

// Entities declares the deals: the kernel gives them custom fields and saved
// views.
func (m *Module) Entities() []module.Entity {
	return []module.Entity{{
		Name: EntityDeals, LabelEN: "Deals", LabelZH: "商机", Table: "deals", Read: PermRead,
		Columns: []module.Column{
			{Key: "title", LabelEN: "Title", LabelZH: "标题"},
			{Key: "customer_id", LabelEN: "Customer", LabelZH: "客户"},
			{Key: "amount", LabelEN: "Amount", LabelZH: "金额"},
			{Key: "currency", LabelEN: "Currency", LabelZH: "币种"},
			{Key: "stage_id", LabelEN: "Stage", LabelZH: "阶段"},
			{Key: "expected_close", LabelEN: "Expected close", LabelZH: "预计成交日期"},
			{Key: "owner_id", LabelEN: "Owner", LabelZH: "负责人"},
			{Key: "tags", LabelEN: "Tags", LabelZH: "标签"},
			{Key: "source", LabelEN: "Source", LabelZH: "来源"},
			{Key: "created_at", LabelEN: "Created", LabelZH: "创建时间"},
			{Key: "updated_at", LabelEN: "Updated", LabelZH: "更新时间"},
		},
		Sorts: []string{"created_at", "updated_at", "amount"},
		Query: dealQueries{m},
		Tags:  &module.TagTable{Table: "deal_tags", ID: "deal_id"},
	}}
}

// dealQueries checks and counts the deal filters saved views keep.
type dealQueries struct{ m *Module }

// CheckQuery validates a deal list query string as the list would.
func (q dealQueries) CheckQuery(raw, loc string) error {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return errs.Field(loc, "is not a query string such as status=open&tag=vip")
	}
	_, err = filterFromQuery(v, loc)
	return err
}

// CountQuery counts the deals a saved filter matches, within the actor's scope.
func (q dealQueries) CountQuery(ctx context.Context, tenant uuid.UUID, raw string) (int, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return 0, errs.Field("query", "is not a query string")
	}
	f, err := filterFromQuery(v, "query")
	if err != nil {
		return 0, err
	}
	return q.m.CountDeals(ctx, tenant, f)
}
