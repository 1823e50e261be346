package bi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/page"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Range is the period a saved question asks about: a preset that moves with
// the calendar (this month), or the days from and to.
type Range struct {
	Preset string `json:"preset" enum:"last_7_days,last_30_days,last_90_days,this_month,last_month,this_quarter,last_quarter,this_year,last_year,last_12_months,custom" doc:"a period that moves with the calendar, in the company's time zone, or custom with from and to"`
	From   string `json:"from,omitempty" maxLength:"10" doc:"with custom: the first day, YYYY-MM-DD"`
	To     string `json:"to,omitempty" maxLength:"10" doc:"with custom: the last day (included)"`
}

// SavedQuery is the question a report keeps.
type SavedQuery struct {
	Metric     string            `json:"metric" maxLength:"80"`
	Dimensions []string          `json:"dimensions,omitempty" maxItems:"2"`
	Bucket     string            `json:"bucket,omitempty" enum:"day,week,month,quarter,year,"`
	Filters    []measures.Filter `json:"filters,omitempty" maxItems:"10"`
	Compare    bool              `json:"compare,omitempty"`
	Range      Range             `json:"range"`
}

// Report is a saved question with the chart that shows it.
type Report struct {
	bun.BaseModel `bun:"table:bi_reports,alias:r"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	Name          string     `bun:"name" json:"name"`
	NameZH        string     `bun:"name_zh" json:"name_zh" doc:"the name in Chinese; empty: the name serves both languages"`
	Chart         string     `bun:"chart" json:"chart" enum:"kpi,line,area,bar,stacked_bar,pie,funnel,table,pivot,heatmap"`
	Query         SavedQuery `bun:"query,type:jsonb" json:"query"`
	OwnerID       uuid.UUID  `bun:"owner_id,type:uuid" json:"owner_id" doc:"the member who owns it; the nil uuid for the company's own (provisioned) reports"`
	SharedRoles   []string   `bun:"shared_roles,array" json:"shared_roles" doc:"the roles it is shared with; for the company's own, none means every role holding bi.read"`
	ProvisionKey  *string    `bun:"provision_key" json:"provisioned,omitempty" doc:"the key of a report the company was given (provisioned dashboards)"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at" json:"updated_at"`
}

// ReportInput is a report as a member writes it.
type ReportInput struct {
	Name        string     `json:"name" minLength:"1" maxLength:"200"`
	NameZH      string     `json:"name_zh,omitempty" maxLength:"200" doc:"the name in Chinese"`
	Chart       string     `json:"chart" enum:"kpi,line,area,bar,stacked_bar,pie,funnel,table,pivot,heatmap"`
	Query       SavedQuery `json:"query"`
	SharedRoles []string   `json:"shared_roles,omitempty" maxItems:"20" doc:"the roles whose members may see and run it; none: private to its owner"`
}

var roleKey = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// resolve turns a range into days of the company's calendar as of now.
func (r Range) resolve(now time.Time, loc *time.Location, at string) (string, string, error) {
	today := measures.DateIn(now, loc)
	month := measures.Date{Y: today.Y, M: today.M, D: 1}
	quarter := measures.Trunc(today, measures.Quarter, time.Monday)
	year := measures.Date{Y: today.Y, M: time.January, D: 1}
	span := func(from, next measures.Date) (string, string, error) {
		return from.String(), next.AddDays(-1).String(), nil
	}
	switch r.Preset {
	case "last_7_days":
		return today.AddDays(-6).String(), today.String(), nil
	case "last_30_days":
		return today.AddDays(-29).String(), today.String(), nil
	case "last_90_days":
		return today.AddDays(-89).String(), today.String(), nil
	case "this_month":
		return span(month, month.AddMonths(1))
	case "last_month":
		return span(month.AddMonths(-1), month)
	case "this_quarter":
		return span(quarter, quarter.AddMonths(3))
	case "last_quarter":
		return span(quarter.AddMonths(-3), quarter)
	case "this_year":
		return span(year, year.AddMonths(12))
	case "last_year":
		return span(year.AddMonths(-12), year)
	case "last_12_months":
		return span(month.AddMonths(-11), month.AddMonths(1))
	case "custom":
		if r.From == "" || r.To == "" {
			return "", "", errs.Field(at+".from", "a custom range needs from and to")
		}
		return r.From, r.To, nil
	}
	return "", "", errs.Field(at+".preset", "must be one of last_7_days, last_30_days, last_90_days, this_month, last_month, this_quarter, last_quarter, this_year, last_year, last_12_months or custom")
}

// request is the question of a saved query for its range as of now, with
// the overrides of a dashboard (its range, its filters).
func (q SavedQuery) request(now time.Time, loc *time.Location, rng *Range, extra []measures.Filter, at string) (measures.Request, error) {
	r := q.Range
	if rng != nil && rng.Preset != "" {
		r = *rng
	}
	from, to, err := r.resolve(now, loc, at+".range")
	if err != nil {
		return measures.Request{}, err
	}
	return measures.Request{Metric: q.Metric, Dimensions: q.Dimensions, Bucket: q.Bucket, Filters: append(append([]measures.Filter{}, q.Filters...), extra...),
		Compare: q.Compare, From: from, To: to}, nil
}

