package forms

// Names in the API document (httpx.SchemaNamer), where the Go names are
// short because the package says they are the forms'.

// SchemaName implements httpx.SchemaNamer.
func (Form) SchemaName() string { return "LeadForm" }

// SchemaName implements httpx.SchemaNamer.
func (FormInput) SchemaName() string { return "LeadFormInput" }

// SchemaName implements httpx.SchemaNamer.
func (Field) SchemaName() string { return "LeadFormField" }

// SchemaName implements httpx.SchemaNamer.
func (PublicForm) SchemaName() string { return "PublicLeadForm" }

// SchemaName implements httpx.SchemaNamer.
func (PublicField) SchemaName() string { return "PublicLeadFormField" }

// SchemaName implements httpx.SchemaNamer.
func (UTM) SchemaName() string { return "LeadFormUTM" }

// SchemaName implements httpx.SchemaNamer.
func (SubmissionInput) SchemaName() string { return "LeadFormSubmissionInput" }

// SchemaName implements httpx.SchemaNamer.
func (Receipt) SchemaName() string { return "LeadFormReceipt" }

// SchemaName implements httpx.SchemaNamer.
func (Submission) SchemaName() string { return "LeadFormSubmission" }

// SchemaName implements httpx.SchemaNamer.
func (AvailableField) SchemaName() string { return "LeadFormAvailableField" }
