package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// Hostile input through the HTTP API, as fuzz targets. Without -fuzz, `go test`
// runs every seed below once (hundreds of requests, every write route of the
// API document included); scripts/fuzz.sh runs each target time-boxed with the
// fuzzer, in `make test` a few seconds each and in `make fuzz` longer. Whatever a
// client sends, the answer is never a 5xx, and a refusal is problem+json.

// hostileApp is one company with a custom field, a customer, a view and a task,
// and its owner's token.
type hostileApp struct {
	*app
	slug, tok              string
	customer, view, task   string
	writeRoutes            []string // "METHOD path", path params filled in
	listRoutes             []string // GET paths of the company with no id: its lists
	bodySchemas            map[string]map[string]any
	components             map[string]any
	routePattern, pathArgs *regexp.Regexp
}

func newHostileApp(f *testing.F) *hostileApp {
	// The fuzzer sends thousands of requests a minute: limits would answer
	// most of them with 429 before they reach anything worth testing.
	a := newAppWith(f, func(c *config.Config) { c.RatePerTenant, c.RatePerKey = 10_000_000, 10_000_000 })
	h := &hostileApp{app: a, slug: slug("hostile")}
	h.tok, _ = a.company(h.slug)
	base := "/api/v1/t/" + h.slug
	a.must(201, "POST", base+"/fields/customers", `{"key":"tier","label_en":"Tier","type":"select","options":[{"value":"gold"},{"value":"silver"}],"filterable":true,"sortable":true}`, tokenHdr(h.tok)...)
	a.must(201, "POST", base+"/fields/customers", `{"key":"joined","label_en":"Joined","type":"date","filterable":true}`, tokenHdr(h.tok)...)
	h.customer = a.must(201, "POST", base+"/customers", `{"name":"张伟","emails":["zw@example.com"],"tags":["vip"],"custom":{"tier":"gold","joined":"2025-01-02"}}`, tokenHdr(h.tok)...)["id"].(string)
	h.view = a.must(201, "POST", base+"/views", `{"entity":"customers","name":"VIP","shared":true}`, tokenHdr(h.tok)...)["id"].(string)
	h.task = a.must(201, "POST", base+"/tasks", fmt.Sprintf(`{"title":"Call","entity":"customers","record_id":%q}`, h.customer), tokenHdr(h.tok)...)["id"].(string)
	h.loadWriteRoutes(f)
	return h
}

// loadWriteRoutes lists every POST, PUT and PATCH of the API document, but the
// sign-out (it would end the session the rest of the run uses).
func (h *hostileApp) loadWriteRoutes(f *testing.F) {
	_, doc, _ := h.call("GET", "/api/v1/openapi.json", "")
	var spec struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		f.Fatal(err)
	}
	h.components = spec.Components.Schemas
	h.bodySchemas = map[string]map[string]any{}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	for path, ops := range spec.Paths {
		if ops["get"] != nil && strings.HasPrefix(path, "/api/v1/t/{tenant}/") && strings.Count(path, "{") == 1 {
			if path == "/api/v1/t/{tenant}/changes" && testkit.Get(f).Citus {
				f.Log("GET /changes is left out on Citus, where it answers 501 (docs/operations.md, Known limitations); TestChangesFeed checks that answer")
			} else {
				h.listRoutes = append(h.listRoutes, strings.Replace(path, "{tenant}", h.slug, 1))
			}
		}
		for method, op := range ops {
			method = strings.ToUpper(method)
			if (method != "POST" && method != "PUT" && method != "PATCH") || path == "/api/v1/logout" {
				continue
			}
			filled := param.ReplaceAllStringFunc(path, func(m string) string {
				switch name := m[1 : len(m)-1]; {
				case name == "tenant":
					return h.slug
				case name == "entity":
					return "customers"
				case name == "key":
					return "tier"
				case name == "id" && strings.Contains(path, "/customers/"):
					return h.customer
				case name == "id" && strings.Contains(path, "/views/"):
					return h.view
				case name == "id" && strings.Contains(path, "/tasks/"):
					return h.task
				}
				return uuid.NewString()
			})
			r := method + " " + filled
			h.writeRoutes = append(h.writeRoutes, r)
			h.bodySchemas[r] = h.bodySchema(op)
		}
	}
	sort.Strings(h.writeRoutes)
	sort.Strings(h.listRoutes)
	if len(h.writeRoutes) < 20 || len(h.listRoutes) < 10 {
		f.Fatalf("only %d write routes and %d lists in the API document", len(h.writeRoutes), len(h.listRoutes))
	}
}

