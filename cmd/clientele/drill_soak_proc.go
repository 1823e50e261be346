package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clientele-crm/clientele/platform/devstack"
)

// soakProc is a `serve` or `worker` process the soak runs and measures, as
// an operator runs them: each its own process, read through its admin port
// (/metrics) and its loopback pprof. The drill's own client stays out of
// the figures.
type soakProc struct {
	name  string
	admin string // http://127.0.0.1:port
	pprof string // http://127.0.0.1:port
	cmd   *exec.Cmd
}

// soakProcSample is what one scrape of a process read.
type soakProcSample struct {
	rss, heapInuse, heapKept, stacks int64
	goroutines                       int
	conns                            int // open client connections (serve)
	groups                           map[string]int
}

// startSoakProcs starts serve (its API on apiPort, its pprof on pprofAddr
// or a free loopback port) and one worker, and waits until both are ready.
func (dr *drill) startSoakProcs(ctx context.Context, apiPort int, pprofAddr string) (serve, worker *soakProc, err error) {
	port := func() (string, error) {
		p, err := devstack.FreePort()
		return fmt.Sprintf("127.0.0.1:%d", p), err
	}
	start := func(name, command, adminVar, pprofVar, pprof string, extra ...string) (*soakProc, error) {
		admin, err := port()
		if err != nil {
			return nil, err
		}
		if pprof == "" {
			if pprof, err = port(); err != nil {
				return nil, err
			}
		}
		env := append([]string{adminVar + "=" + admin, pprofVar + "=" + pprof}, extra...)
		cmd, err := dr.appProcess(name, command, env...)
		if err != nil {
			return nil, err
		}
		p := &soakProc{name: name, admin: "http://" + admin, pprof: "http://" + pprof, cmd: cmd}
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if st, _, err := soakGet(ctx, dr.hc, p.admin+"/readyz"); err == nil && st == 200 {
				return p, nil
			}
			if time.Now().After(deadline) {
				p.stop()
				return nil, fmt.Errorf("drill soak: %s was not ready within 60 s (see %s.log)", name, name)
			}
		}
	}
	if worker, err = start("worker", "worker", "CLIENTELE_WORKER_ADMIN_ADDR", "CLIENTELE_WORKER_PPROF_ADDR", ""); err != nil {
		return nil, nil, err
	}
	if serve, err = start("serve", "serve", "CLIENTELE_ADMIN_ADDR", "CLIENTELE_PPROF_ADDR", pprofAddr,
		fmt.Sprintf("CLIENTELE_HTTP_ADDR=127.0.0.1:%d", apiPort)); err != nil {
		worker.stop()
		return nil, nil, err
	}
	return serve, worker, nil
}

// stop ends the process: SIGTERM, then SIGKILL after ten seconds.
func (p *soakProc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if p.cmd.Process.Signal(syscall.Signal(0)) != nil {
			return
		}
	}
	_ = p.cmd.Process.Kill()
}

// scrape reads the process's memory and goroutines from its /metrics, and
// its goroutines by the function that started them from its pprof.
func (p *soakProc) scrape(ctx context.Context, hc *http.Client) (soakProcSample, error) {
	st, body, err := soakGet(ctx, hc, p.admin+"/metrics")
	if err != nil || st != 200 {
		return soakProcSample{}, fmt.Errorf("drill soak: %s /metrics: %d %v", p.name, st, err)
	}
	s, err := parseProcMetrics(string(body))
	if err != nil {
		return s, fmt.Errorf("drill soak: %s /metrics: %w", p.name, err)
	}
	st, body, err = soakGet(ctx, hc, p.pprof+"/debug/pprof/goroutine?debug=1")
	if err != nil || st != 200 {
		return s, fmt.Errorf("drill soak: %s goroutine profile: %d %v", p.name, st, err)
	}
	s.groups = parseGoroutineGroups(string(body))
	return s, nil
}

// saveHeap writes the process's heap profile (after a collection) to the
// drill's directory, for `go tool pprof -diff_base`.
func (p *soakProc) saveHeap(ctx context.Context, hc *http.Client, dir, label string) (string, error) {
	st, body, err := soakGet(ctx, hc, p.pprof+"/debug/pprof/heap?gc=1")
	if err != nil || st != 200 {
		return "", fmt.Errorf("drill soak: %s heap profile: %d %v", p.name, st, err)
	}
	path := filepath.Join(dir, p.name+"-heap-"+label+".pb.gz")
	return path, os.WriteFile(path, body, 0o600)
}

func soakGet(ctx context.Context, hc *http.Client, url string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, b, err
}

// parseProcMetrics reads the figures the soak judges from a Prometheus text
// exposition: RSS, goroutines, the Go heap and stacks, open connections.
func parseProcMetrics(text string) (soakProcSample, error) {
	var s soakProcSample
	var idle, released int64
	need := map[string]bool{"process_resident_memory_bytes": false, "go_goroutines": false}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		if _, ok := need[name]; ok {
			need[name] = true
		}
		switch name {
		case "process_resident_memory_bytes":
			s.rss = int64(f)
		case "go_goroutines":
			s.goroutines = int(f)
		case "go_memstats_heap_inuse_bytes":
			s.heapInuse = int64(f)
		case "go_memstats_heap_idle_bytes":
			idle = int64(f)
		case "go_memstats_heap_released_bytes":
			released = int64(f)
		case "go_memstats_stack_inuse_bytes":
			s.stacks = int64(f)
		case "clientele_http_open_connections":
			s.conns = int(f)
		}
	}
	for name, seen := range need {
		if !seen {
			return s, fmt.Errorf("no %s", name)
		}
	}
	s.heapKept = idle - released
	return s, sc.Err()
}

// connectionGoroutines counts the goroutines that serve work in flight:
// fasthttp's workers, one per open client connection and, for a few seconds
// after it closes, an idle one; and database/sql's watcher of each open
// transaction, one per request or job inside one. Their number follows the
// connections the clients hold and the work in flight at the moment, not
// the time the process has run.
func connectionGoroutines(groups map[string]int) int {
	n := 0
	for fn, c := range groups {
		if strings.HasPrefix(fn, "github.com/valyala/fasthttp.(*workerPool)") || fn == "database/sql.(*Tx).awaitDone" {
			n += c
		}
	}
	return n
}
