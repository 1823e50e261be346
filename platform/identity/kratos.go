// Package identity answers "who is this?" through Ory Kratos: it verifies sessions
// (cached briefly, because each whoami costs ~20 ms), manages identities through the
// admin API, proxies the public API to the web app under one origin, mails
// invitations, and runs a Kratos process for dev and tests.
//
// Kratos knows people, never tenants or roles; authorisation lives in Clientele's
// own tables, keyed by Identity.ID. Never trust traits for authorisation.
package identity

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	ory "github.com/ory/kratos-client-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/invalidate"
)

// Identity is a person as Kratos knows them.
type Identity struct {
	ID    uuid.UUID
	Email string
	Name  string
}

// Session is a verified Kratos session.
type Session struct {
	ID              string
	Identity        Identity
	ExpiresAt       time.Time
	AuthenticatedAt time.Time
}

// MaxCacheTTL caps how long a verified session is trusted without asking Kratos
// again. A sign-out this service sees (its own logout, or Kratos's through the
// proxy) ends the session on every replica at once when Options.Redis is set;
// one it cannot see (a session revoked in Kratos's admin API, or by a password
// change) keeps working at most this long.
const MaxCacheTTL = 30 * time.Second

// DefaultTimeout bounds one session check against Kratos unless
// Options.Timeout says otherwise: a frozen Kratos then costs a new sign-in at
// most this, and once the breaker opens nothing at all.
const DefaultTimeout = 2 * time.Second

// maxWhoamiTimeout is the longest Options.Timeout may be; revocation records
// in Redis outlive a cached session by this much.
const maxWhoamiTimeout = 15 * time.Second

// Options configure a Kratos client.
type Options struct {
	PublicURL string        // e.g. http://127.0.0.1:4433
	AdminURL  string        // e.g. http://127.0.0.1:4434; never exposed
	CacheTTL  time.Duration // how long a verified session is cached; 0 or more than MaxCacheTTL means MaxCacheTTL
	// HTTPClient talks to both APIs; the default has a timeout of 3 x Timeout
	// (at least 5 s: creating an identity hashes a password) and a connection
	// pool sized for whoami traffic.
	HTTPClient *http.Client
	// Timeout bounds one session check, and the wait for the answer's headers
	// through the proxy; default DefaultTimeout, at most 15 s.
	Timeout time.Duration
	// Breaker, when set, is recorded by every call to Kratos; while it is open,
	// session checks that the cache cannot answer and proxied requests fail at
	// once with a 503 naming identity. Its probe should be Ready.
	Breaker *breaker.Breaker
	Metrics prometheus.Registerer // optional
	Logger  *slog.Logger          // optional; never given tokens or cookies
	// SessionCookieName is the Kratos session cookie; default SessionCookieName.
	SessionCookieName string
	// ProxyPrefix is where ProxyHandler is mounted; default "/kratos".
	ProxyPrefix string
	// ProxyTimeout bounds one proxied request, body included; default 30 s.
	ProxyTimeout time.Duration
	// MaxCachedSessions bounds the cache; default 100000.
	MaxCachedSessions int
	// Redis, when set, is shared by every replica: a sign-out seen by one (our
	// own logout, or Kratos's through the proxy) is written there, and every
	// replica checks it before trusting a cached session.
	Redis redis.UniversalClient
	// SignIn limits password sign-ins through the proxy (needs Redis).
	SignIn SignInLimits
	// Bus, when set and healthy, announces sign-outs to every replica, so a
	// cached session needs no Redis check on each request (see busTrusts).
	Bus *invalidate.Bus
}

// SignInLimits bound password sign-in attempts through the /kratos proxy, in a
// window that starts with the first attempt: per identifier (an email address)
// and per client address. A successful sign-in clears the identifier's count.
type SignInLimits struct {
	PerIdentifier int           // default 10
	PerAddress    int           // default 100
	Window        time.Duration // default 15 minutes
}

