package jobsapi

import "github.com/danielgtaylor/huma/v2"

// SchemaName names JobView in the API document (httpx.SchemaNamer).
func (JobView) SchemaName() string { return "Job" }

// SchemaName names Progress in the API document (httpx.SchemaNamer).
func (Progress) SchemaName() string { return "JobProgress" }

// APITags describes the tag of the job operations.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{{Name: "jobs", Description: "Background jobs (imports, exports, conversions): progress, results and cancelling."}}
}
