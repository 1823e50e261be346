package jobsapi

// SchemaName names JobView in the API document (httpx.SchemaNamer).
func (JobView) SchemaName() string { return "Job" }

// SchemaName names Progress in the API document (httpx.SchemaNamer).
func (Progress) SchemaName() string { return "JobProgress" }
