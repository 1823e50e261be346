// Package httpx builds Clientele's HTTP surface: a Fiber app with the middleware
// chain, the Huma API (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs), the
// tenant-scoped route groups, and the admin listener.
package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/health"
	"github.com/clientele-crm/clientele/platform/idem"
	"github.com/clientele-crm/clientele/platform/logx"
	"github.com/clientele-crm/clientele/platform/metrics"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// TenantPrefix is where tenant-scoped operations live.
const TenantPrefix = "/api/v1/t/{tenant}"

// Guard decides whether the caller may enter a tenant; it runs after the slug is
// resolved and returns the context to continue with (carrying the actor). A caller
// who is not a member must get NotFound, never Forbidden. Identity (tenants/)
// provides it; without one every resolved tenant is open, which only tests use.
type Guard func(ctx context.Context, header func(name string) string, t tenancy.Tenant) (context.Context, error)

// Options are the server's dependencies.
type Options struct {
	Log        *slog.Logger
	Metrics    *metrics.Registry
	Tenants    *tenancy.Resolver
	Enablement *module.Enablement
	Modules    module.Set
	Guard      Guard
	// BodyLimit is the largest request body of an operation registered through
	// Group or TenantGroup, unless the operation sets MaxBodyBytes itself.
	BodyLimit int
	// UploadLimit, when larger than BodyLimit, lets the operations that set their
	// own MaxBodyBytes (file uploads) take bodies up to it; every other operation
	// stays capped at BodyLimit.
	UploadLimit    int
	RequestTimeout time.Duration
	// Idempotency keeps the first result of tenant POSTs sent with an
	// Idempotency-Key header; nil: the header is ignored.
	Idempotency *idem.Store
	PublicURL   string
	Version     string
	// TrustedProxies are the addresses and CIDR ranges of the proxies in front
	// of the app. Only a request from one of them has its X-Forwarded-For read
	// (from the right, skipping trusted hops) for the client's address, and its
	// X-Forwarded-Proto and -Host believed; anyone else's are ignored.
	TrustedProxies []string
}

// Server is the public HTTP app.
type Server struct {
	App   *fiber.App
	API   huma.API
	opts  Options
	log   *slog.Logger
	allow allowTable
}

var installOnce sync.Once

// New builds the app and registers every module's routes.
func New(o Options) *Server {
	installOnce.Do(installHumaErrors)
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.BodyLimit == 0 {
		o.BodyLimit = 1 << 20
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second
	}
	probs := func(code string) {
		if o.Metrics != nil {
			o.Metrics.HTTPBodyRefused.WithLabelValues(code).Inc()
		}
	}
	fiberLimit := max(o.BodyLimit, o.UploadLimit)
	trusted := parsePrefixes(o.TrustedProxies)
	app := fiber.New(fiber.Config{
		AppName:                 "clientele",
		EnableTrustedProxyCheck: true,
		TrustedProxies:          o.TrustedProxies,
		BodyLimit:               fiberLimit,
		ReadTimeout:             o.RequestTimeout + 5*time.Second,
		WriteTimeout:            o.RequestTimeout + 5*time.Second,
		IdleTimeout:             60 * time.Second,
		DisableStartupMessage:   true,
		ErrorHandler:            fiberErrorHandler(o.Log, probs),
		ReadBufferSize:          16 << 10,
	})
	s := &Server{App: app, opts: o, log: o.Log}

	app.Use(requestIDMiddleware(trusted))
	if o.Metrics != nil {
		app.Use(metricsMiddleware(o.Metrics))
		o.Metrics.CountOpenConnections(func() int { return int(app.Server().GetOpenConnectionsCount()) })
	}
	app.Use(accessLog(o.Log, app.Config().ErrorHandler))
	app.Use(recoverMiddleware(o.Log))
	app.Use(securityHeaders(strings.HasPrefix(o.PublicURL, "https://")))
	app.Use("/api", noStore)
	app.Use("/api", rejectNUL)
	app.Use(deadline(o.RequestTimeout))

	cfg := huma.DefaultConfig("Clientele API", nonEmpty(o.Version, "1.0.0"))
	cfg.Info.Description = "Multi-tenant CRM. Tenant-scoped operations live under /api/v1/t/{tenant}. Errors are RFC 9457 problem documents that name the offending field."
	public := strings.TrimRight(nonEmpty(o.PublicURL, "http://localhost:8080"), "/")
	cfg.Info.Contact = &huma.Contact{Name: "Clientele API reference", URL: public + "/api/v1/docs"}
	cfg.Servers = []*huma.Server{{URL: public, Description: "This installation (CLIENTELE_PUBLIC_URL)"}}
	cfg.OpenAPIPath = "" // documentRoutes serves the document
	cfg.DocsPath = ""
	cfg.SchemasPath = "/api/v1/schemas"
	cfg.CreateHooks = nil // no $schema links: they would name a host we do not know
	cfg.Transformers = append(cfg.Transformers, s.finishProblem)
	cfg.Components.Schemas = newRegistry()
	cfg.Components.SecuritySchemes = securitySchemes
	cfg.Security = AnyCredential
	cfg.Formats["application/json"] = jsonFormat
	cfg.Formats["json"] = jsonFormat
	cfg.Formats["application/xml"] = xmlFormat
	cfg.Formats["xml"] = xmlFormat
	cfg.Formats["text/csv"] = csvFormat
	cfg.Formats["csv"] = csvFormat
	s.API = humafiber.New(app, cfg)
	s.documentRoutes(app)
	s.API.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		next(huma.WithContext(copiedStrings{ctx}, logx.With(ctx.Context())))
	})
	app.Get("/api/v1/docs", serveDocs)
	app.Get("/api/v1/docs.js", serveDocsJS)

	for _, m := range o.Modules {
		if d, ok := m.(module.Documenter); ok {
			s.API.OpenAPI().Tags = append(s.API.OpenAPI().Tags, d.APITags()...)
		}
	}
	sort.Slice(s.API.OpenAPI().Tags, func(i, j int) bool { return s.API.OpenAPI().Tags[i].Name < s.API.OpenAPI().Tags[j].Name })
	for _, m := range o.Modules {
		if r, ok := m.(module.Router); ok {
			r.Routes(s.TenantGroup(m.Name()), tenantRouter{Router: app.Group("/api/v1/t/:tenant"), enter: s.tenantFiber(m.Name())})
		}
		if r, ok := m.(module.PublicRouter); ok {
			r.PublicRoutes(s.PublicGroup(m.Name()))
		}
	}
	return s
}

