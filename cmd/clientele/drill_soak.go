package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/devstack"
)

// runSoakDrill is `clientele drill soak`: a mixed read and write workload
// across many companies at 70% of the capacity measured first, with imports
// running, for a long time (30 minutes by default), against `serve` and
// `worker` running as processes of their own. It passes with no error, each
// process's RSS and goroutines within 10% of their level after the warm-up,
// and a p99 that drifts by at most 20%. The goroutines judged are those
// that serve neither a client connection nor an open transaction: those
// follow the connections the clients hold open (reported beside them) and
// the work in flight, not the time the process ran.
func runSoakDrill(ctx context.Context, cfg config.Config, args []string) (err error) {
	fs := flag.NewFlagSet("drill soak", flag.ContinueOnError)
	duration := fs.Duration("duration", 30*time.Minute, "how long the soak runs, warm-up included")
	warmup := fs.Duration("warmup", 0, "the warm-up, not judged (default a fifth of the duration)")
	companies := fs.Int("tenants", 20, "companies sharing the load")
	share := fs.Float64("share", 0.7, "the share of the measured capacity to run at")
	size := fs.Int("customers", 20000, "customers each company starts with")
	importEvery := fs.Duration("import-every", 2*time.Minute, "how often an import of 5,000 customers starts")
	keep := fs.Bool("keep", false, "keep the drill's directory")
	pprofAddr := fs.String("pprof", "", "the serve process's pprof address, loopback only (default a free port; the report prints it)")
	fixedRate := fs.Float64("rate", 0, "requests per second to soak at, instead of -share of the capacity measured first")
	statements := fs.Bool("statements", false, "load pg_stat_statements and print the statements that took the most time, first judged block against last")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *warmup == 0 {
		*warmup = *duration / 5
	}
	if *pprofAddr != "" {
		if err := loopbackPprof(*pprofAddr); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "clientele-drill-soak-")
	if err != nil {
		return err
	}
	dr := &drill{fault: "soak", out: os.Stdout, dir: dir, acked: map[string]bool{}, readyz: map[string]int{},
		// At most 64 connections, as a pool of clients holds: past that a
		// request waits for one (its latency counts the wait), so a slow
		// moment does not open connections without bound.
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}}
	if *statements {
		// The plans of slow statements go to the cluster's log (kept with -keep).
		dr.pgSettings = []string{"shared_preload_libraries=pg_stat_statements,auto_explain", "pg_stat_statements.max=2000",
			"auto_explain.log_min_duration=200ms", "auto_explain.log_analyze=on", "auto_explain.log_timing=off", "auto_explain.log_buffers=on"}
	}
	defer func() {
		dr.stop()
		if *keep || err != nil {
			fmt.Fprintf(dr.out, "drill soak: logs kept in %s\n", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	if err := dr.start(ctx, cfg); err != nil {
		return fmt.Errorf("drill soak: setting up the private stack: %w", err)
	}
	// serve and worker as an operator runs them; the in-process app that
	// set the stack up stays idle from here on.
	apiPort, err := devstack.FreePort()
	if err != nil {
		return err
	}
	serve, worker, err := dr.startSoakProcs(ctx, apiPort, *pprofAddr)
	if err != nil {
		return err
	}
	defer worker.stop()
	defer serve.stop()
	procs := []*soakProc{serve, worker}
	// The heap profiles stay after the run, apart from the drill's (large)
	// directory.
	heapDir, err := os.MkdirTemp("", "clientele-soak-heap-")
	if err != nil {
		return err
	}
	dr.base = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	fmt.Fprintf(dr.out, "drill soak: serve on %s (pprof %s/debug/pprof/), a worker (pprof %s/debug/pprof/)\n", dr.base, serve.pprof, worker.pprof)
	var stmts *statementStats
	if *statements {
		if stmts, err = openStatementStats(ctx, strings.Replace(dr.pg.URL, "/postgres?", "/clientele?", 1)); err != nil {
			return err
		}
		defer stmts.close()
	}

	// The companies, each with customers to read and change. They start at
	// the size a working company has (-customers), not empty: the mix's
	// creates and the imports add about 15,000 customers to each in 30
	// minutes, so a company of 200 would grow a hundredfold and the drill
	// would measure a scale-up, which the benchmarks at a million customers
	// measure, rather than drift over time.
	slugs := make([]string, *companies)
	ids := make([][]string, *companies)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("soak-%d-%s", i, uuid.NewString()[:8])
		if st, body := dr.call(ctx, "POST", "/api/v1/tenants", dr.token, fmt.Sprintf(`{"name":"Soak %d","slug":%q}`, i, slugs[i])); st != 201 {
			return fmt.Errorf("drill soak: company %d: %d %s", i, st, body)
		}
	}
	seedStart := time.Now()
	if err := soakSeed(ctx, dr, slugs, ids, *size); err != nil {
		return err
	}
	// What an operator does after a bulk load, so the measurement starts
	// from the statistics of the companies as they are.
	if err := soakAnalyze(ctx, strings.Replace(dr.pg.URL, "/postgres?", "/clientele?", 1)); err != nil {
		return err
	}
	fmt.Fprintf(dr.out, "drill soak: %d companies of %d customers each created through the batch API and analysed in %s\n",
		len(slugs), *size, time.Since(seedStart).Round(time.Second))
	csv, _, err := writeImportBenchCSV(5000)
	if err != nil {
		return err
	}
	defer os.Remove(csv)

	// One request of the mix: lists, reads, creates and changes, in a random
	// company. It returns its kind and whether the answer was the one expected.
	var seq atomic.Int64
	one := func(rng *rand.Rand) (int, bool) {
		i := rng.IntN(len(slugs))
		t := "/api/v1/t/" + slugs[i]
		switch p := rng.IntN(10); {
		case p < 4:
			st, _ := dr.call(ctx, "GET", t+"/customers?limit=20&tag=t"+strconv.Itoa(rng.IntN(7)), dr.token, "")
			return soakList, st == 200
		case p < 5:
			st, _ := dr.call(ctx, "GET", t+"/customers?limit=20&q=Soak", dr.token, "")
			return soakSearch, st == 200
		case p < 7:
			st, _ := dr.call(ctx, "GET", t+"/customers/"+ids[i][rng.IntN(len(ids[i]))], dr.token, "")
			return soakRead, st == 200
		case p < 9:
			n := seq.Add(1)
			st, _ := dr.call(ctx, "POST", t+"/customers", dr.token, fmt.Sprintf(`{"name":"Soak new %d","emails":["new%d@soak.example"],"tags":["new"]}`, n, n))
			return soakCreate, st == 201
		default:
			st, _ := dr.call(ctx, "PATCH", t+"/customers/"+ids[i][rng.IntN(len(ids[i]))], dr.token, fmt.Sprintf(`{"source":"soak %d"}`, rng.IntN(1000)))
			return soakChange, st == 200
		}
	}

	// An import of the CSV into company s, started; it returns "s/id".
	startImport := func(s string) (string, error) {
		base := dr.base + "/api/v1/t/" + s
		up, err := uploadImport(dr.hc, base, dr.token, csv)
		if err != nil {
			return "", fmt.Errorf("import upload: %w", err)
		}
		body, _ := json.Marshal(map[string]any{"mapping": up.SuggestedMapping, "mode": "create"})
		if err := postStatus(dr.hc, base+"/imports/"+up.ID+"/start", string(body), dr.token, 202); err != nil {
			return "", fmt.Errorf("import start: %w", err)
		}
		return s + "/" + up.ID, nil
	}
	var imports []string
	rng := rand.New(rand.NewPCG(42, 7))

	// Capacity: as many requests as 8 clients get through in one import
	// period, with an import started at its beginning: the conditions the
	// soak runs in (imports, their statistics refresh, the rollup rebuilds
	// and classification they cause). The capacity used to be measured in
	// 15 s with no import: it read 403 to 738/s from run to run on one
	// machine, and a soak at 70% of a high reading ran near the limit once
	// imports came. The first 15 s of this measure are printed beside it.
	// With -rate the capacity is only reported, from a 15-s measure.
	capWindow := max(*importEvery, 15*time.Second)
	if *fixedRate > 0 {
		capWindow = 15 * time.Second
	}
	var done, doneEarly atomic.Int64
	capStop := make(chan struct{})
	capStart := time.Now()
	if *fixedRate == 0 {
		im, err := startImport(slugs[rng.IntN(len(slugs))])
		if err != nil {
			return fmt.Errorf("drill soak: capacity: %w", err)
		}
		imports = append(imports, im)
	}
	var cw sync.WaitGroup
	for c := 0; c < 8; c++ {
		cw.Add(1)
		go func(c int) {
			defer cw.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for {
				select {
				case <-capStop:
					return
				default:
				}
				if _, ok := one(rng); ok {
					done.Add(1)
					if time.Since(capStart) < 15*time.Second {
						doneEarly.Add(1)
					}
				}
			}
		}(c)
	}
	time.Sleep(capWindow)
	close(capStop)
	cw.Wait()
	capacity := float64(done.Load()) / capWindow.Seconds()
	rate := capacity * *share
	if *fixedRate > 0 {
		rate = *fixedRate
		fmt.Fprintf(dr.out, "drill soak: capacity %.0f requests/s over %d companies in 15 s without imports; soaking at %.0f/s (-rate)\n", capacity, len(slugs), rate)
	} else {
		fmt.Fprintf(dr.out, "drill soak: capacity %.0f requests/s over %d companies in %s with an import of 5,000 customers started at its beginning (its first 15 s: %.0f/s)\n",
			capacity, len(slugs), capWindow, float64(doneEarly.Load())/15)
	}
	fmt.Fprintf(dr.out, "drill soak: soaking at %.0f/s (%.0f%%) for %s, the first %s warm-up, an import of 5,000 customers every %s\n",
		rate, 100*rate/capacity, *duration, *warmup, *importEvery)

	// The soak: requests at a fixed rate, and imports. The load is an open
	// loop: a request is due at its time whatever became of the ones
	// before, and its latency counts from then. At most 64 are in flight
	// (the client's connections); the ones due meanwhile queue, so a slow
	// moment shows in the latency of every request it held up rather than
	// in requests left out of the figures. Past 5,000 queued the request
	// is not sent, and the run fails.
	var mu sync.Mutex
	var cur []soakLatency
	var errors, dropped atomic.Int64
	var windows []soakWindow
	block := soakBlock(*importEvery)
	sem := make(chan struct{}, 64)
	var queued, mostQueued, windowQueued atomic.Int64
	start := time.Now()
	end := start.Add(*duration)
	// The ticker only wakes the loop; what is due is counted from the start,
	// so a slow moment sends the requests it owes instead of skipping them.
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var sent int64
	sample := time.NewTicker(10 * time.Second)
	defer sample.Stop()
	nextImport := start.Add(*importEvery / 2)
	var inflight sync.WaitGroup
	judgedSoFar, savedFirst := 0, false
	for time.Now().Before(end) {
		select {
		case <-tick.C:
			due := int64(time.Since(start).Seconds() * rate)
			for ; sent < due; sent++ {
				if q := queued.Add(1); q > 5000 {
					queued.Add(-1)
					dropped.Add(1) // the app fell far behind the rate
					continue
				} else {
					if q > mostQueued.Load() {
						mostQueued.Store(q)
					}
					if q > windowQueued.Load() {
						windowQueued.Store(q)
					}
				}
				at := start.Add(time.Duration(float64(sent) / rate * float64(time.Second)))
				r := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
				inflight.Add(1)
				go func() {
					defer inflight.Done()
					sem <- struct{}{}
					defer func() { <-sem; queued.Add(-1) }()
					kind, ok := one(r)
					d := time.Since(at)
					if !ok {
						errors.Add(1)
					}
					mu.Lock()
					cur = append(cur, soakLatency{d: d, kind: kind})
					mu.Unlock()
				}()
			}
		case <-sample.C:
			mu.Lock()
			lat := cur
			cur = nil
			mu.Unlock()
			win := soakWindow{at: time.Since(start), lat: lat, requests: len(lat), queued: windowQueued.Swap(0)}
			win.p50, win.p99 = soakQuantiles(lat)
			for _, p := range procs {
				ps, err := p.scrape(ctx, dr.hc)
				if err != nil {
					return err
				}
				win.procs = append(win.procs, ps)
			}
			if stmts != nil {
				if win.stmts, err = stmts.snapshot(ctx); err != nil {
					return err
				}
			}
			windows = append(windows, win)
			releaseUnjudged(windows, *warmup, block)
			if win.at > *warmup {
				judgedSoFar++
			}
			if judgedSoFar == block && !savedFirst {
				savedFirst = true
				// The heap at the end of the first judged block, against
				// the heap at the end, for `go tool pprof -diff_base`.
				for _, p := range procs {
					if _, err := p.saveHeap(ctx, dr.hc, heapDir, "first"); err != nil {
						return err
					}
				}
			}
		}
		if time.Now().After(nextImport) {
			nextImport = nextImport.Add(*importEvery)
			s := slugs[rng.IntN(len(slugs))]
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				im, err := startImport(s)
				if err != nil {
					errors.Add(1)
					fmt.Fprintf(dr.out, "drill soak: %v\n", err)
					return
				}
				mu.Lock()
				imports = append(imports, im)
				mu.Unlock()
			}()
		}
	}
	inflight.Wait()

	// Every import finishes, completed.
	deadline := time.Now().Add(5 * time.Minute)
	for _, im := range imports {
		s, id, _ := strings.Cut(im, "/")
		for {
			st, body := dr.call(ctx, "GET", "/api/v1/t/"+s+"/imports/"+id, dr.token, "")
			var v struct {
				Status string `json:"status"`
			}
			_ = json.Unmarshal(body, &v)
			if st == 200 && v.Status == "completed" {
				break
			}
			if st != 200 || v.Status == "failed" || v.Status == "canceled" || time.Now().After(deadline) {
				errors.Add(1)
				fmt.Fprintf(dr.out, "drill soak: import %s: %d %s\n", id, st, v.Status)
				break
			}
			time.Sleep(time.Second)
		}
	}

	// Judge what came after the warm-up: its first and last block.
	var judged []soakWindow
	firstJudged := -1
	for i, w := range windows {
		if w.at > *warmup {
			if firstJudged < 0 {
				firstJudged = i
			}
			judged = append(judged, w)
		}
	}
	if len(judged) < 6 {
		return fmt.Errorf("drill soak: only %d samples after the warm-up; run longer", len(judged))
	}
	p99 := func(ws []soakWindow) time.Duration {
		var lat []time.Duration
		for _, w := range ws {
			for _, l := range w.lat {
				lat = append(lat, l.d)
			}
		}
		return quantile(lat, 0.99)
	}
	n := min(block, len(judged)/2)
	first, last := judged[:n], judged[len(judged)-n:]
	p99a, p99b := p99(first), p99(last)
	total := 0
	for _, w := range windows {
		total += w.requests
	}
	rel := func(a, b float64) float64 { return b/a - 1 }
	span := time.Duration(n) * 10 * time.Second
	fmt.Fprintf(dr.out, "drill soak: %d requests in %s (%.0f/s), %d errors, %d not sent (over 5,000 queued), at most %d waiting or in flight at once, %d imports started (the capacity measure's included)\n",
		total, time.Since(start).Round(time.Second), float64(total)/time.Since(start).Seconds(), errors.Load(), dropped.Load(), mostQueued.Load(), len(imports))
	fmt.Fprintf(dr.out, "drill soak: after the warm-up, first %s → last %s: p99 %s → %s (%+.1f%%)\n", span, span, ms(p99a), ms(p99b), 100*rel(float64(p99a), float64(p99b)))
	var fails []string
	for i, p := range procs {
		a, b := soakProcAverage(first, i), soakProcAverage(last, i)
		fmt.Fprintf(dr.out, "drill soak: %s, first %s → last %s: RSS %.0f → %.0f MB (%+.1f%%), goroutines not serving a connection or a transaction %.0f → %.0f (%+.1f%%); all goroutines %.0f → %.0f, open connections %.0f → %.0f\n",
			p.name, span, span, a.rss/1e6, b.rss/1e6, 100*rel(a.rss, b.rss), a.own, b.own, 100*rel(a.own, b.own), a.goroutines, b.goroutines, a.conns, b.conns)
		if r := rel(a.rss, b.rss); r > 0.10 {
			fails = append(fails, fmt.Sprintf("%s's RSS grew %.1f%%", p.name, 100*r))
		}
		if r := rel(a.own, b.own); r > 0.10 {
			fails = append(fails, fmt.Sprintf("%s's goroutines grew %.1f%%", p.name, 100*r))
		}
	}
	byKind := func(ws []soakWindow) [soakKinds][]time.Duration {
		var out [soakKinds][]time.Duration
		for _, w := range ws {
			for _, l := range w.lat {
				out[l.kind] = append(out[l.kind], l.d)
			}
		}
		return out
	}
	ka, kb := byKind(first), byKind(last)
	for k := range soakKinds {
		fmt.Fprintf(dr.out, "drill soak:   %-7s p50 %s → %s, p99 %s → %s (%d → %d requests)\n", soakKindNames[k],
			ms(quantile(ka[k], 0.5)), ms(quantile(kb[k], 0.5)), ms(quantile(ka[k], 0.99)), ms(quantile(kb[k], 0.99)), len(ka[k]), len(kb[k]))
	}
	printSoakTimeline(dr.out, windows, *warmup)
	for i, p := range procs {
		printMemoryDrift(dr.out, p.name, first, last, i)
		if lastHeap, err := p.saveHeap(ctx, dr.hc, heapDir, "last"); err == nil && savedFirst {
			fmt.Fprintf(dr.out, "drill soak:   %s's heap, first block against the end: go tool pprof -diff_base %s %s\n",
				p.name, strings.TrimSuffix(lastHeap, "last.pb.gz")+"first.pb.gz", lastHeap)
		}
	}
	if stmts != nil && firstJudged > 0 {
		last := len(windows) - 1
		printStatementDrift(dr.out, windows[firstJudged-1].stmts, windows[firstJudged+n-1].stmts, windows[last-n].stmts, windows[last].stmts)
	}
	if errors.Load() > 0 || dropped.Load() > 0 {
		fails = append([]string{fmt.Sprintf("%d errors and %d requests not sent", errors.Load(), dropped.Load())}, fails...)
	}
	if r := rel(float64(p99a), float64(p99b)); r > 0.20 {
		fails = append(fails, fmt.Sprintf("p99 drifted %+.1f%%", 100*r))
	}
	if len(fails) > 0 {
		return fmt.Errorf("drill soak: FAILED: %s", strings.Join(fails, "; "))
	}
	fmt.Fprintln(dr.out, "drill soak: passed")
	return nil
}

