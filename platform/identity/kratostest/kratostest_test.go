package kratostest_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/identity/kratostest"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) {
	code := testkit.Main(m)
	kratostest.Stop()
	os.Exit(code)
}

func kratosDBExists(t *testing.T, dbURL string) bool {
	t.Helper()
	u, _ := url.Parse(dbURL)
	name := strings.TrimPrefix(u.Path, "/") + "_kratos"
	u.Path = "/postgres"
	conn, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestSharedKratosSignsPeopleIn(t *testing.T) {
	dbURL := testkit.Get(t).Config.DatabaseURL
	p := kratostest.Shared(t, dbURL)
	if again := kratostest.Shared(t, dbURL); again != p {
		t.Fatal("a second Kratos was started")
	}
	ctx := context.Background()
	token, id, err := p.RegisterAPI(ctx, "shared-kratos@example.com", "a good password 1", "Sam Shared")
	if err != nil {
		t.Fatal(err)
	}
	k := identity.New(identity.Options{PublicURL: p.PublicURL(), AdminURL: p.AdminURL()})
	s, _, err := k.Whoami(ctx, token, "")
	if err != nil || s.Identity.ID != id {
		t.Fatalf("whoami: %+v %v", s, err)
	}
	if !kratosDBExists(t, dbURL) {
		t.Fatal("kratos database missing while running")
	}
	// Stop removes the database; Shared starts afresh afterwards.
	kratostest.Stop()
	if kratosDBExists(t, dbURL) {
		t.Fatal("Stop left the kratos database behind")
	}
	p2 := kratostest.Shared(t, dbURL)
	if _, err := p2.LoginAPI(ctx, "shared-kratos@example.com", "a good password 1"); err == nil {
		t.Fatal("a fresh Kratos knew the old person")
	}
}
