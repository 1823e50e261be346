package identity

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the auth series; nil-safe so that a client without a registry works.
// No label names a token, person or tenant.
type metrics struct {
	cacheTotal *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		cacheTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clientele_auth_session_cache_total",
			Help: "Session verifications by outcome: hit (served from cache), miss (asked Kratos), error (Kratos unreachable or failing).",
		}, []string{"result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "clientele_auth_kratos_duration_seconds",
			Help:    "Duration of calls to Kratos by operation.",
			Buckets: []float64{.005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
	}
	m.cacheTotal = register(reg, m.cacheTotal)
	m.duration = register(reg, m.duration)
	for _, r := range []string{"hit", "miss", "error"} {
		m.cacheTotal.WithLabelValues(r)
	}
	for _, op := range []string{"whoami", "logout", "identity", "recovery", "ready"} {
		m.duration.WithLabelValues(op)
	}
	return m
}

// register adds c to reg, or reuses the collector a second client registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

func (m *metrics) cache(result string) {
	if m != nil {
		m.cacheTotal.WithLabelValues(result).Inc()
	}
}

func (m *metrics) observe(op string, start time.Time) {
	if m != nil {
		m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	}
}