// PublicPrefix is where a company's operations for people who do not sign in
// live: a satisfaction survey link, a hosted form.
const PublicPrefix = "/api/v1/public/{tenant}"

// NoCredential is the security of public operations: none.
var NoCredential = []map[string][]string{}

// PublicGroup returns an API under /api/v1/public/{tenant} for the named
// module's operations that need no sign-in. It resolves the company (404 for
// an unknown slug, and for a company with the module turned off, so a
// stranger learns nothing more) and documents the operation as taking no
// credential. Handlers get the tenant in ctx and no actor: each decides what
// its token or form may do, and limits its own rate.
func (s *Server) PublicGroup(moduleName string) huma.API {
	g := s.Group(PublicPrefix)
	g.UseSimpleModifier(func(op *huma.Operation) {
		if !hasTenantParam(op) {
			op.Parameters = append([]*huma.Param{{
				Name: "tenant", In: "path", Required: true,
				Description: "The company's slug, as in /api/v1/public/acme/...",
				Schema:      &huma.Schema{Type: "string", Pattern: tenancy.SlugPattern.String()},
			}}, op.Parameters...)
		}
		if len(op.Tags) == 0 {
			op.Tags = []string{"public"}
		}
		op.Security = NoCredential
		s.documentOperation(op, publicGroup)
	})
	g.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		slug := strings.Clone(ctx.Param("tenant"))
		t, err := s.opts.Tenants.Resolve(ctx.Context(), slug)
		if err == nil && s.opts.Enablement != nil {
			var on bool
			if on, err = s.opts.Enablement.Enabled(ctx.Context(), t.ID, moduleName); err == nil && !on {
				err = errs.E(errs.NotFound, "not found")
			}
		}
		if err != nil {
			s.WriteError(ctx, err)
			return
		}
		c := logx.With(tenancy.With(ctx.Context(), t), "tenant_id", t.ID.String(), "module", moduleName)
		next(huma.WithContext(ctx, c))
	})
	return g
}

// Finish registers the fallbacks; call it after every route is registered.
func (s *Server) Finish(spa fiber.Handler) {
	s.App.Use("/api", func(c *fiber.Ctx) error {
		c.Locals(unmatchedKey, true)
		if allow := s.allow.allowed(s.App, utils.CopyString(c.Path())); allow != "" {
			c.Set(fiber.HeaderAllow, allow)
			return errs.E(errs.MethodNotAllowed, "This address does not take %s; it takes %s.", methodLabel(c), allow)
		}
		return fiber.ErrNotFound
	})
	s.App.Use(func(c *fiber.Ctx) error {
		c.Locals(unmatchedKey, true)
		if spa != nil && (c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead) {
			return spa(c)
		}
		return fiber.ErrNotFound
	})
}