// Kratos is a client of one Kratos deployment. It is safe for concurrent use.
type Kratos struct {
	o        Options
	public   *ory.APIClient
	admin    *ory.APIClient
	hc       *http.Client
	proxyHC  *http.Client
	upstream *url.URL
	cache    *sessionCache
	// signOuts counts the sign-outs the invalidation bus announced.
	signOuts atomic.Uint64
	flight   singleflight.Group
	// localSignIns counts sign-in attempts while Redis is unavailable.
	localSignIns breaker.LocalCounts
	m            *metrics
	log          *slog.Logger
	now          func() time.Time
}

// Messages clients see; they say what happened and what to do.
const (
	msgSessionEnded = "Your session has ended; sign in again."
	msgSignIn       = "Sign in first: send the session cookie or an X-Session-Token header."
	msgUnavailable  = "Sign-in is unavailable right now (identity service unreachable); try again in a few seconds."
)

// New builds a client. It does not contact Kratos; Ready does.
func New(o Options) *Kratos {
	if o.CacheTTL <= 0 || o.CacheTTL > MaxCacheTTL {
		o.CacheTTL = MaxCacheTTL
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	o.Timeout = min(o.Timeout, maxWhoamiTimeout)
	if o.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 200
		t.MaxIdleConnsPerHost = 100
		t.DialContext = (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext
		o.HTTPClient = &http.Client{Timeout: max(3*o.Timeout, 5*time.Second), Transport: t}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SessionCookieName == "" {
		o.SessionCookieName = SessionCookieName
	}
	if o.ProxyPrefix == "" {
		o.ProxyPrefix = "/kratos"
	}
	o.ProxyPrefix = "/" + strings.Trim(o.ProxyPrefix, "/")
	if o.ProxyTimeout <= 0 {
		o.ProxyTimeout = 30 * time.Second
	}
	if o.MaxCachedSessions <= 0 {
		o.MaxCachedSessions = 100_000
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	o.AdminURL = strings.TrimRight(o.AdminURL, "/")
	k := &Kratos{
		o:     o,
		hc:    o.HTTPClient,
		cache: &sessionCache{m: map[[32]byte]cacheEntry{}, max: o.MaxCachedSessions},
		m:     newMetrics(o.Metrics),
		log:   o.Logger,
		now:   time.Now,
	}
	o.Bus.On(sessionTopic, invalidate.Handler{Key: k.signedOutElsewhere})
	k.public = newAPIClient(o.PublicURL, o.HTTPClient)
	k.admin = newAPIClient(o.AdminURL, o.HTTPClient)
	k.upstream, _ = url.Parse(o.PublicURL)
	// The proxy must hand redirects and cookies to the browser untouched: no
	// redirect following, no cookie jar, and a deadline of its own per request.
	k.proxyHC = &http.Client{
		Transport:     o.HTTPClient.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return k
}

func newAPIClient(base string, hc *http.Client) *ory.APIClient {
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: base}}
	cfg.HTTPClient = hc
	cfg.UserAgent = "clientele"
	return ory.NewAPIClient(cfg)
}

// PublicURL is the Kratos public API this client talks to.
func (k *Kratos) PublicURL() string { return k.o.PublicURL }

// credential picks what identifies the caller: the session token when given,
// otherwise the Kratos session cookie out of a Cookie header (other cookies are
// neither sent to Kratos nor part of the cache key).
func (k *Kratos) credential(sessionToken, cookie string) (kind, value string) {
	if t := strings.TrimSpace(sessionToken); t != "" {
		return "token", t
	}
	if cookie == "" {
		return "", ""
	}
	cs, err := http.ParseCookie(cookie)
	if err != nil {
		// A malformed header may still carry our cookie; take it the lenient way.
		cs = (&http.Request{Header: http.Header{"Cookie": {cookie}}}).Cookies()
	}
	for _, c := range cs {
		if c.Name == k.o.SessionCookieName && c.Value != "" {
			return "cookie", c.Name + "=" + c.Value
		}
	}
	return "", ""
}

func cacheKey(kind, value string) [32]byte {
	return sha256.Sum256([]byte(kind + "\x00" + value))
}

type whoamiResult struct {
	s          Session
	setCookies []string
}

// Whoami verifies a session token (X-Session-Token) or a Cookie header value. A
// verified session is cached by the SHA-256 of the credential for at most CacheTTL
// and never past its expiry; a cached session keeps working while Kratos is down.
// When Kratos re-issued the cookie, its Set-Cookie values come back for the caller
// to forward.
func (k *Kratos) Whoami(ctx context.Context, sessionToken, cookie string) (*Session, []string, error) {
	kind, cred := k.credential(sessionToken, cookie)
	if cred == "" {
		return nil, nil, errs.E(errs.Unauthenticated, msgSignIn)
	}
	key := cacheKey(kind, cred)
	if e, ok := k.cache.get(key, k.now()); ok {
		if k.busTrusts(e.trust) {
			k.m.cache("hit")
			return &e.s, nil, nil
		}
		t := k.token() // before the check: a sign-out seen after it moves the token
		if !k.revokedSince(ctx, key, e.checked) {
			k.cache.retrust(key, t)
			k.m.cache("hit")
			return &e.s, nil, nil
		}
		k.cache.delete(key)
	}
	// The credential may point into a buffer Fiber reuses, and the lookup may
	// outlive this request (it fills the cache for the callers waiting on it).
	kind, cred = strings.Clone(kind), strings.Clone(cred)
	ch := k.flight.DoChan(string(key[:]), func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.o.Timeout)
		defer cancel()
		checked := k.now() // a sign-out recorded after this still wins
		trust := k.token()
		r, err := k.toSession(lctx, kind, cred)
		if err != nil {
			if errs.Is(err, errs.Unavailable) || errs.Is(err, errs.Internal) {
				k.m.cache("error")
			} else {
				k.m.cache("miss")
			}
			return nil, err
		}
		k.m.cache("miss")
		if until := k.now().Add(k.o.CacheTTL); until.Before(r.s.ExpiresAt) {
			k.cache.put(key, r.s, until, k.now(), checked, trust)
		} else {
			k.cache.put(key, r.s, r.s.ExpiresAt, k.now(), checked, trust)
		}
		return r, nil
	})
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, nil, res.Err
		}
		r := res.Val.(*whoamiResult)
		s := r.s
		return &s, append([]string(nil), r.setCookies...), nil
	}
}

