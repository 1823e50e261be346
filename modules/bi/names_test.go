package bi_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// The spreadsheet and the picture of a report by stage name the stages (in
// both languages, as the rest of the report), not their ids; a funnel's
// long stage names are drawn whole.
func TestExportsNameStages(t *testing.T) {
	m := newBI(t)
	w := newWorld(t, "Asia/Shanghai", "CNY", 5, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	testkit.Get(t).InTenant(t, w.tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE pipeline_stages SET name_en = 'Qualified, first call booked ' || position, name_zh = '已确认阶段' || position WHERE tenant_id = ?", w.tenant)
		return err
	})
	ctx := w.as(w.members[0], authz.ScopeAll, allPerms...)
	rep, err := m.CreateReport(ctx, bi.ReportInput{Name: "Deals by stage", NameZH: "各阶段商机", Chart: "funnel", Query: bi.SavedQuery{Metric: "funnel.deals",
		Dimensions: []string{"stage"}, Range: bi.Range{Preset: "custom", From: "2025-12-01", To: "2026-03-31"}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.RunReport(ctx, rep.ID)
	if err != nil || len(res.Rows) == 0 {
		t.Fatalf("no deals by stage: %+v %v", res, err)
	}
	rows := sheetRows(t, m, ctx, rep.ID)
	if len(rows) != len(res.Rows)+1 {
		t.Fatalf("the sheet has %d rows for %d groups", len(rows), len(res.Rows))
	}
	for i, r := range rows[1:] {
		g := r[3]
		if _, err := uuid.Parse(g); err == nil || !strings.HasPrefix(g, "Qualified, first call booked ") || !strings.Contains(g, " 已确认阶段") {
			t.Fatalf("row %d names its stage %q (the id is %s)", i+1, g, res.Rows[i].Keys[0])
		}
	}
	p, err := m.ExportReport(ctx, rep.ID, nil, bi.ExportPNG)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(p.Data)); err != nil {
		t.Fatalf("the funnel is not a picture: %v", err)
	}

	// A funnel draws each stage's whole name beside its bar.
	names := []string{"Qualified, first call booked 已确认首次通话", "Proposal sent 已发送方案", "Negotiation and contract review 谈判与合同审核", "Won 赢单"}
	drawn, err := bi.DrawFunnel(m, names, []float64{120, 80, 40, 12})
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		if drawn[i] != names[i] {
			t.Fatalf("the funnel draws %q for %q", drawn[i], names[i])
		}
	}
}

// Owners and teams are named too: a member by their name (else their
// address in the company), a team by its name.
func TestExportsNameOwnersAndTeams(t *testing.T) {
	m := newBI(t)
	w := newWorld(t, "Asia/Shanghai", "CNY", 6, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	testkit.Get(t).InTenant(t, w.tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE memberships SET name = '王芳 Wang Fang' WHERE tenant_id = ? AND identity_id = ?", w.tenant, w.members[0])
		return err
	})
	ctx := w.as(w.members[0], authz.ScopeAll, allPerms...)
	for dim, want := range map[string]func(string) bool{
		"owner": func(s string) bool { return s == "王芳 Wang Fang" || strings.HasSuffix(s, "@example.com") || s == "" },
		"team":  func(s string) bool { return strings.HasPrefix(s, "team ") || s == "" },
	} {
		rep, err := m.CreateReport(ctx, bi.ReportInput{Name: "Deals by " + dim, Chart: "bar", Query: bi.SavedQuery{Metric: "funnel.deals",
			Dimensions: []string{dim}, Range: bi.Range{Preset: "custom", From: "2025-12-01", To: "2026-03-31"}}})
		if err != nil {
			t.Fatal(err)
		}
		rows := sheetRows(t, m, ctx, rep.ID)
		named := 0
		for i, r := range rows[1:] {
			if _, err := uuid.Parse(r[3]); err == nil || !want(r[3]) {
				t.Fatalf("%s: row %d names its %s %q", dim, i+1, dim, r[3])
			}
			if r[3] != "" {
				named++
			}
		}
		if named == 0 {
			t.Fatalf("%s: no row named", dim)
		}
		if dim == "owner" && !strings.Contains(fmt.Sprint(rows), "王芳 Wang Fang") {
			t.Fatalf("the named member is not in the sheet: %v", rows)
		}
	}
}

// sheetRows exports a report to XLSX and reads its first sheet's rows.
func sheetRows(t *testing.T, m *bi.Module, ctx context.Context, report uuid.UUID) [][]string {
	t.Helper()
	f, err := m.ExportReport(ctx, report, nil, bi.ExportXLSX)
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
