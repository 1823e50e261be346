package httpx

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Refusals documents the error statuses an operation answers beyond those every
// operation of its group does (documentOperation adds those), each with why:
//
//	Responses: httpx.Refusals(map[int]string{409: "The slug is taken."}),
func Refusals(why map[int]string) map[string]*huma.Response {
	out := make(map[string]*huma.Response, len(why))
	for status, text := range why {
		out[strconv.Itoa(status)] = &huma.Response{Description: text}
	}
	return out
}

// group says which operations documentOperation is completing.
type group int

const (
	tenantGroup  group = iota // /api/v1/t/{tenant}/...: any credential of a member
	accountGroup              // /api/v1/...: a person's session
	publicGroup               // /api/v1/public/{tenant}/...: nobody signs in
)

// problemTypes are the media types a problem document comes in.
var problemTypes = []string{"application/problem+json", "application/problem+xml"}

// documentOperation completes what Huma writes for an operation: the error
// statuses every operation of its group can answer (with the headers they
// carry), problem documents in JSON and XML for every error, and the
// representations a read answers in besides JSON.
func (s *Server) documentOperation(op *huma.Operation, g group) {
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	hasBody := op.RequestBody != nil
	hasInput := hasBody
	hasRecord := false
	for _, p := range op.Parameters {
		if p.Name == "tenant" && p.In == "path" {
			continue
		}
		hasInput = true
		if p.In == "path" {
			hasRecord = true
		}
	}
	add := func(status int, why string) {
		k := strconv.Itoa(status)
		if r, ok := op.Responses[k]; !ok || r.Description == "" || r.Description == http.StatusText(status) {
			op.Responses[k] = &huma.Response{Description: why}
		}
	}
	if g != publicGroup {
		add(http.StatusUnauthorized, "No valid credential. Sign in and send the session (X-Session-Token or the session cookie)"+
			map[group]string{tenantGroup: ", or an API key of this company", accountGroup: "; API keys are refused here"}[g]+
			". WWW-Authenticate names the scheme.")
		add(http.StatusServiceUnavailable, "The identity service that verifies sessions is unavailable; try again shortly.")
	}
	switch g {
	case publicGroup:
		add(http.StatusNotFound, "No company at this address, the service is turned off for it, or no such link or form.")
		add(http.StatusTooManyRequests, "Too many requests from this address or for this company; Retry-After says when to try again.")
	case tenantGroup:
		add(http.StatusForbidden, "The caller's role lacks the permission this needs, the module is turned off for this company, "+
			"or a change sent with the session cookie failed the same-origin check (X-Clientele-CSRF).")
		notFound := "No company at this address, or the caller is not a member of it (an API key of another company included)."
		if hasRecord {
			notFound = "No company at this address or the caller is not a member of it; or no such record in this company, " +
				"or none the caller's scope lets them see."
		}
		add(http.StatusNotFound, notFound)
		add(http.StatusTooManyRequests, "Too many requests for this API key, company or client address; Retry-After says when to try again.")
	case accountGroup:
		if op.Method != http.MethodGet {
			add(http.StatusForbidden, "A change sent with the session cookie failed the same-origin check (X-Clientele-CSRF).")
		}
	}
	if hasInput {
		add(http.StatusUnprocessableEntity, "A parameter or body field is invalid; errors names each one (location, message, value).")
	}
	if hasBody {
		add(http.StatusBadRequest, "The body could not be read (malformed JSON, or a broken multipart form).")
		add(http.StatusRequestEntityTooLarge, "The body is larger than this operation accepts.")
		add(http.StatusUnsupportedMediaType, "The body is not in a media type this operation takes (see the request body).")
	}
	if r, ok := op.Responses["default"]; !ok || r.Description == "" || r.Description == "Error" {
		op.Responses["default"] = &huma.Response{Description: "Any other error (500 when something failed on the server), with the request id to quote."}
	}

	problem := &huma.Schema{Ref: "#/components/schemas/Problem"}
	var main *huma.Response
	codes := make([]string, 0, len(op.Responses))
	for k := range op.Responses {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	for _, k := range codes {
		r := op.Responses[k]
		status, _ := strconv.Atoi(k)
		switch {
		case k == "default" || status >= 400:
			r.Content = map[string]*huma.MediaType{}
			for _, ct := range problemTypes {
				r.Content[ct] = &huma.MediaType{Schema: problem}
			}
			switch status {
			case http.StatusUnauthorized:
				r.Headers = map[string]*huma.Param{"WWW-Authenticate": {Description: "The challenge: " + DefaultChallenge + ".", Schema: &huma.Schema{Type: huma.TypeString}}}
			case http.StatusTooManyRequests:
				r.Headers = map[string]*huma.Param{"Retry-After": {Description: "Seconds to wait before trying again.", Schema: &huma.Schema{Type: huma.TypeInteger}}}
			}
		case status >= 200 && status < 300 && r.Content != nil && main == nil:
			main = r
		}
	}
	if main == nil {
		return
	}
	// A second success status the output declares without a body (update-field's
	// 202) answers with the same body as the first.
	for _, k := range codes {
		if status, _ := strconv.Atoi(k); status >= 200 && status < 300 && op.Responses[k] != main && op.Responses[k].Content == nil && status != http.StatusNoContent {
			op.Responses[k].Content = main.Content
		}
	}
	js, ok := main.Content["application/json"]
	if !ok || op.Method != http.MethodGet {
		return
	}
	main.Content["application/xml"] = &huma.MediaType{Schema: js.Schema}
	formats := "JSON by default; application/xml on request (Accept)."
	if s.isList(js.Schema) {
		main.Content["text/csv"] = &huma.MediaType{Schema: &huma.Schema{Type: huma.TypeString,
			Description: "One row per item with a header row; columns are the items' keys (id and name first), arrays joined with \"; \", nested values as JSON, and cells a spreadsheet would run as formulas prefixed with '."}}
		formats = "JSON by default; application/xml or text/csv on request (Accept)."
	}
	// Groups apply their modifiers more than once to the same responses.
	if !strings.HasSuffix(main.Description, formats) {
		main.Description = strings.TrimSuffix(main.Description, ".") + ". " + formats
	}
}

// isList reports whether a response schema is a list ({"items": [...]}).
func (s *Server) isList(sc *huma.Schema) bool {
	if sc == nil {
		return false
	}
	if sc.Ref != "" {
		sc = s.API.OpenAPI().Components.Schemas.SchemaFromRef(sc.Ref)
	}
	if sc == nil {
		return false
	}
	items, ok := sc.Properties["items"]
	return ok && items.Items != nil
}