// TenantGroup returns an API scoped to /api/v1/t/{tenant} for the named module: it
// resolves the tenant (404 for unknown slugs), runs the guard, checks the module is
// on for the tenant, and documents the tenant parameter on every operation.
func (s *Server) TenantGroup(moduleName string) huma.API {
	g := s.Group(TenantPrefix)
	g.UseSimpleModifier(func(op *huma.Operation) {
		if !hasTenantParam(op) {
			op.Parameters = append([]*huma.Param{{
				Name: "tenant", In: "path", Required: true,
				Description: "The company's slug, as in /api/v1/t/acme/...",
				Schema:      &huma.Schema{Type: "string", Pattern: tenancy.SlugPattern.String()},
			}}, op.Parameters...)
		}
		if len(op.Tags) == 0 {
			op.Tags = []string{pathTag(op.Path)}
		}
		if op.Method == http.MethodPost && !hasParam(op, idem.Header, "header") {
			op.Parameters = append(op.Parameters, &huma.Param{
				Name: idem.Header, In: "header",
				Description: "Any unique string (a UUID) that makes a retry of this request safe: for 24 hours, the same key returns the first result, marked Idempotent-Replayed: true, without acting again; the key with a different request is refused (422); a retry while the first runs waits for it.",
				Schema:      &huma.Schema{Type: "string", MinLength: ptr(1), MaxLength: ptr(idem.MaxKeyLen)},
			})
		}
		s.documentOperation(op, tenantGroup)
	})
	g.UseMiddleware(func(ctx huma.Context, next func(huma.Context)) {
		// A module's raw Fiber group may share the prefix (module "jobs", path
		// "/jobs") and have entered the tenant already: do not authenticate twice.
		if e, ok := ctx.Context().Value(enteredKey{}).(entered); ok && e.module == moduleName && e.slug == ctx.Param("tenant") {
			next(ctx)
			return
		}
		c, err := s.enterTenant(ctx.Context(), strings.Clone(ctx.Param("tenant")), HeaderOf(ctx), moduleName)
		if err != nil {
			s.WriteError(ctx, err)
			return
		}
		s.idempotent(huma.WithContext(ctx, c), next)
	})
	return g
}

// humaDefaultMaxBody is what Huma gives an operation that sets no MaxBodyBytes.
const humaDefaultMaxBody = 1 << 20

// Group returns an API for operations under prefix that take request bodies up
// to BodyLimit. Huma fixes an operation's limit (its own default is 1 MiB) before
// group modifiers run, and a prefix modifier hands the next ones a copy, so the
// limit is set on the operation itself, first, before the prefix is added.
func (s *Server) Group(prefix string) *huma.Group {
	g := huma.NewGroup(s.API)
	g.UseModifier(func(op *huma.Operation, next func(*huma.Operation)) {
		if op.MaxBodyBytes == humaDefaultMaxBody {
			op.MaxBodyBytes = int64(s.opts.BodyLimit)
		}
		next(op)
	})
	g.UseModifier(huma.PrefixModifier([]string{prefix}))
	return g
}

