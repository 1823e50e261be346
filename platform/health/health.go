// Package health answers /healthz (the process is alive) and /readyz (it can do
// its work now: database, Redis, schema, identity). Readiness tells the truth: a
// failed check or a draining process answers 503 and names what is wrong.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Check is one dependency probe; it returns nil when the dependency is usable.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Checker runs the checks with a timeout and caches the answer briefly, so probes
// from many load balancers do not hammer the database.
type Checker struct {
	checks   []Check
	timeout  time.Duration
	cacheFor time.Duration
	draining atomic.Bool

	mu     sync.Mutex
	last   Report
	lastAt time.Time
}

// Report is the readiness answer.
type Report struct {
	Status string            `json:"status"` // ok | unavailable
	Checks map[string]string `json:"checks"` // name -> "ok" or the reason
}

// New builds a checker.
func New(timeout, cacheFor time.Duration, checks ...Check) *Checker {
	return &Checker{checks: checks, timeout: timeout, cacheFor: cacheFor}
}

// Add appends a check.
func (c *Checker) Add(ch Check) { c.checks = append(c.checks, ch) }

// Drain makes readiness fail from now on, so load balancers stop sending traffic
// before the server shuts down.
func (c *Checker) Drain() { c.draining.Store(true) }

// Run runs every check (or returns the cached report).
func (c *Checker) Run(ctx context.Context) Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.lastAt) < c.cacheFor && c.last.Status != "" && !c.draining.Load() {
		return c.last
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	rep := Report{Status: "ok", Checks: map[string]string{}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, ch := range c.checks {
		wg.Add(1)
		go func(ch Check) {
			defer wg.Done()
			res := "ok"
			if err := ch.Fn(ctx); err != nil {
				res = err.Error()
			}
			mu.Lock()
			rep.Checks[ch.Name] = res
			mu.Unlock()
		}(ch)
	}
	wg.Wait()
	if c.draining.Load() {
		rep.Checks["process"] = "shutting down"
	}
	names := make([]string, 0, len(rep.Checks))
	for n := range rep.Checks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if rep.Checks[n] != "ok" {
			rep.Status = "unavailable"
		}
	}
	c.last, c.lastAt = rep, time.Now()
	return rep
}

// Live serves /healthz.
func Live(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}

// Ready serves /readyz.
func (c *Checker) Ready(w http.ResponseWriter, r *http.Request) {
	rep := c.Run(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rep.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rep)
}
