package identity

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v2"

	"github.com/clientele-crm/clientele/platform/testkit"
)

func testSecrets() ([]string, []string) {
	return []string{"cookie-secret-0123456789"}, []string{"0123456789abcdef0123456789abcdef"}
}

func TestRenderKratosConfig(t *testing.T) {
	cookie, cipher := testSecrets()
	out, err := RenderKratosConfig(KratosConfig{
		DSN:               `postgres://u:p"w@h/db?x=1: y`,
		PublicBaseURL:     "http://localhost:8080/kratos/",
		UIURL:             "http://localhost:8080/",
		CookieSecrets:     cookie,
		CipherSecrets:     cipher,
		BcryptCost:        4,
		IdentitySchemaURL: "file:///tmp/identity.schema.json",
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("rendered YAML does not parse: %v\n%s", err, out)
	}
	get := func(path string) any {
		var v any = doc
		for _, k := range strings.Split(path, ".") {
			switch m := v.(type) {
			case map[string]any:
				v = m[k]
			case map[any]any:
				v = m[k]
			default:
				return nil
			}
		}
		return v
	}
	for path, want := range map[string]any{
		"dsn":                       `postgres://u:p"w@h/db?x=1: y`,
		"serve.public.base_url":     "http://localhost:8080/kratos/",
		"serve.public.host":         "127.0.0.1",
		"serve.admin.port":          4434,
		"hashers.bcrypt.cost":       4,
		"session.lifespan":          "24h",
		"log.level":                 "warning",
		"log.format":                "json",
		"log.leak_sensitive_values": false,
		"selfservice.methods.password.config.haveibeenpwned_enabled": false,
		"selfservice.methods.link.enabled":                           true,
		"selfservice.methods.code.enabled":                           true,
		"selfservice.flows.login.ui_url":                             "http://localhost:8080/login",
		"selfservice.flows.registration.ui_url":                      "http://localhost:8080/registration",
		"selfservice.flows.recovery.ui_url":                          "http://localhost:8080/recovery",
		"selfservice.flows.verification.ui_url":                      "http://localhost:8080/verification",
		"selfservice.flows.settings.ui_url":                          "http://localhost:8080/settings",
		"selfservice.flows.error.ui_url":                             "http://localhost:8080/error",
		"courier.smtp.connection_uri":                                "smtp://127.0.0.1:1025/?disable_starttls=true",
	} {
		if got := get(path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	hooks, _ := get("selfservice.flows.registration.after.password.hooks").([]any)
	if len(hooks) != 1 || hooks[0].(map[any]any)["hook"] != "session" {
		t.Errorf("registration hooks %#v", hooks)
	}
	if urls, _ := get("selfservice.allowed_return_urls").([]any); len(urls) != 1 || urls[0] != "http://localhost:8080" {
		t.Errorf("allowed_return_urls %#v", urls)
	}

	for name, c := range map[string]KratosConfig{
		"no secrets":   {IdentitySchemaURL: "file:///x"},
		"short cipher": {CookieSecrets: cookie, CipherSecrets: []string{"short"}, IdentitySchemaURL: "file:///x"},
		"no schema":    {CookieSecrets: cookie, CipherSecrets: cipher},
		"bad ui url":   {CookieSecrets: cookie, CipherSecrets: cipher, IdentitySchemaURL: "file:///x", UIURL: "localhost:8080"},
	} {
		if _, err := RenderKratosConfig(c); err == nil {
			t.Errorf("%s: rendered anyway", name)
		}
	}
	var schema map[string]any
	if err := json.Unmarshal(IdentitySchema(), &schema); err != nil {
		t.Fatalf("identity schema: %v", err)
	}
}

func TestSecretsAreKeptAcrossStarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k", "secrets.json")
	a, err := LoadOrCreateSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Cookie[0] != b.Cookie[0] || a.Cipher[0] != b.Cipher[0] || len(a.Cipher[0]) != 32 {
		t.Fatalf("secrets %+v then %+v", a, b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file mode %v", st.Mode().Perm())
	}
}

// fakeKratos writes a stand-in binary whose migrate and serve behave as given.
func fakeKratos(t *testing.T, migrate, serve string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kratos")
	script := "#!/bin/sh\ncase \"$1\" in\nmigrate) " + migrate + " ;;\nserve) " + serve + " ;;\nesac\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// A Kratos that dies or never answers fails Start quickly, quoting its log.
func TestStartFailuresQuoteTheLog(t *testing.T) {
	env := testkit.Get(t)
	for _, tc := range []struct {
		name, migrate, serve string
		want                 []string
	}{
		{"migrate fails", `echo "migration 20240101 failed: permission denied"; exit 1`, `exit 0`,
			[]string{"migrate sql failed", "permission denied"}},
		{"exits early", `exit 0`, `echo "could not bind 127.0.0.1: address in use"; exit 3`,
			[]string{"exited before it was ready", "address in use"}},
		{"never ready", `exit 0`, `echo "retrying database connection"; exec sleep 30`,
			[]string{"not ready within", "retrying database connection"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			_, err := StartKratos(context.Background(), StartOptions{
				Binary:       fakeKratos(t, tc.migrate, tc.serve),
				DatabaseURL:  env.Config.DatabaseURL,
				DataDir:      t.TempDir(),
				Dev:          true,
				ReadyTimeout: 1500 * time.Millisecond,
			})
			if err == nil {
				t.Fatal("started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if d := time.Since(t0); d > 15*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}