// soakWindow is what the soak saw in ten seconds: when it ended, the
// requests' latencies, what serve's and the worker's /metrics and pprof
// said, and the statements' cumulative totals (with -statements).
type soakWindow struct {
	at       time.Duration
	lat      []soakLatency
	requests int              // len(lat), kept when lat is released
	p50, p99 time.Duration    // of lat, kept when lat is released
	queued   int64            // the most requests waiting or in flight at once
	procs    []soakProcSample // serve's, then the worker's
	stmts    map[int64]statementStat
}

// dropGroups releases the window's goroutine groups, once it is not judged.
func (w *soakWindow) dropGroups() {
	for i := range w.procs {
		w.procs[i].groups = nil
	}
}

// soakBlock is how many ten-second windows after the warm-up, and how many
// at the end, the soak judges against each other: a minute, or an import
// period if longer, so that each block holds the start of one import (a
// last minute with an import against a first without would judge the
// import, not the drift). A short run judges half its windows each.
func soakBlock(importEvery time.Duration) int {
	return max(6, int((importEvery+10*time.Second-1)/(10*time.Second)))
}

// releaseUnjudged drops what the soak keeps of a window that can no longer
// be judged, as the newest window joins: the judgement reads the first
// block windows after the warm-up and the last block, and the
// statements' totals of the window before each block and of each block's
// last. Kept whole, a 30-minute run's latencies (a million samples) and
// statement snapshots grow the process being measured, whose RSS may grow
// by 10% at most.
func releaseUnjudged(windows []soakWindow, warmup time.Duration, block int) {
	first := -1
	for i, w := range windows {
		if w.at > warmup {
			first = i
			break
		}
	}
	if first < 0 {
		// Still warming up: only the last window before the judged ones
		// will be read (its statements).
		if n := len(windows); n >= 2 {
			windows[n-2].lat, windows[n-2].stmts = nil, nil
			windows[n-2].dropGroups()
		}
		return
	}
	newest := len(windows) - 1
	if j := newest - block; j >= first+block {
		windows[j].lat = nil // no longer among the last block
		windows[j].dropGroups()
	}
	if j := newest - block - 1; j >= first+block {
		windows[j].stmts = nil // no longer the window before the last block
	}
}

