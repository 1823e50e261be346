package tickets

// Names in the API document (httpx.SchemaNamer), where the Go names are
// short because the package says they are the tickets'.

// SchemaName implements httpx.SchemaNamer.
func (Message) SchemaName() string { return "TicketMessage" }

// SchemaName implements httpx.SchemaNamer.
func (MessageInput) SchemaName() string { return "TicketMessageInput" }

// SchemaName implements httpx.SchemaNamer.
func (Agent) SchemaName() string { return "TicketAgent" }

// SchemaName implements httpx.SchemaNamer.
func (AgentInput) SchemaName() string { return "TicketAgentInput" }
