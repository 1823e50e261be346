package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/httpx"
)

// memberRoutes are the tenant routes any member may call (their own
// notifications, their company's settings, directory and saved views...);
// every other route names the permission it needs in its description
// ("Needs deals.read"). needsOverride names it for the routes whose
// description does not. A route in neither fails the matrix: a new route
// must say who may call it.
var memberRoutes = map[string]bool{
	"GET /me": true, "GET /members": true, "GET /teams": true, "GET /roles": true, "GET /permissions": true, "GET /settings": true,
	"GET /notifications": true, "GET /notifications/preferences": true, "PUT /notifications/preferences": true,
	"POST /notifications/read-all": true, "POST /notifications/{id}/read": true,
	"GET /views": true, "POST /views": true, "GET /views/entities": true, "GET /views/{id}": true, "PATCH /views/{id}": true,
	"DELETE /views/{id}": true, "DELETE /segments/{id}": true,
	"GET /fields": true, "GET /fields/{entity}": true,
	// Imports and exports check the entity's own permissions, which the
	// request's body or the job names.
	"GET /imports": true, "POST /imports": true, "GET /imports/{id}": true,
	"POST /imports/{id}/start": true, "POST /exports": true, "GET /exports/{id}": true,
	// The feed needs the entity's read permission, named by a query parameter.
	"GET /changes": true,
}

var needsOverride = map[string]string{
	"POST /customers":                                "profiles.write",
	"POST /customers/bulk":                           "profiles.write",
	"POST /customers/merge":                          "profiles.write",
	"DELETE /customers/{id}":                         "profiles.write",
	"POST /customers/{id}/interactions":              "profiles.write",
	"DELETE /fields/{entity}/{key}":                  "fields.manage",
	"PATCH /fields/{entity}/{key}":                   "fields.manage",
	"GET /fields/{entity}/{key}/conversion-failures": "fields.manage",
	"GET /jobs":                                      "jobs.read",
	"POST /jobs/{id}/cancel":                         "jobs.cancel",
	// Cancelling or reverting an import changes the entity's records: the
	// default entity's write permission is checked before the import is
	// looked up (an unknown id is then 404).
	"POST /imports/{id}/cancel": "profiles.write",
	"POST /imports/{id}/revert": "profiles.write",
}

// ownerOnly are the routes that no permission opens, only the owner's role:
// closing the company.
var ownerOnly = map[string]bool{"POST /close": true}

var needsPattern = regexp.MustCompile(`Needs ([a-z_]+\.[a-z_]+)`)

// The authorisation matrix (issue 23): every tenant route in the API document
// × every built-in role and a custom one. A role without the permission a
// route needs is refused with 403 before anything runs; a role with it is
// never refused with 403, and nothing answers 500. Routes whose request body
// the schema refuses first (422) are counted apart: nothing ran for them
// either, but the permission check was not reached.
func TestAuthorisationMatrix(t *testing.T) {
	a := newApp(t)
	s := slug("matrix")
	owner, _ := a.company(s)
	base := "/api/v1/t/" + s
	a.must(201, "POST", base+"/roles", `{"key":"clerk","name":"Clerk","permissions":["profiles.read","deals.read","tickets.read"],"scope":"team"}`, tokenHdr(owner)...)

	var roles struct {
		Items []struct {
			Key         string   `json:"key"`
			Permissions []string `json:"permissions"`
		} `json:"items"`
	}
	_, body, _ := a.call("GET", base+"/roles", "", tokenHdr(owner)...)
	if err := json.Unmarshal([]byte(body), &roles); err != nil || len(roles.Items) < 6 {
		t.Fatalf("roles: %v %.200s", err, body)
	}
	tokens := map[string]string{"owner": owner}
	held := map[string]map[string]bool{}
	for _, r := range roles.Items {
		held[r.Key] = map[string]bool{}
		for _, p := range r.Permissions {
			held[r.Key][p] = true
		}
		if r.Key != "owner" {
			tokens[r.Key] = a.member(s, owner, r.Key)
		}
	}

	_, doc, _ := a.call("GET", "/api/v1/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]struct {
			Description string `json:"description"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		t.Fatal(err)
	}
	type route struct{ method, path, key, perm string }
	var routes []route
	for path, ops := range spec.Paths {
		rel, ok := strings.CutPrefix(path, httpx.TenantPrefix)
		if !ok {
			continue
		}
		for method, op := range ops {
			m := strings.ToUpper(method)
			key := m + " " + rel
			perm := needsOverride[key]
			if mm := needsPattern.FindStringSubmatch(op.Description); perm == "" && mm != nil {
				perm = mm[1]
			}
			switch {
			case ownerOnly[key]:
				perm = "the owner's role"
			case memberRoutes[key]:
				perm = ""
			case perm == "":
				t.Errorf("%s says neither the permission it needs (\"Needs x.y\" in its description) nor is listed here as open to every member", key)
				continue
			}
			routes = append(routes, route{m, rel, key, perm})
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].key < routes[j].key })
	if len(routes) < 100 {
		t.Fatalf("only %d tenant routes in the document", len(routes))
	}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	cells, refused, allowed, schemaFirst := 0, 0, 0, 0
	for _, r := range routes {
		url := base + param.ReplaceAllStringFunc(r.path, func(m string) string {
			if m == "{entity}" {
				return "customers"
			}
			if m == "{key}" {
				return "nope"
			}
			if m == "{position}" {
				return "0"
			}
			return uuid.NewString()
		})
		body := ""
		if r.method == "POST" || r.method == "PUT" || r.method == "PATCH" {
			body = "{}"
		}
		for role, tok := range tokens {
			if role == "owner" && r.method == "DELETE" {
				continue // the owner holds everything; nothing to learn from deleting
			}
			cells++
			code, out, _ := a.call(r.method, url, body, tokenHdr(tok)...)
			if code >= 500 {
				t.Errorf("%s as %s: %d %.200s", r.key, role, code, out)
				continue
			}
			lacks := r.perm != "" && !held[role][r.perm]
			if ownerOnly[r.key] {
				lacks = role != "owner"
			}
			switch {
			case lacks && code == 403:
				refused++
			case lacks && code == 422 && strings.Contains(out, `"location":"body`):
				schemaFirst++
			case lacks:
				t.Errorf("%s as %s (without %s): %d %.200s, want 403", r.key, role, r.perm, code, out)
			case code == 403:
				t.Errorf("%s as %s (holding %s): 403 %.200s", r.key, role, r.perm, out)
			default:
				allowed++
			}
		}
	}
	t.Logf("%d routes × %d roles: %d cells, %d refused with 403, %d refused by the body's schema first, %d let through",
		len(routes), len(tokens), cells, refused, schemaFirst, allowed)
}

