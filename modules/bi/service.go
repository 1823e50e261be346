package bi

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// queryTimeout bounds one question: a report that takes longer is refused
// rather than holding a connection.
const queryTimeout = "20s"

// timeout is the statement timeout of one question: queryTimeout unless
// Deps.QueryTimeout says otherwise (tests).
func (m *Module) timeout() string {
	if m.d.QueryTimeout > 0 {
		return fmt.Sprintf("%dms", m.d.QueryTimeout.Milliseconds())
	}
	return queryTimeout
}

// Dimension is one way a metric can be split.
type Dimension struct {
	Key     string `json:"key" doc:"time, a standard dimension, or custom.<key> for a select custom field"`
	LabelEN string `json:"label_en"`
	LabelZH string `json:"label_zh"`
}

// MetricInfo describes a metric offered to the caller.
type MetricInfo struct {
	Key         string        `json:"key"`
	Module      string        `json:"module"`
	LabelEN     string        `json:"label_en"`
	LabelZH     string        `json:"label_zh"`
	DescEN      string        `json:"description_en"`
	DescZH      string        `json:"description_zh"`
	Unit        measures.Unit `json:"unit" enum:"count,money,duration,percent,score"`
	Aggregation measures.Agg  `json:"aggregation"`
	Stock       bool          `json:"stock" doc:"measured at the end of each period rather than summed over it"`
	Dimensions  []Dimension   `json:"dimensions"`
}

// offered is the metrics of the modules on for the tenant whose permission
// the actor holds.
func (m *Module) offered(ctx context.Context, tenant uuid.UUID) ([]measures.Entry, error) {
	on := map[string]bool{}
	var en interface {
		States(context.Context, uuid.UUID) (map[string]bool, error)
	}
	if m.d.Enabled != nil {
		if e := m.d.Enabled(); e != nil {
			en = e
		}
	}
	if en != nil {
		st, err := en.States(ctx, tenant)
		if err != nil {
			return nil, err
		}
		on = st
	}
	a := authz.ActorFrom(ctx)
	var out []measures.Entry
	for _, e := range m.metrics.All() {
		if (en == nil || on[e.Module]) && a.Can(e.Perm) {
			out = append(out, e)
		}
	}
	return out, nil
}

// ListMetrics lists the metrics offered to the caller with their dimensions,
// the select custom fields of their entity among them.
func (m *Module) ListMetrics(ctx context.Context) ([]MetricInfo, error) {
	out := []MetricInfo{}
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		es, err := m.offered(ctx, tn.ID)
		if err != nil {
			return err
		}
		custom := map[string][]Dimension{}
		for _, e := range es {
			if e.Entity == "" {
				continue
			}
			if _, done := custom[e.Entity]; done {
				continue
			}
			var rows []struct {
				Key     string `bun:"key"`
				LabelEN string `bun:"label_en"`
				LabelZH string `bun:"label_zh"`
			}
			if err := tx.NewRaw(`SELECT key, label_en, label_zh FROM field_definitions WHERE tenant_id = ? AND entity = ?
				AND type = 'select' AND NOT sensitive AND archived_at IS NULL ORDER BY position, key`, tn.ID, e.Entity).Scan(ctx, &rows); err != nil {
				return err
			}
			ds := []Dimension{}
			for _, r := range rows {
				zh := r.LabelZH
				if zh == "" {
					zh = r.LabelEN
				}
				ds = append(ds, Dimension{Key: measures.CustomDim + r.Key, LabelEN: r.LabelEN, LabelZH: zh})
			}
			custom[e.Entity] = ds
		}
		for _, e := range es {
			info := MetricInfo{Key: e.Key, Module: e.Module, LabelEN: e.LabelEN, LabelZH: e.LabelZH, DescEN: e.DescEN, DescZH: e.DescZH,
				Unit: e.Unit, Aggregation: e.Agg, Stock: e.Stock}
			for _, k := range e.Allowed() {
				l, _ := measures.DimLabel(k)
				info.Dimensions = append(info.Dimensions, Dimension{Key: k, LabelEN: l.EN, LabelZH: l.ZH})
			}
			info.Dimensions = append(info.Dimensions, custom[e.Entity]...)
			out = append(out, info)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// offeredMetric finds a metric the actor may ask: one that is not offered
// (unknown, its module off) is refused at the metric field; one whose
// records the caller may not read is forbidden.
func (m *Module) offeredMetric(ctx context.Context, tenant uuid.UUID, key string, w measures.Where) (measures.Entry, error) {
	e, ok := m.metrics.Find(key)
	if !ok {
		return e, unknownMetric(key, w, m.metrics.Keys())
	}
	if err := authz.Require(ctx, e.Perm); err != nil {
		return e, err
	}
	es, err := m.offered(ctx, tenant)
	if err != nil {
		return e, err
	}
	var keys []string
	for _, o := range es {
		if o.Key == e.Key {
			return e, nil
		}
		keys = append(keys, o.Key)
	}
	return e, unknownMetric(key, w, keys)
}

// RunQuery answers one question to a metric.
func (m *Module) RunQuery(ctx context.Context, req measures.Request, w measures.Where) (*measures.Result, error) {
	var res *measures.Result
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		e, err := m.offeredMetric(ctx, tn.ID, req.Metric, w)
		if err != nil {
			return err
		}
		t, _, err := tenantOf(ctx, tx, tn)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = '"+m.timeout()+"'"); err != nil {
			return err
		}
		res, err = m.run(ctx, tx, t, e, req, w)
		return err
	})
	if err != nil {
		return nil, timeoutOr(err)
	}
	return res, nil
}

