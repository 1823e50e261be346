package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/metrics"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// widgets is a test module exercising the kernel's HTTP contract end to end.
type widgets struct{ db *bun.DB }

func (widgets) Name() string         { return "widgets" }
func (widgets) DefaultEnabled() bool { return true }

type widget struct {
	bun.BaseModel `bun:"table:widgets"`
	TenantID      uuid.UUID `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID `bun:"id,pk,type:uuid" json:"id"`
	Name          string    `bun:"name" json:"name"`
	Size          int       `bun:"size" json:"size"`
}

type createIn struct {
	Body struct {
		Name string `json:"name" minLength:"1" maxLength:"50"`
		Size int    `json:"size" minimum:"0" maximum:"100"`
	}
}
type widgetOut struct{ Body widget }
type getIn struct {
	ID uuid.UUID `path:"id"`
}

func (w widgets) Routes(api huma.API, r fiber.Router) {
	huma.Register(api, huma.Operation{OperationID: "create-widget", Method: http.MethodPost, Path: "/widgets", DefaultStatus: 201},
		func(ctx context.Context, in *createIn) (*widgetOut, error) {
			t, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			out := &widgetOut{Body: widget{TenantID: t.ID, ID: uuid.New(), Name: in.Body.Name, Size: in.Body.Size}}
			err = db.InTenant(ctx, w.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.NewInsert().Model(&out.Body).Exec(ctx)
				return err
			})
			return out, err
		})
	huma.Register(api, huma.Operation{OperationID: "get-widget", Method: http.MethodGet, Path: "/widgets/{id}"},
		func(ctx context.Context, in *getIn) (*widgetOut, error) {
			t, _ := tenancy.MustFrom(ctx)
			out := &widgetOut{}
			err := db.InTenant(ctx, w.db, t.ID, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewSelect().Model(&out.Body).Where("tenant_id = ? AND id = ?", t.ID, in.ID).Scan(ctx)
			})
			if err != nil {
				return nil, db.Classify(err, "widget")
			}
			return out, nil
		})
	huma.Register(api, huma.Operation{OperationID: "explode", Method: http.MethodGet, Path: "/widgets-explode"},
		func(ctx context.Context, _ *struct{}) (*widgetOut, error) {
			panic("secret internal detail: password=hunter2")
		})
	huma.Register(api, huma.Operation{OperationID: "fail", Method: http.MethodGet, Path: "/widgets-fail"},
		func(ctx context.Context, _ *struct{}) (*widgetOut, error) {
			return nil, fmt.Errorf("pq: connection to 10.0.0.7 refused for user admin")
		})
	huma.Register(api, huma.Operation{OperationID: "keep-word", Method: http.MethodGet, Path: "/keep/{word}"},
		func(ctx context.Context, in *struct {
			Word string `path:"word"`
			Note string `query:"note"`
			Tag  string `header:"X-Tag"`
		}) (*struct{}, error) {
			kept.Lock()
			kept.words = append(kept.words, in.Word+"|"+in.Note+"|"+in.Tag)
			kept.raw = append(kept.raw, [3]string{in.Word, in.Note, in.Tag})
			kept.Unlock()
			return nil, nil
		})
	r.Get("/raw/ping", func(c *fiber.Ctx) error {
		t, _ := tenancy.From(c.UserContext())
		return c.SendString("raw:" + t.Slug)
	})
}

type harness struct {
	base string
	srv  *httpx.Server
	reg  *metrics.Registry
	en   *module.Enablement
}

func setup(t *testing.T) *harness {
	t.Helper()
	env := testkit.Get(t)
	ctx := context.Background()
	err := env.ExecEach(ctx, `
		CREATE TABLE IF NOT EXISTS widgets (tenant_id uuid NOT NULL, id uuid NOT NULL, name text NOT NULL, size int NOT NULL, PRIMARY KEY (tenant_id, id));
		ALTER TABLE widgets ENABLE ROW LEVEL SECURITY; ALTER TABLE widgets FORCE ROW LEVEL SECURITY;
		DROP POLICY IF EXISTS tenant_isolation ON widgets;
		CREATE POLICY tenant_isolation ON widgets USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
		GRANT SELECT, INSERT, UPDATE, DELETE ON widgets TO clientele_app;`)
	if err != nil {
		t.Fatal(err)
	}
	env.Distribute(t, "widgets")
	reg := metrics.New()
	mods := module.Set{widgets{db: env.App}}
	en := module.NewEnablement(env.App, mods, time.Minute)
	srv := httpx.New(httpx.Options{
		Log:            slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Metrics:        reg,
		Tenants:        tenancy.NewResolver(env.App, time.Second),
		Enablement:     en,
		Modules:        mods,
		BodyLimit:      4096,
		RequestTimeout: 5 * time.Second,
	})
	srv.Finish(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = srv.App.Shutdown() })
	return &harness{base: "http://" + ln.Addr().String(), srv: srv, reg: reg, en: en}
}

type scenario struct {
	name       string
	method     string
	path       string
	body       string
	header     map[string]string
	wantStatus int
	wantBody   []string // fragments
	notBody    []string
}

func (h *harness) do(t *testing.T, method, path, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	// Over a real socket, so body limits and connection handling are the server's.
	req, err := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func run(t *testing.T, h *harness, cases []scenario) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.do(t, c.method, c.path, c.body, c.header)
			if resp.StatusCode != c.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.wantStatus, body)
			}
			if c.wantStatus >= 400 {
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+") {
					t.Errorf("content type %q, want a problem document", ct)
				}
				if resp.Header.Get("X-Request-Id") == "" || !strings.Contains(body, resp.Header.Get("X-Request-Id")) {
					t.Errorf("problem does not carry the request id: %s", body)
				}
			}
			for _, f := range c.wantBody {
				if !strings.Contains(body, f) {
					t.Errorf("body lacks %q: %s", f, body)
				}
			}
			for _, f := range c.notBody {
				if strings.Contains(body, f) {
					t.Errorf("body leaks %q: %s", f, body)
				}
			}
		})
	}
}

func TestBadInputGetsProblems(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	a := env.NewTenant(t)
	base := "/api/v1/t/" + a.Slug
	run(t, h, []scenario{
		{"valid create", "POST", base + "/widgets", `{"name":"bolt","size":3}`, nil, 201, []string{`"name":"bolt"`}, nil},
		{"malformed JSON", "POST", base + "/widgets", `{"name":`, nil, 400, []string{`"code":"malformed"`, `"location":"body"`}, nil},
		{"unknown field", "POST", base + "/widgets", `{"name":"x","size":1,"colour":"red"}`, nil, 422, []string{"colour", `"code":"invalid"`}, nil},
		{"wrong type", "POST", base + "/widgets", `{"name":"x","size":"big"}`, nil, 422, []string{`"location":"body.size"`}, nil},
		{"out of range", "POST", base + "/widgets", `{"name":"x","size":1000}`, nil, 422, []string{`"location":"body.size"`, "100"}, nil},
		{"missing field", "POST", base + "/widgets", `{"size":1}`, nil, 422, []string{"name"}, nil},
		{"oversize body", "POST", base + "/widgets", `{"name":"` + strings.Repeat("x", 5000) + `","size":1}`, nil, 413, []string{`"code":"too_large"`, `"location":"body"`}, nil},
		{"bad uuid", "GET", base + "/widgets/not-a-uuid", "", nil, 422, []string{`"location":"path.id"`}, nil},
		{"unknown widget", "GET", base + "/widgets/" + uuid.NewString(), "", nil, 404, []string{`"code":"not_found"`, "widget not found"}, nil},
		{"unknown tenant", "GET", "/api/v1/t/no-such-co/widgets/" + uuid.NewString(), "", nil, 404, []string{`"location":"path.tenant"`}, nil},
		{"malformed tenant slug", "GET", "/api/v1/t/Bad%20Slug!/widgets/" + uuid.NewString(), "", nil, 404, []string{`"location":"path.tenant"`}, nil},
		{"unknown route", "GET", "/api/v1/nope", "", nil, 404, []string{`"code":"not_found"`}, nil},
		{"panic", "GET", base + "/widgets-explode", "", nil, 500, []string{`"code":"internal"`}, []string{"hunter2", "secret"}},
		{"internal error text hidden", "GET", base + "/widgets-fail", "", nil, 500, []string{`"code":"internal"`}, []string{"10.0.0.7", "admin"}},
		{"raw fiber route resolves tenant", "GET", base + "/raw/ping", "", nil, 200, []string{"raw:" + a.Slug}, nil},
		{"raw route unknown tenant", "GET", "/api/v1/t/no-such-co/raw/ping", "", nil, 404, []string{`"code":"not_found"`}, nil},
	})
}

func TestTenantBCannotReachTenantAsRecords(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	resp, body := h.do(t, "POST", "/api/v1/t/"+a.Slug+"/widgets", `{"name":"mine","size":1}`, nil)
	if resp.StatusCode != 201 {
		t.Fatal(body)
	}
	var w struct{ ID string }
	_ = json.Unmarshal([]byte(body), &w)
	run(t, h, []scenario{
		{"A reads its own", "GET", "/api/v1/t/" + a.Slug + "/widgets/" + w.ID, "", nil, 200, []string{"mine"}, nil},
		{"B asks for A's record under B", "GET", "/api/v1/t/" + b.Slug + "/widgets/" + w.ID, "", nil, 404, nil, []string{"mine"}},
	})
}

func TestDisabledModuleIsRefused(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	a := env.NewTenant(t)
	if err := h.en.SetEnabled(context.Background(), a.ID, "widgets", false); err != nil {
		t.Fatal(err)
	}
	run(t, h, []scenario{
		{"off", "GET", "/api/v1/t/" + a.Slug + "/widgets/" + uuid.NewString(), "", nil, 403, []string{"turned off", `"code":"forbidden"`}, nil},
		{"raw route off", "GET", "/api/v1/t/" + a.Slug + "/raw/ping", "", nil, 403, []string{"turned off"}, nil},
	})
	if err := h.en.SetEnabled(context.Background(), a.ID, "widgets", true); err != nil {
		t.Fatal(err)
	}
	run(t, h, []scenario{{"on again", "GET", "/api/v1/t/" + a.Slug + "/widgets/" + uuid.NewString(), "", nil, 404, []string{"widget not found"}, nil}})
	if err := h.en.SetEnabled(context.Background(), a.ID, "nonsense", true); !errs.Is(err, errs.Invalid) {
		t.Fatalf("unknown module: %v", err)
	}
}

func TestXMLOnReadsAndOpenAPI(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	a := env.NewTenant(t)
	_, body := h.do(t, "POST", "/api/v1/t/"+a.Slug+"/widgets", `{"name":"<gear>","size":7}`, nil)
	var w struct{ ID string }
	_ = json.Unmarshal([]byte(body), &w)
	resp, body := h.do(t, "GET", "/api/v1/t/"+a.Slug+"/widgets/"+w.ID, "", map[string]string{"Accept": "application/xml"})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") || !strings.Contains(body, "<name>&lt;gear&gt;</name>") {
		t.Fatalf("xml: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = h.do(t, "GET", "/api/v1/openapi.json", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"/api/v1/t/{tenant}/widgets/{id}"`) || !strings.Contains(body, `"name":"tenant"`) {
		t.Fatalf("openapi: %d %.300s", resp.StatusCode, body)
	}
	resp, body = h.do(t, "GET", "/api/v1/docs", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Clientele API reference") {
		t.Fatalf("docs: %d", resp.StatusCode)
	}
}