// soakSeed gives each company size customers through the batch API, 1,000 a
// call, four calls at a time, and keeps up to 1,000 ids of each for the
// mix's reads and changes.
func soakSeed(ctx context.Context, dr *drill, slugs []string, ids [][]string, size int) error {
	type batch struct{ company, from int }
	work := make(chan batch)
	errc := make(chan error, 4)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				var sb strings.Builder
				sb.WriteString(`{"records":[`)
				for j := b.from; j < min(b.from+1000, size); j++ {
					if j > b.from {
						sb.WriteString(",")
					}
					fmt.Fprintf(&sb, `{"name":"Soak customer %d","emails":["s%d@%s.example"],"tags":["t%d"]}`, j, j, slugs[b.company], j%7)
				}
				sb.WriteString(`]}`)
				st, body := dr.call(ctx, "POST", "/api/v1/t/"+slugs[b.company]+"/customers/batch", dr.token, sb.String())
				if st != 200 {
					errc <- fmt.Errorf("drill soak: customers of %s: %d %.200s", slugs[b.company], st, body)
					for range work {
					}
					return
				}
				var out struct {
					Results []struct {
						ID string `json:"id"`
					} `json:"results"`
				}
				_ = json.Unmarshal(body, &out)
				// Every record of the batch must have been stored: a company
				// seeded short would make the run lighter than it says.
				want, got := min(b.from+1000, size)-b.from, 0
				mu.Lock()
				for _, r := range out.Results {
					if r.ID == "" {
						continue
					}
					got++
					if len(ids[b.company]) < 1000 {
						ids[b.company] = append(ids[b.company], r.ID)
					}
				}
				mu.Unlock()
				if got != want {
					errc <- fmt.Errorf("drill soak: customers of %s: %d of a batch of %d stored: %.300s", slugs[b.company], got, want, body)
					for range work {
					}
					return
				}
			}
		}()
	}
	for from := 0; from < size; from += 1000 {
		for c := range slugs {
			work <- batch{c, from}
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	for c, s := range slugs {
		if len(ids[c]) == 0 {
			return fmt.Errorf("drill soak: company %s got no customers", s)
		}
	}
	return nil
}

// soakAnalyze analyses the drill's database once the companies are loaded.
func soakAnalyze(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "ANALYZE")
	return err
}
