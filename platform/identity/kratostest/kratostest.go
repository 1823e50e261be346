// Package kratostest gives a test package one real Kratos, started on first use
// with its own database beside the package's test database, and removed again at
// the end:
//
//	func TestMain(m *testing.M) {
//		code := testkit.Main(m)
//		kratostest.Stop()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) {
//		p := kratostest.Shared(t, testkit.Get(t).Config.DatabaseURL)
//		token, id, err := p.RegisterAPI(ctx, "ann@example.com", "a good password 1", "Ann")
//		k := identity.New(identity.Options{PublicURL: p.PublicURL(), AdminURL: p.AdminURL()})
//		...
//	}
//
// The binary comes from identity.FindBinary ($CLIENTELE_KRATOS_BIN, or
// scripts/kratos.sh, which builds it once). When Kratos cannot be built or started
// the test fails with the reason; it is never skipped.
package kratostest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/platform/identity"
)

// UIURL is the app address the test Kratos sends browsers to.
const UIURL = "http://localhost:8080"

var (
	mu     sync.Mutex
	shared *env
)

type env struct {
	s   *identity.Scratch
	err error
}

// Shared returns the test binary's Kratos, starting it on first use. Its database
// is <name>_kratos on the server of databaseURL (created here, dropped by Stop).
func Shared(t testing.TB, databaseURL string) *identity.Process {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		shared = &env{}
		shared.s, shared.err = identity.StartScratch(ctx, databaseURL, UIURL, false)
		cancel()
	}
	if shared.err != nil {
		t.Fatalf("kratostest: %v", shared.err)
	}
	return shared.s.P
}

// Stop ends the shared Kratos, drops its database and removes its files. Call
// it from TestMain after the tests ran; it does nothing when none was started.
func Stop() {
	mu.Lock()
	e := shared
	shared = nil
	mu.Unlock()
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.s.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "kratostest:", err)
	}
}
