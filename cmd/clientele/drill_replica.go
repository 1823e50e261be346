package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/devstack"
)

// The replica-kill drill (issue 23, drill 4): two `clientele serve` processes
// on loopback share the stack, and clients spread their requests over both.
// One replica is killed with SIGKILL while requests are in flight, and
// started again a few seconds later. Clients retry on the other replica as a
// load balancer's health check would send them: reads as they are, creates
// with the Idempotency-Key they first sent. The bars: no client sees an
// error, and nothing is applied twice (one customer per logical create).

func runReplicaDrill(ctx context.Context, cfg config.Config, out io.Writer, keep bool) (err error) {
	dir, err := os.MkdirTemp("", "clientele-drill-")
	if err != nil {
		return err
	}
	dr := &drill{fault: "kill-replica", out: out, dir: dir, acked: map[string]bool{}, readyz: map[string]int{},
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	defer func() {
		dr.stop()
		if keep || err != nil {
			fmt.Fprintf(out, "drill kill-replica: logs kept in %s\n", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	t0 := time.Now()
	if err := dr.start(ctx, cfg); err != nil {
		return fmt.Errorf("drill kill-replica: setting up the private stack: %w", err)
	}
	fmt.Fprintf(out, "drill kill-replica: private stack up in %.1f s\n", time.Since(t0).Seconds())
	return dr.killReplica(ctx)
}

func (dr *drill) killReplica(ctx context.Context) error {
	var bases [2]string
	var procs [2]interface{ Signal(os.Signal) error }
	start := func(i int, port int) error {
		adminPort, err := devstack.FreePort()
		if err != nil {
			return err
		}
		cmd, err := dr.appProcess(fmt.Sprintf("replica-%d-%d", i, time.Now().UnixNano()), "serve",
			fmt.Sprintf("CLIENTELE_HTTP_ADDR=127.0.0.1:%d", port), fmt.Sprintf("CLIENTELE_ADMIN_ADDR=127.0.0.1:%d", adminPort))
		if err != nil {
			return err
		}
		procs[i] = cmd.Process
		bases[i] = fmt.Sprintf("http://127.0.0.1:%d", port)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if resp, err := dr.hc.Get(bases[i] + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return nil
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("replica %d did not come up", i)
			}
		}
	}
	var ports [2]int
	for i := range ports {
		p, err := devstack.FreePort()
		if err != nil {
			return err
		}
		ports[i] = p
		if err := start(i, p); err != nil {
			return err
		}
	}
	defer func() {
		for _, p := range procs {
			if p != nil {
				_ = p.Signal(syscall.SIGKILL)
			}
		}
	}()
	t := "/api/v1/t/" + dr.slug

	// Clients: each logical request goes to one replica; on no answer or a
	// 502/503 it goes to the other, up to 20 tries, 100 ms apart.
	type result struct {
		creates, reads, retries, failed int
		worst                           time.Duration
		fails                           []string
	}
	var mu sync.Mutex
	var total result
	acked := map[string]string{} // idempotency key -> customer id
	do := func(i int, method, path, body, key string) (int, []byte, int) {
		tries := 0
		for {
			base := bases[(i+tries)%2]
			req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
			if body != "" {
				req, _ = http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("X-Session-Token", dr.token)
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			resp, err := dr.hc.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 502 && resp.StatusCode != 503 {
					return resp.StatusCode, b, tries
				}
			}
			tries++
			if tries >= 20 {
				return 0, nil, tries
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	const clients = 6
	const runFor = 20 * time.Second
	stop := time.Now().Add(runFor)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			var r result
			for n := 0; time.Now().Before(stop); n++ {
				began := time.Now()
				if n%2 == 0 {
					key := uuid.NewString()
					st, b, tries := do(c+n, "POST", t+"/customers", fmt.Sprintf(`{"name":"Replica %s","tags":["replica-drill"]}`, key), key)
					r.creates++
					r.retries += tries
					var v struct {
						ID string `json:"id"`
					}
					if st != 201 || json.Unmarshal(b, &v) != nil {
						r.failed++
						r.fails = append(r.fails, fmt.Sprintf("create: %d %.200s", st, b))
					} else {
						mu.Lock()
						acked[key] = v.ID
						mu.Unlock()
					}
				} else {
					st, b, tries := do(c+n, "GET", t+"/customers?limit=5&tag=replica-drill", "", "")
					r.reads++
					r.retries += tries
					if st != 200 {
						r.failed++
						r.fails = append(r.fails, fmt.Sprintf("read: %d %.200s", st, b))
					}
				}
				r.worst = max(r.worst, time.Since(began))
			}
			mu.Lock()
			total.creates += r.creates
			total.reads += r.reads
			total.retries += r.retries
			total.failed += r.failed
			total.worst = max(total.worst, r.worst)
			total.fails = append(total.fails, r.fails...)
			mu.Unlock()
		}(c)
	}
	// The fault: replica 0 killed mid-flight at 6 s, back at 12 s.
	time.Sleep(6 * time.Second)
	killedAt := time.Now()
	if err := procs[0].Signal(syscall.SIGKILL); err != nil {
		return err
	}
	time.Sleep(6 * time.Second)
	if err := start(0, ports[0]); err != nil {
		return fmt.Errorf("restart replica 0: %w", err)
	}
	back := time.Since(killedAt)
	wg.Wait()

	// Nothing applied twice: one customer per logical create, and every
	// acknowledged one there.
	owner, err := pgx.Connect(ctx, dr.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer owner.Close(context.WithoutCancel(ctx))
	rows, err := owner.Query(ctx, "SELECT name, count(*) FROM customers WHERE name LIKE 'Replica %' GROUP BY name HAVING count(*) > 1")
	if err != nil {
		return err
	}
	var doubled []string
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return err
		}
		doubled = append(doubled, fmt.Sprintf("%s ×%d", name, n))
	}
	rows.Close()
	var stored int
	if err := owner.QueryRow(ctx, "SELECT count(DISTINCT name) FROM customers WHERE name LIKE 'Replica %'").Scan(&stored); err != nil {
		return err
	}
	missing := 0
	for key, id := range acked {
		var ok bool
		if err := owner.QueryRow(ctx, "SELECT true FROM customers WHERE id = $1 AND name = $2", id, "Replica "+key).Scan(&ok); err != nil {
			missing++
		}
	}
	fmt.Fprintf(dr.out, "drill kill-replica: %d clients for %s over two replicas; replica 0 killed at 6 s, serving again %.1f s later\n", clients, runFor, back.Seconds())
	fmt.Fprintf(dr.out, "drill kill-replica: %d creates and %d reads, %d retries on the other replica, %d failed; slowest logical request %d ms\n",
		total.creates, total.reads, total.retries, total.failed, total.worst.Milliseconds())
	fmt.Fprintf(dr.out, "drill kill-replica: %d acknowledged creates, %d distinct customers stored, %d applied twice, %d acknowledged but missing\n",
		len(acked), stored, len(doubled), missing)
	var failures []string
	if total.failed > 0 {
		sort.Strings(total.fails)
		failures = append(failures, fmt.Sprintf("%d requests failed after retries, e.g. %v", total.failed, total.fails[:min(3, len(total.fails))]))
	}
	if len(doubled) > 0 {
		failures = append(failures, fmt.Sprintf("applied twice: %v", doubled[:min(5, len(doubled))]))
	}
	if missing > 0 {
		failures = append(failures, fmt.Sprintf("%d acknowledged creates missing", missing))
	}
	if total.retries == 0 {
		failures = append(failures, "no request was retried: the kill hit nothing in flight")
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintf(dr.out, "drill kill-replica: FAIL %s\n", f)
		}
		return fmt.Errorf("drill kill-replica: %d checks failed", len(failures))
	}
	fmt.Fprintln(dr.out, "drill kill-replica: passed: no client saw an error, nothing was applied twice")
	return nil
}
