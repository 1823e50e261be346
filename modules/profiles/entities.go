package profiles

import (
	"context"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/module"
)

// Entities declares the customers: the kernel gives them custom fields and
// saved views.
func (m *Module) Entities() []module.Entity {
	return []module.Entity{{
		Name: EntityCustomers, LabelEN: "Customers", LabelZH: "客户", Table: "customers", Read: PermRead,
		Columns: []module.Column{
			{Key: "name", LabelEN: "Name", LabelZH: "名称"},
			{Key: "emails", LabelEN: "Emails", LabelZH: "邮箱"},
			{Key: "phones", LabelEN: "Phones", LabelZH: "电话"},
			{Key: "lifecycle", LabelEN: "Lifecycle", LabelZH: "生命周期"},
			{Key: "tags", LabelEN: "Tags", LabelZH: "标签"},
			{Key: "owner_id", LabelEN: "Owner", LabelZH: "负责人"},
			{Key: "source", LabelEN: "Source", LabelZH: "来源"},
			{Key: "created_at", LabelEN: "Created", LabelZH: "创建时间"},
			{Key: "updated_at", LabelEN: "Updated", LabelZH: "更新时间"},
		},
		Sorts: []string{"created_at", "updated_at", "name"},
		Query: customerQueries{m},
		Tags:  &module.TagTable{Table: "customer_tags", ID: "customer_id"},
	}}
}

// customerQueries checks and counts the customer filters saved views keep.
type customerQueries struct{ m *Module }

// CheckQuery validates a customer list query string as the list would.
func (q customerQueries) CheckQuery(raw, loc string) error {
	_, err := filterAt(raw, loc)
	return err
}

// CountQuery counts the customers a saved filter matches, within the actor's scope.
func (q customerQueries) CountQuery(ctx context.Context, tenant uuid.UUID, raw string) (int, error) {
	f, err := filterFromQuery(raw)
	if err != nil {
		return 0, err
	}
	return q.m.CountCustomers(ctx, tenant, f)
}
