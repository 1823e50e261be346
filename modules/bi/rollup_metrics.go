package bi

import "github.com/prometheus/client_golang/prometheus"

// rollupMetrics are the rollups' Prometheus instruments, labelled by module
// and source, never by company. A nil *rollupMetrics records nothing.
type rollupMetrics struct {
	drift   *prometheus.CounterVec
	refresh *prometheus.HistogramVec
	answers *prometheus.CounterVec
}

func newRollupMetrics(reg prometheus.Registerer) *rollupMetrics {
	if reg == nil {
		return nil
	}
	m := &rollupMetrics{
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clientele_bi_rollup_drift_rows_total",
			Help: "Rollup rows the nightly reconcile found different from the records, by module (0 when the incremental refresh kept up).",
		}, []string{"module"}),
		refresh: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "clientele_bi_rollup_refresh_seconds",
			Help:    "Time to bring a company's rollups of a module up to date with its marked changes, by module and kind (days, rebuild).",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 10, 60, 300},
		}, []string{"module", "kind"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clientele_bi_answers_total",
			Help: "Metric questions answered, by source: rollup or records.",
		}, []string{"source"}),
	}
	reg.MustRegister(m.drift, m.refresh, m.answers)
	return m
}

func (m *rollupMetrics) driftRows(module string, n int64) {
	if m != nil {
		m.drift.WithLabelValues(module).Add(float64(n))
	}
}

func (m *rollupMetrics) refreshed(module string, days int, seconds float64) {
	if m == nil {
		return
	}
	kind := "days"
	if days < 0 {
		kind = "rebuild"
	}
	m.refresh.WithLabelValues(module, kind).Observe(seconds)
}

func (m *rollupMetrics) answered(source string) {
	if m != nil {
		m.answers.WithLabelValues(source).Inc()
	}
}
