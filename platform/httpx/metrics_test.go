package httpx_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clientele-crm/clientele/platform/testkit"
)

// Fiber's strings borrow the request buffers it reuses: a label kept uncopied
// changes under Prometheus, two series collide, and every scrape fails from then
// on. Thousands of concurrent requests over keep-alive connections, with methods,
// paths, statuses and tenants that differ from one request to the next, must leave
// a registry that gathers, lints clean and holds only label values that were sent.
func TestMetricsSurviveConcurrentTraffic(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	tenants := []string{env.NewTenant(t).Slug, env.NewTenant(t).Slug, env.NewTenant(t).Slug}
	var ids []string
	for _, slug := range tenants {
		_, body := h.do(t, "POST", "/api/v1/t/"+slug+"/widgets", `{"name":"w","size":1}`, nil)
		id := regexp.MustCompile(`"id":"([0-9a-f-]{36})"`).FindStringSubmatch(body)
		if id == nil {
			t.Fatalf("create: %s", body)
		}
		ids = append(ids, id[1])
	}

	type call struct{ method, path, body string }
	calls := func(i int) call {
		slug := tenants[i%len(tenants)]
		base := "/api/v1/t/" + slug
		switch i % 13 {
		case 0:
			return call{"GET", base + "/widgets/" + ids[i%len(ids)], ""} // 200, or 404 across tenants
		case 1:
			return call{"POST", base + "/widgets", `{"name":"n","size":2}`}
		case 2:
			return call{"POST", base + "/widgets", `{"name":"","size":-1}`} // 422
		case 3:
			return call{"GET", base + "/widgets/" + uuid.NewString(), ""} // 404
		case 4:
			return call{"DELETE", base + "/widgets/" + ids[0], ""}
		case 5:
			return call{"PUT", base + "/widgets/" + ids[0], `{}`}
		case 6:
			return call{"PATCH", "/api/v1/nope/" + uuid.NewString(), `{}`}
		case 7:
			return call{"PURGE", "/api/v1/t/" + slug + "/widgets", ""} // a method Fiber does not know
		case 8:
			return call{"HEAD", "/api/v1/openapi.json", ""}
		case 9:
			return call{"OPTIONS", base + "/widgets", ""}
		case 10:
			return call{"GET", "/some/random/" + uuid.NewString(), ""}
		case 11:
			return call{"GET", base + "/widgets-fail", ""} // 500
		default:
			return call{"BREW", "/api/v1/t/no-such-co/widgets", ""}
		}
	}

	const total, workers = 4000, 16
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				c := calls(i)
				req, _ := http.NewRequest(c.method, h.base+c.path, strings.NewReader(c.body))
				if c.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	// Scrapes while the traffic runs must answer too.
	stop := make(chan struct{})
	scrapeErrs := make(chan string, 100)
	var sw sync.WaitGroup
	sw.Add(1)
	go func() {
		defer sw.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if code, body := scrape(h); code != 200 {
				select {
				case scrapeErrs <- fmt.Sprintf("%d %.300s", code, body):
				default:
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	sw.Wait()
	close(scrapeErrs)
	for e := range scrapeErrs {
		t.Errorf("scrape during traffic: %s", e)
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("%d requests failed to complete", n)
	}

	for i := 0; i < 5; i++ {
		code, body := scrape(h)
		if code != 200 {
			t.Fatalf("scrape %d after traffic: %d %.500s", i, code, body)
		}
		checkExposition(t, body)
	}
	problems, err := testutil.GatherAndLint(h.reg.Reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if got := testutil.CollectAndCount(h.reg.HTTPRequests); got < 10 {
		t.Errorf("only %d request series after varied traffic", got)
	}
}

func scrape(h *harness) (int, string) {
	rec := httptest.NewRecorder()
	h.reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Code, rec.Body.String()
}

var (
	methodLabel = regexp.MustCompile(`method="([^"]*)"`)
	routeLabel  = regexp.MustCompile(`route="([^"]*)"`)
	knownRoute  = regexp.MustCompile(`^(unmatched|/[A-Za-z0-9/:._-]*)$`)
)

// checkExposition finds duplicate series and label values no request sent.
func checkExposition(t *testing.T, body string) {
	t.Helper()
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series := line[:strings.LastIndexByte(line, ' ')]
		if seen[series] {
			t.Errorf("duplicate series %s", series)
		}
		seen[series] = true
		if !strings.HasPrefix(series, "clientele_http_") {
			continue
		}
		if m := methodLabel.FindStringSubmatch(series); m != nil {
			switch m[1] {
			case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other":
			default:
				t.Errorf("method label %q was never sent: %s", m[1], series)
			}
		}
		if m := routeLabel.FindStringSubmatch(series); m != nil && !knownRoute.MatchString(m[1]) {
			t.Errorf("route label %q is not a template: %s", m[1], series)
		}
	}
}

// kept holds what the keep-word operation was given, as the handler received it
// (raw) and as copied on the spot (words).
var kept struct {
	sync.Mutex
	words []string
	raw   [][3]string
}

// Strings Huma parses into an operation's input (path, query and header
// parameters) stay what they were after the request: a handler may keep them.
func TestHumaParametersAreNotBorrowed(t *testing.T) {
	env := testkit.Get(t)
	h := setup(t)
	slug := env.NewTenant(t).Slug
	kept.Lock()
	kept.words, kept.raw = nil, nil
	kept.Unlock()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	for i := 0; i < 200; i++ {
		w := fmt.Sprintf("w%03d-%s", i, strings.Repeat("x", i%7))
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/t/%s/keep/%s?note=n%d", h.base, slug, w, i*7), nil)
		req.Header.Set("X-Tag", fmt.Sprintf("tag-%d", i*13))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Fatalf("keep: %d", resp.StatusCode)
		}
	}
	kept.Lock()
	defer kept.Unlock()
	if len(kept.raw) != 200 {
		t.Fatalf("%d calls kept", len(kept.raw))
	}
	changed := 0
	for i, r := range kept.raw {
		if got := r[0] + "|" + r[1] + "|" + r[2]; got != kept.words[i] {
			changed++
			if changed <= 3 {
				t.Errorf("call %d: kept %q, now reads %q", i, kept.words[i], got)
			}
		}
	}
	if changed > 0 {
		t.Errorf("%d of 200 kept parameters changed after their request", changed)
	}
}

// The open connections are exported, idle keep-alive ones included, so that
// a goroutine count can be read beside the connections that explain it.
func TestMetricsCountOpenConnections(t *testing.T) {
	h := setup(t)
	open := func() float64 {
		mfs, err := h.reg.Reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "clientele_http_open_connections" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("clientele_http_open_connections is not exported")
		return 0
	}
	before := open()
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", strings.TrimPrefix(h.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := open(); got != before+3 {
		t.Fatalf("open connections %v with 3 idle keep-alive ones open, %v before", got, before)
	}
	for _, c := range conns {
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for open() != before {
		if time.Now().After(deadline) {
			t.Fatalf("open connections %v after the 3 closed, %v before", open(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
