package transfer

// Names in the API document (httpx.SchemaNamer), where the Go names are internal.

// SchemaName implements httpx.SchemaNamer.
func (ExportView) SchemaName() string { return "Export" }

// SchemaName implements httpx.SchemaNamer.
func (ImportView) SchemaName() string { return "Import" }

// SchemaName implements httpx.SchemaNamer.
func (Target) SchemaName() string { return "ImportTarget" }
