package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// Password sign-in through the proxy is limited per identifier and per
// address: past the limit Kratos is not asked, the answer is 429 with
// Retry-After, and the right password waits like the wrong ones.
func TestPasswordSignInIsThrottled(t *testing.T) {
	p := startKratos(t)
	rdb := testkit.Get(t).Redis
	k, _ := newClient(t, p, Options{Redis: rdb, SignIn: SignInLimits{PerIdentifier: 10, PerAddress: 25, Window: 15 * time.Minute}})
	app := proxyApp(k)
	email, _, _ := signUp(t, p, "Tried Hard")
	// Each client address starts afresh: the test's requests come from one.
	rdb.FlushDB(t.Context())
	attempt := func(identifier, password, body string) proxyResp {
		t.Helper()
		r := proxyDo(t, app, http.MethodGet, "/kratos/self-service/login/api", nil)
		var f struct {
			ID string `json:"id"`
		}
		if r.status != http.StatusOK || json.Unmarshal(r.body, &f) != nil {
			t.Fatalf("start login: %d %s", r.status, r.body)
		}
		if body == "form" {
			return proxyForm(t, app, "/kratos/self-service/login?flow="+f.ID, "method=password&identifier="+identifier+"&password="+password)
		}
		return proxyDo(t, app, http.MethodPost, "/kratos/self-service/login?flow="+f.ID,
			map[string]string{"method": "password", "identifier": identifier, "password": password})
	}
	for i := 1; i <= 10; i++ {
		body := "json"
		if i%2 == 0 {
			body = "form"
		}
		if r := attempt(email, "wrong password "+strconv.Itoa(i), body); r.status != http.StatusBadRequest {
			t.Fatalf("wrong password %d (%s): %d %s", i, body, r.status, r.body)
		}
	}
	for _, c := range []struct{ what, identifier, password string }{
		{"the eleventh wrong password", email, "wrong again"},
		{"the right password", email, goodPassword},
		{"the same person in capitals", strings.ToUpper(email), goodPassword},
	} {
		r := attempt(c.identifier, c.password, "json")
		secs, _ := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != http.StatusTooManyRequests || secs < 14*60 || secs > 15*60 || !strings.Contains(string(r.body), `"code":"rate_limited"`) || !strings.Contains(string(r.body), "sign-in attempts") {
			t.Fatalf("%s: %d Retry-After %q %s, want 429 for about 15 minutes", c.what, r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	// Another person from the same address may still sign in...
	other, _, _ := signUp(t, p, "Other Person")
	if r := attempt(other, goodPassword, "json"); r.status != http.StatusOK {
		t.Fatalf("another identifier: %d %s", r.status, r.body)
	}
	// ...and a success clears that identifier's count: ten more tries remain.
	for i := 0; i < 3; i++ {
		attempt(other, "nope", "json")
	}
	if r := attempt(other, goodPassword, "json"); r.status != http.StatusOK {
		t.Fatalf("after a success and three failures: %d %s", r.status, r.body)
	}
	// The address as a whole is limited too (25 here, 100 by default).
	var last proxyResp
	for i := 0; i < 12; i++ {
		last = attempt(fmt.Sprintf("nobody%d@example.com", i), "x", "json")
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("many identifiers from one address: %d, want 429", last.status)
	}
}

func proxyForm(t *testing.T, app interface {
	Test(*http.Request, ...int) (*http.Response, error)
}, path, form string) proxyResp {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := app.Test(req, 30000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return proxyResp{resp.StatusCode, resp.Header, b}
}

// With Redis unreachable the sign-in limits still hold, counted in this
// process, and the answer does not wait on Redis.
func TestSignInLimitsHoldWithoutRedis(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer dead.Close()
	k := New(Options{PublicURL: "http://127.0.0.1:1", AdminURL: "http://127.0.0.1:1", Redis: dead,
		SignIn: SignInLimits{PerIdentifier: 3, PerAddress: 100, Window: time.Minute}})
	a := &signInAttempt{idKey: "clientele:signin:id:x", addrKey: "clientele:signin:addr:192.0.2.1"}
	for i := 0; i < 3; i++ {
		if err := k.admitSignIn(t.Context(), a); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
	}
	start := time.Now()
	err := k.admitSignIn(t.Context(), a)
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.RateLimited || e.RetryAfter <= 0 || e.RetryAfter > 60 {
		t.Fatalf("fourth attempt: %v, want 429 with Retry-After within the window", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the refusal took %s", took)
	}
	other := &signInAttempt{idKey: "clientele:signin:id:y", addrKey: a.addrKey}
	if err := k.admitSignIn(t.Context(), other); err != nil {
		t.Fatalf("another identifier was refused: %v", err)
	}
}