// bodySchema is the JSON body schema of an operation, its reference resolved.
func (h *hostileApp) bodySchema(op map[string]any) map[string]any {
	rb, _ := op["requestBody"].(map[string]any)
	content, _ := rb["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	s, _ := js["schema"].(map[string]any)
	return h.resolve(s)
}

func (h *hostileApp) resolve(s map[string]any) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		r, _ := h.components[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		return r
	}
	return s
}

// schemaBodies are two bodies built from a route's schema: every property with
// a value of the wrong type, and every string property holding hostile text.
func (h *hostileApp) schemaBodies(route string) []string {
	props, _ := h.bodySchemas[route]["properties"].(map[string]any)
	if len(props) == 0 {
		return nil
	}
	wrong, nasty := map[string]any{}, map[string]any{}
	for name, p := range props {
		ps := h.resolve(p.(map[string]any))
		types := []string{}
		switch t := ps["type"].(type) {
		case string:
			types = append(types, t)
		case []any:
			for _, x := range t {
				types = append(types, fmt.Sprint(x))
			}
		}
		if len(types) == 0 {
			types = []string{"object"}
		}
		switch types[0] {
		case "string":
			wrong[name] = 12345
			nasty[name] = "'; DROP TABLE customers; -- <script>alert(1)</script> =HYPERLINK(\"http://x\") \u0000 " + strings.Repeat("长", 5000)
		case "integer", "number":
			wrong[name] = "many"
			nasty[name] = 1e308
		case "boolean":
			wrong[name] = "yes"
		case "array":
			wrong[name] = map[string]any{"0": "x"}
			nasty[name] = make([]string, 5000)
		default:
			wrong[name] = []any{"x"}
			nasty[name] = map[string]any{"$gt": "", "__proto__": map[string]any{"admin": true}}
		}
	}
	w, _ := json.Marshal(wrong)
	n, _ := json.Marshal(nasty)
	return []string{string(w), string(n)}
}

// hostileBodies are bodies any write route must refuse, or take, without a 5xx.
func hostileBodies() []string {
	return []string{
		"", "null", "[]", "{", `{"a":`, "\xff\xfe", `"just a string"`, "{}{}",
		`{"name":"\u0000"}`, `{"name":1e999}`, `{"name":"x","name":"y"}`,
		strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
		`{"name":"` + strings.Repeat("x", 1<<20) + `"}`,
		`{"custom":{"tier":{"$ne":null}},"tags":[null,1,{}]}`,
	}
}

// expectSane fails t on a 5xx, a refusal that is not problem+json, or an
// answer that took more than five seconds (hostile input must not buy time).
func expectSane(t *testing.T, what string, took time.Duration, code int, body string, ct string) {
	t.Helper()
	if took > 5*time.Second {
		t.Fatalf("%s: answered %d after %v", what, code, took.Round(time.Millisecond))
	}
	if code >= 500 {
		t.Fatalf("%s: %d %.400s", what, code, body)
	}
	if code >= 400 && !strings.Contains(ct, "problem+json") {
		t.Fatalf("%s: %d with Content-Type %q, not problem+json: %.200s", what, code, ct, body)
	}
}