// sees reports whether the actor may see a record owned by owner and shared
// with roles. A record of the company's own (owner uuid.Nil: a provisioned
// dashboard) shared with no role is seen by everyone holding bi.read, which
// every caller here holds; with roles, by those roles and by whoever
// manages BI.
func sees(ctx context.Context, owner uuid.UUID, roles []string) bool {
	a := authz.ActorFrom(ctx)
	if a.Kind == authz.ActorSystem || (owner != uuid.Nil && owner == a.ID) {
		return true
	}
	if owner == uuid.Nil && (len(roles) == 0 || a.Can(PermManage)) {
		return true
	}
	for _, r := range roles {
		if r == a.Role && a.Role != "" {
			return true
		}
	}
	return false
}

// mayChange reports whether the actor may change or remove it: its owner,
// or whoever manages BI (the only ones who change the company's own).
func mayChange(ctx context.Context, owner uuid.UUID) bool {
	a := authz.ActorFrom(ctx)
	return (owner != uuid.Nil && owner == a.ID) || a.Can(PermManage)
}

func checkRoles(roles []string, at string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for i, r := range roles {
		if !roleKey.MatchString(r) {
			return nil, errs.Field(fmt.Sprintf("%s[%d]", at, i), "is not a role key such as manager or agent")
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// tenantOf reads what a question needs of the company.
func tenantOf(ctx context.Context, tx bun.IDB, tn tenancy.Tenant) (measures.Tenant, *time.Location, error) {
	t := measures.Tenant{ID: tn.ID}
	if err := tx.NewRaw("SELECT time_zone, currency, week_start FROM tenants WHERE id = ?", tn.ID).Scan(ctx, &t.TimeZone, &t.Currency, &t.WeekStart); err != nil {
		return t, nil, err
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return t, nil, errs.E(errs.Internal, "the company's time zone %q is unknown", t.TimeZone)
	}
	return t, loc, nil
}

// checkQuery validates a saved query as a question the actor could ask now.
func (m *Module) checkQuery(ctx context.Context, tx bun.Tx, tn tenancy.Tenant, q SavedQuery, at string) error {
	e, err := m.offeredMetric(ctx, tn.ID, q.Metric, measures.Where(at))
	if err != nil {
		return err
	}
	t, loc, err := tenantOf(ctx, tx, tn)
	if err != nil {
		return err
	}
	req, err := q.request(time.Now(), loc, nil, nil, at)
	if err != nil {
		return err
	}
	return measures.Check(ctx, tx, t, e, req, measures.Where(at))
}

func reportNotFound() error { return errs.E(errs.NotFound, "report not found") }

// scopedReport loads a report the actor may see, optionally locked; one
// they may not see is NotFound, like one that does not exist.
func scopedReport(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID, lock bool) (*Report, error) {
	r := &Report{}
	q := tx.NewSelect().Model(r).Where("r.tenant_id = ? AND r.id = ?", tenant, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, reportNotFound()
		}
		return nil, err
	}
	if !sees(ctx, r.OwnerID, r.SharedRoles) {
		return nil, reportNotFound()
	}
	return r, nil
}

// CreateReport saves a report owned by the actor.
func (m *Module) CreateReport(ctx context.Context, in ReportInput) (*Report, error) {
	var out *Report
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		a := authz.ActorFrom(ctx)
		if a.ID == uuid.Nil {
			return errs.E(errs.Forbidden, "Reports belong to a member; an API key cannot own one.")
		}
		roles, err := checkRoles(in.SharedRoles, "body.shared_roles")
		if err != nil {
			return err
		}
		if err := m.checkQuery(ctx, tx, tn, in.Query, "body.query"); err != nil {
			return err
		}
		now := time.Now().UTC()
		r := &Report{TenantID: tn.ID, ID: uuid.New(), Name: strings.TrimSpace(in.Name), NameZH: strings.TrimSpace(in.NameZH), Chart: in.Chart, Query: in.Query, OwnerID: a.ID,
			SharedRoles: roles, CreatedAt: now, UpdatedAt: now}
		if r.Name == "" {
			return errs.Field("body.name", "must not be blank")
		}
		if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
			return err
		}
		out = r
		return audit.Record(ctx, tx, audit.Entry{Action: "report.create", Entity: "report", EntityID: r.ID.String(), After: r})
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

// UpdateReport replaces a report's name, chart, question and sharing.
func (m *Module) UpdateReport(ctx context.Context, id uuid.UUID, in ReportInput) (*Report, error) {
	var out *Report
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		r, err := scopedReport(ctx, tx, tn.ID, id, true)
		if err != nil {
			return err
		}
		if !mayChange(ctx, r.OwnerID) {
			return errs.E(errs.Forbidden, "Only the report's owner, or someone with bi.manage, may change it.")
		}
		roles, err := checkRoles(in.SharedRoles, "body.shared_roles")
		if err != nil {
			return err
		}
		if err := m.checkQuery(ctx, tx, tn, in.Query, "body.query"); err != nil {
			return err
		}
		before := *r
		r.Name, r.NameZH, r.Chart, r.Query, r.SharedRoles, r.UpdatedAt = strings.TrimSpace(in.Name), strings.TrimSpace(in.NameZH), in.Chart, in.Query, roles, time.Now().UTC()
		if r.Name == "" {
			return errs.Field("body.name", "must not be blank")
		}
		if _, err := tx.NewUpdate().Model(r).Column("name", "name_zh", "chart", "query", "shared_roles", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		out = r
		return audit.Record(ctx, tx, audit.Entry{Action: "report.update", Entity: "report", EntityID: r.ID.String(), Before: before, After: r})
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

// DeleteReport removes a report, and it leaves every dashboard.
func (m *Module) DeleteReport(ctx context.Context, id uuid.UUID) error {
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		r, err := scopedReport(ctx, tx, tn.ID, id, true)
		if err != nil {
			return err
		}
		if !mayChange(ctx, r.OwnerID) {
			return errs.E(errs.Forbidden, "Only the report's owner, or someone with bi.manage, may remove it.")
		}
		if _, err := tx.NewDelete().Model(r).WherePK().Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "report.delete", Entity: "report", EntityID: r.ID.String(), Before: r})
	})
	if err != nil {
		return errs.From(err)
	}
	return nil
}

