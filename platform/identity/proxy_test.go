package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/clientele-crm/clientele/platform/errs"
)

// proxyApp mounts the proxy the way cmd wires it, with an error handler that
// renders errs as problem documents like the real server's.
func proxyApp(k *Kratos) *fiber.App {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		e := errs.From(err)
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.Status(e.Status).JSON(e)
	}})
	app.All("/kratos/*", k.ProxyHandler())
	return app
}

type proxyResp struct {
	status int
	header http.Header
	body   []byte
}

func proxyDo(t *testing.T, app *fiber.App, method, path string, body any, header ...string) proxyResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := app.Test(req, 30000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return proxyResp{resp.StatusCode, resp.Header, b}
}

// cookiesFrom turns Set-Cookie answers into the Cookie header a browser sends.
func cookiesFrom(h http.Header, into map[string]string) string {
	for _, sc := range h.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(sc); err == nil {
			into[c.Name] = c.Value
		}
	}
	var parts []string
	for n, v := range into {
		parts = append(parts, n+"="+v)
	}
	return strings.Join(parts, "; ")
}

// The web app's browser registration, entirely through the same-origin proxy.
func TestProxyCarriesABrowserRegistration(t *testing.T) {
	p := startKratos(t)
	k, _ := newClient(t, p, Options{})
	app := proxyApp(k)

	r := proxyDo(t, app, http.MethodGet, "/kratos/self-service/registration/browser", nil, "Accept", "application/json")
	if r.status != http.StatusOK {
		t.Fatalf("start registration: %d %s", r.status, r.body)
	}
	var f flowAnswer
	if err := json.Unmarshal(r.body, &f); err != nil || f.ID == "" || f.csrfToken() == "" {
		t.Fatalf("flow: %v %s", err, r.body)
	}
	jar := map[string]string{}
	cookie := cookiesFrom(r.header, jar)
	if !strings.Contains(cookie, "csrf_token") {
		t.Fatalf("no anti-CSRF cookie came through: %v", r.header.Values("Set-Cookie"))
	}

	email := uniqueEmail("browser")
	r = proxyDo(t, app, http.MethodPost, "/kratos/self-service/registration?flow="+f.ID, map[string]any{
		"method": "password", "password": goodPassword, "csrf_token": f.csrfToken(),
		"traits": map[string]any{"email": email, "name": "Bea Browser"},
	}, "Accept", "application/json", "Cookie", cookie)
	if r.status != http.StatusOK {
		t.Fatalf("submit registration: %d %s", r.status, r.body)
	}
	cookie = cookiesFrom(r.header, jar)
	if _, ok := jar[SessionCookieName]; !ok {
		t.Fatalf("no session cookie came through: %v", r.header.Values("Set-Cookie"))
	}
	s, _, err := k.Whoami(context.Background(), "", cookie)
	if err != nil || s.Identity.Email != email || s.Identity.Name != "Bea Browser" {
		t.Fatalf("whoami with the proxied cookie: %+v %v", s, err)
	}
	// The browser's own whoami through the proxy.
	r = proxyDo(t, app, http.MethodGet, "/kratos/sessions/whoami", nil, "Accept", "application/json", "Cookie", cookie)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), email) {
		t.Fatalf("proxied whoami: %d %s", r.status, r.body)
	}
	r = proxyDo(t, app, http.MethodGet, "/kratos/sessions/whoami", nil, "Accept", "application/json")
	if r.status != http.StatusUnauthorized {
		t.Fatalf("proxied whoami without a cookie: %d", r.status)
	}
}

