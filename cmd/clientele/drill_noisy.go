package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/config"
)

// runNoisyDrill is `clientele drill noisy`: one company bursts far past its
// rate limit while quiet companies go about their work, on the private stack.
// The noisy company must get 429 with Retry-After, the quiet ones no error,
// and their median latency must move by at most 25%. Medians and p99s are
// reported over several runs, since one run's p99 is noise on a small machine.
func runNoisyDrill(ctx context.Context, cfg config.Config, args []string) (err error) {
	fs := flag.NewFlagSet("drill noisy", flag.ContinueOnError)
	runs := fs.Int("runs", 5, "runs, each a quiet phase then a burst")
	quiet := fs.Int("quiet", 3, "quiet companies, one client each")
	burst := fs.Int("burst", 32, "concurrent clients of the noisy company")
	phase := fs.Duration("phase", 6*time.Second, "length of each phase")
	limit := fs.Int("limit", 1200, "the per-company rate limit, requests a minute (each quiet client sends about 570)")
	keep := fs.Bool("keep", false, "keep the drill's directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "clientele-drill-noisy-")
	if err != nil {
		return err
	}
	dr := &drill{fault: "noisy", out: os.Stdout, dir: dir, acked: map[string]bool{}, readyz: map[string]int{}, ratePerTenant: *limit,
		hc: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
	defer func() {
		dr.stop()
		if *keep || err != nil {
			fmt.Fprintf(dr.out, "drill noisy: logs kept in %s\n", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	if err := dr.start(ctx, cfg); err != nil {
		return fmt.Errorf("drill noisy: setting up the private stack: %w", err)
	}
	// The drill's own company is the noisy one; the quiet ones get customers
	// to list, as it does.
	slugs := []string{dr.slug}
	for i := 0; i < *quiet; i++ {
		s := fmt.Sprintf("quiet-%d-%s", i, uuid.NewString()[:8])
		if st, body := dr.call(ctx, "POST", "/api/v1/tenants", dr.token, fmt.Sprintf(`{"name":"Quiet %d","slug":%q}`, i, s)); st != 201 {
			return fmt.Errorf("drill noisy: a quiet company: %d %s", st, body)
		}
		slugs = append(slugs, s)
	}
	for _, s := range slugs {
		var b strings.Builder
		b.WriteString(`{"records":[`)
		for j := 0; j < 200; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"name":"Customer %d","emails":["c%d@%s.example"],"tags":["t%d"]}`, j, j, s, j%5)
		}
		b.WriteString(`]}`)
		if st, body := dr.call(ctx, "POST", "/api/v1/t/"+s+"/customers/batch", dr.token, b.String()); st != 200 {
			return fmt.Errorf("drill noisy: customers of %s: %d %.200s", s, st, body)
		}
	}
	path := func(s string) string { return "/api/v1/t/" + s + "/customers?limit=20&sort=-created_at" }

	type result struct{ baseP50, baseP99, burstP50, burstP99 time.Duration }
	var results []result
	var quietErrors, noisyOK, noisy429, noRetryAfter atomic.Int64
	for run := 1; run <= *runs; run++ {
		var mu sync.Mutex
		var base, during []time.Duration
		bursting := atomic.Bool{}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, s := range slugs[1:] {
			wg.Add(1)
			go func(s string) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					t := time.Now()
					st, _ := dr.call(ctx, "GET", path(s), dr.token, "")
					d := time.Since(t)
					if st != 200 {
						quietErrors.Add(1)
					}
					mu.Lock()
					if bursting.Load() {
						during = append(during, d)
					} else {
						base = append(base, d)
					}
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
				}
			}(s)
		}
		time.Sleep(*phase)
		bursting.Store(true)
		burstStop := make(chan struct{})
		var bw sync.WaitGroup
		for i := 0; i < *burst; i++ {
			bw.Add(1)
			go func() {
				defer bw.Done()
				for {
					select {
					case <-burstStop:
						return
					default:
					}
					req, _ := http.NewRequestWithContext(ctx, "GET", dr.base+path(dr.slug), nil)
					req.Header.Set("X-Session-Token", dr.token)
					resp, err := dr.hc.Do(req)
					if err != nil {
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case 200:
						noisyOK.Add(1)
					case 429:
						noisy429.Add(1)
						if resp.Header.Get("Retry-After") == "" {
							noRetryAfter.Add(1)
						}
					}
				}
			}()
		}
		time.Sleep(*phase)
		close(burstStop)
		bw.Wait()
		close(stop)
		wg.Wait()
		r := result{quantile(base, 0.5), quantile(base, 0.99), quantile(during, 0.5), quantile(during, 0.99)}
		results = append(results, r)
		fmt.Fprintf(dr.out, "drill noisy: run %d: quiet companies p50 %s → %s, p99 %s → %s while one company bursts (%d requests before, %d during)\n",
			run, ms(r.baseP50), ms(r.burstP50), ms(r.baseP99), ms(r.burstP99), len(base), len(during))
	}
	med := func(f func(result) time.Duration) time.Duration {
		v := make([]time.Duration, len(results))
		for i, r := range results {
			v[i] = f(r)
		}
		return quantile(v, 0.5)
	}
	b50, u50 := med(func(r result) time.Duration { return r.baseP50 }), med(func(r result) time.Duration { return r.burstP50 })
	b99, u99 := med(func(r result) time.Duration { return r.baseP99 }), med(func(r result) time.Duration { return r.burstP99 })
	moved := float64(u50)/float64(b50) - 1
	fmt.Fprintf(dr.out, "drill noisy: over %d runs: the quiet companies' median p50 %s → %s (%+.0f%%), median p99 %s → %s; the noisy company got %d answers 200 and %d answers 429 (%d without Retry-After); quiet errors %d\n",
		len(results), ms(b50), ms(u50), 100*moved, ms(b99), ms(u99), noisyOK.Load(), noisy429.Load(), noRetryAfter.Load(), quietErrors.Load())
	var fails []string
	if quietErrors.Load() > 0 {
		fails = append(fails, fmt.Sprintf("%d quiet requests failed", quietErrors.Load()))
	}
	if noisy429.Load() == 0 || noRetryAfter.Load() > 0 {
		fails = append(fails, "the noisy company was not refused with 429 and Retry-After")
	}
	if moved > 0.25 {
		fails = append(fails, fmt.Sprintf("the quiet companies' median latency moved %+.0f%%, over 25%%", 100*moved))
	}
	if len(fails) > 0 {
		return fmt.Errorf("drill noisy: FAILED: %s", strings.Join(fails, "; "))
	}
	fmt.Fprintln(dr.out, "drill noisy: passed")
	return nil
}

// quantile is the p-quantile (0..1) of v, which it does not change.
func quantile(v []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return pct(s, p)
}