func hasParam(op *huma.Operation, name, in string) bool {
	for _, p := range op.Parameters {
		if p.Name == name && p.In == in {
			return true
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

func hasTenantParam(op *huma.Operation) bool {
	for _, p := range op.Parameters {
		if p.Name == "tenant" && p.In == "path" {
			return true
		}
	}
	return false
}

// AccountGroup returns an API under /api/v1 for the operations that act for the
// signed-in person rather than in a company: tagged account, documented as
// taking a session only. The caller adds the middleware that verifies it.
func (s *Server) AccountGroup() huma.API {
	g := s.Group("/api/v1")
	g.UseSimpleModifier(func(op *huma.Operation) {
		op.Tags = []string{"account"}
		op.Security = SessionOnly
		s.documentOperation(op, accountGroup)
	})
	return g
}

// tenantFiber is enterTenant for the raw Fiber routes of a module.
func (s *Server) tenantFiber(moduleName string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		slug := utils.CopyString(c.Params("tenant"))
		ctx, err := s.enterTenant(c.UserContext(), slug, func(k string) string { return utils.CopyString(c.Get(k)) }, moduleName)
		if err != nil {
			return err
		}
		c.SetUserContext(context.WithValue(ctx, enteredKey{}, entered{module: moduleName, slug: slug}))
		return c.Next()
	}
}

type enteredKey struct{}

type entered struct{ module, slug string }

// enterTenant resolves the slug, runs the guard and checks the module is on. A
// slug that names no active company still goes through the guard, with a tenant
// that has no id: the caller is authenticated (401 without credentials) and
// then refused like a non-member, through the same steps and with the same
// answer, so that which companies exist cannot be learnt from outside them.
func (s *Server) enterTenant(ctx context.Context, slug string, header func(string) string, moduleName string) (context.Context, error) {
	slug = utils.CopyString(slug)
	t, err := s.opts.Tenants.Resolve(ctx, slug)
	if errs.Is(err, errs.NotFound) && s.opts.Guard != nil {
		if _, gerr := s.opts.Guard(tenancy.With(ctx, tenancy.Tenant{Slug: slug}), header, tenancy.Tenant{Slug: slug}); gerr != nil {
			return nil, gerr
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	c := tenancy.With(ctx, t)
	c = logx.With(c, "tenant_id", t.ID.String(), "module", moduleName)
	if s.opts.Guard != nil {
		if c, err = s.opts.Guard(c, header, t); err != nil {
			return nil, err
		}
	}
	if moduleName != "" && s.opts.Enablement != nil {
		on, err := s.opts.Enablement.Enabled(c, t.ID, moduleName)
		if err != nil {
			return nil, err
		}
		if !on {
			return nil, errs.E(errs.Forbidden, "The %s module is turned off for this company. An admin can turn it on in Settings → Modules.", moduleName)
		}
	}
	return c, nil
}

// finishProblem stamps problem documents from handlers with the request id and
// logs the hidden cause of internal errors.
func (s *Server) finishProblem(ctx huma.Context, status string, v any) (any, error) {
	e, ok := v.(*errs.Error)
	if !ok {
		return v, nil
	}
	if e.RequestID == "" {
		e.RequestID = logx.RequestID(ctx.Context())
	}
	s.readyProblem(ctx, e, e)
	return e, nil
}

// readyProblem does what every problem document needs before it is written:
// logs the hidden cause of an internal error (cause, which may say more than
// e), counts the refusal and sets the headers the problem asks for.
func (s *Server) readyProblem(ctx huma.Context, e *errs.Error, cause error) {
	if e.Code == errs.Internal {
		s.log.ErrorContext(ctx.Context(), "request failed", "error", cause.Error())
	}
	if s.opts.Metrics != nil {
		s.opts.Metrics.HTTPBodyRefused.WithLabelValues(string(e.Code)).Inc()
	}
	problemHeaders(ctx.SetHeader, e)
}

// WriteError writes err as a problem document from inside a Huma middleware.
func (s *Server) WriteError(ctx huma.Context, err error) {
	e := errs.From(err)
	e.RequestID = logx.RequestID(ctx.Context())
	s.readyProblem(ctx, e, err)
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(e.Status)
	_ = s.API.Marshal(ctx.BodyWriter(), "application/json", e)
}

const unmatchedKey = "clientele.unmatched"

var ridPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func requestIDMiddleware(trusted []netip.Prefix) fiber.Handler {
	return func(c *fiber.Ctx) error {
		rid := utils.CopyString(c.Get(fiber.HeaderXRequestID))
		if !ridPattern.MatchString(rid) {
			rid = newRequestID()
		}
		c.Locals("request_id", rid)
		c.Set(fiber.HeaderXRequestID, rid)
		ctx := logx.WithRequestID(c.UserContext(), rid)
		ctx = context.WithValue(ctx, reqKey{}, Request{Method: utils.CopyString(c.Method()), ClientIP: clientIP(c, trusted)})
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// clientIP is the connection's address, or behind trusted proxies the first
// address in X-Forwarded-For, read from the right, that is not one of them.
// Fiber's own ProxyHeader takes the leftmost entry, which the client writes
// itself: a proxy appends the address it saw to whatever the client sent.
func clientIP(c *fiber.Ctx, trusted []netip.Prefix) string {
	addr, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	addr = addr.Unmap()
	if !isTrusted(addr, trusted) {
		return addr.String()
	}
	hops := strings.Split(utils.CopyString(c.Get(fiber.HeaderXForwardedFor)), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // not an address: the hops before it cannot be trusted either
		}
		addr = hop.Unmap()
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return addr.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parsePrefixes reads addresses and CIDR ranges (config validated them).
func parsePrefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out
}

// Request is what the guard may know of the request beyond its headers.
type Request struct {
	Method   string
	ClientIP string
}

type reqKey struct{}

// RequestFrom returns the request facts stored by the middleware.
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(reqKey{}).(Request)
	return r
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID(c *fiber.Ctx) string {
	s, _ := c.Locals("request_id").(string)
	return s
}

func routeLabel(c *fiber.Ctx) string {
	if v, _ := c.Locals(unmatchedKey).(bool); v {
		return "unmatched"
	}
	r := c.Route()
	if r == nil || r.Path == "" || r.Path == "/" && c.Path() != "/" {
		return "unmatched"
	}
	return utils.CopyString(r.Path)
}

func metricsMiddleware(m *metrics.Registry) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		m.HTTPInFlight.Inc()
		defer m.HTTPInFlight.Dec()
		err := c.Next()
		status := c.Response().StatusCode()
		if err != nil {
			// Errors are handled by the access log below; if one escapes, count it as
			// the status it will become.
			status = toProblem(err).Status
		}
		route := routeLabel(c)
		method := methodLabel(c)
		m.HTTPRequests.WithLabelValues(method, route, metrics.StatusClass(status)).Inc()
		m.HTTPDuration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return err
	}
}

// methodLabel names the method with a constant: the string Fiber hands out
// borrows the request buffer, and a label kept uncopied changes under
// Prometheus (a GET series turned into GETT and collided with another).
func methodLabel(c *fiber.Ctx) string {
	for _, m := range labelledMethods {
		if c.Method() == m {
			return m
		}
	}
	return "other"
}

// labelledMethods are the methods methodLabel names; any other is "other".
var labelledMethods = []string{
	fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut,
	fiber.MethodPatch, fiber.MethodDelete, fiber.MethodOptions,
}

// copiedStrings hands Huma copies of the request's parameters and headers, so
// the strings Huma parses into an operation's input never borrow Fiber's
// buffers, whatever the handler then keeps (a cache key, a job, a goroutine).
type copiedStrings struct{ humaContext }

type humaContext = huma.Context

func (c copiedStrings) Param(name string) string  { return strings.Clone(c.humaContext.Param(name)) }
func (c copiedStrings) Query(name string) string  { return strings.Clone(c.humaContext.Query(name)) }
func (c copiedStrings) Header(name string) string { return strings.Clone(c.humaContext.Header(name)) }
func (c copiedStrings) Method() string            { return strings.Clone(c.humaContext.Method()) }
func (c copiedStrings) Host() string              { return strings.Clone(c.humaContext.Host()) }

// Unwrap returns the adapter's context, as huma.WithContext's wrapper does.
func (c copiedStrings) Unwrap() huma.Context { return c.humaContext }

// HeaderOf returns a header getter over ctx whose values are copies, safe to keep.
func HeaderOf(ctx huma.Context) func(string) string {
	return func(name string) string { return strings.Clone(ctx.Header(name)) }
}

// accessLog logs one line per request. It runs the error handler itself so the
// logged status is the one sent; recover sits inside it.
func accessLog(log *slog.Logger, onErr fiber.ErrorHandler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := onErr(c, err); herr != nil {
				return herr
			}
		}
		status := c.Response().StatusCode()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.Log(c.UserContext(), level, "http",
			"method", utils.CopyString(c.Method()),
			"route", routeLabel(c),
			"status", status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"bytes_out", len(c.Response().Body()),
		)
		return nil
	}
}

func recoverMiddleware(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(c.UserContext(), "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = errs.InternalErr(fmt.Errorf("panic: %v", r))
			}
		}()
		return c.Next()
	}
}

