package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/migrations"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/clientele-crm/clientele/tenants"
)

// fakeIdentities stands in for Kratos in these tests of authorisation; the real
// Kratos is exercised by platform/identity's tests and the end-to-end test.
type fakeIdentities struct {
	mu     sync.Mutex
	tokens map[string]tenants.Session
	down   bool
}

func (f *fakeIdentities) person(email string) (string, tenants.Session) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := tenants.Session{IdentityID: uuid.New(), Email: email, Name: strings.Split(email, "@")[0], ExpiresAt: time.Now().Add(time.Hour)}
	tok := "tok_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	f.tokens[tok] = s
	return tok, s
}

func (f *fakeIdentities) Verify(_ context.Context, tok, cookie string) (tenants.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return tenants.Session{}, errs.E(errs.Unavailable, "Sign-in is unavailable right now; try again in a minute.")
	}
	if s, ok := f.tokens[tok]; ok && tok != "" {
		return s, nil
	}
	if s, ok := f.tokens[cookie]; ok && cookie != "" {
		return s, nil
	}
	return tenants.Session{}, errs.E(errs.Unauthenticated, "Your session has ended; sign in again.")
}

func (f *fakeIdentities) Logout(_ context.Context, tok, _ string) error {
	f.mu.Lock()
	delete(f.tokens, tok)
	f.mu.Unlock()
	return nil
}

func (f *fakeIdentities) Invite(_ context.Context, email, name string, _ time.Duration) (uuid.UUID, string, string, error) {
	tok, s := f.person(email)
	return s.IdentityID, "fake://recovery/" + tok, "123456", nil
}

type app struct {
	t   testing.TB
	srv *httpx.Server
	ids *fakeIdentities
	log *bytes.Buffer
	d   *deps
}

func newApp(t testing.TB) *app { return newAppWith(t, nil) }