func (k *Kratos) toSession(ctx context.Context, kind, cred string) (*whoamiResult, error) {
	if err := k.o.Breaker.Allow(); err != nil {
		k.m.cache("error")
		return nil, k.unavailable(err)
	}
	req := k.public.FrontendAPI.ToSession(ctx)
	if kind == "token" {
		req = req.XSessionToken(cred)
	} else {
		req = req.Cookie(cred)
	}
	start := time.Now()
	sess, resp, err := req.Execute()
	k.m.observe("whoami", start)
	if err := k.classify(ctx, "whoami", resp, err, msgSessionEnded); err != nil {
		return nil, err
	}
	s, err := convertSession(sess)
	if err != nil {
		return nil, errs.InternalErr(fmt.Errorf("identity: whoami: %w", err))
	}
	if (sess.Active != nil && !*sess.Active) || !s.ExpiresAt.After(k.now()) {
		return nil, errs.E(errs.Unauthenticated, msgSessionEnded)
	}
	return &whoamiResult{s: s, setCookies: resp.Header.Values("Set-Cookie")}, nil
}

// classify turns a Kratos answer into nil or a client-safe error: no answer or a
// 5xx is Unavailable, 401/403 Unauthenticated (with msg401), 404 NotFound,
// 409 Conflict, any other 4xx Invalid.
func (k *Kratos) classify(ctx context.Context, op string, resp *http.Response, err error, msg401 string) error {
	if resp == nil {
		if err == nil {
			err = errors.New("no response")
		}
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return ctx.Err() // the caller went away; Kratos may be fine
		}
		k.o.Breaker.Record(false)
		k.log.Warn("identity: kratos unreachable", "op", op, "error", withoutURL(err))
		return k.unavailable(fmt.Errorf("identity: %s: %s", op, withoutURL(err)))
	}
	k.o.Breaker.Record(resp.StatusCode < 500)
	st := resp.StatusCode
	switch {
	case st >= 200 && st < 300:
		return nil
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return errs.Wrap(errs.Unauthenticated, fmt.Errorf("identity: %s: kratos answered %d", op, st), "%s", msg401)
	case st == http.StatusNotFound:
		return errs.Wrap(errs.NotFound, fmt.Errorf("identity: %s: kratos answered 404", op), "No such person.")
	case st == http.StatusConflict:
		return errs.Wrap(errs.Conflict, fmt.Errorf("identity: %s: kratos answered 409", op), "That person already exists.")
	case st >= 500:
		k.log.Warn("identity: kratos failed", "op", op, "status", st)
		return k.unavailable(fmt.Errorf("identity: %s: kratos answered %d", op, st))
	default:
		return errs.Wrap(errs.Invalid, fmt.Errorf("identity: %s: kratos answered %d: %v", op, st, err), "The identity service refused these details.")
	}
}

