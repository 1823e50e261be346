package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A sign-out on one replica ends the session on every replica at once, whether
// it came through Kratos's own logout (seen by the /kratos proxy, API or
// browser) or through our logout, although each replica had it cached.
func TestSignOutReachesEveryReplicaAtOnce(t *testing.T) {
	p := startKratos(t)
	rdb := testkit.Get(t).Redis
	one, _ := newClient(t, p, Options{Redis: rdb})
	two, _ := newClient(t, p, Options{Redis: rdb})
	app := proxyApp(one)
	ctx := context.Background()
	cached := func(token, cookie string) {
		t.Helper()
		for _, k := range []*Kratos{one, two} {
			if _, _, err := k.Whoami(ctx, token, cookie); err != nil {
				t.Fatalf("whoami before sign-out: %v", err)
			}
		}
	}
	ended := func(how, token, cookie string) {
		t.Helper()
		_, _, err := two.Whoami(ctx, token, cookie)
		if !errs.Is(err, errs.Unauthenticated) {
			t.Fatalf("after %s on replica one, replica two still takes the session (%v)", how, err)
		}
	}

	_, token, _ := signUp(t, p, "Api Leaver")
	cached(token, "")
	if r := proxyDo(t, app, http.MethodDelete, "/kratos/self-service/logout/api", map[string]string{"session_token": token}); r.status != http.StatusNoContent {
		t.Fatalf("API logout through the proxy: %d %s", r.status, r.body)
	}
	ended("Kratos's API logout", token, "")

	email, _, _ := signUp(t, p, "Browser Leaver")
	cookie := browserLogin(t, p, email, goodPassword)
	cached("", cookie)
	r := proxyDo(t, app, http.MethodGet, "/kratos/self-service/logout/browser", nil, "Cookie", cookie, "Accept", "application/json")
	var lo struct {
		URL string `json:"logout_url"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &lo) != nil {
		t.Fatalf("browser logout URL: %d %s", r.status, r.body)
	}
	u, _ := url.Parse(lo.URL)
	if r := proxyDo(t, app, http.MethodGet, "/kratos/self-service/logout?"+u.RawQuery, nil, "Cookie", cookie, "Accept", "application/json"); r.status >= 400 {
		t.Fatalf("browser logout through the proxy: %d %s", r.status, r.body)
	}
	ended("Kratos's browser logout", "", cookie)

	_, token, _ = signUp(t, p, "Our Leaver")
	cached(token, "")
	if err := one.Logout(ctx, token, ""); err != nil {
		t.Fatal(err)
	}
	ended("our logout", token, "")
}