func securityHeaders(https bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		// A company's hosted forms (/form/<slug>, /lead-form/<slug>/<token>)
		// are made to be embedded in its own site; every other page refuses
		// to be framed.
		ancestors := "'none'"
		if strings.HasPrefix(c.Path(), "/form/") || strings.HasPrefix(c.Path(), "/lead-form/") {
			ancestors = "*"
		} else {
			c.Set("X-Frame-Options", "DENY")
		}
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		c.Set("Cross-Origin-Opener-Policy", "same-origin")
		c.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors "+ancestors+"; base-uri 'self'; form-action 'self'")
		if https {
			c.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		return c.Next()
	}
}

// noStore keeps API answers out of every cache, the browser's included: they
// carry a company's records and people's data (downloads too), and a shared
// machine or a proxy must not hand them to the next person.
func noStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// deadline gives each request's database work a deadline of its own: Fiber's
// user context is not cancelled when the client goes away.
func deadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// pathTag is the tag of a tenant-scoped operation: the first segment of its path
// under the tenant (/api/v1/t/{tenant}/customers/{id} is "customers").
func pathTag(p string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(p, TenantPrefix), "/")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// AdminHandler serves /metrics, /healthz and /readyz on the admin port, which
// Prometheus and the kubelet reach from outside the pod. The profiler is not
// here: see PprofHandler.
func AdminHandler(m *metrics.Registry, ready *health.Checker) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/healthz", health.Live)
	mux.HandleFunc("/readyz", ready.Ready)
	return mux
}

