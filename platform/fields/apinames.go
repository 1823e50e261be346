package fields

// Names in the API document (httpx.SchemaNamer), where the Go names would be
// vague next to other modules' types.

// SchemaName implements httpx.SchemaNamer.
func (Definition) SchemaName() string { return "FieldDefinition" }

// SchemaName implements httpx.SchemaNamer.
func (DefinitionIn) SchemaName() string { return "NewFieldDefinition" }

// SchemaName implements httpx.SchemaNamer.
func (Patch) SchemaName() string { return "FieldUpdate" }

// SchemaName implements httpx.SchemaNamer.
func (Option) SchemaName() string { return "FieldOption" }

// SchemaName implements httpx.SchemaNamer.
func (Pending) SchemaName() string { return "FieldConversion" }

// SchemaName implements httpx.SchemaNamer.
func (PendingShape) SchemaName() string { return "FieldShape" }

// SchemaName implements httpx.SchemaNamer.
func (ConversionFailure) SchemaName() string { return "FieldConversionFailure" }
