package identity

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// With Kratos frozen, a session the cache holds keeps working at once; a new
// one gets a 503 naming identity within the deadline, and once the breaker is
// open at once, through the API and through the sign-in proxy alike; the probe
// closes the breaker when Kratos answers again. The frozen Kratos is a second
// process of this test's own, on the package's Kratos database.
func TestFrozenKratosFailsFastAndClearly(t *testing.T) {
	shared := startKratos(t)
	ctx := context.Background()
	bin, err := FindBinary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := StartKratos(ctx, StartOptions{Binary: bin, DatabaseURL: kratos.dbURL, DataDir: dir, UIURL: "http://localhost:8080", Dev: true,
		MailDir: filepath.Join(dir, "mail")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	_, cached, _ := signUp(t, shared, "Cached Person")
	_, fresh, _ := signUp(t, shared, "Fresh Person")

	const timeout = time.Second
	var k *Kratos
	b := breaker.New(breaker.Options{Name: errs.DependencyIdentity, Failures: 2, OpenFor: 200 * time.Millisecond,
		Probe: func(ctx context.Context) error { return k.Ready(ctx) }, ProbeTimeout: timeout})
	k, _ = newClient(t, p, Options{Timeout: timeout, Breaker: b})
	if _, _, err := k.Whoami(ctx, cached, ""); err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		e := errs.From(err)
		if e.RetryAfter > 0 {
			c.Set("Retry-After", "1")
		}
		return c.Status(e.Status).JSON(e)
	}})
	app.All("/kratos/*", k.ProxyHandler())

	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Resume() }()

	start := time.Now()
	if _, _, err := k.Whoami(ctx, cached, ""); err != nil || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("a cached session with Kratos frozen: %v after %s", err, time.Since(start))
	}
	for i := 0; i < 2; i++ {
		start := time.Now()
		_, _, err := k.Whoami(ctx, fresh, "")
		took := time.Since(start)
		e := errs.From(err)
		if e.Status != 503 || e.Dependency != errs.DependencyIdentity || e.RetryAfter <= 0 {
			t.Fatalf("a new session with Kratos frozen: %v, want 503 naming identity with Retry-After", err)
		}
		if took > timeout+500*time.Millisecond {
			t.Fatalf("the 503 took %s; the deadline is %s", took, timeout)
		}
	}
	if b.State() != breaker.Open {
		t.Fatalf("breaker %s after two timeouts, want open", b.State())
	}
	start = time.Now()
	_, _, err = k.Whoami(ctx, fresh, "")
	var oe *breaker.OpenError
	if !errors.As(err, &oe) || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("with the breaker open: %v after %s, want an immediate refusal", err, time.Since(start))
	}
	start = time.Now()
	resp, err := app.Test(httptest.NewRequest("GET", "/kratos/self-service/login/api", nil), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("sign-in through the proxy: %d (Retry-After %q) after %s, want an immediate 503", resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start))
	}

	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, 20*time.Millisecond, "the probe did not close the breaker within 10 s of Kratos resuming",
		func() bool { return b.State() == breaker.Closed })
	if _, _, err := k.Whoami(ctx, fresh, ""); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}
