package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/metrics"
)

func parkedInSoakTest(started *sync.WaitGroup, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	started.Done()
	<-stop
}

// The soak reads serve's and the worker's figures from their /metrics and
// their goroutine profile, names the goroutines that grew by the function
// that started them, and judges the goroutines that do not serve a client
// connection.
func TestSoakReadsAProcessThroughItsAdminPorts(t *testing.T) {
	reg := metrics.New()
	reg.CountOpenConnections(func() int { return 5 })
	admin := httptest.NewServer(reg.Handler())
	defer admin.Close()
	prof := httptest.NewServer(httpx.PprofHandler())
	defer prof.Close()

	stop := make(chan struct{})
	var wg, started sync.WaitGroup
	for range 7 {
		wg.Add(1)
		started.Add(1)
		go parkedInSoakTest(&started, stop, &wg)
	}
	started.Wait()
	p := &soakProc{name: "serve", admin: admin.URL, pprof: prof.URL}
	s, err := p.scrape(context.Background(), http.DefaultClient)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.groups["github.com/clientele-crm/clientele/cmd/clientele.parkedInSoakTest"]; got != 7 {
		t.Errorf("counted %d goroutines started in parkedInSoakTest, want 7 (groups: %v)", got, s.groups)
	}
	if s.rss <= 0 || s.heapInuse <= 0 || s.stacks <= 0 || s.goroutines < 7 || s.conns != 5 {
		t.Errorf("figures not read: %+v", s)
	}
	if _, err := parseProcMetrics("# HELP x\ngo_goroutines 3\n"); err == nil || !strings.Contains(err.Error(), "process_resident_memory_bytes") {
		t.Errorf("a scrape without RSS: %v", err)
	}

	// Connection goroutines are told apart, and the report names the
	// groups that grew.
	a := []soakWindow{{procs: []soakProcSample{{goroutines: 100, heapInuse: 10e6, groups: map[string]int{"x": 2, "github.com/valyala/fasthttp.(*workerPool).getCh.func1": 25, "database/sql.(*Tx).awaitDone": 5}}}}}
	b := []soakWindow{{procs: []soakProcSample{{goroutines: 175, heapInuse: 12e6, groups: map[string]int{"x": 2, "y": 5, "github.com/valyala/fasthttp.(*workerPool).getCh.func1": 100}}}}}
	fa, fb := soakProcAverage(a, 0), soakProcAverage(b, 0)
	if fa.own != 70 || fb.own != 75 {
		t.Errorf("goroutines not serving a connection: %v → %v, want 70 → 75", fa.own, fb.own)
	}
	var out bytes.Buffer
	printMemoryDrift(&out, "serve", a, b, 0)
	if s := out.String(); !strings.Contains(s, "heap in use 10.0 → 12.0 MB") || !strings.Contains(s, "goroutines in y: 0.0 → 5.0") {
		t.Errorf("the report reads:\n%s", s)
	}
}

// A window keeps its goroutine groups; their names must not hold the
// profile's text, or every window keeps a whole profile alive (the soak's
// heap grew by a third over 30 minutes that way).
func TestGoroutineGroupsDoNotKeepTheProfile(t *testing.T) {
	text := "goroutine profile: total 3\n2 @ 0x1 0x2\n#\t0x1\tnet/http.(*persistConn).writeLoop+0x10\t/x.go:1\n\n1 @ 0x3\n#\t0x3\tmain.run+0x5\t/y.go:2\n"
	lo := uintptr(unsafe.Pointer(unsafe.StringData(text)))
	hi := lo + uintptr(len(text))
	groups := parseGoroutineGroups(text)
	if groups["net/http.(*persistConn).writeLoop"] != 2 || groups["main.run"] != 1 || len(groups) != 2 {
		t.Fatalf("groups: %v", groups)
	}
	for name := range groups {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(name))); p >= lo && p < hi {
			t.Errorf("the name %q points into the profile's text", name)
		}
	}
}
