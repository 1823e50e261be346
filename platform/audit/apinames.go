package audit

// SchemaName names Row in the API document (httpx.SchemaNamer).
func (Row) SchemaName() string { return "AuditEntry" }

// SchemaName names Change in the API document (httpx.SchemaNamer).
func (Change) SchemaName() string { return "AuditChange" }
