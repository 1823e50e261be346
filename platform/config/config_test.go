package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mapLookup(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseDefaultsWorkWithNoSetup(t *testing.T) {
	c, err := Parse(mapLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.AdminAddr != ":9090" {
		t.Fatalf("addrs: %q %q", c.HTTPAddr, c.AdminAddr)
	}
	if !strings.Contains(c.AppDatabaseURL, "clientele_app:") {
		t.Fatalf("app url not derived from owner url: %s", c.AppDatabaseURL)
	}
	if !strings.HasPrefix(c.BlobURL, "file://") {
		t.Fatalf("blob url: %s", c.BlobURL)
	}
}

func TestParseReportsEveryBadValue(t *testing.T) {
	_, err := Parse(mapLookup(map[string]string{
		"CLIENTELE_ENV":             "staging",
		"CLIENTELE_DB_MAX_CONNS":    "lots",
		"CLIENTELE_REQUEST_TIMEOUT": "-1s",
		"CLIENTELE_REDIS_URL":       "http://x:1",
		"CLIENTELE_LOG_LEVEL":       "loud",
	}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, key := range []string{"CLIENTELE_ENV", "CLIENTELE_DB_MAX_CONNS", "CLIENTELE_REQUEST_TIMEOUT", "CLIENTELE_REDIS_URL", "CLIENTELE_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func TestProductionNeedsMasterKey(t *testing.T) {
	_, err := Parse(mapLookup(map[string]string{"CLIENTELE_ENV": "production"}))
	if err == nil || !strings.Contains(err.Error(), "CLIENTELE_MASTER_KEY") {
		t.Fatalf("got %v", err)
	}
}

func TestFileIsReadAndEnvironmentWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clientele.env")
	if err := os.WriteFile(path, []byte("# comment\nCLIENTELE_HTTP_ADDR=:7000\nCLIENTELE_REQUEST_TIMEOUT=\"5s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CLIENTELE_CONFIG", path)
	t.Setenv("CLIENTELE_HTTP_ADDR", ":7001")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":7001" || c.RequestTimeout != 5*time.Second {
		t.Fatalf("got %q %v", c.HTTPAddr, c.RequestTimeout)
	}
}

func TestRedactedHidesPasswords(t *testing.T) {
	c, _ := Parse(mapLookup(map[string]string{"CLIENTELE_APP_DATABASE_URL": "postgres://app:s3cret@db:5432/x"}))
	if strings.Contains(c.Redacted()["app_database"].(string), "s3cret") {
		t.Fatal("password leaked")
	}
}

func TestAppRoleFollowsTheAppURL(t *testing.T) {
	c, err := Parse(mapLookup(map[string]string{"CLIENTELE_APP_DATABASE_URL": "postgres://crm_app:pw1@db:5432/x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AppDBRole != "crm_app" || c.AppDBPassword != "pw1" {
		t.Fatalf("role %q password %q", c.AppDBRole, c.AppDBPassword)
	}
}

func TestWithDatabaseURLMovesADerivedAppURL(t *testing.T) {
	c, _ := Parse(mapLookup(nil))
	c = c.WithDatabaseURL("postgres://postgres@127.0.0.1:55432/clientele?sslmode=disable")
	if !strings.Contains(c.AppDatabaseURL, "127.0.0.1:55432") || !strings.Contains(c.AppDatabaseURL, "clientele_app:") {
		t.Fatalf("app url %s", c.AppDatabaseURL)
	}
	c2, _ := Parse(mapLookup(map[string]string{"CLIENTELE_APP_DATABASE_URL": "postgres://app:x@db:5432/c"}))
	if c2.WithDatabaseURL("postgres://o@other:1/c").AppDatabaseURL != "postgres://app:x@db:5432/c" {
		t.Fatal("an explicit app URL must not move")
	}
}

func TestTrustedProxiesAreAddressesOrRanges(t *testing.T) {
	c, err := Parse(mapLookup(map[string]string{"CLIENTELE_TRUSTED_PROXIES": " 10.0.0.0/8, 192.168.1.10 ,fd00::/8"}))
	if err != nil || strings.Join(c.TrustedProxies, "|") != "10.0.0.0/8|192.168.1.10|fd00::/8" {
		t.Fatalf("%v %v", c.TrustedProxies, err)
	}
	if _, err := Parse(mapLookup(map[string]string{"CLIENTELE_TRUSTED_PROXIES": "10.0.0.0/8,ingress"})); err == nil || !strings.Contains(err.Error(), `CLIENTELE_TRUSTED_PROXIES must be IP addresses or CIDR ranges separated by commas (10.0.0.0/8,192.168.1.10), got "ingress"`) {
		t.Fatalf("a name was accepted: %v", err)
	}
}

func TestProfilerListensOnLoopbackOnly(t *testing.T) {
	c, err := Parse(mapLookup(nil))
	if err != nil || c.PprofAddr != "127.0.0.1:6060" || c.WorkerPprofAddr != "127.0.0.1:6061" {
		t.Fatalf("defaults: %q %q %v", c.PprofAddr, c.WorkerPprofAddr, err)
	}
	c, err = Parse(mapLookup(map[string]string{"CLIENTELE_PPROF_ADDR": "off", "CLIENTELE_WORKER_PPROF_ADDR": "[::1]:7000"}))
	if err != nil || c.PprofAddr != "" || c.WorkerPprofAddr != "[::1]:7000" {
		t.Fatalf("off and ::1: %q %q %v", c.PprofAddr, c.WorkerPprofAddr, err)
	}
	for _, bad := range []string{":6060", "0.0.0.0:6060", "10.1.2.3:6060", "pprof.internal:6060"} {
		if _, err := Parse(mapLookup(map[string]string{"CLIENTELE_PPROF_ADDR": bad})); err == nil || !strings.Contains(err.Error(), "CLIENTELE_PPROF_ADDR must be a loopback address") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
