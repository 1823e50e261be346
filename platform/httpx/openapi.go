package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/danielgtaylor/huma/v2/yaml"
	"github.com/gofiber/fiber/v2"
)

// The API document is served by these routes rather than Huma's own, so the
// server and `clientele openapi` publish the very same bytes.
const openAPIPath = "/api/v1/openapi"

// Document renders the API document as JSON in OpenAPI 3.1 ("3.1") or 3.0 ("3.0").
func (s *Server) Document(version string) ([]byte, error) {
	var b []byte
	var err error
	switch version {
	case "3.1", "":
		b, err = json.Marshal(s.API.OpenAPI())
	case "3.0":
		b, err = s.API.OpenAPI().Downgrade()
	default:
		return nil, fmt.Errorf("httpx: OpenAPI version %q: use 3.1 or 3.0", version)
	}
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if version == "3.0" {
		eachSchema(doc, downgradeSchema)
	}
	pruneSchemas(doc)
	return json.Marshal(doc)
}

// pruneSchemas drops component schemas nothing refers to: Huma registers the
// types it meets on the way (huma.FormFile of an upload form) even when the
// document describes them inline.
func pruneSchemas(doc map[string]any) {
	comps, _ := doc["components"].(map[string]any)
	all, _ := comps["schemas"].(map[string]any)
	if all == nil {
		return
	}
	const prefix = "#/components/schemas/"
	used := map[string]bool{}
	var queue []string
	var refs func(v any)
	refs = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if r, ok := t["$ref"].(string); ok && len(r) > len(prefix) && r[:len(prefix)] == prefix && !used[r[len(prefix):]] {
				used[r[len(prefix):]] = true
				queue = append(queue, r[len(prefix):])
			}
			for _, x := range t {
				refs(x)
			}
		case []any:
			for _, x := range t {
				refs(x)
			}
		}
	}
	for k, v := range doc {
		if k != "components" {
			refs(v)
		}
	}
	for k, v := range comps {
		if k != "schemas" {
			refs(v)
		}
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		refs(all[name])
	}
	for name := range all {
		if !used[name] {
			delete(all, name)
		}
	}
}

// downgradeSchema finishes what Huma's Downgrade leaves of JSON Schema 2020-12 in
// a 3.0 schema. Huma v2.37.2 keeps contentEncoding and contentMediaType on
// multipart file fields (Huma issue #918, fixed upstream after that release; the
// module proxy serves nothing newer); 3.0 says the same with format: binary.
func downgradeSchema(s map[string]any) {
	if _, ok := s["contentMediaType"]; ok {
		if s["type"] == "string" && s["format"] == nil {
			s["format"] = "binary"
		}
	}
	delete(s, "contentMediaType")
	delete(s, "contentEncoding")
	if ex, ok := s["examples"].([]any); ok {
		if len(ex) > 0 && s["example"] == nil {
			s["example"] = ex[0]
		}
		delete(s, "examples")
	}
	if c, ok := s["const"]; ok {
		s["enum"] = []any{c}
		delete(s, "const")
	}
	// 3.0 ignores a $ref's siblings (a property's description); allOf keeps them.
	if ref, ok := s["$ref"]; ok && len(s) > 1 {
		delete(s, "$ref")
		s["allOf"] = []any{map[string]any{"$ref": ref}}
	}
}

// eachSchema calls fn on every schema of an OpenAPI document decoded as JSON:
// component schemas, parameters, request and response bodies, response headers,
// and every schema nested in those.
func eachSchema(doc map[string]any, fn func(map[string]any)) {
	var walk func(v any)
	walk = func(v any) {
		s, ok := v.(map[string]any)
		if !ok {
			return
		}
		fn(s)
		if props, ok := s["properties"].(map[string]any); ok {
			for _, p := range props {
				walk(p)
			}
		}
		for _, k := range []string{"items", "additionalProperties", "not"} {
			walk(s[k])
		}
		for _, k := range []string{"allOf", "oneOf", "anyOf"} {
			if l, ok := s[k].([]any); ok {
				for _, x := range l {
					walk(x)
				}
			}
		}
	}
	content := func(v any) {
		c, _ := v.(map[string]any)
		for _, m := range c {
			if mm, ok := m.(map[string]any); ok {
				walk(mm["schema"])
			}
		}
	}
	response := func(v any) {
		r, _ := v.(map[string]any)
		content(r["content"])
		hs, _ := r["headers"].(map[string]any)
		for _, h := range hs {
			if hm, ok := h.(map[string]any); ok {
				walk(hm["schema"])
			}
		}
	}
	param := func(v any) {
		if pm, ok := v.(map[string]any); ok {
			walk(pm["schema"])
		}
	}
	comps, _ := doc["components"].(map[string]any)
	for kind, each := range map[string]func(any){
		"schemas":       walk,
		"parameters":    param,
		"headers":       param,
		"responses":     response,
		"requestBodies": func(v any) { rb, _ := v.(map[string]any); content(rb["content"]) },
	} {
		all, _ := comps[kind].(map[string]any)
		for _, v := range all {
			each(v)
		}
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, o := range ops {
			op, ok := o.(map[string]any)
			if !ok {
				continue
			}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				param(p)
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				content(rb["content"])
			}
			resps, _ := op["responses"].(map[string]any)
			for _, r := range resps {
				response(r)
			}
		}
	}
}

// documentRoutes serves the document as JSON and YAML in both versions. It is
// rendered once, on first request, after every operation is registered.
func (s *Server) documentRoutes(app *fiber.App) {
	for _, r := range []struct{ suffix, version, ctype string }{
		{".json", "3.1", "application/openapi+json"},
		{".yaml", "3.1", "application/openapi+yaml"},
		{"-3.0.json", "3.0", "application/openapi+json"},
		{"-3.0.yaml", "3.0", "application/openapi+yaml"},
	} {
		var once sync.Once
		var body []byte
		var err error
		app.Get(openAPIPath+r.suffix, func(c *fiber.Ctx) error {
			once.Do(func() {
				body, err = s.Document(r.version)
				if err == nil && r.ctype == "application/openapi+yaml" {
					var buf bytes.Buffer
					err = yaml.Convert(&buf, bytes.NewReader(body))
					body = buf.Bytes()
				}
			})
			if err != nil {
				return err
			}
			c.Set(fiber.HeaderContentType, r.ctype)
			return c.Send(body)
		})
	}
}
