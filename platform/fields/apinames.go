package fields

import "github.com/danielgtaylor/huma/v2"

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

// Schema makes Type an enum in the API document (huma.SchemaProvider), so
// clients know every field type.
func (Type) Schema(huma.Registry) *huma.Schema {
	s := &huma.Schema{Type: huma.TypeString, Description: "the field's value type"}
	for _, t := range Types {
		s.Enum = append(s.Enum, string(t))
	}
	return s
}

// APITags describes the tag of the custom-field operations.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{{Name: "fields", Description: "Custom fields: definitions per entity, with type changes converted in the background."}}
}

// SchemaName implements httpx.SchemaNamer.
func (EntityInfo) SchemaName() string { return "FieldEntity" }