func newAppWith(t testing.TB, tweak func(*config.Config)) *app {
	cfg := testConfig(t)
	cfg.RateBadKeyPerIP = 100000 // tests share one client address; TestAPIKeysAndRateLimits lowers it
	if tweak != nil {
		tweak(&cfg)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ids := &fakeIdentities{tokens: map[string]tenants.Session{}}
	d, err := openDepsWith(context.Background(), cfg, log, ids)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return &app{t: t, srv: buildHTTP(d), ids: ids, log: &logs, d: d}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (a *app) call(method, path, body string, hdr ...string) (int, string, http.Header) {
	a.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.srv.App.Test(req, 30000)
	if err != nil {
		a.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (a *app) must(status int, method, path, body string, hdr ...string) map[string]any {
	a.t.Helper()
	code, out, _ := a.call(method, path, body, hdr...)
	if code != status {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, status)
	}
	var v map[string]any
	_ = json.Unmarshal([]byte(out), &v)
	return v
}

func tokenHdr(tok string) []string { return []string{"X-Session-Token", tok} }

// company signs a person up and creates a tenant they own.
func (a *app) company(slug string) (string, tenants.Session) {
	tok, s := a.ids.person(slug + "-owner@example.com")
	a.must(201, "POST", "/api/v1/tenants", fmt.Sprintf(`{"name":"%s Co.","slug":"%s"}`, slug, slug), tokenHdr(tok)...)
	return tok, s
}

func (a *app) member(slug, ownerTok, role string) string {
	_, s := a.ids.person(fmt.Sprintf("%s-%s-%s@example.com", slug, role, uuid.NewString()[:6]))
	inv := a.must(201, "POST", "/api/v1/t/"+slug+"/invitations", fmt.Sprintf(`{"email":%q,"role":%q}`, s.Email, role), tokenHdr(ownerTok)...)
	// The fake provider made a new identity for the invite; sign in as that one.
	var invitee string
	a.ids.mu.Lock()
	for t, ss := range a.ids.tokens {
		if ss.IdentityID.String() == inv["identity_id"] {
			invitee = t
		}
	}
	a.ids.mu.Unlock()
	a.must(200, "POST", "/api/v1/invitations/"+inv["id"].(string)+"/accept", fmt.Sprintf(`{"tenant":%q}`, slug), tokenHdr(invitee)...)
	return invitee
}

func slug(prefix string) string {
	return prefix + "-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
}

func TestSignupMeAndInvitation(t *testing.T) {
	a := newApp(t)
	s := slug("acme")
	ownerTok, owner := a.company(s)
	me := a.must(200, "GET", "/api/v1/me", "", tokenHdr(ownerTok)...)
	if !strings.Contains(fmt.Sprint(me), s) || !strings.Contains(fmt.Sprint(me), owner.IdentityID.String()) {
		t.Fatalf("me: %v", me)
	}
	agent := a.member(s, ownerTok, "agent")
	me = a.must(200, "GET", "/api/v1/me", "", tokenHdr(agent)...)
	if !strings.Contains(fmt.Sprint(me["memberships"]), "agent") {
		t.Fatalf("invitee's me: %v", me)
	}
	// Bad input.
	a.must(422, "POST", "/api/v1/tenants", `{"name":"X","slug":"Bad Slug"}`, tokenHdr(ownerTok)...)
	a.must(422, "POST", "/api/v1/tenants", `{"name":"X","slug":"admin"}`, tokenHdr(ownerTok)...)
	a.must(409, "POST", "/api/v1/tenants", fmt.Sprintf(`{"name":"X","slug":%q}`, s), tokenHdr(ownerTok)...)
	v := a.must(422, "POST", "/api/v1/t/"+s+"/invitations", `{"email":"not-an-email","role":"agent"}`, tokenHdr(ownerTok)...)
	if !strings.Contains(fmt.Sprint(v["errors"]), "body.email") {
		t.Errorf("invite bad email: %v", v)
	}
	v = a.must(422, "POST", "/api/v1/t/"+s+"/invitations", `{"email":"x@example.com","role":"emperor"}`, tokenHdr(ownerTok)...)
	if !strings.Contains(fmt.Sprint(v["errors"]), "body.role") {
		t.Errorf("invite bad role: %v", v)
	}
	a.must(401, "GET", "/api/v1/me", "")
	a.must(401, "GET", "/api/v1/t/"+s+"/members", "")
	a.must(401, "GET", "/api/v1/t/"+s+"/members", "", tokenHdr("tok_bogus")...)
}

func TestRolesAreEnforced(t *testing.T) {
	a := newApp(t)
	s := slug("roles")
	ownerTok, owner := a.company(s)
	viewer := a.member(s, ownerTok, "viewer")
	agent := a.member(s, ownerTok, "agent")
	base := "/api/v1/t/" + s
	a.must(200, "GET", base+"/members", "", tokenHdr(viewer)...)
	a.must(403, "POST", base+"/teams", `{"name":"Sales"}`, tokenHdr(viewer)...)
	a.must(403, "PATCH", base+"/settings", `{"locale":"zh-CN"}`, tokenHdr(viewer)...)
	a.must(403, "POST", base+"/invitations", `{"email":"z@example.com","role":"agent"}`, tokenHdr(agent)...)
	a.must(403, "PATCH", base+"/members/"+owner.IdentityID.String(), `{"role":"viewer"}`, tokenHdr(agent)...)
	a.must(403, "GET", base+"/audit", "", tokenHdr(agent)...)
	// Nobody changes their own role; the last owner cannot be removed.
	a.must(403, "PATCH", base+"/members/"+owner.IdentityID.String(), `{"role":"admin"}`, tokenHdr(ownerTok)...)
	a.must(409, "DELETE", base+"/members/"+owner.IdentityID.String(), "", tokenHdr(ownerTok)...)
	// A custom role's grants apply on the very next request.
	a.must(201, "POST", base+"/roles", `{"key":"auditor","name":"Auditor","permissions":["audit.read"],"scope":"all"}`, tokenHdr(ownerTok)...)
	var agentID string
	for _, m := range a.must(200, "GET", base+"/members", "", tokenHdr(ownerTok)...)["items"].([]any) {
		if mm := m.(map[string]any); mm["role"] == "agent" {
			agentID = mm["identity_id"].(string)
		}
	}
	a.must(200, "PATCH", base+"/members/"+agentID, `{"role":"auditor"}`, tokenHdr(ownerTok)...)
	a.must(200, "GET", base+"/audit", "", tokenHdr(agent)...)
	a.must(200, "PUT", base+"/roles/auditor", `{"name":"Auditor","permissions":[],"scope":"all"}`, tokenHdr(ownerTok)...)
	a.must(403, "GET", base+"/audit", "", tokenHdr(agent)...)
	a.must(422, "POST", base+"/roles", `{"key":"x1","name":"X","permissions":["launch.missiles"]}`, tokenHdr(ownerTok)...)
	a.must(409, "PUT", base+"/roles/owner", `{"name":"Boss","permissions":[]}`, tokenHdr(ownerTok)...)
	// Every change is in the audit log.
	log := a.must(200, "GET", base+"/audit?action=member.role_change", "", tokenHdr(ownerTok)...)
	if n := len(log["items"].([]any)); n != 1 {
		t.Fatalf("audit has %d role changes, want 1", n)
	}
}

func TestAPIKeysAndRateLimits(t *testing.T) {
	a := newAppWith(t, func(c *config.Config) { c.RateBadKeyPerIP = 20 })
	testkit.Get(t).Redis.FlushDB(context.Background())
	s := slug("keys")
	ownerTok, _ := a.company(s)
	base := "/api/v1/t/" + s
	k := a.must(201, "POST", base+"/api-keys", `{"name":"ERP sync","role":"viewer"}`, tokenHdr(ownerTok)...)
	key := k["key"].(string)
	if !strings.HasPrefix(key, "ck_") {
		t.Fatalf("key %q", key)
	}
	bearer := []string{"Authorization", "Bearer " + key}
	a.must(200, "GET", base+"/members", "", bearer...)
	a.must(403, "POST", base+"/teams", `{"name":"x"}`, bearer...)
	list := a.must(200, "GET", base+"/api-keys", "", tokenHdr(ownerTok)...)
	if strings.Contains(fmt.Sprint(list), key) || !strings.Contains(fmt.Sprint(list), k["prefix"].(string)) {
		t.Fatalf("list shows the secret or lacks the prefix: %v", list)
	}
	a.must(204, "DELETE", base+"/api-keys/"+k["id"].(string), "", tokenHdr(ownerTok)...)
	a.must(401, "GET", base+"/members", "", bearer...)
	a.must(401, "GET", base+"/members", "", "Authorization", "Bearer ck_garbage")
	// Bad keys from one address are cut off with 429 and Retry-After.
	var code int
	var hdr http.Header
	for i := 0; i < 40; i++ {
		code, _, hdr = a.call("GET", base+"/members", "", "Authorization", "Bearer ck_nope")
		if code == 429 {
			break
		}
	}
	if code != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("bad-key flood got %d (Retry-After %q)", code, hdr.Get("Retry-After"))
	}
}

func TestCookieSessionsNeedSameOriginForWrites(t *testing.T) {
	a := newApp(t)
	s := slug("csrf")
	ownerTok, _ := a.company(s)
	// The fake provider treats the cookie value as the token.
	a.ids.mu.Lock()
	a.ids.tokens["ory_kratos_session=abc"] = a.ids.tokens[ownerTok]
	a.ids.mu.Unlock()
	cookie := []string{"Cookie", "ory_kratos_session=abc"}
	a.must(200, "GET", "/api/v1/t/"+s+"/members", "", cookie...)
	// A same-origin write from the app, with its header, passes.
	a.must(201, "POST", "/api/v1/t/"+s+"/teams", `{"name":"Sales"}`, "Cookie", "ory_kratos_session=abc", "Sec-Fetch-Site", "same-origin", "X-Clientele-CSRF", "1")
	// Without the header, or from another site, it is refused.
	a.must(403, "POST", "/api/v1/t/"+s+"/teams", `{"name":"Ops"}`, "Cookie", "ory_kratos_session=abc", "Sec-Fetch-Site", "same-origin")
	code, body, _ := a.call("POST", "/api/v1/t/"+s+"/teams", `{"name":"Evil"}`, "Cookie", "ory_kratos_session=abc", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if code != 403 || !strings.Contains(body, "cross-site") {
		t.Fatalf("cross-site write: %d %s", code, body)
	}
}

// Every tenant-scoped route, as the OpenAPI document lists it, answers 404 to a
// member of another tenant and to another tenant's API key, and 401 to a revoked key.
func TestEveryTenantRouteKeepsTenantsApart(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("alpha"), slug("beta")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	keyA := a.must(201, "POST", "/api/v1/t/"+sa+"/api-keys", `{"name":"a","role":"admin"}`, tokenHdr(tokA)...)["key"].(string)
	revoked := a.must(201, "POST", "/api/v1/t/"+sb+"/api-keys", `{"name":"old","role":"admin"}`, tokenHdr(tokB)...)
	a.must(204, "DELETE", "/api/v1/t/"+sb+"/api-keys/"+revoked["id"].(string), "", tokenHdr(tokB)...)
	// Records of B that A will reach for.
	team := a.must(201, "POST", "/api/v1/t/"+sb+"/teams", `{"name":"B team"}`, tokenHdr(tokB)...)
	ids := map[string]string{"id": team["id"].(string), "identity_id": uuid.NewString(), "key": "owner"}
	// Routes whose {id} is another kind of record get one of B's of that kind.
	view := a.must(201, "POST", "/api/v1/t/"+sb+"/views", `{"entity":"customers","name":"B's view","shared":true}`, tokenHdr(tokB)...)
	// The funnel's records of B: its default pipeline and a stage of it, a
	// deal of one of its customers, a lost reason. The tickets': a ticket and
	// an SLA policy.
	pipelines := a.must(200, "GET", "/api/v1/t/"+sb+"/pipelines", "", tokenHdr(tokB)...)["items"].([]any)
	pipeline := pipelines[0].(map[string]any)
	stage := pipeline["stages"].([]any)[0].(map[string]any)
	cust := a.must(201, "POST", "/api/v1/t/"+sb+"/customers", `{"name":"B's customer"}`, tokenHdr(tokB)...)
	deal := a.must(201, "POST", "/api/v1/t/"+sb+"/deals", fmt.Sprintf(`{"title":"B's deal","customer_id":%q,"amount":"10"}`, cust["id"]), tokenHdr(tokB)...)
	reason := a.must(200, "GET", "/api/v1/t/"+sb+"/lost-reasons", "", tokenHdr(tokB)...)["items"].([]any)[0].(map[string]any)
	ticketB := a.must(201, "POST", "/api/v1/t/"+sb+"/tickets", fmt.Sprintf(`{"subject":"B's ticket","channel":"email","requester_id":%q}`, cust["id"]), tokenHdr(tokB)...)
	policyB := a.must(201, "POST", "/api/v1/t/"+sb+"/sla-policies", `{"name":"B's policy","resolution_minutes":60}`, tokenHdr(tokB)...)
	calendarB := a.must(201, "POST", "/api/v1/t/"+sb+"/sla-calendars", `{"name":"B's hours","time_zone":"Asia/Shanghai","hours":[{"days":["mon"],"start":"09:00","end":"17:00"}]}`, tokenHdr(tokB)...)
	formB := a.must(201, "POST", "/api/v1/t/"+sb+"/lead-forms", `{"name":"B's form","fields":[{"key":"email"}]}`, tokenHdr(tokB)...)
	ruleB := a.must(201, "POST", "/api/v1/t/"+sb+"/classification-rules", `{"name":"B's rule","condition":"tag=vip","action":"add_tag","value":"x"}`, tokenHdr(tokB)...)
	ids["stage_id"] = stage["id"].(string)
	idsUnder := map[string]string{"/views/": view["id"].(string), "/segments/": view["id"].(string),
		"/pipelines/": pipeline["id"].(string), "/deals/": deal["id"].(string), "/lost-reasons/": reason["id"].(string),
		"/tickets/": ticketB["id"].(string), "/sla-policies/": policyB["id"].(string), "/sla-calendars/": calendarB["id"].(string),
		"/lead-forms/": formB["id"].(string), "/classification-rules/": ruleB["id"].(string)}

	_, doc, _ := a.call("GET", "/api/v1/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(doc), &spec); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	var routes []string
	for path, ops := range spec.Paths {
		if !strings.HasPrefix(path, httpx.TenantPrefix) {
			continue
		}
		for method := range ops {
			routes = append(routes, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(routes)
	if len(routes) < 20 {
		t.Fatalf("only %d tenant routes in the OpenAPI document: %v", len(routes), routes)
	}
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		url := param.ReplaceAllStringFunc(path, func(m string) string {
			name := m[1 : len(m)-1]
			if name == "tenant" {
				return sb
			}
			for prefix, v := range idsUnder {
				if name == "id" && strings.HasPrefix(path, httpx.TenantPrefix+prefix) {
					return v
				}
			}
			if v, ok := ids[name]; ok {
				return v
			}
			return uuid.NewString()
		})
		body := ""
		if method == "POST" || method == "PUT" || method == "PATCH" {
			body = "{}"
		}
		t.Run(r, func(t *testing.T) {
			if code, out, _ := a.call(method, url, body, tokenHdr(tokA)...); code != 404 {
				t.Errorf("member of A: %d %s", code, out)
			}
			if code, out, _ := a.call(method, url, body, "Authorization", "Bearer "+keyA); code != 404 {
				t.Errorf("API key of A: %d %s", code, out)
			}
			if code, out, _ := a.call(method, url, body, "Authorization", "Bearer "+revoked["key"].(string)); code != 401 {
				t.Errorf("revoked key of B: %d %s", code, out)
			}
		})
	}
}

// No session token, cookie or API key may reach the logs.
func TestNoSecretsInLogs(t *testing.T) {
	a := newApp(t)
	s := slug("logs")
	tok, _ := a.company(s)
	key := a.must(201, "POST", "/api/v1/t/"+s+"/api-keys", `{"name":"k","role":"viewer"}`, tokenHdr(tok)...)["key"].(string)
	a.call("GET", "/api/v1/t/"+s+"/members", "", "Authorization", "Bearer "+key)
	a.call("GET", "/api/v1/t/"+s+"/members", "", "Authorization", "Bearer "+key+"x")
	a.call("GET", "/api/v1/t/"+s+"/members", "", "Cookie", "ory_kratos_session=SECRETCOOKIE")
	a.call("GET", "/api/v1/t/"+s+"/widgets-nope", "", tokenHdr(tok)...)
	logs := a.log.String()
	if !strings.Contains(logs, `"route"`) {
		t.Fatalf("no access logs captured; the check would prove nothing: %.300s", logs)
	}
	secret := key[len(key)-43:] // the secret is the last 43 characters; base64url may hold '_' itself
	for _, leak := range []string{tok, secret, "SECRETCOOKIE"} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain a secret (%.8s…)", leak)
		}
	}
}

func TestIdentityDownGives503(t *testing.T) {
	a := newApp(t)
	s := slug("down")
	tok, _ := a.company(s)
	a.ids.mu.Lock()
	a.ids.down = true
	a.ids.mu.Unlock()
	code, body, _ := a.call("GET", "/api/v1/t/"+s+"/members", "", tokenHdr(tok)...)
	if code != 503 || !strings.Contains(body, "unavailable") {
		t.Fatalf("%d %s", code, body)
	}
	_ = testkit.Get(t)
}

// Reading settings must not change which modules are on (a shared map once did).
func TestSettingsReadLeavesModulesOn(t *testing.T) {
	a := newApp(t)
	s := slug("settings")
	tok, _ := a.company(s)
	for i := 0; i < 3; i++ {
		st := a.must(200, "GET", "/api/v1/t/"+s+"/settings", "", tokenHdr(tok)...)
		if _, shown := st["modules"].(map[string]any)["tenants"]; shown {
			t.Fatalf("core module listed as switchable: %v", st)
		}
		a.must(200, "GET", "/api/v1/t/"+s+"/members", "", tokenHdr(tok)...)
	}
	a.must(422, "PATCH", "/api/v1/t/"+s+"/settings", `{"time_zone":"Mars/Olympus"}`, tokenHdr(tok)...)
	a.must(422, "PATCH", "/api/v1/t/"+s+"/settings", `{"currency":"XYZ"}`, tokenHdr(tok)...)
	a.must(422, "PATCH", "/api/v1/t/"+s+"/settings", `{"modules":{"tenants":false}}`, tokenHdr(tok)...)
	st := a.must(200, "PATCH", "/api/v1/t/"+s+"/settings", `{"time_zone":"Asia/Shanghai","currency":"cny","locale":"zh-CN"}`, tokenHdr(tok)...)
	if st["time_zone"] != "Asia/Shanghai" || st["currency"] != "CNY" || st["locale"] != "zh-CN" {
		t.Fatalf("settings: %v", st)
	}
	// A name is stored trimmed; the settings not sent stay as they were.
	a.must(422, "PATCH", "/api/v1/t/"+s+"/settings", `{"name":"   "}`, tokenHdr(tok)...)
	st = a.must(200, "PATCH", "/api/v1/t/"+s+"/settings", `{"name":"  Acme 示例  "}`, tokenHdr(tok)...)
	if st["name"] != "Acme 示例" || st["time_zone"] != "Asia/Shanghai" || st["currency"] != "CNY" || st["locale"] != "zh-CN" {
		t.Fatalf("settings after a name change: %v", st)
	}
}

// Customer lists come as CSV with Accept: text/csv, formulas neutralised.
func TestCustomerListAsCSV(t *testing.T) {
	a := newApp(t)
	s := slug("csv")
	tok, _ := a.company(s)
	a.must(201, "POST", "/api/v1/t/"+s+"/customers", `{"name":"=HYPERLINK(\"http://x\")","emails":["a@example.com"],"tags":["vip","north"]}`, tokenHdr(tok)...)
	a.must(201, "POST", "/api/v1/t/"+s+"/customers", `{"name":"李雷","phones":["+86 138 0013 8000"]}`, tokenHdr(tok)...)
	code, body, hdr := a.call("GET", "/api/v1/t/"+s+"/customers", "", append(tokenHdr(tok), "Accept", "text/csv")...)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %s %s", code, hdr.Get("Content-Type"), body)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "id,name,kind,") {
		t.Fatalf("csv:\n%s", body)
	}
	if !strings.Contains(body, `'=HYPERLINK`) || !strings.Contains(body, "vip; north") || !strings.Contains(body, "李雷") {
		t.Fatalf("csv content:\n%s", body)
	}
}

func TestSegmentsWithLiveCounts(t *testing.T) {
	a := newApp(t)
	s := slug("seg")
	tok, _ := a.company(s)
	other := a.member(s, tok, "manager")
	base := "/api/v1/t/" + s
	for _, body := range []string{
		`{"name":"A","tags":["vip"],"lifecycle":"customer"}`,
		`{"name":"B","tags":["vip"],"lifecycle":"lead"}`,
		`{"name":"C","lifecycle":"customer"}`,
	} {
		a.must(201, "POST", base+"/customers", body, tokenHdr(tok)...)
	}
	seg := a.must(201, "POST", base+"/segments", `{"name":"VIP customers","shared":true,"query":"tag=vip&lifecycle=customer"}`, tokenHdr(tok)...)
	if seg["count"].(float64) != 1 {
		t.Fatalf("segment count %v", seg["count"])
	}
	a.must(201, "POST", base+"/segments", `{"name":"Mine only","query":"tags[contains]=vip"}`, tokenHdr(tok)...)
	list := a.must(200, "GET", base+"/customers?segment_id="+seg["id"].(string), "", tokenHdr(tok)...)
	if n := len(list["items"].([]any)); n != 1 {
		t.Fatalf("segment lists %d customers", n)
	}
	// The shared segment is visible to another member, the private one is not.
	segs := a.must(200, "GET", base+"/segments", "", tokenHdr(other)...)
	if n := len(segs["items"].([]any)); n != 1 {
		t.Fatalf("another member sees %d segments: %v", n, segs)
	}
	a.must(422, "POST", base+"/segments", `{"name":"Bad","query":"colour=red"}`, tokenHdr(tok)...)
	a.must(404, "GET", base+"/customers?segment_id="+uuid.NewString(), "", tokenHdr(tok)...)
	a.must(404, "DELETE", base+"/segments/"+seg["id"].(string), "", tokenHdr(other)...)
}

// Owners and assignees must be members of the company.
func TestOwnersAndAssigneesAreMembers(t *testing.T) {
	a := newApp(t)
	s := slug("members")
	tok, owner := a.company(s)
	base := "/api/v1/t/" + s
	v := a.must(422, "POST", base+"/customers", fmt.Sprintf(`{"name":"X","owner_id":%q}`, uuid.NewString()), tokenHdr(tok)...)
	if !strings.Contains(fmt.Sprint(v["errors"]), "body.owner_id") {
		t.Fatalf("%v", v)
	}
	a.must(422, "POST", base+"/tasks", fmt.Sprintf(`{"title":"x","assignee_id":%q}`, uuid.NewString()), tokenHdr(tok)...)
	c := a.must(201, "POST", base+"/customers", fmt.Sprintf(`{"name":"Y","owner_id":%q}`, owner.IdentityID), tokenHdr(tok)...)
	if c["owner_id"] != owner.IdentityID.String() {
		t.Fatalf("%v", c)
	}
	task := a.must(201, "POST", base+"/tasks", `{"title":"call Y","remind_at":"2030-01-01T09:00:00Z"}`, tokenHdr(tok)...)
	if task["assignee_id"] != owner.IdentityID.String() {
		t.Fatalf("%v", task)
	}
	a.must(200, "GET", base+"/notifications", "", tokenHdr(tok)...)
}

// Export downloads (a raw route outside the OpenAPI document) keep tenants apart.
func TestExportDownloadKeepsTenantsApart(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("expa"), slug("expb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	exp := a.must(202, "POST", "/api/v1/t/"+sa+"/exports", `{"query":"tag=vip"}`, tokenHdr(tokA)...)
	id := exp["id"].(string)
	a.must(409, "GET", "/api/v1/t/"+sa+"/exports/"+id+"/download", "", tokenHdr(tokA)...)
	a.must(404, "GET", "/api/v1/t/"+sb+"/exports/"+id+"/download", "", tokenHdr(tokB)...)
	a.must(404, "GET", "/api/v1/t/"+sa+"/exports/"+id+"/download", "", tokenHdr(tokB)...)
	a.must(401, "GET", "/api/v1/t/"+sa+"/exports/"+id+"/download", "")
	a.must(422, "POST", "/api/v1/t/"+sa+"/exports", `{"query":"colour=red"}`, tokenHdr(tokA)...)
	a.must(422, "POST", "/api/v1/t/"+sa+"/exports", `{"fields":["password"]}`, tokenHdr(tokA)...)
}

// A purchase import of tenant A is out of tenant B's reach, by A's slug and by
// B's own.
func TestPurchaseImportsKeepTenantsApart(t *testing.T) {
	a := newApp(t)
	sa, sb := slug("pura"), slug("purb")
	tokA, _ := a.company(sa)
	tokB, _ := a.company(sb)
	id := a.uploadAs(201, sa, tokenHdr(tokA), "purchases", "orders.csv", "order,email,date,amount,currency\nP-1,a@example.com,2024-01-02,10.00,CNY\n")["id"].(string)
	for _, base := range []string{"/api/v1/t/" + sa, "/api/v1/t/" + sb} {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/imports/" + id, ""},
			{"GET", "/imports/" + id + "/errors", ""},
			{"POST", "/imports/" + id + "/start", `{"mapping":{"order":"order_no","email":"email","date":"date","amount":"amount","currency":"currency"},"mode":"create"}`},
			{"POST", "/imports/" + id + "/cancel", ""},
			{"POST", "/imports/" + id + "/revert", ""},
		} {
			if code, body, _ := a.call(c.method, base+c.path, c.body, tokenHdr(tokB)...); code != 404 {
				t.Errorf("B %s %s%s: %d %.200s, want 404", c.method, base, c.path, code, body)
			}
		}
		if _, body, _ := a.call("GET", base+"/imports?entity=purchases", "", tokenHdr(tokB)...); strings.Contains(body, id) {
			t.Errorf("B lists A's purchase import at %s", base)
		}
	}
	if v := a.must(200, "GET", "/api/v1/t/"+sa+"/imports/"+id, "", tokenHdr(tokA)...); v["status"] != "uploaded" || v["entity"] != "purchases" {
		t.Errorf("A's import after B's attempts: %v", v)
	}
}

// Visibility: a manager (team scope) sees customers owned by teammates, an agent
// (own scope) only theirs, an admin all.
func TestCustomerVisibilityByScope(t *testing.T) {
	a := newApp(t)
	s := slug("scope")
	ownerTok, _ := a.company(s)
	manager := a.member(s, ownerTok, "manager")
	agent := a.member(s, ownerTok, "agent")
	outsider := a.member(s, ownerTok, "agent")
	base := "/api/v1/t/" + s
	idOf := func(tok string) string {
		return a.must(200, "GET", "/api/v1/me", "", tokenHdr(tok)...)["identity"].(map[string]any)["id"].(string)
	}
	mgrID, agentID := idOf(manager), idOf(agent)
	a.must(201, "POST", base+"/teams", fmt.Sprintf(`{"name":"East","members":[%q,%q]}`, mgrID, agentID), tokenHdr(ownerTok)...)
	a.must(201, "POST", base+"/customers", `{"name":"Agent's"}`, tokenHdr(agent)...)
	a.must(201, "POST", base+"/customers", `{"name":"Outsider's"}`, tokenHdr(outsider)...)
	a.must(201, "POST", base+"/customers", `{"name":"Owner's"}`, tokenHdr(ownerTok)...)
	names := func(tok string) string {
		var out []string
		for _, it := range a.must(200, "GET", base+"/customers?sort=name", "", tokenHdr(tok)...)["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	if got := names(agent); got != "Agent's" {
		t.Errorf("agent sees %s", got)
	}
	if got := names(manager); got != "Agent's" {
		t.Errorf("manager sees %s, want only the teammate's", got)
	}
	if got := names(ownerTok); got != "Agent's,Outsider's,Owner's" {
		t.Errorf("owner sees %s", got)
	}
}

// Acceptance 1 of issue 4: five custom fields (select, number, date, sensitive
// text, multi_select); invalid values get one 422 listing each; filters on each
// match a brute-force check; a viewer sees the sensitive value masked; the
// database holds no plaintext.
func TestCustomFieldsOnCustomers(t *testing.T) {
	a := newApp(t)
	s := slug("cf")
	tok, _ := a.company(s)
	viewer := a.member(s, tok, "viewer")
	base := "/api/v1/t/" + s
	for _, def := range []string{
		`{"key":"tier","label_en":"Tier","label_zh":"等级","type":"select","options":[{"value":"gold"},{"value":"silver"},{"value":"bronze"}],"filterable":true,"sortable":true}`,
		`{"key":"employees","label_en":"Employees","type":"number","filterable":true,"sortable":true}`,
		`{"key":"signed_on","label_en":"Signed on","type":"date","filterable":true,"sortable":true}`,
		`{"key":"national_id","label_en":"National ID","label_zh":"身份证号","type":"text","sensitive":true}`,
		`{"key":"channels","label_en":"Channels","type":"multi_select","options":[{"value":"wechat"},{"value":"email"},{"value":"phone"}],"filterable":true}`,
	} {
		a.must(201, "POST", base+"/fields/customers", def, tokenHdr(tok)...)
	}
	a.must(403, "POST", base+"/fields/customers", `{"key":"x","label_en":"X","type":"text"}`, tokenHdr(viewer)...)
	v := a.must(422, "POST", base+"/customers", `{"name":"Bad","custom":{"tier":"platinum","employees":"many","signed_on":"yesterday","channels":["fax"],"colour":"red"}}`, tokenHdr(tok)...)
	locs := fmt.Sprint(v["errors"])
	for _, want := range []string{"body.custom.tier", "body.custom.employees", "body.custom.signed_on", "body.custom.channels", "body.custom.colour"} {
		if !strings.Contains(locs, want) {
			t.Errorf("422 does not name %s: %s", want, locs)
		}
	}
	type rec struct {
		id       string
		tier     string
		emp      int
		signed   string
		channels []string
	}
	tiers := []string{"gold", "silver", "bronze"}
	chans := [][]string{{"wechat"}, {"email", "phone"}, {}, {"wechat", "phone"}}
	var recs []rec
	for i := 0; i < 24; i++ {
		r := rec{tier: tiers[i%3], emp: (i * 37) % 500, signed: fmt.Sprintf("2026-%02d-%02d", 1+i%12, 1+i%28), channels: chans[i%4]}
		cj, _ := json.Marshal(r.channels)
		body := fmt.Sprintf(`{"name":"CF %d","custom":{"tier":%q,"employees":%d,"signed_on":%q,"channels":%s,"national_id":"11010519491231002%d"}}`, i, r.tier, r.emp, r.signed, cj, i%10)
		c := a.must(201, "POST", base+"/customers", body, tokenHdr(tok)...)
		r.id = c["id"].(string)
		recs = append(recs, r)
	}
	check := func(query string, keep func(r rec) bool) {
		t.Helper()
		got := map[string]bool{}
		for _, it := range a.must(200, "GET", base+"/customers?limit=200&"+query, "", tokenHdr(tok)...)["items"].([]any) {
			got[it.(map[string]any)["id"].(string)] = true
		}
		n := 0
		for _, r := range recs {
			if keep(r) {
				n++
				if !got[r.id] {
					t.Errorf("%s: missing a matching customer", query)
				}
			}
		}
		if len(got) != n {
			t.Errorf("%s: got %d customers, brute force says %d", query, len(got), n)
		}
	}
	check("custom.tier=gold", func(r rec) bool { return r.tier == "gold" })
	check("custom.tier[in]=gold,bronze", func(r rec) bool { return r.tier != "silver" })
	check("custom.employees[gte]=250", func(r rec) bool { return r.emp >= 250 })
	check("custom.employees[between]=100,300", func(r rec) bool { return r.emp >= 100 && r.emp <= 300 })
	check("custom.signed_on[lt]=2026-06-01", func(r rec) bool { return r.signed < "2026-06-01" })
	check("custom.channels=phone", func(r rec) bool {
		for _, c := range r.channels {
			if c == "phone" {
				return true
			}
		}
		return false
	})
	// Sorts on each sortable field, walked a page of 5 at a time through the
	// cursor, match a brute-force order (value, then id; no value last).
	for i := 0; i < 3; i++ {
		c := a.must(201, "POST", base+"/customers", fmt.Sprintf(`{"name":"No values %d"}`, i), tokenHdr(tok)...)
		recs = append(recs, rec{id: c["id"].(string)})
	}
	sortCheck := func(key string, val func(r rec) string) {
		t.Helper()
		for _, desc := range []bool{false, true} {
			want := append([]rec{}, recs...)
			sort.SliceStable(want, func(i, j int) bool {
				vi, vj := val(want[i]), val(want[j])
				if (vi == "") != (vj == "") {
					return vi != "" // no value sorts last either way
				}
				if vi != vj {
					return (vi < vj) != desc
				}
				return (want[i].id < want[j].id) != desc
			})
			sortParam := "custom." + key
			if desc {
				sortParam = "-" + sortParam
			}
			var got []string
			cursor := ""
			for page := 0; page < 20; page++ {
				out := a.must(200, "GET", base+"/customers?limit=5&sort="+sortParam+"&cursor="+cursor, "", tokenHdr(tok)...)
				for _, it := range out["items"].([]any) {
					got = append(got, it.(map[string]any)["id"].(string))
				}
				next, _ := out["next_cursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
			if len(got) != len(want) {
				t.Errorf("sort=%s: %d customers over the pages, want %d", sortParam, len(got), len(want))
				continue
			}
			for i := range want {
				if got[i] != want[i].id {
					t.Errorf("sort=%s: position %d is %s (%s), brute force says %s (%s)", sortParam, i, got[i], "", want[i].id, val(want[i]))
					break
				}
			}
		}
	}
	sortCheck("tier", func(r rec) string { return r.tier })
	sortCheck("employees", func(r rec) string {
		if r.id != "" && r.tier == "" {
			return ""
		}
		return fmt.Sprintf("%06d", r.emp)
	})
	sortCheck("signed_on", func(r rec) string { return r.signed })
	a.must(422, "GET", base+"/customers?sort=custom.channels", "", tokenHdr(tok)...)    // multi-select: not sortable
	a.must(422, "GET", base+"/customers?sort=custom.national_id", "", tokenHdr(tok)...) // sensitive: not sortable
	a.must(422, "GET", base+"/customers?sort=custom.nope", "", tokenHdr(tok)...)
	a.must(422, "GET", base+"/customers?sort=colour", "", tokenHdr(tok)...)
	a.must(422, "GET", base+"/customers?custom.national_id=1", "", tokenHdr(tok)...) // sensitive: never searchable
	a.must(422, "GET", base+"/customers?custom.nope=1", "", tokenHdr(tok)...)
	// The owner (pii.read) sees the value, a viewer sees it masked, the database holds it sealed.
	own := a.must(200, "GET", base+"/customers/"+recs[3].id, "", tokenHdr(tok)...)
	if own["custom"].(map[string]any)["national_id"] != "110105194912310023" {
		t.Fatalf("owner sees %v", own["custom"])
	}
	seen := a.must(200, "GET", base+"/customers/"+recs[3].id, "", tokenHdr(viewer)...)
	if seen["custom"].(map[string]any)["national_id"] != "••••••" {
		t.Fatalf("viewer sees %v", seen["custom"])
	}
	var raw string
	if err := testkit.Get(t).Owner.NewRaw("SELECT custom::text FROM customers WHERE id = ?", recs[3].id).Scan(context.Background(), &raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "110105194912310023") {
		t.Fatalf("plaintext in the database: %s", raw)
	}
	var audits string
	_ = testkit.Get(t).Owner.NewRaw("SELECT string_agg(diff::text, ' ') FROM audit_log WHERE entity_id = ?", recs[3].id).Scan(context.Background(), &audits)
	if strings.Contains(audits, "110105194912310023") {
		t.Fatalf("plaintext in the audit log: %s", audits)
	}
}

// An export of a segment exports that segment's filter, not every customer.
func TestExportOfASegmentUsesItsFilter(t *testing.T) {
	a := newApp(t)
	s := slug("expseg")
	tok, _ := a.company(s)
	seg := a.must(201, "POST", "/api/v1/t/"+s+"/segments", `{"name":"VIP","query":"tag=vip&lifecycle=customer"}`, tokenHdr(tok)...)
	exp := a.must(202, "POST", "/api/v1/t/"+s+"/exports", fmt.Sprintf(`{"segment_id":%q}`, seg["id"]), tokenHdr(tok)...)
	var q string
	if err := testkit.Get(t).Owner.NewRaw("SELECT payload->>'query' FROM jobs WHERE id = ?", exp["id"]).Scan(context.Background(), &q); err != nil {
		t.Fatal(err)
	}
	if q != "tag=vip&lifecycle=customer" {
		t.Fatalf("export query %q, want the segment's", q)
	}
	a.must(404, "POST", "/api/v1/t/"+s+"/exports", fmt.Sprintf(`{"segment_id":%q}`, uuid.NewString()), tokenHdr(tok)...)
}

// Account routes take a person's session. An API key there gets a 401 that says
// which credential the route takes, and every 401 carries WWW-Authenticate.
func TestAccountRoutesTakeSessionsOnly(t *testing.T) {
	a := newApp(t)
	s := slug("acct")
	ownerTok, _ := a.company(s)
	key := a.must(201, "POST", "/api/v1/t/"+s+"/api-keys", `{"name":"ci","role":"admin"}`, tokenHdr(ownerTok)...)["key"].(string)
	bearer := []string{"Authorization", "Bearer " + key}
	a.must(200, "GET", "/api/v1/t/"+s+"/members", "", bearer...)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/me", ""},
		{"POST", "/api/v1/tenants", `{"name":"K","slug":"` + slug("k") + `"}`},
	} {
		code, body, hdr := a.call(c.method, c.path, c.body, bearer...)
		if code != 401 {
			t.Fatalf("%s %s with an API key: %d %s", c.method, c.path, code, body)
		}
		if !strings.Contains(body, "X-Session-Token") || !strings.Contains(body, "not an API key") || strings.Contains(body, "or an API key") {
			t.Errorf("%s %s: the 401 does not say the route takes a session: %s", c.method, c.path, body)
		}
		if w := hdr.Get("WWW-Authenticate"); !strings.Contains(w, "Bearer") || !strings.Contains(w, `error="invalid_token"`) {
			t.Errorf("%s %s: WWW-Authenticate %q", c.method, c.path, w)
		}
	}
	for _, c := range []struct {
		path string
		hdr  []string
	}{
		{"/api/v1/me", nil},
		{"/api/v1/t/" + s + "/members", nil},
		{"/api/v1/t/" + s + "/members", tokenHdr("tok_bogus")},
		{"/api/v1/t/" + s + "/members", []string{"Authorization", "Bearer ck_garbage"}},
	} {
		code, body, hdr := a.call("GET", c.path, "", c.hdr...)
		if code != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), `Bearer realm="clientele"`) {
			t.Errorf("GET %s %v: %d, WWW-Authenticate %q (%s)", c.path, c.hdr, code, hdr.Get("WWW-Authenticate"), body)
		}
	}
}

// Any wrong method on a path the API serves answers 405 and says which methods
// it takes.
func TestWrongMethodAnswers405WithAllow(t *testing.T) {
	a := newApp(t)
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/api/v1/t/acme/customers/" + uuid.NewString(), "GET, PATCH, DELETE"},
		{"PUT", "/api/v1/me", "GET"},
		{"DELETE", "/api/v1/tenants", "POST"},
		{"PATCH", "/api/v1/t/acme/exports/" + uuid.NewString() + "/download", "GET, HEAD"},
	} {
		code, body, hdr := a.call(c.method, c.path, "")
		if code != 405 || hdr.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q %s, want 405 with Allow %q", c.method, c.path, code, hdr.Get("Allow"), body, c.allow)
		}
	}
}

// Each API key shows a prefix of its own text, distinct from the company's
// other keys and short of its secret; keys made before keep working and show
// a distinct prefix too, once the migration has run.
func TestAPIKeyPrefixesAreDistinct(t *testing.T) {
	a := newApp(t)
	s := slug("prefix")
	ownerTok, _ := a.company(s)
	base := "/api/v1/t/" + s
	keys := map[string]string{} // id -> full key
	for i := 0; i < 5; i++ {
		k := a.must(201, "POST", base+"/api-keys", fmt.Sprintf(`{"name":"k%d","role":"viewer"}`, i), tokenHdr(ownerTok)...)
		keys[k["id"].(string)] = k["key"].(string)
	}
	// Two keys of the first format (the company's id first), stored with the
	// prefix lists used to show; the migration gives them prefixes of their own.
	env := testkit.Get(t)
	ctx := context.Background()
	var tenantID uuid.UUID
	if err := env.Owner.NewRaw("SELECT id FROM tenants WHERE slug = ?", s).Scan(ctx, &tenantID); err != nil {
		t.Fatal(err)
	}
	// As before the migration: no unique index, so old keys may share a prefix.
	if _, err := env.Owner.ExecContext(ctx, "DROP INDEX api_keys_prefix_key"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		id, secret := uuid.New(), make([]byte, 32)
		_, _ = rand.Read(secret)
		head := base64.RawURLEncoding.EncodeToString(append(tenantID[:], id[:]...))
		full := "ck_" + head + "_" + base64.RawURLEncoding.EncodeToString(secret)
		hash := sha256.Sum256(secret)
		if _, err := env.Owner.ExecContext(ctx, "INSERT INTO api_keys (tenant_id, id, name, role, prefix, secret_hash) VALUES (?, ?, ?, 'viewer', ?, ?)",
			tenantID, id, fmt.Sprintf("old%d", i), "ck_"+head[:8], hash[:]); err != nil {
			t.Fatal(err)
		}
		keys[id.String()] = full
	}
	migration, err := fs.ReadFile(migrations.FS, "tenants/20261203001300_api_key_prefixes.tx.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	// Statement by statement: on Citus a message of several DDL statements on a
	// distributed table is refused (docs/operations.md, "Citus").
	if err := env.ExecEach(ctx, string(migration)); err != nil {
		t.Fatalf("migration: %v", err)
	}
	for id, full := range keys {
		if code, body, _ := a.call("GET", base+"/members", "", "Authorization", "Bearer "+full); code != 200 {
			t.Fatalf("key %s: %d %s", id, code, body)
		}
	}
	list := a.must(200, "GET", base+"/api-keys", "", tokenHdr(ownerTok)...)["items"].([]any)
	seen := map[string]bool{}
	for _, x := range list {
		k := x.(map[string]any)
		prefix, full := k["prefix"].(string), keys[k["id"].(string)]
		if seen[prefix] {
			t.Errorf("prefix %s shown twice", prefix)
		}
		seen[prefix] = true
		secret := full[strings.LastIndexByte(full, '_'):]
		if !strings.HasPrefix(full, prefix) || len(prefix) < 12 || len(prefix) > len(full)-len(secret) {
			t.Errorf("prefix %q of key %q is not a prefix short of the secret", prefix, full)
		}
	}
	if len(seen) != 7 {
		t.Fatalf("%d distinct prefixes for 7 keys: %v", len(seen), list)
	}
}
