package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/config"
)

// Company B reaches none of company A's webhooks or their deliveries through
// any webhook route with an id, by A's slug or its own; a member without
// webhooks.manage reaches none at all; bad input is refused naming the field.
func TestWebhookRoutesKeepTenantsApartAndCheckInput(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.WebhookAllow = []string{"127.0.0.1/32"} })
	sa, sb := slug("hooka"), slug("hookb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	var mu sync.Mutex
	got := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		mu.Lock()
		got++
		mu.Unlock()
	}))
	defer rcv.Close()

	sub := a.must(201, "POST", "/api/v1/t/"+sa+"/webhooks", fmt.Sprintf(`{"url":%q,"events":["customer.*"]}`, rcv.URL+"/hook"), tokenHdr(tokA)...)
	sid := sub["id"].(string)
	if s, _ := sub["secret"].(string); !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("create did not show the secret: %v", sub)
	}
	if body := a.must(200, "GET", "/api/v1/t/"+sa+"/webhooks/"+sid, "", tokenHdr(tokA)...); body["secret"] != nil {
		t.Fatalf("get shows the secret: %v", body)
	}
	test := a.must(202, "POST", "/api/v1/t/"+sa+"/webhooks/"+sid+"/test", "", tokenHdr(tokA)...)
	did := test["id"].(string)

	cases := map[string]struct{ path, body string }{
		"GET /webhooks/{id}":                                  {"/webhooks/" + sid, ""},
		"PATCH /webhooks/{id}":                                {"/webhooks/" + sid, `{"description":"x"}`},
		"DELETE /webhooks/{id}":                               {"/webhooks/" + sid, ""},
		"POST /webhooks/{id}/rotate-secret":                   {"/webhooks/" + sid + "/rotate-secret", `{}`},
		"POST /webhooks/{id}/test":                            {"/webhooks/" + sid + "/test", ""},
		"GET /webhooks/{id}/deliveries":                       {"/webhooks/" + sid + "/deliveries", ""},
		"GET /webhooks/{id}/deliveries/{delivery_id}":         {"/webhooks/" + sid + "/deliveries/" + did, ""},
		"POST /webhooks/{id}/deliveries/{delivery_id}/replay": {"/webhooks/" + sid + "/deliveries/" + did + "/replay", ""},
		"POST /webhooks/{id}/replay":                          {"/webhooks/" + sid + "/replay", `{"since":"2020-01-01T00:00:00Z"}`},
	}
	_, doc, _ := a.call("GET", "/api/v1/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		t.Fatal(err)
	}
	withID := regexp.MustCompile(`^/api/v1/t/\{tenant\}(/webhooks/\{id\}.*)$`)
	covered := 0
	for path, ops := range spec.Paths {
		mm := withID.FindStringSubmatch(path)
		if mm == nil {
			continue
		}
		for method := range ops {
			if _, ok := cases[strings.ToUpper(method)+" "+mm[1]]; !ok {
				t.Errorf("%s %s is not checked here", strings.ToUpper(method), mm[1])
			}
			covered++
		}
	}
	if covered != len(cases) {
		t.Errorf("%d webhook routes with an id in the document, %d cases", covered, len(cases))
	}
	for _, base := range []string{"/api/v1/t/" + sa, "/api/v1/t/" + sb} {
		for name, c := range cases {
			method := strings.Fields(name)[0]
			if code, body, _ := a.call(method, base+c.path, c.body, tokenHdr(tokB)...); code != 404 {
				t.Errorf("B %s on %s: %d %.300s, want 404", name, base, code, body)
			}
		}
	}
	if items := a.must(200, "GET", "/api/v1/t/"+sb+"/webhooks", "", tokenHdr(tokB)...)["items"].([]any); len(items) != 0 {
		t.Errorf("B lists %d webhooks", len(items))
	}
	// A manager's role does not include webhooks.manage.
	mgr := a.member(sa, tokA, "manager")
	a.must(403, "GET", "/api/v1/t/"+sa+"/webhooks", "", tokenHdr(mgr)...)
	a.must(403, "POST", "/api/v1/t/"+sa+"/webhooks", `{"url":"https://example.com","events":["*"]}`, tokenHdr(mgr)...)

	for _, c := range []struct{ body, loc string }{
		{`{"url":"http://example.com/hook","events":["*"]}`, "body.url"},
		{`{"url":"https://10.0.0.1/hook","events":["*"]}`, "body.url"},
		{`{"url":"https://169.254.169.254/latest","events":["*"]}`, "body.url"},
		{`{"url":"https://[::1]/x","events":["*"]}`, "body.url"},
		{`{"url":"https://example.com/hook","events":["customer.exploded"]}`, "body.events[0]"},
		{`{"url":"https://example.com/hook","events":[]}`, "body.events"},
	} {
		code, body, hdr := a.call("POST", "/api/v1/t/"+sa+"/webhooks", c.body, tokenHdr(tokA)...)
		if code != 422 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") || !strings.Contains(body, c.loc) {
			t.Errorf("%s: %d %.300s, want 422 naming %s", c.body, code, body, c.loc)
		}
	}
	// Nothing of A's changed through B.
	if body := a.must(200, "GET", "/api/v1/t/"+sa+"/webhooks/"+sid, "", tokenHdr(tokA)...); body["description"] != "" {
		t.Errorf("A's webhook changed: %v", body)
	}
	// Task events: a subscription to task.* gets a task's creation and its
	// completion.
	a.must(200, "PATCH", "/api/v1/t/"+sa+"/webhooks/"+sid, `{"events":["customer.*","task.*"]}`, tokenHdr(tokA)...)
	task := a.must(201, "POST", "/api/v1/t/"+sa+"/tasks", `{"title":"Call back 回电"}`, tokenHdr(tokA)...)["id"].(string)
	a.must(200, "POST", "/api/v1/t/"+sa+"/tasks/"+task+"/complete", "", tokenHdr(tokA)...)
	for _, ev := range []string{"task.created", "task.completed"} {
		items := a.must(200, "GET", "/api/v1/t/"+sa+"/webhooks/"+sid+"/deliveries?event_type="+ev, "", tokenHdr(tokA)...)["items"].([]any)
		if len(items) != 1 || items[0].(map[string]any)["entity_id"] != task {
			t.Errorf("%s deliveries: %v", ev, items)
		}
	}
	// A customer created by A's API queues a delivery in A's log (the worker is
	// not running here; its sending is the module's tests' business).
	a.must(201, "POST", "/api/v1/t/"+sa+"/customers", `{"name":"Webhook 客户"}`, tokenHdr(tokA)...)
	deadline := time.Now().Add(5 * time.Second)
	for {
		items := a.must(200, "GET", "/api/v1/t/"+sa+"/webhooks/"+sid+"/deliveries?event_type=customer.created", "", tokenHdr(tokA)...)["items"].([]any)
		if len(items) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery queued for customer.created: %v", items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A webhook's body shows the record as a reader of every record without
// pii.read would: a sensitive custom value goes out masked, since holding
// webhooks.manage does not imply seeing it.
func TestWebhookBodiesMaskSensitiveValues(t *testing.T) {
	a := newApp(t)
	s := slug("hookpii")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	a.must(201, "POST", base+"/fields/customers", `{"key":"ssn","label_en":"SSN","type":"text","sensitive":true}`, tokenHdr(tok)...)
	id := a.must(201, "POST", base+"/customers", `{"name":"Masked","custom":{"ssn":"SSN-HOOK-4455"}}`, tokenHdr(tok)...)["id"].(string)
	var tenant uuid.UUID
	if err := a.d.db.NewRaw("SELECT id FROM tenants WHERE slug = ?", s).Scan(context.Background(), &tenant); err != nil {
		t.Fatal(err)
	}
	obj, err := webhookObjects(a.d.modules)(authz.AsSystem(context.Background()), tenant, "customers", uuid.MustParse(id))
	if err != nil || obj == nil {
		t.Fatalf("object: %v %v", obj, err)
	}
	raw, _ := json.Marshal(obj)
	if strings.Contains(string(raw), "SSN-HOOK-4455") || !strings.Contains(string(raw), "Masked") || !strings.Contains(string(raw), `"ssn"`) {
		t.Fatalf("webhook body: %s", raw)
	}
}
