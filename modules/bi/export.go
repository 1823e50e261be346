package bi

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// ExportFile is one report's numbers as a download.
type ExportFile struct {
	Name        string
	ContentType string
	Data        []byte
}

// Export formats of one widget.
const (
	ExportXLSX = "xlsx"
	ExportPNG  = "png"
)

// dashboardExtras are the dashboard's range and the filters of it that the
// report's metric allows: what a widget adds to its report's question.
func (m *Module) dashboardExtras(d *Dashboard, metric string) (*Range, []measures.Filter) {
	var extra []measures.Filter
	if e, ok := m.metrics.Find(metric); ok {
		allowed := map[string]bool{}
		for _, k := range e.Allowed() {
			allowed[k] = true
		}
		for _, f := range d.Filters {
			if allowed[f.Dimension] || (e.Entity != "" && strings.HasPrefix(f.Dimension, measures.CustomDim)) {
				extra = append(extra, f)
			}
		}
	}
	if d.Range.Preset != "" {
		rng := d.Range
		return &rng, extra
	}
	return nil, extra
}

// ExportReport runs a report as the actor, as a widget of the dashboard
// when one is named (its range and filters apply), and returns its numbers
// as a spreadsheet or its chart as a picture, like a delivered report's.
func (m *Module) ExportReport(ctx context.Context, id uuid.UUID, dashboard *uuid.UUID, format string) (*ExportFile, error) {
	if format != ExportXLSX && format != ExportPNG {
		return nil, errs.Field("query.format", "must be xlsx or png")
	}
	var w widgetNumbers
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		r, err := scopedReport(ctx, tx, tn.ID, id, false)
		if err != nil {
			return err
		}
		var rng *Range
		var extra []measures.Filter
		if dashboard != nil {
			d, err := scopedDashboard(ctx, tx, tn.ID, *dashboard, false)
			if err != nil {
				if errs.Is(err, errs.NotFound) {
					return errs.Field("query.dashboard", "no dashboard you can see has this id")
				}
				return err
			}
			rng, extra = m.dashboardExtras(d, r.Query.Metric)
		}
		w = widgetNumbers{Name: bothNames(r.Name, r.NameZH), Chart: r.Chart, Metric: m.metricLabel(r.Query.Metric)}
		w.Result, err = m.runSaved(ctx, tx, tn, r.Query, rng, extra, "report.query")
		if err != nil {
			return err
		}
		w.Names, err = m.nameValues(ctx, tx, tn.ID, w.Result)
		return err
	})
	if err != nil {
		return nil, timeoutOr(err)
	}
	if format == ExportXLSX {
		b, err := numbersXLSX([]widgetNumbers{w})
		if err != nil {
			return nil, fmt.Errorf("bi: export xlsx: %w", err)
		}
		return &ExportFile{Name: fileName(w.Name, ".xlsx"), ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: b}, nil
	}
	line := w.Metric
	if w.Result.From != "" {
		line += fmt.Sprintf(" · %s – %s", w.Result.From, w.Result.To)
	}
	b, err := m.renderWidget(w.Name, line, w.Chart, w.Result, w.Names)
	if err != nil {
		return nil, fmt.Errorf("bi: export png: %w", err)
	}
	return &ExportFile{Name: fileName(w.Name, ".png"), ContentType: "image/png", Data: b}, nil
}
