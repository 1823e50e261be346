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
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clientele-crm/clientele/platform/identity"
)

// UIURL is the app address the test Kratos sends browsers to.
const UIURL = "http://localhost:8080"

var (
	mu     sync.Mutex
	shared *env
)

type env struct {
	p     *identity.Process
	dbURL string
	dir   string
	err   error
}

// Shared returns the test binary's Kratos, starting it on first use. Its database
// is <name>_kratos on the server of databaseURL (created here, dropped by Stop).
func Shared(t testing.TB, databaseURL string) *identity.Process {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		shared = start(databaseURL)
	}
	if shared.err != nil {
		t.Fatalf("kratostest: %v", shared.err)
	}
	return shared.p
}

func start(databaseURL string) *env {
	e := &env{}
	u, err := url.Parse(databaseURL)
	if err != nil || strings.TrimPrefix(u.Path, "/") == "" {
		e.err = fmt.Errorf("database URL names no database")
		return e
	}
	u.Path += "_kratos"
	e.dbURL = u.String()
	if e.dir, e.err = os.MkdirTemp("", "clientele-kratos-"); e.err != nil {
		return e
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := identity.FindBinary(ctx)
	if err != nil {
		e.err = fmt.Errorf("the Kratos binary could not be found or built: %w", err)
		return e
	}
	e.p, e.err = identity.StartKratos(ctx, identity.StartOptions{
		Binary:      bin,
		DatabaseURL: e.dbURL,
		DataDir:     e.dir,
		UIURL:       UIURL,
		Dev:         true,
	})
	return e
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
	if e.p != nil {
		if err := e.p.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "kratostest: stop kratos:", err)
		}
	}
	if e.dbURL != "" {
		if err := dropDatabase(ctx, e.dbURL); err != nil {
			fmt.Fprintln(os.Stderr, "kratostest: drop kratos database:", err)
		}
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

func dropDatabase(ctx context.Context, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}