// Every write route of the API document, whatever its body.
func FuzzWriteRouteBodies(f *testing.F) {
	h := newHostileApp(f)
	for i, r := range h.writeRoutes {
		for _, b := range append(hostileBodies(), h.schemaBodies(r)...) {
			f.Add(uint16(i), []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, route uint16, body []byte) {
		a := *h.app
		a.t = t
		r := h.writeRoutes[int(route)%len(h.writeRoutes)]
		method, path, _ := strings.Cut(r, " ")
		start := time.Now()
		code, out, hdr := a.call(method, path, string(body), tokenHdr(h.tok)...)
		expectSane(t, r, time.Since(start), code, out, hdr.Get("Content-Type"))
	})
}

// The customer list's query string: filters, operators, sorts, cursors, views,
// searches and limits.
func FuzzCustomerListQuery(f *testing.F) {
	h := newHostileApp(f)
	for _, s := range []string{
		"", "tag=vip&lifecycle=customer", "custom.tier=gold&tag=vip", "custom.tier[in]=gold,silver",
		"custom.tier[between]=a", "custom.joined[gte]=2025-01-01", "custom.joined[gte]=not a date",
		"custom.joined[between]=2025-01-01,2024-01-01", "custom.nope=1", "custom.=x", "custom.tier[zz]=1",
		"created_at[gte]=2026-01-01", "created_at[gte]=yesterday", "created_at[lt]=99999-01-01",
		"updated_at[between]=,", "name[contains]=';--", "name[eq]=%00", "email[eq]=zw@example.com",
		"phone[eq]=+86 139", "owner_id=not-a-uuid", "owner_id[eq]=00000000-0000-0000-0000-000000000000",
		"company_id[eq]=x", "tags[contains]=a&tags[contains]=b&tags[contains]=c", "kind=robot",
		"lifecycle=unknown", "sort=-custom.tier", "sort=custom.joined", "sort=custom.nope", "sort=--name",
		"sort=name&cursor=eyJ2IjoiYSJ9", "cursor=!!!", "cursor=eyJ2Ijoibm90IGEgdGltZSIsImlkIjoiMDAwIn0",
		"limit=-1", "limit=0", "limit=99999999999999999999", "limit=abc", "q=张", "q=%", "q=" + strings.Repeat("a", 500),
		"q=user12&tag=vip", "segment_id=" + uuid.NewString(), "view_id=not-a-uuid", "view_id=" + h.view,
		"format=xml", "format=csv&tag=vip", "tag=" + strings.Repeat("t,", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		a := *h.app
		a.t = t
		// Every byte reaches the server, escaped as a client library would.
		var q []string
		for _, pair := range strings.Split(raw, "&") {
			k, v, _ := strings.Cut(pair, "=")
			q = append(q, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
		path := "/api/v1/t/" + h.slug + "/customers?" + strings.Join(q, "&")
		start := time.Now()
		code, out, hdr := a.call("GET", path, "", tokenHdr(h.tok)...)
		expectSane(t, path, time.Since(start), code, out, hdr.Get("Content-Type"))
	})
}

// Every list of the company (every GET of the API document under the company
// with no id in its path: deals, tickets, tasks, jobs, imports, audit...), with
// any query string. New modules' lists join through the API document.
func FuzzEveryListQuery(f *testing.F) {
	h := newHostileApp(f)
	seeds := []string{
		"", "limit=-1", "limit=0", "limit=99999999999999999999", "limit=abc", "cursor=!!!", "cursor=eyJ2IjoiYSJ9",
		"sort=-created_at", "sort=created_at", "sort=--x", "sort=custom.nope", "sort=position", "q=张", "q=%",
		"status=nope", "stage_id=not-a-uuid", "pipeline_id=" + uuid.NewString(), "owner_id=x", "assignee_id=x",
		"tag=vip&tag=vip&tag=x", "custom.x[gte]=1", "created_at[gte]=yesterday", "amount[gte]=1e999",
		"view_id=not-a-uuid", "view_id=" + h.view, "format=xml", "format=csv", "entity=nope", "entity=customers",
		"record_id=" + h.customer, "due[lte]=2026-13-45", "priority=urgent&status=open&status=closed",
	}
	for i := range h.listRoutes {
		for _, s := range seeds {
			f.Add(uint16(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, route uint16, raw string) {
		a := *h.app
		a.t = t
		var q []string
		for _, pair := range strings.Split(raw, "&") {
			k, v, _ := strings.Cut(pair, "=")
			q = append(q, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
		path := h.listRoutes[int(route)%len(h.listRoutes)] + "?" + strings.Join(q, "&")
		start := time.Now()
		code, out, hdr := a.call("GET", path, "", tokenHdr(h.tok)...)
		expectSane(t, path, time.Since(start), code, out, hdr.Get("Content-Type"))
	})
}