func TestProxyNeverReachesTheAdminAPI(t *testing.T) {
	p := startKratos(t)
	k, upstream := newClient(t, p, Options{})
	app := proxyApp(k)
	for _, path := range []string{
		"/kratos/admin/identities",
		"/kratos/admin/health/ready",
		"/kratos/identities", // old admin path the public port redirects
		"/kratos/self-service/../admin/identities",
		"/kratos/self-service/%2e%2e/%2e%2e/admin/identities",
		"/kratos//admin/identities",
		"/kratos/%2Fadmin/identities",
		"/kratos/sessionsx",
		"/kratos/health/ready",
		"/kratos",
	} {
		r := proxyDo(t, app, http.MethodGet, path, nil)
		var e errs.Error
		if r.status != http.StatusNotFound || json.Unmarshal(r.body, &e) != nil || e.Code != errs.NotFound {
			t.Errorf("GET %s: status %d, want 404: %s", path, r.status, r.body)
		}
	}
	// Refused here, not by Kratos: nothing was forwarded.
	if n := upstream.n.Load(); n != 0 {
		t.Fatalf("%d requests reached Kratos", n)
	}
}

// The proxy's own contract, against a recording upstream.
func TestProxyForwardsFaithfully(t *testing.T) {
	var mu sync.Mutex
	var seen *http.Request
	var seenBody []byte
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, streamed
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, seenBody = r.Clone(context.Background()), b
		mu.Unlock()
		switch r.URL.Path {
		case "/self-service/login":
			w.Header().Add("Set-Cookie", "a=1; Path=/; HttpOnly")
			w.Header().Add("Set-Cookie", "b=2; Path=/")
			w.Header().Set("Location", "http://localhost:8080/welcome")
			w.WriteHeader(http.StatusSeeOther)
		case "/schemas/big":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(big)
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer up.Close()
	k := New(Options{PublicURL: up.URL, AdminURL: up.URL})
	app := proxyApp(k)

	r := proxyDo(t, app, http.MethodPost, "/kratos/self-service/login?flow=abc&return_to=%2Fhome", map[string]string{"x": "y"},
		"Cookie", "csrf=t; ory_kratos_session=s", "X-Forwarded-For", "6.6.6.6", "Connection", "close, X-Secret-Hop",
		"X-Secret-Hop", "no", "Host", "app.example.com")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "http://localhost:8080/welcome" {
		t.Fatalf("status %d location %q", r.status, r.header.Get("Location"))
	}
	if sc := r.header.Values("Set-Cookie"); len(sc) != 2 || !strings.HasPrefix(sc[0], "a=1") || !strings.HasPrefix(sc[1], "b=2") {
		t.Fatalf("set-cookie %v", sc)
	}
	mu.Lock()
	if seen.URL.Path != "/self-service/login" || seen.URL.RawQuery != "flow=abc&return_to=%2Fhome" || seen.Method != http.MethodPost {
		t.Errorf("upstream saw %s %s?%s", seen.Method, seen.URL.Path, seen.URL.RawQuery)
	}
	if string(seenBody) != `{"x":"y"}` {
		t.Errorf("upstream body %q", seenBody)
	}
	if seen.Header.Get("Cookie") != "csrf=t; ory_kratos_session=s" {
		t.Errorf("upstream cookie %q", seen.Header.Get("Cookie"))
	}
	if xff := seen.Header.Get("X-Forwarded-For"); xff == "" || strings.Contains(xff, "6.6.6.6") {
		t.Errorf("X-Forwarded-For %q: the client's claim must be replaced", xff)
	}
	if seen.Header.Get("X-Forwarded-Host") != "app.example.com" || seen.Header.Get("X-Forwarded-Proto") != "http" {
		t.Errorf("X-Forwarded-Host %q Proto %q", seen.Header.Get("X-Forwarded-Host"), seen.Header.Get("X-Forwarded-Proto"))
	}
	if seen.Header.Get("X-Secret-Hop") != "" {
		t.Error("a header named in Connection was forwarded")
	}
	mu.Unlock()

	r = proxyDo(t, app, http.MethodGet, "/kratos/schemas/big", nil)
	if r.status != http.StatusOK || !bytes.Equal(r.body, big) {
		t.Fatalf("big body: status %d, %d bytes", r.status, len(r.body))
	}
	r = proxyDo(t, app, http.MethodGet, "/kratos/sessions/whoami", nil)
	if r.status != http.StatusTeapot {
		t.Fatalf("upstream status not passed through: %d", r.status)
	}

	up.Close()
	r = proxyDo(t, app, http.MethodGet, "/kratos/sessions/whoami", nil)
	var e errs.Error
	if r.status != http.StatusServiceUnavailable || json.Unmarshal(r.body, &e) != nil || e.Detail != msgUnavailable {
		t.Fatalf("upstream down: %d %s", r.status, r.body)
	}
}

// Whoami against a stand-in Kratos: re-issued cookies are handed back once, and
// Kratos's failures map to the right codes.
func TestWhoamiAgainstAStandIn(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	expires := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sessions/whoami" || r.Header.Get("Cookie") != SessionCookieName+"=abc" {
			t.Errorf("stand-in got %s with cookie %q", r.URL.Path, r.Header.Get("Cookie"))
		}
		w.Header().Set("Content-Type", "application/json")
		if st := int(status.Load()); st != http.StatusOK {
			w.WriteHeader(st)
			w.Write([]byte(`{"error":{"code":` + strconv.Itoa(st) + `,"message":"nope"}}`))
			return
		}
		w.Header().Add("Set-Cookie", SessionCookieName+"=renewed; Path=/; HttpOnly")
		w.Write([]byte(`{"id":"s1","active":true,"expires_at":"` + expires + `","authenticated_at":"2026-01-01T00:00:00Z",
			"identity":{"id":"7b0c5a8e-4a52-4b8e-9b9e-2f8f3a1d0c11","schema_id":"default","schema_url":"x","traits":{"email":"e@example.com"}}}`))
	}))
	defer up.Close()
	k := New(Options{PublicURL: up.URL, AdminURL: up.URL})
	ctx := context.Background()
	s, setCookies, err := k.Whoami(ctx, "", "a=1; "+SessionCookieName+"=abc")
	if err != nil || s.ID != "s1" || s.Identity.Email != "e@example.com" || s.Identity.Name != "" {
		t.Fatalf("whoami: %+v %v", s, err)
	}
	if len(setCookies) != 1 || !strings.HasPrefix(setCookies[0], SessionCookieName+"=renewed") {
		t.Fatalf("set-cookie %v", setCookies)
	}
	if _, setCookies, _ = k.Whoami(ctx, "", SessionCookieName+"=abc"); len(setCookies) != 0 {
		t.Fatalf("a cache hit repeated Set-Cookie %v", setCookies)
	}
	for st, code := range map[int]errs.Code{
		http.StatusUnauthorized:        errs.Unauthenticated,
		http.StatusForbidden:           errs.Unauthenticated,
		http.StatusInternalServerError: errs.Unavailable,
		http.StatusBadGateway:          errs.Unavailable,
	} {
		k.Forget("", SessionCookieName+"=abc")
		status.Store(int32(st))
		_, _, err := k.Whoami(ctx, "", SessionCookieName+"=abc")
		if !errs.Is(err, code) {
			t.Errorf("kratos %d: got %v, want %s", st, err, code)
		}
	}
}

// Kratos failing (a 5xx) or too slow to answer reaches the browser as our 503
// naming identity, within the deadline, never as Kratos's own error page.
func TestProxyTurnsKratosFailuresInto503(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/self-service/login/browser" {
			select { // hung
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		http.Error(w, "database is down", http.StatusInternalServerError)
	}))
	defer up.Close()
	defer close(release)
	k := New(Options{PublicURL: up.URL, AdminURL: up.URL, Timeout: 300 * time.Millisecond})
	app := proxyApp(k)
	for _, path := range []string{"/kratos/self-service/login/api", "/kratos/self-service/login/browser"} {
		start := time.Now()
		r := proxyDo(t, app, http.MethodGet, path, nil)
		var p struct {
			Dependency string `json:"dependency"`
		}
		_ = json.Unmarshal(r.body, &p)
		if r.status != http.StatusServiceUnavailable || p.Dependency != "identity" || strings.Contains(string(r.body), "database is down") {
			t.Fatalf("%s: %d %s, want 503 naming identity", path, r.status, r.body)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("%s: the 503 took %s", path, took)
		}
	}
}
