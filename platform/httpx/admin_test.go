package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/platform/health"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/metrics"
)

// The admin port, which Prometheus scrapes from other pods, serves metrics and
// probes but no profiler: pprof lives on a loopback listener of its own.
func TestAdminPortServesNoProfiler(t *testing.T) {
	admin := httpx.AdminHandler(metrics.New(), health.New(time.Second, time.Second))
	get := func(h http.Handler, path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	if code := get(admin, "/metrics"); code != 200 {
		t.Fatalf("/metrics on the admin port: %d", code)
	}
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
		if code := get(admin, p); code != 404 {
			t.Errorf("%s on the admin port: %d, want 404", p, code)
		}
	}
	if code := get(httpx.PprofHandler(), "/debug/pprof/cmdline"); code != 200 {
		t.Fatalf("pprof handler: %d", code)
	}
}
