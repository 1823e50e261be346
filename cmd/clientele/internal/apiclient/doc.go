// Package apiclient is the Go client oapi-codegen generates from the API
// document (OpenAPI 3.0). scripts/openapi.sh, which make test runs, writes it to
// client.gen.go (which git ignores) behind the apiclient build tag and runs
// TestGeneratedClient in cmd/clientele through it; regenerate by hand with
// `make openapi`.
package apiclient

// The generated client needs the runtime; importing it here keeps it in go.mod
// while client.gen.go is absent.
import _ "github.com/oapi-codegen/runtime"
