package jobs

import (
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Delivery outcomes, the values of the outcome label.
const (
	OutcomeSuccess   = "success"   // the job (or global task) succeeded
	OutcomeFailure   = "failure"   // it failed for good
	OutcomeRetry     = "retry"     // this attempt failed; it runs again later
	OutcomeThrottled = "throttled" // the tenant was at its bulk limit; no attempt used
	OutcomeSkipped   = "skipped"   // nothing to do: finished, canceled, or taken over
)

// Metrics are the job instruments: by task type, queue and outcome, never tenant.
// A nil *Metrics records nothing.
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
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 60, 300, 900, 1800, 7200},
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

// known exports zeros for a handler from the start, so rates and alerts work
// before its first task.
func (m *Metrics) known(taskType, queue string) {
	if m == nil {
		return
	}
	for _, oc := range []string{OutcomeSuccess, OutcomeFailure} {
		m.processed.WithLabelValues(taskType, queue, oc)
	}
}

func (m *Metrics) incEnqueued(taskType, queue string) {
	if m != nil {
		m.enqueued.WithLabelValues(taskType, queue).Inc()
	}
}

func (m *Metrics) incSwept() {
	if m != nil {
		m.swept.Inc()
	}
}

// delivery measures one task delivery; finish records its outcome.
type delivery struct {
	m               *Metrics
	taskType, queue string
	start           time.Time
	outcome         string
}

func (m *Metrics) begin(taskType, queue string) *delivery {
	d := &delivery{m: m, taskType: taskType, queue: queue, start: time.Now(), outcome: OutcomeSuccess}
	if m != nil {
		m.inFlight.WithLabelValues(queue).Inc()
	}
	return d
}

func (d *delivery) finish() {
	if d.m == nil {
		return
	}
	d.m.inFlight.WithLabelValues(d.queue).Dec()
	d.m.processed.WithLabelValues(d.taskType, d.queue, d.outcome).Inc()
	if d.outcome != OutcomeThrottled && d.outcome != OutcomeSkipped {
		d.m.duration.WithLabelValues(d.taskType, d.queue).Observe(time.Since(d.start).Seconds())
	}
}

// queueCollector exports Asynq's queue sizes and latency. It stands in for
// asynq/x/metrics.NewQueueMetricsCollector, which compiles against v0.26 but
// exports gauges named *_total (asynq_tasks_enqueued_total,
// asynq_queue_paused_total) that promlint rejects, and logs through the standard
// logger.
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
	names, err := c.insp.Queues()
	if err != nil {
		return // Redis is unreachable: no sample beats a false zero
	}
	exists := map[string]bool{}
	for _, q := range names {
		exists[q] = true
	}
	for q := range Queues {
		// A queue that has never held a task does not exist yet: it reports zeros.
		info := &asynq.QueueInfo{}
		if exists[q] {
			if info, err = c.insp.GetQueueInfo(q); err != nil {
				continue
			}
		}
		for st, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed} {
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