// unavailable is the 503 for Kratos being down, hung or refused by its breaker:
// it names identity, carries Retry-After, and keeps the sign-in wording.
func (k *Kratos) unavailable(cause error) *errs.Error {
	e := errs.Down(errs.DependencyIdentity, cause)
	e.Detail = msgUnavailable
	return e
}

// withoutURL describes a transport error without its URL, whose query may carry
// a flow token.
func withoutURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

func convertSession(s *ory.Session) (Session, error) {
	if s == nil || s.Identity == nil {
		return Session{}, errors.New("session without identity")
	}
	id, err := convertIdentity(s.Identity)
	if err != nil {
		return Session{}, err
	}
	out := Session{ID: s.Id, Identity: id}
	if s.ExpiresAt != nil {
		out.ExpiresAt = *s.ExpiresAt
	}
	if s.AuthenticatedAt != nil {
		out.AuthenticatedAt = *s.AuthenticatedAt
	}
	return out, nil
}

func convertIdentity(i *ory.Identity) (Identity, error) {
	id, err := uuid.Parse(i.Id)
	if err != nil {
		return Identity{}, fmt.Errorf("identity id: %w", err)
	}
	out := Identity{ID: id}
	if t, ok := i.Traits.(map[string]any); ok {
		out.Email, _ = t["email"].(string)
		out.Name, _ = t["name"].(string)
	}
	return out, nil
}

// Forget drops the cached session for these credentials (on logout).
func (k *Kratos) Forget(sessionToken, cookie string) {
	if t := strings.TrimSpace(sessionToken); t != "" {
		k.cache.delete(cacheKey("token", t))
	}
	if _, c := k.credential("", cookie); c != "" {
		k.cache.delete(cacheKey("cookie", c))
	}
}

