package profiles

import "github.com/danielgtaylor/huma/v2"

// Names in the API document (httpx.SchemaNamer), where the Go names are internal.

// SchemaName implements httpx.SchemaNamer.
func (Stats) SchemaName() string { return "CustomerStats" }

// SchemaName implements httpx.SchemaNamer.
func (MassEdit) SchemaName() string { return "CustomerMassEdit" }

// SchemaName implements httpx.SchemaNamer.
func (MassEditResult) SchemaName() string { return "CustomerMassEditResult" }

// APITags describes the tags of the customer-profile operations.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{
		{Name: "customers", Description: "Customers (people and companies): search and filters, custom values, timelines, duplicates and merging, bulk changes, erasure."},
		{Name: "segments", Description: "Saved customer filters, private or shared, with live counts."},
		{Name: "classification-rules", Description: "Customer classification rules (自动分类): a condition in the customer list's filter syntax (RFM, churn risk, custom fields) and an action (tag, untag, lifecycle, select field), run when customers change and nightly, with a dry run."},
	}
}
