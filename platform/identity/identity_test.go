package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// One Kratos serves the package. testkit.Main owns TestMain's m.Run, so Kratos
// starts with the first test that needs it and stops after the last.
var (
	kratosOnce sync.Once
	kratos     *Scratch
	kratosErr  error
)

func TestMain(m *testing.M) {
	code := testkit.Main(m)
	if kratos != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := kratos.Close(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "identity test:", err)
		}
		cancel()
	}
	os.Exit(code)
}

// startKratos returns the package's Kratos, starting it on first use. It fails the
// test, never skips it, when Kratos cannot be built or started.
func startKratos(t *testing.T) *Process {
	t.Helper()
	kratosOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		t0 := time.Now()
		kratos, kratosErr = StartScratch(ctx, testkit.Get(t).Config.DatabaseURL, "http://localhost:8080", true)
		if kratosErr == nil {
			t.Logf("kratos migrated and ready in %s", time.Since(t0).Round(time.Millisecond))
		}
	})
	if kratosErr != nil {
		t.Fatalf("start kratos: %v", kratosErr)
	}
	return kratos.P
}

// countingTransport counts the requests that reach Kratos.
type countingTransport struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// want fails the test unless Kratos saw n requests so far; why says what the
// count shows.
func (c *countingTransport) want(t *testing.T, n int64, why string) {
	t.Helper()
	if got := c.n.Load(); got != n {
		msg := fmt.Sprintf("kratos saw %d requests, want %d", got, n)
		if why != "" {
			msg += ": " + why
		}
		t.Fatal(msg)
	}
}

// mustWhoami verifies the session token, failing the test if it is refused.
func mustWhoami(t *testing.T, k *Kratos, token string) {
	t.Helper()
	if _, _, err := k.Whoami(context.Background(), token, ""); err != nil {
		t.Fatal(err)
	}
}

func newClient(t *testing.T, p *Process, o Options) (*Kratos, *countingTransport) {
	t.Helper()
	ct := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	o.PublicURL, o.AdminURL = p.PublicURL(), p.AdminURL()
	o.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: ct}
	return New(o), ct
}

func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%s@example.com", prefix, randomHex(5))
}

const goodPassword = "correct horse battery staple 7"

func signUp(t *testing.T, p *Process, name string) (email, token string, id Identity) {
	t.Helper()
	email = uniqueEmail(strings.ToLower(strings.ReplaceAll(name, " ", "")))
	tok, uid, err := p.RegisterAPI(context.Background(), email, goodPassword, name)
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return email, tok, Identity{ID: uid, Email: email, Name: name}
}

// browserLogin signs in through the browser login flow and returns the Cookie
// header a browser would send afterwards.
func browserLogin(t *testing.T, p *Process, email, password string) string {
	t.Helper()
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	st, f, err := p.call(ctx, browser, http.MethodGet, "/self-service/login/browser", nil)
	if err != nil || st != http.StatusOK {
		t.Fatalf("start browser login: %d %v", st, err)
	}
	st, f, err = p.call(ctx, browser, http.MethodPost, "/self-service/login?flow="+f.ID,
		map[string]any{"method": "password", "identifier": email, "password": password, "csrf_token": f.csrfToken()})
	if err != nil || st != http.StatusOK {
		t.Fatalf("browser login: %d %v %s", st, err, f.problems())
	}
	u, _ := url.Parse(p.PublicURL())
	for _, c := range jar.Cookies(u) {
		if c.Name == SessionCookieName {
			return "theme=dark; " + c.Name + "=" + c.Value + "; lang=en"
		}
	}
	t.Fatal("browser login set no session cookie")
	return ""
}

func wantCode(t *testing.T, err error, code errs.Code, detail string) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("want %s error, got %v", code, err)
	}
	var e *errs.Error
	if detail != "" && errors.As(err, &e) && e.Detail != detail {
		t.Fatalf("want message %q, got %q", detail, e.Detail)
	}
}

