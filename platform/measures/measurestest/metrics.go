// Package measurestest asks metrics in tests, as the modules' drill-down
// tests do. It lives apart from testkit, which platform packages below
// measures import in their tests.
package measurestest

import (
	"context"
	"slices"
	"testing"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// Metrics asks a module's metrics of one company, as the drill-down tests
// do: Metric is each metric by key, and Run answers one over [from, to]
// (YYYY-MM-DD) with its dimensions, by month when "time" is one of them.
type Metrics struct {
	t        testing.TB
	tenant   measures.Tenant
	module   string
	from, to string
	Metric   map[string]measures.Metric
}

// NewMetrics readies the metrics ms of module for the company tn.
func NewMetrics(t testing.TB, tn measures.Tenant, module string, ms []measures.Metric, from, to string) *Metrics {
	m := &Metrics{t: t, tenant: tn, module: module, from: from, to: to, Metric: map[string]measures.Metric{}}
	for _, mt := range ms {
		m.Metric[mt.Key] = mt
	}
	return m
}

// Run answers metric key by dims in the company's transaction.
func (m *Metrics) Run(key string, dims ...string) *measures.Result {
	bucket := ""
	if slices.Contains(dims, "time") {
		bucket = "month"
	}
	var res *measures.Result
	testkit.Get(m.t).InTenant(m.t, m.tenant.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		res, err = measures.Run(ctx, tx, m.tenant, measures.Entry{Module: m.module, Metric: m.Metric[key]},
			measures.Request{Metric: key, Dimensions: dims, Bucket: bucket, From: m.from, To: m.to}, "body")
		return err
	})
	return res
}
