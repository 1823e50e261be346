package jobs

import (
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the job instruments: by task type, queue and outcome, never tenant.
type Metrics struct {
	processed *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inFlight  *prometheus.GaugeVec
	enqueued  *prometheus.CounterVec
	swept     prometheus.Counter
}

// NewMetrics registers the job metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clientele_jobs_processed_total",
			Help: "Job task deliveries handled, by task type, queue and outcome (success, failure, retry, throttled, skipped).",
		}, []string{"task_type", "queue", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "clientele_job_duration_seconds",
			Help:    "Time spent running job handlers, by task type and queue.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 60, 300, 900, 1800},
		}, []string{"task_type", "queue"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "clientele_jobs_in_flight",
			Help: "Job handlers running now, by queue.",
		}, []string{"queue"}),
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "clientele_jobs_enqueued_total",
			Help: "Jobs handed to the queue, by task type and queue.",
		}, []string{"task_type", "queue"}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "clientele_jobs_swept_total",
			Help: "Jobs the sweeper re-enqueued because the queue had lost them.",
		}),
	}
	reg.MustRegister(m.processed, m.duration, m.inFlight, m.enqueued, m.swept)
	for q := range Queues {
		m.inFlight.WithLabelValues(q)
	}
	return m
}

// queueCollector exports Asynq's queue sizes and latency.
type queueCollector struct {
	insp    *asynq.Inspector
	size    *prometheus.Desc
	latency *prometheus.Desc
	paused  *prometheus.Desc
}

// RegisterQueueMetrics exports asynq_queue_size{queue,state},
// asynq_queue_latency_seconds{queue} and asynq_queue_paused{queue}. Call it in one
// process only (the worker, or dev), or every replica reports the same queues.
func RegisterQueueMetrics(reg prometheus.Registerer, r asynq.RedisConnOpt) {
	reg.MustRegister(&queueCollector{
		insp:    asynq.NewInspector(r),
		size:    prometheus.NewDesc("asynq_queue_size", "Tasks in the queue, by state.", []string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("asynq_queue_latency_seconds", "Age of the oldest pending task in the queue.", []string{"queue"}, nil),
		paused:  prometheus.NewDesc("asynq_queue_paused", "1 when the queue is paused.", []string{"queue"}, nil),
	})
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.latency
	ch <- c.paused
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	for q := range Queues {
		info, err := c.insp.GetQueueInfo(q)
		if err != nil {
			// A queue that has never held a task does not exist yet: report zeros.
			for _, st := range []string{"pending", "active", "scheduled", "retry", "archived"} {
				ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, 0, q, st)
			}
			ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, 0, q)
			ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, 0, q)
			continue
		}
		for st, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled, "retry": info.Retry, "archived": info.Archived} {
			ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(n), q, st)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		p := 0.0
		if info.Paused {
			p = 1
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, p, q)
	}
}