// run answers a question from the rollups when they can answer it, else
// from the records, and asks for the rollups a question wanted but the
// company has not got.
func (m *Module) run(ctx context.Context, tx bun.Tx, t measures.Tenant, e measures.Entry, req measures.Request, w measures.Where) (*measures.Result, error) {
	ro, asked, err := m.rollupsFor(ctx, tx, t)
	if err != nil {
		return nil, err
	}
	if m.d.NoRollups {
		ro, asked = nil, func() []string { return nil }
	}
	res, err := measures.RunWith(ctx, tx, t, e, req, w, ro)
	if err != nil {
		return nil, err
	}
	m.prom.answered(res.Source)
	return res, m.askBuild(ctx, tx, asked()...)
}

// timeoutOr names a question stopped by the statement timeout. On Citus the
// coordinator, past the timeout, cancels the statement on the worker, and
// the worker's "canceling statement due to user request" is what comes back:
// any cancelled statement (SQLSTATE 57014) is taken for the timeout, the only
// thing that cancels a question while its request still waits.
func timeoutOr(err error) error {
	if errs.CodeOf(err) == errs.Internal && (strings.Contains(err.Error(), "statement timeout") || db.PgCode(err) == "57014") {
		return errs.Wrap(errs.Timeout, err, "The question took longer than %s; choose a shorter range, a larger bucket or fewer dimensions.", queryTimeout)
	}
	return errs.From(err)
}

func unknownMetric(key string, w measures.Where, offered []string) error {
	return errs.Field(string(w)+".metric", fmt.Sprintf("unknown metric %q; this company offers %s (GET /bi/metrics lists them)", key, strings.Join(offered, ", ")))
}

// Settings are the company's BI settings.
type Settings struct {
	WeekStart int `json:"week_start" minimum:"1" maximum:"7" doc:"the first day of the week: 1 Monday ... 7 Sunday"`
}

// GetSettings reads the company's BI settings.
func (m *Module) GetSettings(ctx context.Context) (Settings, error) {
	var s Settings
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		return tx.NewRaw("SELECT week_start FROM tenants WHERE id = ?", tn.ID).Scan(ctx, &s.WeekStart)
	})
	if err != nil {
		return s, errs.From(err)
	}
	return s, nil
}

// SetSettings changes the company's BI settings.
func (m *Module) SetSettings(ctx context.Context, s Settings) (Settings, error) {
	if s.WeekStart < 1 || s.WeekStart > 7 {
		return s, errs.Field("body.week_start", "must be 1 (Monday) to 7 (Sunday)")
	}
	err := tenancy.Tx(ctx, m.d.DB, PermManage, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		_, err := tx.ExecContext(ctx, "UPDATE tenants SET week_start = ?, updated_at = now() WHERE id = ?", s.WeekStart, tn.ID)
		return err
	})
	if err != nil {
		return s, errs.From(err)
	}
	return s, nil
}