// The scope column of the matrix: a customer, a deal, a ticket and a task of
// the owner, read and changed by every role that holds the permission, are reached by
// roles that see all records, by a team-scoped role whose team holds the
// owner, and by nobody else (404, as if they did not exist).
func TestAuthorisationMatrixScopes(t *testing.T) {
	a := newApp(t)
	s := slug("scopes")
	owner, _ := a.company(s)
	base := "/api/v1/t/" + s
	a.must(201, "POST", base+"/roles", `{"key":"clerk","name":"Clerk","permissions":["profiles.read","profiles.write","deals.read","deals.write","tickets.read","tasks.read","tasks.write"],"scope":"team"}`, tokenHdr(owner)...)
	tokens := map[string]string{}
	for _, r := range []string{"admin", "manager", "agent", "viewer", "clerk"} {
		tokens[r] = a.member(s, owner, r)
	}
	// The manager shares a team with the owner; the clerk is in a team of its own.
	ids := map[string]string{}
	for _, m := range a.must(200, "GET", base+"/members", "", tokenHdr(owner)...)["items"].([]any) {
		mm := m.(map[string]any)
		ids[mm["role"].(string)] = mm["identity_id"].(string)
	}
	a.must(201, "POST", base+"/teams", fmt.Sprintf(`{"name":"North","members":[%q,%q]}`, ids["owner"], ids["manager"]), tokenHdr(owner)...)
	a.must(201, "POST", base+"/teams", fmt.Sprintf(`{"name":"South","members":[%q]}`, ids["clerk"]), tokenHdr(owner)...)

	cust := a.must(201, "POST", base+"/customers", `{"name":"Owner's customer"}`, tokenHdr(owner)...)["id"].(string)
	deal := a.must(201, "POST", base+"/deals", fmt.Sprintf(`{"title":"Owner's deal","customer_id":%q}`, cust), tokenHdr(owner)...)["id"].(string)
	ticket := a.must(201, "POST", base+"/tickets", fmt.Sprintf(`{"subject":"Owner's ticket","channel":"email","requester_id":%q,"assignee_id":%q}`, cust, ids["owner"]), tokenHdr(owner)...)["id"].(string)
	task := a.must(201, "POST", base+"/tasks", `{"title":"Owner's task"}`, tokenHdr(owner)...)["id"].(string)
	sees := map[string]bool{"admin": true, "viewer": true, "manager": true, "agent": false, "clerk": false}
	writes := map[string]bool{"admin": true, "manager": true, "agent": true, "clerk": true}
	cells := 0
	for role, tok := range tokens {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/customers/" + cust, ""},
			{"GET", "/deals/" + deal, ""},
			{"GET", "/tickets/" + ticket, ""},
			{"PATCH", "/customers/" + cust, `{"source":"scope check"}`},
			{"POST", "/tasks/" + task + "/snooze", `{"until":"2030-01-01T00:00:00Z"}`},
		} {
			if c.method == "POST" && !writes[role] {
				continue
			}
			if c.method == "PATCH" && !writes[role] {
				continue // the permission column covers it (403)
			}
			cells++
			code, out, _ := a.call(c.method, base+c.path, c.body, tokenHdr(tok)...)
			want := 404
			if sees[role] {
				want = 200
			}
			if code != want {
				t.Errorf("%s %s as %s: %d %.200s, want %d", c.method, c.path, role, code, out, want)
			}
		}
		// Lists agree with the single reads.
		items := a.must(200, "GET", base+"/customers", "", tokenHdr(tok)...)["items"].([]any)
		if got := len(items) == 1; got != sees[role] {
			t.Errorf("the customer list as %s has %d items; sees the owner's customer: %v", role, len(items), sees[role])
		}
	}
	t.Logf("%d scope cells: all (admin, viewer), team holding the owner (manager), own (agent), team without the owner (clerk)", cells)
}
