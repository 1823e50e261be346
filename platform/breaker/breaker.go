// Package breaker stops a process from waiting on a dependency that is down or
// hung. A Breaker per dependency (the database, Redis, Kratos) counts consecutive
// failures; past a threshold it opens, and while open every call fails at once
// with an *OpenError instead of waiting for its deadline. A probe closes it again:
// either a background Probe the breaker runs itself (no user request pays for
// it), or, without one, a single trial call let through once OpenFor has passed.
//
// The state is exported as clientele_dependency_breaker_state{dependency} and
// every opening counts in clientele_dependency_breaker_trips_total; no label
// carries a tenant.
package breaker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// State is where a breaker stands. Its value is what the state gauge exports.
type State int

// The states. Closed lets calls through; Open refuses them; HalfOpen lets one
// trial call through, whose outcome decides.
const (
	Closed   State = 0
	HalfOpen State = 1
	Open     State = 2
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half_open"
	case Open:
		return "open"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// OpenError is what a call gets while its dependency's breaker is open.
type OpenError struct {
	Dependency string
	// RetryAfter is how long until the breaker next tries the dependency.
	RetryAfter time.Duration
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("%s unavailable (breaker open; next probe in %s)", e.Dependency, e.RetryAfter.Round(time.Millisecond))
}

// RetryIn is when the breaker next tries the dependency; errs sends it as Retry-After.
func (e *OpenError) RetryIn() time.Duration { return e.RetryAfter }

// UnavailableDependency names the dependency; errs turns such errors into 503.
func (e *OpenError) UnavailableDependency() string { return e.Dependency }

// Options configure a Breaker.
type Options struct {
	// Name is the dependency: "database", "redis" or "identity". It is the
	// metric label and what clients are told is unavailable.
	Name string
	// Failures is how many consecutive failures open the breaker; default 3.
	Failures int
	// OpenFor is how long the breaker stays open before the next probe; default 2 s.
	OpenFor time.Duration
	// Probe, when set, is run by the breaker itself every OpenFor while open,
	// with a deadline of ProbeTimeout; its success closes the breaker. Without
	// it the first call after OpenFor is the probe.
	Probe        func(ctx context.Context) error
	ProbeTimeout time.Duration // default 1 s
	Metrics      *Metrics      // optional
	// OnChange, when set, hears every state change (for logs).
	OnChange func(name string, from, to State)
}

// Breaker guards one dependency. The zero value is not usable; use New.
type Breaker struct {
	o   Options
	now func() time.Time

	mu       sync.Mutex
	state    State
	fails    int
	openedAt time.Time
	trialAt  time.Time // when the half-open trial call was let through
	probing  bool
}

// New builds a closed breaker.
func New(o Options) *Breaker {
	if o.Failures <= 0 {
		o.Failures = 3
	}
	if o.OpenFor <= 0 {
		o.OpenFor = 2 * time.Second
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = time.Second
	}
	b := &Breaker{o: o, now: time.Now}
	o.Metrics.set(o.Name, Closed)
	return b
}

// Name is the dependency the breaker guards.
func (b *Breaker) Name() string { return b.o.Name }

// State reports the current state.
func (b *Breaker) State() State {
	if b == nil {
		return Closed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Allow asks to make a call. It returns nil when the call may go ahead (the
// caller then reports its outcome with Record) and an *OpenError when the
// dependency is known to be down. A nil breaker allows everything.
func (b *Breaker) Allow() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	switch b.state {
	case Closed:
		return nil
	case Open:
		wait := b.openedAt.Add(b.o.OpenFor).Sub(now)
		if b.o.Probe != nil || wait > 0 {
			b.o.Metrics.reject(b.o.Name)
			return &OpenError{Dependency: b.o.Name, RetryAfter: max(wait, b.o.OpenFor/4)}
		}
		b.setLocked(HalfOpen)
		b.trialAt = now
		return nil
	default: // HalfOpen: one trial at a time; a trial that never reported is replaced.
		if now.Sub(b.trialAt) < b.o.OpenFor {
			b.o.Metrics.reject(b.o.Name)
			return &OpenError{Dependency: b.o.Name, RetryAfter: b.o.OpenFor}
		}
		b.trialAt = now
		return nil
	}
}

// Record reports the outcome of a call Allow let through. ok is false only for
// failures that say the dependency is unhealthy (unreachable, timed out,
// shutting down), never for answers such as "not found" or a refused password.
func (b *Breaker) Record(ok bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.fails = 0
		if b.state != Closed {
			b.setLocked(Closed)
		}
		return
	}
	b.fails++
	switch b.state {
	case Closed:
		if b.fails >= b.o.Failures {
			b.tripLocked()
		}
	case HalfOpen:
		b.tripLocked()
	case Open:
		// A call let through before the breaker opened; nothing changes.
	}
}

// Do runs fn if the breaker allows it, with the outcome judged by failed
// (nil: any error is a failure).
func (b *Breaker) Do(fn func() error, failed func(error) bool) error {
	if err := b.Allow(); err != nil {
		return err
	}
	err := fn()
	bad := err != nil
	if failed != nil {
		bad = failed(err)
	}
	b.Record(!bad)
	return err
}

func (b *Breaker) tripLocked() {
	b.openedAt = b.now()
	b.o.Metrics.trip(b.o.Name)
	b.setLocked(Open)
	if b.o.Probe != nil && !b.probing {
		b.probing = true
		go b.probeLoop()
	}
}

func (b *Breaker) setLocked(s State) {
	if s == b.state {
		return
	}
	from := b.state
	b.state = s
	b.o.Metrics.set(b.o.Name, s)
	if b.o.OnChange != nil {
		go b.o.OnChange(b.o.Name, from, s)
	}
}

// probeLoop runs the Probe every OpenFor until it succeeds, then closes the
// breaker.
func (b *Breaker) probeLoop() {
	for {
		time.Sleep(b.o.OpenFor)
		ctx, cancel := context.WithTimeout(context.Background(), b.o.ProbeTimeout)
		err := b.o.Probe(ctx)
		cancel()
		b.mu.Lock()
		if err == nil || b.state == Closed {
			b.probing = false
			b.fails = 0
			b.setLocked(Closed)
			b.mu.Unlock()
			return
		}
		b.openedAt = b.now()
		b.mu.Unlock()
	}
}

// Metrics are the breaker series of one process, shared by its breakers.
type Metrics struct {
	state    *prometheus.GaugeVec
	trips    *prometheus.CounterVec
	rejected *prometheus.CounterVec
}

// NewMetrics registers the breaker series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clientele_dependency_breaker_state",
			Help: "Circuit breaker state per dependency: 0 closed (calls go through), 1 half-open (probing), 2 open (calls fail at once).",
		}, []string{"dependency"}),
		trips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clientele_dependency_breaker_trips_total",
			Help: "Times a dependency's breaker opened after consecutive failures.",
		}, []string{"dependency"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clientele_dependency_breaker_rejected_total",
			Help: "Calls refused at once because the dependency's breaker was open.",
		}, []string{"dependency"}),
	}
	reg.MustRegister(m.state, m.trips, m.rejected)
	return m
}

func (m *Metrics) set(name string, s State) {
	if m != nil {
		m.state.WithLabelValues(name).Set(float64(s))
		m.trips.WithLabelValues(name)
		m.rejected.WithLabelValues(name)
	}
}

func (m *Metrics) trip(name string) {
	if m != nil {
		m.trips.WithLabelValues(name).Inc()
	}
}

func (m *Metrics) reject(name string) {
	if m != nil {
		m.rejected.WithLabelValues(name).Inc()
	}
}