func TestWhoamiReturnsTheRegisteredIdentity(t *testing.T) {
	p := startKratos(t)
	_, token, want := signUp(t, p, "Ann Lee")
	k, _ := newClient(t, p, Options{})
	s, setCookies, err := k.Whoami(context.Background(), token, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Identity != want {
		t.Fatalf("identity = %+v, want %+v", s.Identity, want)
	}
	if s.ID == "" || len(setCookies) != 0 {
		t.Fatalf("session id %q, set-cookies %v", s.ID, setCookies)
	}
	if d := time.Until(s.ExpiresAt); d < 23*time.Hour || d > 24*time.Hour {
		t.Fatalf("expires in %s, want the 24h lifespan", d)
	}
	if time.Since(s.AuthenticatedAt) > time.Minute {
		t.Fatalf("authenticated at %s", s.AuthenticatedAt)
	}
}

func TestWhoamiWithBrowserCookie(t *testing.T) {
	p := startKratos(t)
	email, _, want := signUp(t, p, "Cookie Person")
	cookie := browserLogin(t, p, email, goodPassword)
	k, ct := newClient(t, p, Options{})
	s, _, err := k.Whoami(context.Background(), "", cookie)
	if err != nil {
		t.Fatal(err)
	}
	if s.Identity.ID != want.ID {
		t.Fatalf("identity %s, want %s", s.Identity.ID, want.ID)
	}
	// Other cookies are not part of the key: the same session in another header
	// order is a cache hit.
	session := cookie[strings.Index(cookie, SessionCookieName):strings.LastIndex(cookie, ";")]
	if _, _, err := k.Whoami(context.Background(), "", session); err != nil {
		t.Fatal(err)
	}
	ct.want(t, 1, "")
	// Logout of a browser session disables it at Kratos.
	if err := k.Logout(context.Background(), "", cookie); err != nil {
		t.Fatal(err)
	}
	fresh, _ := newClient(t, p, Options{})
	_, _, err = fresh.Whoami(context.Background(), "", cookie)
	wantCode(t, err, errs.Unauthenticated, msgSessionEnded)
}

func TestWhoamiCachesVerifiedSessions(t *testing.T) {
	p := startKratos(t)
	_, token, want := signUp(t, p, "Cache Hit")
	reg := prometheus.NewRegistry()
	k, ct := newClient(t, p, Options{Metrics: reg})
	for i := 0; i < 3; i++ {
		s, _, err := k.Whoami(context.Background(), token, "")
		if err != nil {
			t.Fatal(err)
		}
		if s.Identity != want {
			t.Fatalf("identity %+v", s.Identity)
		}
	}
	ct.want(t, 1, "3 whoami calls")
	if hit, miss := testutil.ToFloat64(k.m.cacheTotal.WithLabelValues("hit")), testutil.ToFloat64(k.m.cacheTotal.WithLabelValues("miss")); hit != 2 || miss != 1 {
		t.Fatalf("cache hits %v misses %v, want 2 and 1", hit, miss)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %v", problems, err)
	}
	// Concurrent misses for one token ask Kratos once.
	k2, ct2 := newClient(t, p, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := k2.Whoami(context.Background(), token, ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := ct2.n.Load(); n > 2 {
		t.Fatalf("8 concurrent whoami calls sent %d requests", n)
	}
}

func TestCacheNeverOutlivesTTLOrExpiry(t *testing.T) {
	p := startKratos(t)
	_, token, _ := signUp(t, p, "Short Lived")
	ctx := context.Background()

	if k := New(Options{CacheTTL: time.Hour}); k.o.CacheTTL != MaxCacheTTL {
		t.Fatalf("CacheTTL %s was not capped at %s", k.o.CacheTTL, MaxCacheTTL)
	}

	t.Run("ttl", func(t *testing.T) {
		k, ct := newClient(t, p, Options{CacheTTL: 10 * time.Second})
		now := time.Now()
		k.now = func() time.Time { return now }
		mustWhoami(t, k, token)
		now = now.Add(9 * time.Second)
		mustWhoami(t, k, token)
		ct.want(t, 1, "within the TTL")
		now = now.Add(2 * time.Second)
		mustWhoami(t, k, token)
		ct.want(t, 2, "after the TTL")
	})

	t.Run("expiry", func(t *testing.T) {
		k, ct := newClient(t, p, Options{})
		s, _, err := k.Whoami(ctx, token, "")
		if err != nil {
			t.Fatal(err)
		}
		// Five seconds before the session expires, a fresh lookup may be cached
		// for those five seconds only, not the full TTL.
		now := s.ExpiresAt.Add(-5 * time.Second)
		k.now = func() time.Time { return now }
		k.cache = &sessionCache{m: map[[32]byte]cacheEntry{}, max: 10}
		mustWhoami(t, k, token)
		now = s.ExpiresAt.Add(-time.Second)
		mustWhoami(t, k, token)
		ct.want(t, 2, "")
		now = s.ExpiresAt.Add(time.Millisecond)
		_, _, err = k.Whoami(ctx, token, "")
		wantCode(t, err, errs.Unauthenticated, msgSessionEnded)
		ct.want(t, 3, "past the expiry the cache answered")
	})
}

func TestInvalidCredentialsAreUnauthenticated(t *testing.T) {
	p := startKratos(t)
	k, ct := newClient(t, p, Options{})
	ctx := context.Background()
	_, _, err := k.Whoami(ctx, "ory_st_not-a-real-token", "")
	wantCode(t, err, errs.Unauthenticated, msgSessionEnded)
	_, _, err = k.Whoami(ctx, "", SessionCookieName+"=forged")
	wantCode(t, err, errs.Unauthenticated, msgSessionEnded)
	ct.want(t, 2, "")
	// No credential at all: refused without asking Kratos.
	for _, cookie := range []string{"", "theme=dark; lang=en"} {
		_, _, err = k.Whoami(ctx, "  ", cookie)
		wantCode(t, err, errs.Unauthenticated, msgSignIn)
	}
	ct.want(t, 2, "kratos was asked about missing credentials")
	// Refusals are not cached as sessions: still refused, still asked.
	_, _, err = k.Whoami(ctx, "ory_st_not-a-real-token", "")
	wantCode(t, err, errs.Unauthenticated, msgSessionEnded)
}

func TestLogoutRevokesTheToken(t *testing.T) {
	p := startKratos(t)
	_, token, _ := signUp(t, p, "Leaving Soon")
	k, _ := newClient(t, p, Options{})
	ctx := context.Background()
	mustWhoami(t, k, token)
	if err := k.Logout(ctx, token, ""); err != nil {
		t.Fatal(err)
	}
	_, _, err := k.Whoami(ctx, token, "")
	wantCode(t, err, errs.Unauthenticated, msgSessionEnded)
	// Revoked at Kratos, not only forgotten here: a client with an empty cache
	// (another replica) refuses it too.
	other, _ := newClient(t, p, Options{})
	_, _, err = other.Whoami(ctx, token, "")
	wantCode(t, err, errs.Unauthenticated, msgSessionEnded)
	// Logging out twice is fine.
	if err := k.Logout(ctx, token, ""); err != nil {
		t.Fatalf("second logout: %v", err)
	}
}

func TestForgetDropsTheCacheEntry(t *testing.T) {
	p := startKratos(t)
	_, token, _ := signUp(t, p, "Forget Me")
	k, ct := newClient(t, p, Options{})
	mustWhoami(t, k, token)
	k.Forget(token, "")
	mustWhoami(t, k, token)
	ct.want(t, 2, "the forgotten entry is verified again")
}

func TestCreateIdentityIsIdempotent(t *testing.T) {
	p := startKratos(t)
	k, _ := newClient(t, p, Options{})
	ctx := context.Background()
	email := uniqueEmail("invitee")
	id, created, err := k.CreateIdentity(ctx, "  "+strings.ToUpper(email)+" ", "Ivy Invitee")
	if err != nil || !created {
		t.Fatalf("create: created=%v err=%v", created, err)
	}
	if id.Email != email || id.Name != "Ivy Invitee" {
		t.Fatalf("created %+v", id)
	}
	again, created, err := k.CreateIdentity(ctx, email, "Someone Else")
	if err != nil || created || again.ID != id.ID {
		t.Fatalf("second create: %+v created=%v err=%v, want the existing %s", again, created, err, id.ID)
	}
	found, err := k.FindIdentityByEmail(ctx, strings.ToUpper(email))
	if err != nil || found.ID != id.ID {
		t.Fatalf("find: %+v %v", found, err)
	}
	got, err := k.GetIdentity(ctx, id.ID)
	if err != nil || *got != id {
		t.Fatalf("get: %+v %v, want %+v", got, err, id)
	}
	_, err = k.FindIdentityByEmail(ctx, uniqueEmail("nobody"))
	wantCode(t, err, errs.NotFound, "")
	_, err = k.GetIdentity(ctx, uuid.New())
	wantCode(t, err, errs.NotFound, "")
	_, _, err = k.CreateIdentity(ctx, "Ann <ann@example.com>", "")
	wantCode(t, err, errs.Invalid, "")
}