// tenantRouter is the raw Fiber router a module gets for what Huma cannot serve
// (streamed downloads). Paths are relative to /api/v1/t/:tenant, like the
// module's Huma operations, and every route enters the tenant first: resolve the
// slug, run the guard, check the module is on. A group-wide Use would run for
// every module's routes, so it is refused.
type tenantRouter struct {
	fiber.Router
	enter fiber.Handler
}

func (r tenantRouter) with(h []fiber.Handler) []fiber.Handler {
	return append([]fiber.Handler{r.enter}, h...)
}

func (r tenantRouter) Use(...interface{}) fiber.Router {
	panic("httpx: Use on a module's tenant router would run for every module; pass handlers to the route instead")
}

// Every method returns the tenant router itself, so a chained call
// (r.Get(...).Post(...)) enters the tenant too.
func (r tenantRouter) Get(p string, h ...fiber.Handler) fiber.Router {
	r.Router.Get(p, r.with(h)...)
	return r
}
func (r tenantRouter) Head(p string, h ...fiber.Handler) fiber.Router {
	r.Router.Head(p, r.with(h)...)
	return r
}
func (r tenantRouter) Post(p string, h ...fiber.Handler) fiber.Router {
	r.Router.Post(p, r.with(h)...)
	return r
}
func (r tenantRouter) Put(p string, h ...fiber.Handler) fiber.Router {
	r.Router.Put(p, r.with(h)...)
	return r
}
func (r tenantRouter) Patch(p string, h ...fiber.Handler) fiber.Router {
	r.Router.Patch(p, r.with(h)...)
	return r
}
func (r tenantRouter) Delete(p string, h ...fiber.Handler) fiber.Router {
	r.Router.Delete(p, r.with(h)...)
	return r
}
func (r tenantRouter) Connect(p string, h ...fiber.Handler) fiber.Router {
	r.Router.Connect(p, r.with(h)...)
	return r
}
func (r tenantRouter) Options(p string, h ...fiber.Handler) fiber.Router {
	r.Router.Options(p, r.with(h)...)
	return r
}
func (r tenantRouter) Trace(p string, h ...fiber.Handler) fiber.Router {
	r.Router.Trace(p, r.with(h)...)
	return r
}
func (r tenantRouter) All(p string, h ...fiber.Handler) fiber.Router {
	r.Router.All(p, r.with(h)...)
	return r
}
func (r tenantRouter) Add(m, p string, h ...fiber.Handler) fiber.Router {
	r.Router.Add(m, p, r.with(h)...)
	return r
}
func (r tenantRouter) Name(n string) fiber.Router {
	r.Router.Name(n)
	return r
}
func (r tenantRouter) Group(p string, h ...fiber.Handler) fiber.Router {
	if len(h) > 0 {
		panic("httpx: group handlers on a module's tenant router are not supported; pass them to the routes")
	}
	return tenantRouter{Router: r.Router.Group(p), enter: r.enter}
}
func (r tenantRouter) Route(p string, fn func(fiber.Router), _ ...string) fiber.Router {
	fn(r.Group(p))
	return r
}

// Static files and mounted apps would serve without entering the tenant.
func (r tenantRouter) Static(string, string, ...fiber.Static) fiber.Router {
	panic("httpx: Static on a module's tenant router would serve without the tenant's checks")
}
func (r tenantRouter) Mount(string, *fiber.App) fiber.Router {
	panic("httpx: Mount on a module's tenant router would serve without the tenant's checks")
}

// PprofHandler serves the Go profiler. It is for a loopback listener only
// (CLIENTELE_PPROF_ADDR): profiles expose memory contents and command lines.
func PprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
