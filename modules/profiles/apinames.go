package profiles

// Names in the API document (httpx.SchemaNamer), where the Go names are internal.

// SchemaName implements httpx.SchemaNamer.
func (ExportView) SchemaName() string { return "Export" }

// SchemaName implements httpx.SchemaNamer.
func (ImportView) SchemaName() string { return "Import" }

// SchemaName implements httpx.SchemaNamer.
func (Stats) SchemaName() string { return "CustomerStats" }

// SchemaName implements httpx.SchemaNamer.
func (MassEdit) SchemaName() string { return "CustomerMassEdit" }

// SchemaName implements httpx.SchemaNamer.
func (MassEditResult) SchemaName() string { return "CustomerMassEditResult" }