// Logout revokes the session at Kratos and forgets it here. Session tokens end
// through the native logout API; a browser session is disabled through the admin
// API by its id. Credentials that are already invalid are not an error.
func (k *Kratos) Logout(ctx context.Context, sessionToken, cookie string) error {
	var sessionID string
	if _, c := k.credential("", cookie); c != "" && strings.TrimSpace(sessionToken) == "" {
		if e, ok := k.cache.get(cacheKey("cookie", c), k.now()); ok {
			sessionID = e.s.ID
		} else {
			r, err := k.toSession(ctx, "cookie", c)
			switch {
			case errs.Is(err, errs.Unauthenticated):
			case err != nil:
				return err
			default:
				sessionID = r.s.ID
			}
		}
	}
	// Forget first: if revoking fails, the next request asks Kratos again. The
	// other replicas hear of it once Kratos has answered, so that a session one
	// of them verifies meanwhile is not trusted either.
	k.Forget(sessionToken, cookie)
	defer k.RecordSignOut(context.WithoutCancel(ctx), sessionToken, cookie)
	if t := strings.TrimSpace(sessionToken); t != "" {
		start := time.Now()
		resp, err := k.public.FrontendAPI.PerformNativeLogout(ctx).
			PerformNativeLogoutBody(*ory.NewPerformNativeLogoutBody(t)).Execute()
		k.m.observe("logout", start)
		if err := k.classify(ctx, "logout", resp, err, msgSessionEnded); err != nil && !isGone(err) {
			return err
		}
	}
	if sessionID != "" {
		start := time.Now()
		resp, err := k.admin.IdentityAPI.DisableSession(ctx, sessionID).Execute()
		k.m.observe("logout", start)
		if err := k.classify(ctx, "disable session", resp, err, msgSessionEnded); err != nil && !isGone(err) {
			return err
		}
	}
	return nil
}

// isGone reports errors that mean "nothing left to revoke".
func isGone(err error) bool {
	return errs.Is(err, errs.Unauthenticated) || errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid)
}

// normalizeEmail validates a bare address and folds it the way Kratos stores
// password identifiers.
func normalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", errs.Field("email", "must be an email address such as ann@example.com")
	}
	return e, nil
}

// FindIdentityByEmail looks a person up by login identifier; NotFound when none.
func (k *Kratos) FindIdentityByEmail(ctx context.Context, email string) (*Identity, error) {
	e, err := normalizeEmail(email)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	list, resp, err := k.admin.IdentityAPI.ListIdentities(ctx).CredentialsIdentifier(e).Execute()
	k.m.observe("identity", start)
	if err := k.classify(ctx, "find identity", resp, err, msgUnavailable); err != nil {
		return nil, err
	}
	for i := range list {
		id, err := convertIdentity(&list[i])
		if err != nil {
			return nil, errs.InternalErr(err)
		}
		if strings.EqualFold(id.Email, e) {
			return &id, nil
		}
	}
	return nil, errs.E(errs.NotFound, "No one with that email address has an account.")
}

// GetIdentity returns a person by id; NotFound when none.
func (k *Kratos) GetIdentity(ctx context.Context, id uuid.UUID) (*Identity, error) {
	start := time.Now()
	i, resp, err := k.admin.IdentityAPI.GetIdentity(ctx, id.String()).Execute()
	k.m.observe("identity", start)
	if err := k.classify(ctx, "get identity", resp, err, msgUnavailable); err != nil {
		return nil, err
	}
	out, err := convertIdentity(i)
	if err != nil {
		return nil, errs.InternalErr(err)
	}
	return &out, nil
}

// CreateIdentity makes a person without a password (they set one through a
// recovery link). It is idempotent: for a known email it returns the existing
// person and created=false.
func (k *Kratos) CreateIdentity(ctx context.Context, email, name string) (Identity, bool, error) {
	e, err := normalizeEmail(email)
	if err != nil {
		return Identity{}, false, err
	}
	if id, err := k.FindIdentityByEmail(ctx, e); err == nil {
		return *id, false, nil
	} else if !errs.Is(err, errs.NotFound) {
		return Identity{}, false, err
	}
	traits := map[string]any{"email": e}
	if n := strings.TrimSpace(name); n != "" {
		traits["name"] = n
	}
	body := ory.NewCreateIdentityBody("default", traits)
	body.SetState("active")
	start := time.Now()
	i, resp, err := k.admin.IdentityAPI.CreateIdentity(ctx).CreateIdentityBody(*body).Execute()
	k.m.observe("identity", start)
	if err := k.classify(ctx, "create identity", resp, err, msgUnavailable); err != nil {
		if errs.Is(err, errs.Conflict) { // created concurrently
			if id, ferr := k.FindIdentityByEmail(ctx, e); ferr == nil {
				return *id, false, nil
			}
		}
		if errs.Is(err, errs.Invalid) {
			return Identity{}, false, errs.Wrap(errs.Invalid, err, "The identity service refused this email address or name (names are at most 200 characters).")
		}
		return Identity{}, false, err
	}
	out, err := convertIdentity(i)
	if err != nil {
		return Identity{}, false, errs.InternalErr(err)
	}
	return out, true, nil
}

