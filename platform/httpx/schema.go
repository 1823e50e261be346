package httpx

import (
	"reflect"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
)

// SchemaNamer lets a type choose its name in the API document where its Go name
// would be vague (Patch) or internal (Row, JobView). Anonymous request and
// response bodies are named with Huma's nameHint tag on their Body field.
type SchemaNamer interface{ SchemaName() string }

var schemaNamerType = reflect.TypeFor[SchemaNamer]()

// schemaName names a type's schema: its SchemaName when it has one, else Huma's
// default (the Go name, or the hint for anonymous types).
func schemaName(t reflect.Type, hint string) string {
	d := t
	for d.Kind() == reflect.Pointer {
		d = d.Elem()
	}
	if d.Name() != "" && d.Implements(schemaNamerType) && !embedsNamer(d) {
		return reflect.Zero(d).Interface().(SchemaNamer).SchemaName()
	}
	return huma.DefaultSchemaNamer(t, hint)
}

// embedsNamer reports whether d gets SchemaName from an embedded field: the
// embedded type's name is not the outer type's (ImportUpload embeds ImportView).
func embedsNamer(d reflect.Type) bool {
	if d.Kind() != reflect.Struct {
		return false
	}
	for i := 0; i < d.NumField(); i++ {
		if f := d.Field(i); f.Anonymous && (f.Type.Implements(schemaNamerType) || reflect.PointerTo(f.Type).Implements(schemaNamerType)) {
			return true
		}
	}
	return false
}

// uuidSchema stands in for uuid.UUID when schemas are generated, so every id is a
// string of format uuid (and Huma checks the format on input).
type uuidSchema string

// Schema implements huma.SchemaProvider.
func (uuidSchema) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeString, Format: "uuid"}
}

// newRegistry is Huma's map registry with Clientele's names and uuid format.
func newRegistry() huma.Registry {
	r := huma.NewMapRegistry("#/components/schemas/", schemaName)
	r.RegisterTypeAlias(reflect.TypeFor[uuid.UUID](), reflect.TypeFor[uuidSchema]())
	return r
}