func TestMetricsUseRouteTemplatesAndPassLint(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	a := env.NewTenant(t)
	id := uuid.NewString()
	h.do(t, "GET", "/api/v1/t/"+a.Slug+"/widgets/"+id, "", nil)
	h.do(t, "GET", "/some/random/"+id, "", nil)
	h.do(t, "GET", "/api/v1/t/"+a.Slug+"/widgets-explode", "", nil)
	problems, err := testutil.GatherAndLint(h.reg.Reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	var buf bytes.Buffer
	rec := httptest.NewRecorder()
	h.reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	buf.Write(rec.Body.Bytes())
	out := buf.String()
	for _, leak := range []string{a.Slug, a.ID.String(), id, "/some/random"} {
		if strings.Contains(out, leak) {
			t.Errorf("metrics carry %q", leak)
		}
	}
	for _, want := range []string{
		`clientele_http_requests_total{method="GET",route="/api/v1/t/:tenant/widgets/:id",status_class="4xx"} 1`,
		`route="unmatched"`,
		`clientele_http_requests_total{method="GET",route="/api/v1/t/:tenant/widgets-explode",status_class="5xx"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestSecurityHeadersAndRequestID(t *testing.T) {
	h := setup(t)
	resp, _ := h.do(t, "GET", "/api/v1/openapi.json", "", map[string]string{"X-Request-Id": "abc-123"})
	if resp.Header.Get("X-Request-Id") != "abc-123" {
		t.Errorf("request id not propagated: %q", resp.Header.Get("X-Request-Id"))
	}
	resp, _ = h.do(t, "GET", "/api/v1/openapi.json", "", map[string]string{"X-Request-Id": "<script>"})
	if rid := resp.Header.Get("X-Request-Id"); rid == "<script>" || rid == "" {
		t.Errorf("unsafe request id accepted: %q", rid)
	}
	for _, hdr := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"} {
		if resp.Header.Get(hdr) == "" {
			t.Errorf("missing %s", hdr)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("an API answer may be framed: %s", csp)
	}
	// The hosted forms are made to be embedded in the company's own site.
	for _, page := range []string{"/form/acme", "/lead-form/acme/lf_x"} {
		resp, _ = h.do(t, "GET", page, "", nil)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors *") || resp.Header.Get("X-Frame-Options") != "" {
			t.Errorf("%s cannot be embedded: %s, X-Frame-Options %q", page, csp, resp.Header.Get("X-Frame-Options"))
		}
	}
}

func TestSafeCellNeutralisesFormulas(t *testing.T) {
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+1 555": "'+1 555", "-12.5": "-12.5", "@cmd": "'@cmd", "李雷": "李雷", "": ""} {
		if got := httpx.SafeCell(in); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}

// A huma route under a module's raw group prefix is guarded once, not twice.
func TestGuardRunsOncePerRequest(t *testing.T) {
	env := testkit.Get(t)
	var calls int
	mods := module.Set{widgets{db: env.App}}
	srv := httpx.New(httpx.Options{
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Tenants: tenancy.NewResolver(env.App, time.Second),
		Enablement: module.NewEnablement(env.App, mods, time.Minute), Modules: mods,
		Guard: func(ctx context.Context, _ func(string) string, _ tenancy.Tenant) (context.Context, error) {
			calls++
			return ctx, nil
		},
	})
	srv.Finish(nil)
	a := env.NewTenant(t)
	setup(t) // the widgets table
	code, _ := testkit.Call(t, srv.App, "GET", "/api/v1/t/"+a.Slug+"/widgets/"+uuid.NewString(), "")
	if code != 404 || calls != 1 {
		t.Fatalf("status %d, guard ran %d times", code, calls)
	}
}

// A wrong method on a path that exists answers 405 with Allow; a path that does
// not exist stays 404.
func TestWrongMethodOnAKnownPathIs405(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	slug := env.NewTenant(t).Slug
	id := uuid.NewString()
	for _, c := range []struct {
		method, path, allow string
	}{
		{"PUT", "/api/v1/t/" + slug + "/widgets/" + id, "GET"},
		{"DELETE", "/api/v1/t/" + slug + "/widgets", "POST"},
		{"PATCH", "/api/v1/t/no-such-co/widgets/" + id, "GET"},
		{"POST", "/api/v1/openapi.json", "GET, HEAD"},
		{"DELETE", "/api/v1/t/" + slug + "/raw/ping", "GET, HEAD"},
	} {
		resp, body := h.do(t, c.method, c.path, "", nil)
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != c.allow || !strings.Contains(body, `"code":"method_not_allowed"`) {
			t.Errorf("%s %s: %d, Allow %q, %s; want 405 with Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), body, c.allow)
		}
	}
	for _, p := range []string{"/api/v1/t/" + slug + "/nothing", "/api/v1/nope", "/api/v1/t/" + slug + "/widgets/" + id + "/more"} {
		if resp, body := h.do(t, "PUT", p, "", nil); resp.StatusCode != 404 {
			t.Errorf("PUT %s: %d %s, want 404", p, resp.StatusCode, body)
		}
	}
}

// An error is never a CSV table: with Accept: text/csv it falls back to a JSON
// problem document; XML callers get problem+xml.
func TestErrorsAreNeverCSV(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	slug := env.NewTenant(t).Slug
	for _, c := range []struct{ accept, ctype, bodyStart string }{
		{"text/csv", "application/problem+json", "{"},
		{"text/csv, application/json;q=0.5", "application/problem+json", "{"},
		{"application/xml", "application/problem+xml", "<?xml"},
		{"", "application/problem+json", "{"},
	} {
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/api/v1/t/" + slug + "/widgets", `{"name":"","size":-1}`}, // 422 from Huma
			{"GET", "/api/v1/t/" + slug + "/widgets/" + uuid.NewString(), ""},   // 404 from the handler
			{"GET", "/api/v1/t/" + slug + "/widgets-fail", ""},                  // 500
		} {
			resp, body := h.do(t, r.method, r.path, r.body, map[string]string{"Accept": c.accept})
			if resp.StatusCode < 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.HasPrefix(body, c.bodyStart) {
				t.Errorf("Accept %q, %s %s: %d %s %.80s; want %s", c.accept, r.method, r.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.ctype)
			}
		}
	}
}

// A body in a media type the API only answers in, or does not know, is a 415
// that says so, not a 400.
func TestBodyMediaTypeIs415(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	slug := env.NewTenant(t).Slug
	for _, ct := range []string{"application/xml", "text/csv", "text/plain", "application/x-www-form-urlencoded"} {
		resp, body := h.do(t, "POST", "/api/v1/t/"+slug+"/widgets", `{"name":"a","size":1}`, map[string]string{"Content-Type": ct})
		if resp.StatusCode != 415 || !strings.Contains(body, `"code":"unsupported_media"`) || !strings.Contains(body, "media type") {
			t.Errorf("Content-Type %s: %d %s", ct, resp.StatusCode, body)
		}
	}
}

// A connection that sends no request is closed at the read timeout without
// an answer: an unsolicited 504 there is logged by clients, or taken for the
// answer to a request sent at that moment.
func TestAConnectionThatSendsNothingIsClosedWithoutAnAnswer(t *testing.T) {
	env := testkit.Get(t)
	mods := module.Set{widgets{db: env.App}}
	srv := httpx.New(httpx.Options{Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Tenants: tenancy.NewResolver(env.App, time.Second),
		Enablement: module.NewEnablement(env.App, mods, time.Minute), Modules: mods, RequestTimeout: time.Millisecond})
	srv.Finish(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = srv.App.Shutdown() })
	for _, sent := range []string{"", "GET /healthz HTTP/1.1\r\nHost: x\r\n"} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, sent); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || len(got) != 0 {
			t.Errorf("after %q: answered %q (%v) after %s, want the connection closed without an answer", sent, got, err, time.Since(start).Round(time.Millisecond))
		}
	}
}
