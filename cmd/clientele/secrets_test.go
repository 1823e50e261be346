package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/platform/config"
)

// Planted markers (issue 23, "secrets and personal data"): a journey stores a
// sensitive custom value, emails and phones, makes an API key and a webhook
// secret, and fails requests on purpose; then the logs, /metrics, the audit
// log as a member without pii.read, another member's error bodies and the
// webhook's own reads are searched. None holds a secret, and none but the
// places meant for them holds the personal data.
func TestPlantedSecretsAndPersonalDataStayPut(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.WebhookAllow = []string{"127.0.0.1/32"} })
	s := slug("planted")
	tok, _ := a.company(s)
	base := "/api/v1/t/" + s
	const (
		email = "planted.mark3r.q7@example.com"
		phone = "+86 139 7777 4321"
		ssn   = "SSN-PLANTED-880077"
		note  = "planted-note-k2v9"
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.ReadAll(r.Body) }))
	defer rcv.Close()

	a.must(201, "POST", base+"/fields/customers", `{"key":"ssn","label_en":"SSN","type":"text","sensitive":true}`, tokenHdr(tok)...)
	cust := a.must(201, "POST", base+"/customers", fmt.Sprintf(`{"name":"Planted Person","emails":[%q],"phones":[%q],"custom":{"ssn":%q}}`, email, phone, ssn), tokenHdr(tok)...)["id"].(string)
	a.must(200, "PATCH", base+"/customers/"+cust, fmt.Sprintf(`{"source":%q}`, note), tokenHdr(tok)...)
	key := a.must(201, "POST", base+"/api-keys", `{"name":"planted","role":"viewer"}`, tokenHdr(tok)...)["key"].(string)
	hook := a.must(201, "POST", base+"/webhooks", fmt.Sprintf(`{"url":%q,"events":["*"]}`, rcv.URL), tokenHdr(tok)...)
	hookSecret := hook["secret"].(string)
	rotated := a.must(200, "POST", base+"/webhooks/"+hook["id"].(string)+"/rotate-secret", `{}`, tokenHdr(tok)...)["secret"].(string)

	// Requests that fail on purpose, some carrying the markers.
	a.call("GET", base+"/customers", "", "Authorization", "Bearer "+key+"x")
	a.call("POST", base+"/customers", fmt.Sprintf(`{"name":"Dup","emails":[%q]}`, email), tokenHdr(tok)...)
	a.call("POST", base+"/customers", fmt.Sprintf(`{"name":"","emails":[%q]}`, email), tokenHdr(tok)...)
	a.call("GET", base+"/customers?q="+email, "", tokenHdr(tok)...)
	a.call("POST", base+"/customers/batch", fmt.Sprintf(`{"records":[{"emails":[%q],"custom":{"ssn":%q}}]}`, email, ssn), tokenHdr(tok)...)

	// Another member without pii.read: their refusals and the audit log.
	a.must(201, "POST", base+"/roles", `{"key":"auditor","name":"Auditor","permissions":["profiles.read","audit.read"],"scope":"all"}`, tokenHdr(tok)...)
	auditor := a.member(s, tok, "auditor")
	agent := a.member(s, tok, "agent")
	var otherBodies, agentBodies strings.Builder
	for _, c := range []struct{ tok, method, path, body string }{
		{agent, "GET", "/customers/" + cust, ""},
		{agent, "POST", "/customers", fmt.Sprintf(`{"name":"Agent dup","emails":[%q]}`, email)},
		{agent, "PATCH", "/customers/" + cust, `{"name":"x"}`},
		{auditor, "GET", "/customers/" + cust, ""},
		{auditor, "GET", "/audit?limit=200", ""},
		{auditor, "GET", "/webhooks", ""},
	} {
		_, body, _ := a.call(c.method, base+c.path, c.body, tokenHdr(c.tok)...)
		otherBodies.WriteString(body)
		if c.tok == agent {
			agentBodies.WriteString(body)
		}
	}
	other := otherBodies.String()
	if !strings.Contains(other, "customer.create") {
		t.Fatalf("the auditor's audit read shows no entries; the check would prove nothing: %.300s", other)
	}
	for _, leak := range []string{ssn} {
		if strings.Contains(other, leak) {
			t.Errorf("a member without pii.read saw the sensitive value in a body")
		}
	}
	// The agent's refusals (not found, a duplicate they may not see) never
	// name the customer outside their scope, nor show its data.
	for _, leak := range []string{cust, "Planted Person", phone, ssn} {
		if strings.Contains(agentBodies.String(), leak) {
			t.Errorf("a refusal told an agent about a customer outside their scope (%.12s…): %.300s", leak, agentBodies.String())
		}
	}

	// The webhook secret is shown only when made: not on reads, not in the log.
	for _, path := range []string{"/webhooks", "/webhooks/" + hook["id"].(string)} {
		_, body, _ := a.call("GET", base+path, "", tokenHdr(tok)...)
		if strings.Contains(body, hookSecret) || strings.Contains(body, rotated) {
			t.Errorf("GET %s shows a webhook secret", path)
		}
	}

	// /metrics: route templates and codes only.
	rec := httptest.NewRecorder()
	a.d.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	metrics := rec.Body.String()
	if !strings.Contains(metrics, "clientele_http") {
		t.Fatalf("/metrics has no HTTP series; the check would prove nothing")
	}

	logs := a.log.String()
	if !strings.Contains(logs, `"route"`) {
		t.Fatalf("no access logs captured; the check would prove nothing")
	}
	secretOf := func(k string) string { return k[len(k)-20:] }
	for name, v := range map[string]string{
		"session token": tok, "API key": secretOf(key), "webhook secret": secretOf(hookSecret), "rotated webhook secret": secretOf(rotated),
		"sensitive value": ssn, "email": email, "phone digits": "13977774321", "phone": phone, "tenant-chosen text": note,
	} {
		if strings.Contains(logs, v) {
			t.Errorf("the logs hold the %s", name)
		}
		if strings.Contains(metrics, v) {
			t.Errorf("/metrics holds the %s", name)
		}
	}
	if strings.Contains(metrics, s) {
		t.Errorf("/metrics names the company (%s); it must use route templates", s)
	}
}
