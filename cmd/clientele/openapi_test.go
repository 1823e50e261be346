package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// apiDocument renders the document offline, as `clientele openapi` does.
func apiDocument(t *testing.T, version string) map[string]any {
	t.Helper()
	s, err := offlineHTTP(testkit.Get(t).Config)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Document(version)
	if err != nil {
		t.Fatal(err)
	}
	// The server publishes the same bytes.
	path := map[string]string{"3.1": "/api/v1/openapi.json", "3.0": "/api/v1/openapi-3.0.json"}[version]
	resp, err := s.App.Test(httptest.NewRequest("GET", path, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(served, b) {
		t.Fatalf("%s: served %d, %d bytes, differs from `clientele openapi -version %s` (%d bytes)", path, resp.StatusCode, len(served), version, len(b))
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// schema30 are the keywords an OpenAPI 3.0 Schema Object may carry.
var schema30 = map[string]bool{
	"title": true, "multipleOf": true, "maximum": true, "exclusiveMaximum": true, "minimum": true,
	"exclusiveMinimum": true, "maxLength": true, "minLength": true, "pattern": true, "maxItems": true,
	"minItems": true, "uniqueItems": true, "maxProperties": true, "minProperties": true, "required": true,
	"enum": true, "type": true, "allOf": true, "oneOf": true, "anyOf": true, "not": true, "items": true,
	"properties": true, "additionalProperties": true, "description": true, "format": true, "default": true,
	"nullable": true, "discriminator": true, "readOnly": true, "writeOnly": true, "xml": true,
	"externalDocs": true, "example": true, "deprecated": true, "$ref": true,
}

// schemas calls fn with every schema in the document and where it is.
func schemas(doc map[string]any, fn func(where string, s map[string]any)) {
	var walk func(where string, v any)
	walk = func(where string, v any) {
		s, ok := v.(map[string]any)
		if !ok {
			return
		}
		fn(where, s)
		if props, ok := s["properties"].(map[string]any); ok {
			for k, p := range props {
				walk(where+".properties."+k, p)
			}
		}
		for _, k := range []string{"items", "additionalProperties", "not"} {
			walk(where+"."+k, s[k])
		}
		for _, k := range []string{"allOf", "oneOf", "anyOf"} {
			if l, ok := s[k].([]any); ok {
				for i, x := range l {
					walk(fmt.Sprintf("%s.%s[%d]", where, k, i), x)
				}
			}
		}
	}
	content := func(where string, v any) {
		c, _ := v.(map[string]any)
		for mt, m := range c {
			if mm, ok := m.(map[string]any); ok {
				walk(where+".content."+mt+".schema", mm["schema"])
			}
		}
	}
	comps, _ := doc["components"].(map[string]any)
	all, _ := comps["schemas"].(map[string]any)
	for name, s := range all {
		walk("components.schemas."+name, s)
	}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for method, o := range ops {
			op, ok := o.(map[string]any)
			if !ok {
				continue
			}
			where := method + " " + p
			params, _ := op["parameters"].([]any)
			for _, x := range params {
				if pm, ok := x.(map[string]any); ok {
					walk(where+" parameter "+fmt.Sprint(pm["name"]), pm["schema"])
				}
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				content(where+" requestBody", rb["content"])
			}
			resps, _ := op["responses"].(map[string]any)
			for code, r := range resps {
				if rm, ok := r.(map[string]any); ok {
					content(where+" "+code, rm["content"])
					hs, _ := rm["headers"].(map[string]any)
					for h, hv := range hs {
						if hm, ok := hv.(map[string]any); ok {
							walk(where+" "+code+" header "+h, hm["schema"])
						}
					}
				}
			}
		}
	}
}

// The 3.0 rendering uses only 3.0 keywords. Huma v2.37.2 left contentEncoding and
// contentMediaType (3.1 only) on the import upload's file field (Huma #918), and
// swagger-parser refused the whole document.
func TestOpenAPI30UsesOnly30Keywords(t *testing.T) {
	doc := apiDocument(t, "3.0")
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi: %v", doc["openapi"])
	}
	var bad []string
	n := 0
	schemas(doc, func(where string, s map[string]any) {
		n++
		for k := range s {
			if !schema30[k] && !strings.HasPrefix(k, "x-") {
				bad = append(bad, where+": "+k)
			}
		}
		if t, ok := s["type"]; ok {
			if _, isString := t.(string); !isString {
				bad = append(bad, fmt.Sprintf("%s: type %v is not one type", where, t))
			}
		}
	})
	if n < 100 {
		t.Fatalf("walked %d schemas; the walk misses the document", n)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
	// The upload keeps saying it is a binary file.
	up := doc["paths"].(map[string]any)["/api/v1/t/{tenant}/imports"].(map[string]any)["post"].(map[string]any)
	file := up["requestBody"].(map[string]any)["content"].(map[string]any)["multipart/form-data"].(map[string]any)["schema"].(map[string]any)["properties"].(map[string]any)["file"].(map[string]any)
	if file["type"] != "string" || file["format"] != "binary" {
		t.Errorf("upload file field: %v", file)
	}
}

// The document says how to authenticate: three schemes, all accepted by default,
// and the account routes take a person's session only.
func TestOpenAPIDeclaresAuthentication(t *testing.T) {
	for _, version := range []string{"3.1", "3.0"} {
		doc := apiDocument(t, version)
		schemes, _ := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
		want := map[string]string{
			"session_token":  `{"in":"header","name":"X-Session-Token","type":"apiKey"}`,
			"session_cookie": `{"in":"cookie","name":"ory_kratos_session","type":"apiKey"}`,
			"api_key":        `{"scheme":"bearer","type":"http"}`,
		}
		for name, fields := range want {
			s, ok := schemes[name].(map[string]any)
			if !ok {
				t.Errorf("%s: no security scheme %q in %v", version, name, schemes)
				continue
			}
			if s["description"] == nil || s["description"] == "" {
				t.Errorf("%s: scheme %s has no description", version, name)
			}
			var w map[string]any
			_ = json.Unmarshal([]byte(fields), &w)
			for k, v := range w {
				if s[k] != v {
					t.Errorf("%s: scheme %s: %s = %v, want %v", version, name, k, s[k], v)
				}
			}
		}
		if got := fmt.Sprint(doc["security"]); got != "[map[session_token:[]] map[session_cookie:[]] map[api_key:[]]]" {
			t.Errorf("%s: top-level security %s", version, got)
		}
		account := 0
		for p, item := range doc["paths"].(map[string]any) {
			for method, o := range item.(map[string]any) {
				op := o.(map[string]any)
				sec, has := op["security"]
				if strings.HasPrefix(p, "/api/v1/public/") {
					if got := fmt.Sprint(sec); !has || got != "[]" {
						t.Errorf("%s: %s %s is public and takes %s, want no credential ([])", version, method, p, got)
					}
					continue
				}
				if !strings.HasPrefix(p, "/api/v1/t/") {
					account++
					if got := fmt.Sprint(sec); got != "[map[session_token:[]] map[session_cookie:[]]]" {
						t.Errorf("%s: %s %s takes %s, want sessions only", version, method, p, got)
					}
				} else if has {
					t.Errorf("%s: %s %s overrides security: %v", version, method, p, sec)
				}
			}
		}
		if account < 4 {
			t.Errorf("%s: %d account operations", version, account)
		}
	}
}

// goNames are schema names that only make sense in the Go source.
var goNames = regexp.MustCompile(`(In|Out)?Body$|Struct$|View$|^(Patch|Row|Error|Pending|Option|Definition|Stats|List[A-Z].*)$|^[^A-Z]|[^A-Za-z0-9]`)

// notUUID are id-like names that are not uuids: an audit entry's entity id may be
// a field key, a request id is hex.
var notUUID = map[string]bool{"entity_id": true, "request_id": true}

// Code generators need clean names and typed ids: no schema is named after a Go
// implementation detail, and every id in a body or a parameter is a uuid.
func TestOpenAPINamesAndIDFormats(t *testing.T) {
	for _, version := range []string{"3.1", "3.0"} {
		doc := apiDocument(t, version)
		all := doc["components"].(map[string]any)["schemas"].(map[string]any)
		for name := range all {
			if goNames.MatchString(name) {
				t.Errorf("%s: schema %q is a Go name", version, name)
			}
		}
		b, _ := json.Marshal(doc)
		for _, ref := range regexp.MustCompile(`"\$ref":"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(b), -1) {
			if all[ref[1]] == nil {
				t.Errorf("%s: $ref to missing schema %s", version, ref[1])
			}
		}
		idLike := func(name string) bool {
			return !notUUID[name] && (name == "id" || strings.HasSuffix(name, "_id") || strings.HasSuffix(name, "_ids") || name == "owner" || name == "actor" || name == "members")
		}
		isUUID := func(s map[string]any) bool {
			if it, ok := s["items"].(map[string]any); ok {
				s = it
			}
			return s["format"] == "uuid"
		}
		checked := 0
		schemas(doc, func(where string, s map[string]any) {
			props, _ := s["properties"].(map[string]any)
			for name, p := range props {
				if ps, ok := p.(map[string]any); ok && idLike(name) {
					checked++
					if !isUUID(ps) {
						t.Errorf("%s: %s.%s is not format uuid: %v", version, where, name, ps)
					}
				}
			}
		})
		for p, item := range doc["paths"].(map[string]any) {
			for method, o := range item.(map[string]any) {
				params, _ := o.(map[string]any)["parameters"].([]any)
				for _, x := range params {
					pm := x.(map[string]any)
					if name := pm["name"].(string); idLike(name) {
						checked++
						sc := pm["schema"].(map[string]any)
						if pm["style"] == "deepObject" { // a filter: name[eq]=<id>
							sc, _ = sc["properties"].(map[string]any)["eq"].(map[string]any)
						}
						if !isUUID(sc) {
							t.Errorf("%s: %s %s parameter %s is not format uuid", version, method, p, name)
						}
					}
				}
			}
		}
		if checked < 60 {
			t.Errorf("%s: checked only %d ids", version, checked)
		}
	}
}

// Closed sets are enums, and the signup slug has the path parameter's pattern.
func TestOpenAPIEnumsAndPatterns(t *testing.T) {
	for _, version := range []string{"3.1", "3.0"} {
		doc := apiDocument(t, version)
		all := doc["components"].(map[string]any)["schemas"].(map[string]any)
		prop := func(schema, name string) map[string]any {
			s, _ := all[schema].(map[string]any)
			props, _ := s["properties"].(map[string]any)
			p, _ := props[name].(map[string]any)
			if p == nil {
				t.Errorf("%s: %s has no property %s", version, schema, name)
				return map[string]any{}
			}
			return p
		}
		var types []string
		for _, ft := range fields.Types {
			types = append(types, string(ft))
		}
		for _, schema := range []string{"FieldDefinition", "NewFieldDefinition", "FieldUpdate", "FieldShape"} {
			if got := fmt.Sprint(prop(schema, "type")["enum"]); got != fmt.Sprint(types) {
				t.Errorf("%s: %s.type enum %s, want %v", version, schema, got, types)
			}
		}
		for schema, want := range map[string]string{"MyAccess.kind": "[user api_key]", "MyAccess.scope": "[own team all]",
			"AuditEntry.actor_kind": "[user api_key system]", "Invitation.status": "[pending accepted revoked]"} {
			parts := strings.Split(schema, ".")
			if got := fmt.Sprint(prop(parts[0], parts[1])["enum"]); got != want {
				t.Errorf("%s: %s enum %s, want %s", version, schema, got, want)
			}
		}
		// Roles include each company's custom roles, so they are a pattern, not an enum.
		roles := 0
		for name, s := range all {
			props, _ := s.(map[string]any)["properties"].(map[string]any)
			if r, ok := props["role"].(map[string]any); ok {
				roles++
				if r["pattern"] != "^[a-z][a-z0-9_]{1,39}$" || !strings.Contains(fmt.Sprint(r["description"]), "owner, admin, manager, agent, viewer") {
					t.Errorf("%s: %s.role: %v", version, name, r)
				}
			}
		}
		if roles < 8 {
			t.Errorf("%s: %d role properties", version, roles)
		}
		slug := prop("TenantSignup", "slug")
		if slug["pattern"] != tenancy.SlugPattern.String() {
			t.Errorf("%s: signup slug pattern %v, want %s", version, slug["pattern"], tenancy.SlugPattern)
		}
	}
}

// Every operation is tagged with a tag the document describes, and has a
// description of its own; the document names a server and a contact.
func TestOpenAPIOperationsAreDescribed(t *testing.T) {
	for _, version := range []string{"3.1", "3.0"} {
		doc := apiDocument(t, version)
		defined := map[string]bool{}
		tags, _ := doc["tags"].([]any)
		for _, x := range tags {
			tag := x.(map[string]any)
			defined[tag["name"].(string)] = true
			if d, _ := tag["description"].(string); len(d) < 10 {
				t.Errorf("%s: tag %v has no description", version, tag["name"])
			}
		}
		used := map[string]bool{}
		ops := 0
		for p, item := range doc["paths"].(map[string]any) {
			for method, o := range item.(map[string]any) {
				op := o.(map[string]any)
				ops++
				opTags, _ := op["tags"].([]any)
				if len(opTags) == 0 {
					t.Errorf("%s: %s %s has no tag", version, method, p)
				}
				for _, tg := range opTags {
					used[tg.(string)] = true
					if !defined[tg.(string)] {
						t.Errorf("%s: %s %s: tag %v is not described at the top", version, method, p, tg)
					}
				}
				d, _ := op["description"].(string)
				if len(d) < 20 || d == op["summary"] {
					t.Errorf("%s: %s %s (%v) has no description of its own", version, method, p, op["operationId"])
				}
			}
		}
		for tg := range defined {
			if !used[tg] {
				t.Errorf("%s: tag %s describes no operation", version, tg)
			}
		}
		if ops < 60 {
			t.Errorf("%s: %d operations", version, ops)
		}
		servers, _ := doc["servers"].([]any)
		if len(servers) == 0 || servers[0].(map[string]any)["url"] == "" {
			t.Errorf("%s: servers %v", version, doc["servers"])
		}
		if c, _ := doc["info"].(map[string]any)["contact"].(map[string]any); c["url"] == nil {
			t.Errorf("%s: info has no contact", version)
		}
	}
}

// op finds an operation by its id.
func op(t *testing.T, doc map[string]any, id string) (string, string, map[string]any) {
	t.Helper()
	for p, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			if o.(map[string]any)["operationId"] == id {
				return method, p, o.(map[string]any)
			}
		}
	}
	t.Fatalf("no operation %s", id)
	return "", "", nil
}

func contentTypes(r map[string]any) string {
	c, _ := r["content"].(map[string]any)
	var out []string
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// Operations list the statuses they really answer, every error as a problem in
// JSON and XML, and reads their other representations.
func TestOpenAPIDocumentsErrorsAndRepresentations(t *testing.T) {
	for _, version := range []string{"3.1", "3.0"} {
		doc := apiDocument(t, version)
		for p, item := range doc["paths"].(map[string]any) {
			for method, o := range item.(map[string]any) {
				o := o.(map[string]any)
				resps := o["responses"].(map[string]any)
				need := []string{"401", "503", "default"}
				public := strings.HasPrefix(p, "/api/v1/public/")
				if public {
					// Nobody signs in: no 401, but the company and the
					// record may be missing, and the rate is limited.
					need = []string{"default", "404", "429"}
				}
				if strings.HasPrefix(p, "/api/v1/t/") {
					need = append(need, "403", "404", "429")
				}
				params, _ := o["parameters"].([]any)
				inputs := o["requestBody"] != nil
				for _, x := range params {
					if x.(map[string]any)["name"] != "tenant" {
						inputs = true
					}
				}
				if inputs {
					need = append(need, "422")
				}
				if o["requestBody"] != nil {
					need = append(need, "400", "413", "415")
				}
				for _, code := range need {
					r, ok := resps[code].(map[string]any)
					if !ok {
						t.Errorf("%s: %s %s does not document %s", version, method, p, code)
						continue
					}
					if got := contentTypes(r); got != "application/problem+json application/problem+xml" {
						t.Errorf("%s: %s %s %s: content %s", version, method, p, code, got)
					}
				}
				for code, r := range resps {
					if n, _ := strconv.Atoi(code); n >= 400 && contentTypes(r.(map[string]any)) != "application/problem+json application/problem+xml" {
						t.Errorf("%s: %s %s %s is not a problem document", version, method, p, code)
					}
				}
				unauth, _ := resps["401"].(map[string]any)
				if _, has := resps["401"]; public && has {
					t.Errorf("%s: %s %s is public and documents 401", version, method, p)
				}
				if h, _ := unauth["headers"].(map[string]any); h["WWW-Authenticate"] == nil && !public {
					t.Errorf("%s: %s %s: 401 without WWW-Authenticate", version, method, p)
				}
				if r, ok := resps["429"].(map[string]any); ok {
					if h, _ := r["headers"].(map[string]any); h["Retry-After"] == nil {
						t.Errorf("%s: %s %s: 429 without Retry-After", version, method, p)
					}
				}
			}
		}
		for id, codes := range map[string][]string{
			"create-tenant": {"409"}, "accept-invitation": {"404", "409"}, "create-customer": {"409"}, "update-field": {"202", "404", "409", "422"},
			"create-field": {"409"}, "delete-role": {"409"}, "remove-member": {"409"}, "start-import": {"409"}, "upload-import": {"409", "413", "415"},
			"cancel-job": {"409"}, "complete-task": {"409"},
		} {
			method, p, o := op(t, doc, id)
			for _, c := range codes {
				r, ok := o["responses"].(map[string]any)[c].(map[string]any)
				if !ok {
					t.Errorf("%s: %s (%s %s) does not document %s", version, id, method, p, c)
					continue
				}
				if d, _ := r["description"].(string); len(d) < 15 {
					t.Errorf("%s: %s %s says only %q", version, id, c, d)
				}
			}
		}
		// update-field's 202 carries the field with its pending conversion.
		_, _, uf := op(t, doc, "update-field")
		accepted := uf["responses"].(map[string]any)["202"].(map[string]any)
		if b, _ := json.Marshal(accepted["content"]); !strings.Contains(string(b), `"application/json":{"schema":{"$ref":"#/components/schemas/FieldDefinition"}}`) {
			t.Errorf("%s: update-field 202 content %s", version, b)
		}
		for id, want := range map[string]string{
			"list-customers":  "application/json application/xml text/csv",
			"list-members":    "application/json application/xml text/csv",
			"list-audit":      "application/json application/xml text/csv",
			"get-customer":    "application/json application/xml",
			"get-me":          "application/json application/xml",
			"create-customer": "application/json",
		} {
			_, _, o := op(t, doc, id)
			for code, r := range o["responses"].(map[string]any) {
				if n, _ := strconv.Atoi(code); n >= 200 && n < 300 {
					if got := contentTypes(r.(map[string]any)); got != want {
						t.Errorf("%s: %s %s answers %s, want %s", version, id, code, got, want)
					}
				}
			}
		}
	}
}

// The customer list documents its field[op]=value filters: the grammar and every
// operator in its description, each standard field as a deepObject parameter
// with the operators it takes.
func TestOpenAPIDescribesCustomerFilters(t *testing.T) {
	for _, version := range []string{"3.1", "3.0"} {
		doc := apiDocument(t, version)
		_, _, o := op(t, doc, "list-customers")
		d, _ := o["description"].(string)
		for _, want := range append([]string{"field[op]=value", "custom.<key>[op]=value", "tags[contains]=vip", "lifecycle[ne]", "province[empty]=true"}, fields.Ops...) {
			if !strings.Contains(d, want) {
				t.Errorf("%s: list-customers description lacks %q", version, want)
			}
		}
		got := map[string]string{}
		for _, x := range o["parameters"].([]any) {
			p := x.(map[string]any)
			if p["style"] != "deepObject" {
				continue
			}
			if p["in"] != "query" || p["explode"] != true {
				t.Errorf("%s: filter %v: %v", version, p["name"], p)
			}
			var ops []string
			for k := range p["schema"].(map[string]any)["properties"].(map[string]any) {
				ops = append(ops, k)
			}
			sort.Strings(ops)
			got[p["name"].(string)] = strings.Join(ops, ",")
		}
		want := map[string]string{
			"name": "eq,in,ne,prefix", "source": "empty,eq,in,ne,prefix", "owner_id": "empty,eq,in,ne", "owner_team": "empty,eq", "company_id": "empty,eq,in",
			"created_at": "between,eq,gt,gte,lt,lte", "updated_at": "between,eq,gt,gte,lt,lte", "tags": "contains,empty,in",
			"email": "eq,prefix", "phone": "eq,prefix",
			"rfm.segment": "empty,eq,in,ne", "rfm.recency": "eq,gt,gte,in,lt,lte", "rfm.frequency": "eq,gt,gte,in,lt,lte",
			"rfm.monetary": "eq,gt,gte,in,lt,lte", "churn_risk": "eq,gt,gte,lt,lte", "revenue": "gt,gte,lt,lte",
			"purchased_at": "gte,lt", "purchase_currency": "eq", "purchase_channel": "empty,eq", "churned_at": "gte,lt", "active_at": "eq",
			"province": "empty,eq,in", "city": "empty,eq,in",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: filter parameters %v, want %v", version, got, want)
		}
	}
}

// The deal list and a pipeline's board take the same filters (both read them
// with the funnel's filterFromQuery); the board takes none of the list's
// pipeline, stage, view, sort or cursor. Both documents say so.
func TestOpenAPIBoardAndDealListShareFilters(t *testing.T) {
	for _, version := range []string{"3.1", "3.0"} {
		doc := apiDocument(t, version)
		names := func(id string) map[string]bool {
			_, _, o := op(t, doc, id)
			out := map[string]bool{}
			for _, x := range o["parameters"].([]any) {
				p := x.(map[string]any)
				if p["in"] == "query" {
					out[p["name"].(string)] = true
				}
			}
			return out
		}
		list, board := names("list-deals"), names("get-board")
		for _, shared := range []string{"owner", "owner[empty]", "team", "team[empty]", "customer_id", "tag", "tag[empty]", "status",
			"expected_close[gte]", "expected_close[lte]", "source", "source[empty]", "currency", "created_at[gte]", "created_at[lt]",
			"won_at[gte]", "won_at[lt]", "lost_at[gte]", "lost_at[lt]", "closed_at[gte]", "closed_at[lt]", "open_at", "limit"} {
			if !list[shared] || !board[shared] {
				t.Errorf("%s: %q documented by the list %v, by the board %v", version, shared, list[shared], board[shared])
			}
		}
		for _, only := range []string{"pipeline_id", "stage_id", "view_id", "sort", "cursor"} {
			if !list[only] || board[only] {
				t.Errorf("%s: %q documented by the list %v (want true), by the board %v (want false)", version, only, list[only], board[only])
			}
		}
	}
}
