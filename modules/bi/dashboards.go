package bi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/page"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// MaxWidgets caps a dashboard.
const MaxWidgets = 50

// Widget is a report at a place on a dashboard's 12-column grid.
type Widget struct {
	ReportID uuid.UUID `bun:"report_id,type:uuid" json:"report_id"`
	X        int       `bun:"x" json:"x" minimum:"0" maximum:"11"`
	Y        int       `bun:"y" json:"y" minimum:"0" maximum:"1000"`
	W        int       `bun:"w" json:"w" minimum:"1" maximum:"12"`
	H        int       `bun:"h" json:"h" minimum:"1" maximum:"24"`
}

// Dashboard is a grid of reports with a range and filters of its own.
type Dashboard struct {
	bun.BaseModel  `bun:"table:bi_dashboards,alias:d"`
	TenantID       uuid.UUID         `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID             uuid.UUID         `bun:"id,pk,type:uuid" json:"id"`
	Name           string            `bun:"name" json:"name"`
	NameZH         string            `bun:"name_zh" json:"name_zh" doc:"the name in Chinese; empty: the name serves both languages"`
	Range          Range             `bun:"range,type:jsonb" json:"range" doc:"overrides each report's range; preset empty keeps them"`
	Filters        []measures.Filter `bun:"filters,type:jsonb" json:"filters" doc:"added to each widget whose metric allows the dimension"`
	RefreshSeconds int               `bun:"refresh_seconds" json:"refresh_seconds"`
	OwnerID        uuid.UUID         `bun:"owner_id,type:uuid" json:"owner_id" doc:"the member who owns it; the nil uuid for the company's own (provisioned) dashboards"`
	SharedRoles    []string          `bun:"shared_roles,array" json:"shared_roles" doc:"the roles it is shared with; for the company's own, none means every role holding bi.read"`
	ProvisionKey   *string           `bun:"provision_key" json:"provisioned,omitempty" doc:"sales_overview, customer_insights or service: a dashboard the company was given"`
	CreatedAt      time.Time         `bun:"created_at" json:"created_at"`
	UpdatedAt      time.Time         `bun:"updated_at" json:"updated_at"`
	Widgets        []Widget          `bun:"-" json:"widgets"`
	CanEdit        bool              `bun:"-" json:"can_edit" doc:"whether the caller may change or remove it: its owner, or someone with bi.manage"`
}

// DashboardInput is a dashboard as a member writes it.
type DashboardInput struct {
	Name           string            `json:"name" minLength:"1" maxLength:"200"`
	NameZH         string            `json:"name_zh,omitempty" maxLength:"200" doc:"the name in Chinese"`
	Range          *Range            `json:"range,omitempty" doc:"overrides each report's range"`
	Filters        []measures.Filter `json:"filters,omitempty" maxItems:"10"`
	RefreshSeconds int               `json:"refresh_seconds,omitempty" minimum:"0" maximum:"86400" doc:"0: no auto-refresh; else at least 30"`
	SharedRoles    []string          `json:"shared_roles,omitempty" maxItems:"20"`
	Widgets        []Widget          `json:"widgets,omitempty" maxItems:"50"`
}

type widgetRow struct {
	bun.BaseModel `bun:"table:bi_dashboard_widgets,alias:w"`
	TenantID      uuid.UUID `bun:"tenant_id,pk,type:uuid"`
	DashboardID   uuid.UUID `bun:"dashboard_id,pk,type:uuid"`
	Position      int       `bun:"position,pk"`
	Widget
}

func dashboardNotFound() error { return errs.E(errs.NotFound, "dashboard not found") }

// scopedDashboard loads a dashboard the actor may see, with its widgets.
func scopedDashboard(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID, lock bool) (*Dashboard, error) {
	d := &Dashboard{}
	q := tx.NewSelect().Model(d).Where("d.tenant_id = ? AND d.id = ?", tenant, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, dashboardNotFound()
		}
		return nil, err
	}
	if !sees(ctx, d.OwnerID, d.SharedRoles) {
		return nil, dashboardNotFound()
	}
	d.CanEdit = mayChange(ctx, d.OwnerID)
	var ws []widgetRow
	if err := tx.NewSelect().Model(&ws).Where("w.tenant_id = ? AND w.dashboard_id = ?", tenant, id).Order("position").Scan(ctx); err != nil {
		return nil, err
	}
	d.Widgets = []Widget{}
	for _, w := range ws {
		d.Widgets = append(d.Widgets, w.Widget)
	}
	return d, nil
}

// checkDashboard validates the input; each widget's report must be one the
// actor sees.
func (m *Module) checkDashboard(ctx context.Context, tx bun.Tx, tn tenancy.Tenant, in DashboardInput) (Range, []string, error) {
	var rng Range
	if strings.TrimSpace(in.Name) == "" {
		return rng, nil, errs.Field("body.name", "must not be blank")
	}
	if in.RefreshSeconds != 0 && in.RefreshSeconds < 30 {
		return rng, nil, errs.Field("body.refresh_seconds", "0 for none, else at least 30 seconds")
	}
	if in.Range != nil && in.Range.Preset != "" {
		rng = *in.Range
		if _, _, err := rng.resolve(time.Now(), time.UTC, "body.range"); err != nil {
			return rng, nil, err
		}
	}
	for i, f := range in.Filters {
		at := fmt.Sprintf("body.filters[%d]", i)
		switch {
		case f.Dimension == "" || f.Dimension == measures.DimTime:
			return rng, nil, errs.Field(at+".dimension", "name a dimension other than time")
		case f.Op != measures.OpEq && f.Op != measures.OpNe && f.Op != measures.OpIn:
			return rng, nil, errs.Field(at+".op", "must be eq, ne or in")
		case len(f.Values) == 0 || len(f.Values) > measures.MaxValues:
			return rng, nil, errs.Field(at+".values", fmt.Sprintf("1 to %d values", measures.MaxValues))
		}
	}
	roles, err := checkRoles(in.SharedRoles, "body.shared_roles")
	if err != nil {
		return rng, nil, err
	}
	for i, w := range in.Widgets {
		if _, err := scopedReport(ctx, tx, tn.ID, w.ReportID, false); err != nil {
			if errs.Is(err, errs.NotFound) {
				return rng, nil, errs.Field(fmt.Sprintf("body.widgets[%d].report_id", i), "no report you can see has this id")
			}
			return rng, nil, err
		}
		if w.X+w.W > 12 {
			return rng, nil, errs.Field(fmt.Sprintf("body.widgets[%d].w", i), "the widget runs past the 12 columns of the grid")
		}
	}
	return rng, roles, nil
}

func writeWidgets(ctx context.Context, tx bun.Tx, d *Dashboard, fresh bool) error {
	if !fresh {
		if _, err := tx.NewDelete().Model((*widgetRow)(nil)).Where("tenant_id = ? AND dashboard_id = ?", d.TenantID, d.ID).Exec(ctx); err != nil {
			return err
		}
	}
	if len(d.Widgets) == 0 {
		return nil
	}
	rows := make([]widgetRow, len(d.Widgets))
	for i, w := range d.Widgets {
		rows[i] = widgetRow{TenantID: d.TenantID, DashboardID: d.ID, Position: i, Widget: w}
	}
	_, err := tx.NewInsert().Model(&rows).Exec(ctx)
	return err
}

// CreateDashboard saves a dashboard owned by the actor.
func (m *Module) CreateDashboard(ctx context.Context, in DashboardInput) (*Dashboard, error) {
	var out *Dashboard
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		a := authz.ActorFrom(ctx)
		if a.ID == uuid.Nil {
			return errs.E(errs.Forbidden, "Dashboards belong to a member; an API key cannot own one.")
		}
		rng, roles, err := m.checkDashboard(ctx, tx, tn, in)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		d := &Dashboard{TenantID: tn.ID, ID: uuid.New(), Name: strings.TrimSpace(in.Name), NameZH: strings.TrimSpace(in.NameZH), Range: rng, Filters: orEmpty(in.Filters),
			RefreshSeconds: in.RefreshSeconds, OwnerID: a.ID, SharedRoles: roles, CreatedAt: now, UpdatedAt: now, Widgets: orNoWidgets(in.Widgets), CanEdit: true}
		if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
			return err
		}
		if err := writeWidgets(ctx, tx, d, true); err != nil {
			return err
		}
		out = d
		return audit.Record(ctx, tx, audit.Entry{Action: "dashboard.create", Entity: "dashboard", EntityID: d.ID.String(), After: d})
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

func orEmpty(f []measures.Filter) []measures.Filter {
	if f == nil {
		return []measures.Filter{}
	}
	return f
}

func orNoWidgets(w []Widget) []Widget {
	if w == nil {
		return []Widget{}
	}
	return w
}

// UpdateDashboard replaces a dashboard: its name, range, filters, refresh,
// sharing and widgets (moved and resized by the grid).
func (m *Module) UpdateDashboard(ctx context.Context, id uuid.UUID, in DashboardInput) (*Dashboard, error) {
	var out *Dashboard
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		d, err := scopedDashboard(ctx, tx, tn.ID, id, true)
		if err != nil {
			return err
		}
		if !mayChange(ctx, d.OwnerID) {
			return errs.E(errs.Forbidden, "Only the dashboard's owner, or someone with bi.manage, may change it.")
		}
		rng, roles, err := m.checkDashboard(ctx, tx, tn, in)
		if err != nil {
			return err
		}
		before := *d
		d.Name, d.NameZH, d.Range, d.Filters, d.RefreshSeconds, d.SharedRoles, d.Widgets, d.UpdatedAt =
			strings.TrimSpace(in.Name), strings.TrimSpace(in.NameZH), rng, orEmpty(in.Filters), in.RefreshSeconds, roles, orNoWidgets(in.Widgets), time.Now().UTC()
		if _, err := tx.NewUpdate().Model(d).Column("name", "name_zh", "range", "filters", "refresh_seconds", "shared_roles", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := writeWidgets(ctx, tx, d, false); err != nil {
			return err
		}
		out = d
		return audit.Record(ctx, tx, audit.Entry{Action: "dashboard.update", Entity: "dashboard", EntityID: d.ID.String(), Before: before, After: d})
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

// DeleteDashboard removes a dashboard (its reports stay).
func (m *Module) DeleteDashboard(ctx context.Context, id uuid.UUID) error {
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		d, err := scopedDashboard(ctx, tx, tn.ID, id, true)
		if err != nil {
			return err
		}
		if !mayChange(ctx, d.OwnerID) {
			return errs.E(errs.Forbidden, "Only the dashboard's owner, or someone with bi.manage, may remove it.")
		}
		if _, err := tx.NewDelete().Model(d).WherePK().Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "dashboard.delete", Entity: "dashboard", EntityID: d.ID.String(), Before: d})
	})
	if err != nil {
		return errs.From(err)
	}
	return nil
}

// GetDashboard reads a dashboard the actor may see.
func (m *Module) GetDashboard(ctx context.Context, id uuid.UUID) (*Dashboard, error) {
	var out *Dashboard
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		var err error
		out, err = scopedDashboard(ctx, tx, tn.ID, id, false)
		return err
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

// ListDashboards lists the dashboards the actor may see, newest first
// (without their widgets). The first list of a company gives it its
// provisioned dashboards (provision.go).
func (m *Module) ListDashboards(ctx context.Context, limit int, cursor string) ([]Dashboard, string, error) {
	after, err := page.Start[page.After](cursor)
	if err != nil {
		return nil, "", err
	}
	var rows []Dashboard
	err = tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		if _, err := m.ensureProvisioned(ctx, tx, tn.ID); err != nil {
			return err
		}
		q := visibleTo(ctx, tx.NewSelect().Model(&rows).Where("d.tenant_id = ?", tn.ID), "d").OrderExpr("d.created_at DESC, d.id DESC").Limit(limit + 1)
		if after != nil {
			q = q.Where("(d.created_at, d.id) < (?, ?)", after.At, after.ID)
		}
		return q.Scan(ctx)
	})
	if err != nil {
		return nil, "", errs.From(err)
	}
	rows, next := page.Cut(rows, limit, func(d Dashboard) any { return page.After{At: d.CreatedAt, ID: d.ID} })
	for i := range rows {
		rows[i].Widgets = []Widget{}
		rows[i].CanEdit = mayChange(ctx, rows[i].OwnerID)
	}
	return rows, next, nil
}

// WidgetResult is one widget's numbers, or why it has none.
type WidgetResult struct {
	ReportID uuid.UUID        `json:"report_id"`
	Name     string           `json:"name,omitempty"`
	NameZH   string           `json:"name_zh,omitempty"`
	Chart    string           `json:"chart,omitempty"`
	Result   *measures.Result `json:"result,omitempty"`
	Error    string           `json:"error,omitempty" doc:"why this widget has no numbers for you (a report not shared with you, a metric you may not read, a question that took longer than the time limit)"`
}

// DashboardResult is a dashboard's numbers, computed at AsOf.
type DashboardResult struct {
	AsOf    time.Time      `json:"as_of" doc:"when the numbers were computed: they are fresh as of then"`
	Widgets []WidgetResult `json:"widgets"`
}

// RunDashboard answers every widget of a dashboard with the dashboard's
// range and filters, as the actor: a widget whose report or metric the
// actor may not see says so instead of failing the whole dashboard.
func (m *Module) RunDashboard(ctx context.Context, id uuid.UUID) (*DashboardResult, error) {
	return m.RunDashboardFor(ctx, id, nil)
}

// RunDashboardFor runs a dashboard for another range than its own, as a
// member picks one to look at without changing the dashboard; nil keeps the
// dashboard's.
func (m *Module) RunDashboardFor(ctx context.Context, id uuid.UUID, over *Range) (*DashboardResult, error) {
	if over != nil {
		if _, _, err := over.resolve(time.Now(), time.UTC, "query.range"); err != nil {
			return nil, err
		}
		if over.Preset == "custom" {
			from, err1 := time.Parse(time.DateOnly, over.From)
			to, err2 := time.Parse(time.DateOnly, over.To)
			switch {
			case err1 != nil:
				return nil, errs.Field("query.from", "must be a day, YYYY-MM-DD")
			case err2 != nil:
				return nil, errs.Field("query.to", "must be a day, YYYY-MM-DD")
			case to.Before(from):
				return nil, errs.Field("query.to", "must not be before from")
			}
		}
	}
	out := &DashboardResult{AsOf: time.Now().UTC(), Widgets: []WidgetResult{}}
	// Widgets asking about the same sample (a median beside a 90th
	// percentile) share one read of it.
	ctx = measures.Shared(ctx)
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		d, err := scopedDashboard(ctx, tx, tn.ID, id, false)
		if err != nil {
			return err
		}
		if over != nil {
			d.Range = *over
		}
		// Every widget's report is read first: a question's statement
		// timeout stays set once it answered, and a read after it could
		// pass a short limit outside any widget's savepoint (on Citus every
		// read also hops to a worker).
		reports := make([]*Report, len(d.Widgets))
		for i, w := range d.Widgets {
			r, err := scopedReport(ctx, tx, tn.ID, w.ReportID, false)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return err
			}
			reports[i] = r
		}
		stopped := false // a widget's question was stopped by the timeout
		for i, w := range d.Widgets {
			wr := WidgetResult{ReportID: w.ReportID}
			r := reports[i]
			if r == nil {
				wr.Error = "This report is not shared with you."
				out.Widgets = append(out.Widgets, wr)
				continue
			}
			wr.Name, wr.NameZH, wr.Chart = r.Name, r.NameZH, r.Chart
			rng, extra := m.dashboardExtras(d, r.Query.Metric)
			// A widget that runs past the statement timeout says so; the
			// savepoint keeps the transaction, and the other widgets, alive.
			if _, err := tx.ExecContext(ctx, "SAVEPOINT widget"); err != nil {
				if stopped {
					return stoppedDashboard(err)
				}
				return err
			}
			res, err := m.runSaved(ctx, tx, tn, r.Query, rng, extra, "report.query")
			if err != nil && errs.CodeOf(timeoutOr(err)) == errs.Timeout {
				stopped = true
				if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT widget"); rerr != nil {
					return stoppedDashboard(rerr)
				}
				err = timeoutOr(err)
			}
			switch {
			case err == nil:
				wr.Result = res
			case errs.CodeOf(err) == errs.Invalid || errs.CodeOf(err) == errs.Forbidden || errs.CodeOf(err) == errs.Timeout:
				wr.Error = errs.From(err).Detail
			case workerCancelled(err):
				return stoppedDashboard(err)
			default:
				return err
			}
			out.Widgets = append(out.Widgets, wr)
		}
		return nil
	})
	if err != nil {
		return nil, timeoutOr(err)
	}
	return out, nil
}

// stoppedDashboard names a dashboard whose transaction could not go on after
// one of its questions was stopped by the statement timeout. On Citus the
// cancel can break the coordinator's connection to a worker, and with it the
// transaction ("failure on connection marked as essential", or an aborted
// transaction): the other widgets cannot be read in it, and this says so
// instead of answering 500.
func stoppedDashboard(err error) error {
	return errs.Wrap(errs.Timeout, err, "A question of this dashboard was stopped (it took longer than %s, or a database node stopped answering) and the rest could not be read; open its reports one by one, or choose a shorter range, a larger bucket or fewer dimensions.", queryTimeout)
}

// workerCancelled reports Citus's answer to a question whose statement on a
// worker was cancelled under it (the statement timeout, seen at short limits
// on a loaded cluster): the coordinator's connection to that worker is broken
// and the transaction cannot go on.
func workerCancelled(err error) bool {
	return db.PgCode(err) == "XX000" && strings.Contains(err.Error(), "failure on connection marked as essential")
}