// DefaultRecoveryLifespan is how long an invitation's recovery code stays valid
// when RecoveryLink is given no duration.
const DefaultRecoveryLifespan = 72 * time.Hour

// RecoveryLink creates an admin recovery code for a person (Kratos's code method;
// the link method is deprecated upstream). link opens the app's /recovery page on
// that flow, where the person enters code; Kratos then signs them in and sends them
// to /settings to choose a password. Kratos mails nothing: the caller does.
func (k *Kratos) RecoveryLink(ctx context.Context, identityID uuid.UUID, expiresIn time.Duration) (link, code string, err error) {
	if expiresIn <= 0 {
		expiresIn = DefaultRecoveryLifespan
	}
	if expiresIn < time.Second {
		expiresIn = time.Second
	}
	body := ory.NewCreateRecoveryCodeForIdentityBody(identityID.String())
	body.SetExpiresIn(fmt.Sprintf("%ds", int64(expiresIn/time.Second)))
	start := time.Now()
	rc, resp, err := k.admin.IdentityAPI.CreateRecoveryCodeForIdentity(ctx).CreateRecoveryCodeForIdentityBody(*body).Execute()
	k.m.observe("recovery", start)
	if err := k.classify(ctx, "recovery code", resp, err, msgUnavailable); err != nil {
		return "", "", err
	}
	return rc.RecoveryLink, rc.RecoveryCode, nil
}

// Ready reports whether Kratos's admin API answers ready (for /readyz).
func (k *Kratos) Ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.o.AdminURL+"/admin/health/ready", nil)
	if err != nil {
		return errs.InternalErr(err)
	}
	start := time.Now()
	resp, err := k.hc.Do(req)
	k.m.observe("ready", start)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errs.Wrap(errs.Unavailable, fmt.Errorf("identity: kratos ready: %w", err), msgUnavailable)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errs.Wrap(errs.Unavailable, fmt.Errorf("identity: kratos ready: status %d", resp.StatusCode), msgUnavailable)
	}
	return nil
}

// sessionCache holds verified sessions by credential hash.
type sessionCache struct {
	mu  sync.Mutex
	m   map[[32]byte]cacheEntry
	max int
}

type cacheEntry struct {
	s       Session
	until   time.Time
	checked time.Time // when the whoami that verified it was sent
	// trust is the invalidation bus's token when the copy was last known
	// good; while the bus still shows that token, no sign-out can have
	// happened since and the Redis check is skipped (see busTrusts).
	trust busToken
}

func (c *sessionCache) get(key [32]byte, now time.Time) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return cacheEntry{}, false
	}
	if !now.Before(e.until) {
		delete(c.m, key)
		return cacheEntry{}, false
	}
	return e, true
}

func (c *sessionCache) put(key [32]byte, s Session, until, now, checked time.Time, trust busToken) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		// Still full of live entries: drop some at random (map order); they are
		// only a cache.
		for k := range c.m {
			if len(c.m) < c.max*9/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cacheEntry{s: s, until: until, checked: checked, trust: trust}
}

// retrust records that the copy was found good under token t.
func (c *sessionCache) retrust(key [32]byte, t busToken) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok {
		e.trust = t
		c.m[key] = e
	}
	c.mu.Unlock()
}

func (c *sessionCache) delete(key [32]byte) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}
