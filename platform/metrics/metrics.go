// Package metrics owns the process's one Prometheus registry and the HTTP metrics.
// Labels are route templates, methods and status classes: never a tenant, a user,
// a request id or a raw path.
package metrics

import (
	"database/sql"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is the process registry with the HTTP instruments.
type Registry struct {
	Reg             *prometheus.Registry
	HTTPRequests    *prometheus.CounterVec
	HTTPDuration    *prometheus.HistogramVec
	HTTPInFlight    prometheus.Gauge
	HTTPBodyRefused *prometheus.CounterVec
	handler         http.Handler
	openConnsOnce   sync.Once
}

// New builds a registry with Go runtime and process collectors.
func New() *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	r := &Registry{
		Reg: reg,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clientele_http_requests_total",
			Help: "HTTP requests served, by method, route template and status class.",
		}, []string{"method", "route", "status_class"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "clientele_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method and route template.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		HTTPInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "clientele_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
		HTTPBodyRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clientele_http_problems_total",
			Help: "Problem responses sent, by error code.",
		}, []string{"code"}),
	}
	reg.MustRegister(r.HTTPRequests, r.HTTPDuration, r.HTTPInFlight, r.HTTPBodyRefused)
	r.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: false})
	return r
}

// CountOpenConnections exports the HTTP server's open connections, read
// from open when scraped. Goroutines and memory follow the connections
// clients hold open, so a goroutine count is read beside it: goroutines
// that grow while connections do not are a leak. Only the first call of a
// registry counts (a process serves one API).
func (r *Registry) CountOpenConnections(open func() int) {
	r.openConnsOnce.Do(func() {
		r.Reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "clientele_http_open_connections",
			Help: "Client connections the HTTP server holds open now, idle keep-alive ones included.",
		}, func() float64 { return float64(max(0, open())) }))
	})
}

// RegisterDB exports the connection pool's statistics.
func (r *Registry) RegisterDB(db *sql.DB, name string) {
	r.Reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// Handler serves /metrics; it is built once.
func (r *Registry) Handler() http.Handler { return r.handler }

// StatusClass turns 404 into "4xx".
func StatusClass(status int) string {
	switch {
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	case status >= 300:
		return "3xx"
	case status >= 200:
		return "2xx"
	}
	return "1xx"
}