// GetReport reads a report the actor may see.
func (m *Module) GetReport(ctx context.Context, id uuid.UUID) (*Report, error) {
	var out *Report
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		var err error
		out, err = scopedReport(ctx, tx, tn.ID, id, false)
		return err
	})
	if err != nil {
		return nil, errs.From(err)
	}
	return out, nil
}

// ListReports lists the reports the actor may see, newest first. The first
// list of a company gives it its provisioned dashboards and their reports.
func (m *Module) ListReports(ctx context.Context, limit int, cursor string) ([]Report, string, error) {
	after, err := page.Start[page.After](cursor)
	if err != nil {
		return nil, "", err
	}
	var rows []Report
	err = tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		if _, err := m.ensureProvisioned(ctx, tx, tn.ID); err != nil {
			return err
		}
		q := tx.NewSelect().Model(&rows).Where("r.tenant_id = ?", tn.ID).OrderExpr("r.created_at DESC, r.id DESC").Limit(limit + 1)
		q = visibleTo(ctx, q, "r")
		if after != nil {
			q = q.Where("(r.created_at, r.id) < (?, ?)", after.At, after.ID)
		}
		return q.Scan(ctx)
	})
	if err != nil {
		return nil, "", errs.From(err)
	}
	rows, next := page.Cut(rows, limit, func(r Report) any { return page.After{At: r.CreatedAt, ID: r.ID} })
	return rows, next, nil
}

// visibleTo restricts q to the records the actor owns or that are shared
// with their role, and the company's own: the SQL form of sees.
func visibleTo(ctx context.Context, q *bun.SelectQuery, alias string) *bun.SelectQuery {
	a := authz.ActorFrom(ctx)
	if a.Kind == authz.ActorSystem {
		return q
	}
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where(alias+".owner_id = ? AND ? <> ?", a.ID, a.ID, uuid.Nil)
		q = q.WhereOr(alias+".owner_id = ? AND (cardinality("+alias+".shared_roles) = 0 OR ?)", uuid.Nil, a.Can(PermManage))
		if a.Role != "" {
			q = q.WhereOr("? = ANY("+alias+".shared_roles)", a.Role)
		}
		return q
	})
}

// RunReport answers a report's question for its range as of now, with the
// actor's own permissions and scope.
func (m *Module) RunReport(ctx context.Context, id uuid.UUID) (*measures.Result, error) {
	var res *measures.Result
	err := tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		r, err := scopedReport(ctx, tx, tn.ID, id, false)
		if err != nil {
			return err
		}
		res, err = m.runSaved(ctx, tx, tn, r.Query, nil, nil, "report.query")
		return err
	})
	if err != nil {
		return nil, timeoutOr(err)
	}
	return res, nil
}

// runSaved runs a saved query, with a dashboard's range and filters when
// given.
func (m *Module) runSaved(ctx context.Context, tx bun.Tx, tn tenancy.Tenant, q SavedQuery, rng *Range, extra []measures.Filter, at string) (*measures.Result, error) {
	e, err := m.offeredMetric(ctx, tn.ID, q.Metric, measures.Where(at))
	if err != nil {
		return nil, err
	}
	t, loc, err := tenantOf(ctx, tx, tn)
	if err != nil {
		return nil, err
	}
	req, err := q.request(time.Now(), loc, rng, extra, at)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = '"+m.timeout()+"'"); err != nil {
		return nil, err
	}
	res, err := m.run(ctx, tx, t, e, req, measures.Where(at))
	if err != nil {
		return nil, err
	}
	// The limit is the question's: what the caller runs next in the
	// transaction (a dashboard's next widget) has the usual one.
	if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout TO DEFAULT"); err != nil {
		return nil, err
	}
	return res, nil
}
