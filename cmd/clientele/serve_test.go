package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/identity/kratostest"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) {
	code := testkit.Main(m)
	kratostest.Stop()
	os.Exit(code)
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func testConfig(t testing.TB) config.Config {
	cfg := testkit.Get(t).Config
	cfg.HTTPAddr = freeAddr(t)
	cfg.AdminAddr = freeAddr(t)
	cfg.WorkerAdminAddr = freeAddr(t)
	cfg.PprofAddr, cfg.WorkerPprofAddr = freeAddr(t), freeAddr(t)
	cfg.ShutdownTimeout = 10 * time.Second
	p := kratostest.Shared(t, cfg.DatabaseURL)
	cfg.KratosPublicURL, cfg.KratosAdminURL = p.PublicURL(), p.AdminURL()
	return cfg
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, url string, status int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := get(t, url)
		if code == status {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %d %s, want %d", url, code, body, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The wired process serves, is ready, exposes the promised metrics, and on
// shutdown lets an in-flight request finish.
func TestServeIsReadyAndDrainsInFlightRequests(t *testing.T) {
	cfg := testConfig(t)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := openDeps(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := httpx.New(httpx.Options{Log: log, Metrics: d.metrics, Tenants: d.tenants, Enablement: d.enablement, Modules: d.modules})
	s.App.Get("/test/slow", func(c *fiber.Ctx) error {
		time.Sleep(1500 * time.Millisecond)
		return c.SendString("finished")
	})
	s.Finish(nil)
	w := buildWorker(d)
	done := make(chan error, 1)
	go func() { done <- serveUntilDone(ctx, d, s, w) }()

	admin := "http://" + cfg.AdminAddr
	body := waitFor(t, admin+"/readyz", 200)
	for _, c := range []string{`"database":"ok"`, `"redis":"ok"`, `"schema":"ok"`, `"identity":"ok"`} {
		if !strings.Contains(body, c) {
			t.Errorf("readyz lacks %s: %s", c, body)
		}
	}
	waitFor(t, admin+"/healthz", 200)
	_, _ = get(t, "http://"+cfg.HTTPAddr+"/api/v1/openapi.json")
	_, metrics := get(t, admin+"/metrics")
	for _, m := range []string{"clientele_http_requests_total", "go_sql_open_connections", "go_goroutines", "clientele_jobs_processed_total", "asynq_queue_size"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	problems, err := testutil.GatherAndLint(d.metrics.Reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// The profiler is on its loopback listener, not on the admin port.
	if code, _ := get(t, admin+"/debug/pprof/cmdline"); code != 404 {
		t.Errorf("pprof on the admin port: %d, want 404", code)
	}
	if code, _ := get(t, "http://"+cfg.PprofAddr+"/debug/pprof/cmdline"); code != 200 {
		t.Errorf("pprof on %s: %d", cfg.PprofAddr, code)
	}

	slow := make(chan string, 1)
	go func() {
		code, body := get(t, "http://"+cfg.HTTPAddr+"/test/slow")
		slow <- strings.TrimSpace(body) + ":" + http.StatusText(code)
	}()
	time.Sleep(300 * time.Millisecond)
	cancel() // SIGTERM
	if got := <-slow; got != "finished:OK" {
		t.Fatalf("in-flight request was cut off: %s", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if code, _ := get(t, "http://"+cfg.HTTPAddr+"/api/v1/openapi.json"); code != 0 {
		t.Fatalf("still serving after shutdown: %d", code)
	}
}
