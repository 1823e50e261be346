package funnel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// dealRig is the funnel module with deals' custom fields, the transfer
// engine over its adapter, and a worker running the engine's jobs.
type dealRig struct {
	env    *testkit.Env
	m      *funnel.Module
	fs     *fields.Service
	eng    *transfer.Engine
	client *jobs.Client
	bucket *blob.Bucket
}

func newDealRig(t *testing.T) *dealRig {
	t.Helper()
	env := testkit.Get(t)
	var logTo io.Writer = io.Discard
	if os.Getenv("IMPORT_TEST_LOG") != "" {
		logTo = os.Stderr
	}
	quiet := slog.New(slog.NewTextHandler(logTo, nil))
	fs, err := fields.New(fields.Deps{DB: env.App, MasterKey: make([]byte, 32), Entities: []string{funnel.EntityDeals}, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	r := &dealRig{env: env, fs: fs}
	r.m = funnel.New(funnel.Deps{DB: env.App, Fields: fs, Records: records.NewRegistry(), Log: quiet})
	ropt := env.AsynqOpt(t)
	r.client = jobs.NewClient(ropt, env.App, quiet)
	t.Cleanup(func() { r.client.Close() })
	if r.bucket, err = blob.Open(context.Background(), "mem://"); err != nil {
		t.Fatal(err)
	}
	reg, err := transfer.Collect([]any{r.m})
	if err != nil {
		t.Fatal(err)
	}
	r.eng = transfer.New(transfer.Deps{DB: env.App, Jobs: r.client, Blobs: r.bucket, Adapters: reg, Log: quiet})
	r.client.Register(r.eng.Jobs()...)
	jobstest.Worker(t, jobs.ServerOptions{Redis: ropt, DB: env.App, Concurrency: 2, Logger: quiet, Handlers: r.eng.Jobs(),
		SweepInterval: 200 * time.Millisecond, NoScheduler: true, PollInterval: 50 * time.Millisecond, ShutdownTimeout: 2 * time.Second})
	return r
}

// dealImporter may import and export deals and read sensitive values.
func dealImporter() context.Context {
	return authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Scope: authz.ScopeAll,
		Permissions: map[string]bool{funnel.PermRead: true, funnel.PermWrite: true, fields.PermPIIRead: true}})
}

// company is a tenant with the funnel's defaults, a second pipeline
// (Renewals 续约: Due 到期, Renewed 已续约), customers buyer<i>@example.com and a
// text custom field of deals, "region", filterable so it has index rows.
func (r *dealRig) company(t *testing.T, customers int) (tenancy.Tenant, company) {
	t.Helper()
	tk := r.env.NewTenant(t)
	c := company{id: tk.ID}
	r.env.InTenant(t, tk.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := r.m.Provision(ctx, tx, tk.ID); err != nil {
			return err
		}
		p := uuid.New()
		if _, err := tx.ExecContext(ctx, `INSERT INTO pipelines (tenant_id, id, name_en, name_zh, position) VALUES (?, ?, 'Renewals', '续约', 1)`, tk.ID, p); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pipeline_stages (tenant_id, id, pipeline_id, name_en, name_zh, position, probability, kind)
			VALUES (?0, gen_random_uuid(), ?1, 'Due', '到期', 0, 50, 'open'), (?0, gen_random_uuid(), ?1, 'Renewed', '已续约', 1, 100, 'won')`, tk.ID, p); err != nil {
			return err
		}
		if _, err := db.ExecStaged(ctx, tx, `INSERT INTO customers (tenant_id, id, kind, name, emails)
			SELECT ?0, gen_random_uuid(), 'company', '客户 ' || i, ARRAY['buyer' || i || '@example.com'] FROM generate_series(0, ?1 - 1) i`, tk.ID, customers); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO customer_contacts (tenant_id, key, customer_id)
			SELECT tenant_id, 'e:' || emails[1], id FROM customers WHERE tenant_id = ?`, tk.ID); err != nil {
			return err
		}
		_, err := r.fs.Create(ctx, tx, tk.ID, fields.Definition{Entity: funnel.EntityDeals, Key: "region", LabelEN: "Region", LabelZH: "区域", Type: "text", Filterable: true})
		return err
	})
	ps, err := r.m.ListPipelines(admin, tk.ID)
	if err != nil || len(ps) != 2 {
		t.Fatalf("pipelines %v, %v", ps, err)
	}
	c.pipeline = ps[0]
	return tenancy.Tenant{ID: tk.ID, Slug: tk.Slug}, c
}

// wait polls an import until it reaches want.
func (r *dealRig) wait(t *testing.T, tn tenancy.Tenant, id uuid.UUID, want string, timeout time.Duration) *transfer.Import {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		im := &transfer.Import{}
		r.env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			return tx.NewSelect().Model(im).Where("i.tenant_id = ? AND i.id = ?", tn.ID, id).Scan(ctx)
		})
		if im.Status == want {
			return im
		}
		if im.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("import is %s at %d rows, want %s (error %v)", im.Status, im.Processed, want, im.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dealTables is a digest of every column of every row the tenant has in the
// tables a deal import writes, and the deals' count.
func dealTables(t *testing.T, env *testkit.Env, tenant uuid.UUID) (string, int) {
	t.Helper()
	var sum string
	var n int
	if err := env.Owner.NewRaw(`SELECT md5(concat_ws('#',
		(SELECT string_agg(to_jsonb(d)::text, '|' ORDER BY d.id) FROM deals d WHERE d.tenant_id = ?0),
		(SELECT string_agg(to_jsonb(x)::text, '|' ORDER BY x.deal_id, x.tag) FROM deal_tags x WHERE x.tenant_id = ?0),
		(SELECT string_agg(to_jsonb(h)::text, '|' ORDER BY h.id) FROM deal_stage_history h WHERE h.tenant_id = ?0),
		(SELECT string_agg(to_jsonb(f)::text, '|' ORDER BY to_jsonb(f)::text) FROM field_index f WHERE f.tenant_id = ?0),
		(SELECT string_agg(to_jsonb(c)::text, '|' ORDER BY c.id) FROM customers c WHERE c.tenant_id = ?0))),
		(SELECT count(*) FROM deals WHERE tenant_id = ?0)`, tenant).Scan(context.Background(), &sum, &n); err != nil {
		t.Fatal(err)
	}
	return sum, n
}

// reportLines are an import's failed report lines: file row -> column and reason.
func reportLines(t *testing.T, env *testkit.Env, tenant, id uuid.UUID) map[int64][2]string {
	t.Helper()
	var got []struct {
		Row     int64  `bun:"row_no"`
		Outcome string `bun:"outcome"`
		Column  string `bun:"column_name"`
		Reason  string `bun:"reason"`
	}
	env.InTenant(t, tenant, func(c context.Context, tx bun.Tx) error {
		return tx.NewSelect().Table("import_problems").Column("row_no", "outcome", "column_name", "reason").
			Where("tenant_id = ? AND import_id = ?", tenant, id).OrderExpr("row_no, seq").Scan(c, &got)
	})
	out := map[int64][2]string{}
	for _, p := range got {
		if _, twice := out[p.Row]; twice || p.Outcome != "failed" {
			t.Errorf("report: row %d %s %q: %s (a second line, or not failed)", p.Row, p.Outcome, p.Column, p.Reason)
		}
		out[p.Row] = [2]string{p.Column, p.Reason}
	}
	return out
}

// The import acceptance of issue 16: 100,000 generated deals import through
// the kernel's engine, their customers found by email and their pipelines and
// stages by name in English or Chinese; the counts are exact, the failed rows
// are exactly the planted ones, each naming its column; revert leaves the
// deal tables (tags, stage history, custom-field index rows) and customers
// as they were, to the byte, and a deal made by hand stays.
// CLIENTELE_DEAL_IMPORT_ROWS sets another size (at least 1,000).
func TestDealImportCountsReportRevert(t *testing.T) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("CLIENTELE_DEAL_IMPORT_ROWS")); err == nil && v >= 1000 {
		n = v
		t.Logf("CLIENTELE_DEAL_IMPORT_ROWS: %d rows instead of 100,000", n)
	}
	r := newDealRig(t)
	ctx := dealImporter()
	const customers = 2000
	tn, c := r.company(t, customers)
	var buyer0 uuid.UUID
	r.env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT customer_id FROM customer_contacts WHERE tenant_id = ? AND key = 'e:buyer0@example.com'", tn.ID).Scan(ctx, &buyer0)
	})
	hand, err := r.m.CreateDeal(ctx, tn.ID, funnel.DealInput{Title: "By hand 手工", CustomerID: buyer0, Amount: "10"})
	if err != nil {
		t.Fatal(err)
	}
	sumBefore, countBefore := dealTables(t, r.env, tn.ID)

	header := []string{"商机名称", "客户邮箱", "销售流程", "阶段", "金额", "币种", "预计成交日期", "来源", "标签", "Region"}
	stages := [][2]string{{"", "Lead"}, {"销售", "需求确认"}, {"Sales", "proposal"}, {"", "谈判"}, {"", "Won"}, {"续约", "Due"}, {"Renewals", "已续约"}, {"", ""}}
	type plant struct{ col, value, reason string }
	planted := map[int]plant{
		10:    {"客户邮箱", "nobody@example.com", "no customer has this email"},
		20:    {"阶段", "Closing", "the pipeline has no stage with this name"},
		30:    {"金额", "-5.00", "an amount must not be negative"},
		40:    {"预计成交日期", "next week", "not a date"},
		50:    {"币种", "XYZ", "not a currency"},
		60:    {"销售流程", "Partners", "no pipeline has this name"},
		72:    {"阶段", "输单", "a new deal cannot start lost"},
		80:    {"商机名称", "", "the title is missing"},
		90:    {"客户邮箱", "not-an-email", "not an email address"},
		n / 2: {"金额", "lots", "not an amount"},
		n - 1: {"客户邮箱", "buyer-unknown@example.com", "no customer has this email"},
	}
	var fb strings.Builder
	fb.WriteString(strings.Join(header, ",") + "\n")
	for i := 1; i <= n; i++ {
		st := stages[i%len(stages)]
		cells := map[string]string{
			"商机名称": fmt.Sprintf("商机 Deal %d", i), "客户邮箱": fmt.Sprintf("buyer%d@example.com", i%customers),
			"销售流程": st[0], "阶段": st[1], "金额": fmt.Sprintf("%d.%02d", 100+i%9000, i%100), "币种": []string{"CNY", "usd", ""}[i%3],
			"预计成交日期": time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%365).Format([]string{"2006-01-02", "2006/1/2", "2006年1月2日"}[i%3]),
			"来源":     []string{"web", "展会", ""}[i%3], "标签": []string{"vip; 重点", "", "renewal"}[i%3], "Region": []string{"华东", "", "North"}[i%3]}
		if p, ok := planted[i]; ok {
			cells[p.col] = p.value
		}
		row := make([]string, len(header))
		for k, h := range header {
			row[k] = cells[h]
		}
		fb.WriteString(strings.Join(row, ",") + "\n")
	}
	file := fb.String()
	up, err := r.eng.Upload(ctx, tn, "deals", "商机.csv", int64(len(file)), strings.NewReader(file), "")
	if err != nil {
		t.Fatal(err)
	}
	wantMap := map[string]string{"商机名称": "title", "客户邮箱": "customer", "销售流程": "pipeline", "阶段": "stage", "金额": "amount",
		"币种": "currency", "预计成交日期": "expected_close", "来源": "source", "标签": "tags", "Region": "custom.region"}
	if fmt.Sprint(up.SuggestedMapping) != fmt.Sprint(wantMap) || up.Total != int64(n) || up.Entity != "deals" {
		t.Fatalf("upload: mapping %v, %d rows, entity %s", up.SuggestedMapping, up.Total, up.Entity)
	}
	began := time.Now()
	if _, err := r.eng.StartImport(ctx, tn, up.ID, up.SuggestedMapping, "create", ""); err != nil {
		t.Fatal(err)
	}
	im := r.wait(t, tn, up.ID, "completed", 60*time.Second+time.Duration(n)*time.Millisecond)
	t.Logf("%d deal rows in %s (%.0f rows/s)", n, time.Since(began).Round(time.Millisecond), float64(n)/time.Since(began).Seconds())
	want := int64(n - len(planted))
	if im.Processed != int64(n) || im.Created != want || im.Updated != 0 || im.Failed != int64(len(planted)) || im.Skipped != 0 {
		t.Fatalf("counts: processed %d created %d updated %d failed %d skipped %d; want %d, %d, 0, %d, 0",
			im.Processed, im.Created, im.Updated, im.Failed, im.Skipped, n, want, len(planted))
	}
	got := reportLines(t, r.env, tn.ID, up.ID)
	if len(got) != len(planted) {
		t.Errorf("the report names %d rows, want %d", len(got), len(planted))
	}
	for i, p := range planted {
		line, ok := got[int64(i+1)]
		if !ok || line[0] != p.col || !strings.HasPrefix(line[1], p.reason) {
			t.Errorf("row %d: report %q, want column %s: %s", i+1, line, p.col, p.reason)
		}
	}
	// What went in: every deal, its history row and tags; names in either
	// language found their stages; won deals are stamped; the default
	// currency and the custom value are there.
	var chk struct {
		Deals, History, Tagged, Won, Renewals, Lead, CNY, Region, Index, Owned, TagTimes int
	}
	if err := r.env.Owner.NewRaw(`SELECT
		(SELECT count(*) FROM deals WHERE tenant_id = ?0) AS deals,
		(SELECT count(*) FROM deal_stage_history WHERE tenant_id = ?0) AS history,
		(SELECT count(DISTINCT deal_id) FROM deal_tags WHERE tenant_id = ?0) AS tagged,
		(SELECT count(*) FROM deals d JOIN pipeline_stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id WHERE d.tenant_id = ?0 AND s.kind = 'won' AND d.won_at IS NOT NULL) AS won,
		(SELECT count(*) FROM deals d JOIN pipelines p ON p.tenant_id = d.tenant_id AND p.id = d.pipeline_id WHERE d.tenant_id = ?0 AND p.name_en = 'Renewals') AS renewals,
		(SELECT count(*) FROM deals d JOIN pipeline_stages s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id WHERE d.tenant_id = ?0 AND s.name_en = 'Lead') AS lead,
		(SELECT count(*) FROM deals WHERE tenant_id = ?0 AND currency = 'CNY') AS cny,
		(SELECT count(*) FROM deals WHERE tenant_id = ?0 AND custom->>'region' IS NOT NULL) AS region,
		(SELECT count(*) FROM field_index WHERE tenant_id = ?0) AS index,
		(SELECT count(*) FROM deals WHERE tenant_id = ?0 AND owner_id = ?1) AS owned,
		(SELECT count(*) FROM deal_tags x JOIN deals d ON d.tenant_id = x.tenant_id AND d.id = x.deal_id
		  WHERE x.tenant_id = ?0 AND x.created_at <> d.created_at) AS tag_times`, tn.ID, authz.ActorFrom(ctx).ID).Scan(context.Background(), &chk); err != nil {
		t.Fatal(err)
	}
	t.Logf("after the import: %+v", chk)
	if chk.Deals != int(want)+1 || chk.History != chk.Deals || chk.Tagged == 0 || chk.Won == 0 || chk.Renewals == 0 || chk.Lead == 0 ||
		chk.CNY == 0 || chk.Region == 0 || chk.Index < chk.Region || chk.Owned != chk.Deals || chk.TagTimes != 0 {
		t.Fatalf("after the import: %+v", chk)
	}

	// Export: every deal, the import's columns, names and emails back.
	ev, err := r.eng.StartExport(ctx, tn, "deals", transfer.ExportRequest{Filter: "tag=vip"}, nil, "csv")
	if err != nil {
		t.Fatal(err)
	}
	var j *jobs.Job
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if j, _ = r.client.Get(context.Background(), tn.ID, ev.ID); j != nil && j.Terminal() {
			break
		}
	}
	if j == nil || j.Status != jobs.StatusSucceeded {
		t.Fatalf("export: %+v", j)
	}
	data, err := r.bucket.ReadAll(context.Background(), blob.TenantKey(tn.ID.String(), "exports", ev.ID.String()+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(data), "\uFEFF")), "\n")
	var vip int
	r.env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM deal_tags WHERE tenant_id = ? AND tag = 'vip'", tn.ID).Scan(ctx, &vip)
	})
	if strings.TrimSpace(lines[0]) != "title,customer,pipeline,stage,amount,currency,expected_close,owner_id,source,tags,custom.region" || len(lines) != vip+1 || vip == 0 {
		t.Fatalf("export: %d lines for %d vip deals; header %q", len(lines), vip, lines[0])
	}
	if !strings.Contains(string(data), "@example.com,") || !strings.Contains(string(data), "华东") || !strings.Contains(string(data), "\"vip, 重点\"") {
		t.Fatalf("export lacks emails, custom values or tags: %q", lines[1])
	}

	// Revert: the tables are as they were, the hand-made deal with them.
	began = time.Now()
	if _, err := r.eng.RevertImport(ctx, tn, up.ID); err != nil {
		t.Fatal(err)
	}
	r.wait(t, tn, up.ID, "reverted", 60*time.Second+time.Duration(n)*time.Millisecond)
	t.Logf("revert in %s", time.Since(began).Round(time.Millisecond))
	if sum, n := dealTables(t, r.env, tn.ID); sum != sumBefore || n != countBefore {
		t.Fatalf("after the revert: %d deals (%s), want %d (%s)", n, sum, countBefore, sumBefore)
	}
	if _, err := r.m.GetDeal(ctx, tn.ID, hand.ID); err != nil {
		t.Fatalf("the deal made by hand: %v", err)
	}
	_ = c
}

// Deal mappings are checked before anything runs, naming the field; a deal
// file cannot reach another tenant's customers.
func TestDealImportRefusesBadMappingsAndOtherTenantsCustomers(t *testing.T) {
	r := newDealRig(t)
	ctx := dealImporter()
	tn, _ := r.company(t, 3)
	other, _ := r.company(t, 3)
	body := "title,email,stage,amount\nA,buyer1@example.com,Lead,10\n"
	up, err := r.eng.Upload(ctx, tn, "deals", "d.csv", int64(len(body)), strings.NewReader(body), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mapping map[string]string
		mode    string
		loc     string
	}{
		{map[string]string{"title": "title", "email": "customer"}, "upsert", "body.mode"},
		{map[string]string{"email": "customer"}, "create", "body.mapping"},
		{map[string]string{"title": "title"}, "create", "body.mapping"},
		{map[string]string{"title": "title", "email": "customer", "stage": "stage_id"}, "create", "body.mapping.stage"},
		{map[string]string{"title": "title", "email": "customer", "amount": "custom.nope"}, "create", "body.mapping.amount"},
	} {
		_, err := r.eng.StartImport(ctx, tn, up.ID, c.mapping, c.mode, "")
		var e *errs.Error
		if !errors.As(err, &e) || len(e.Errors) == 0 || e.Errors[0].Location != c.loc {
			t.Errorf("mapping %v (%s): %v, want an error at %s", c.mapping, c.mode, err, c.loc)
		}
	}
	// Only the other tenant's customers have these emails now.
	r.env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE customers SET deleted_at = now() WHERE tenant_id = ?", tn.ID)
		return err
	})
	if _, err := r.eng.StartImport(ctx, tn, up.ID, map[string]string{"title": "title", "email": "customer", "stage": "stage", "amount": "amount"}, "create", ""); err != nil {
		t.Fatal(err)
	}
	im := r.wait(t, tn, up.ID, "completed", 60*time.Second)
	if im.Created != 0 || im.Failed != 1 {
		t.Fatalf("created %d failed %d", im.Created, im.Failed)
	}
	if got := reportLines(t, r.env, tn.ID, up.ID)[2]; got[0] != "email" || !strings.HasPrefix(got[1], "no customer has this email") {
		t.Fatalf("report %q", got)
	}
	if _, n := dealTables(t, r.env, other.ID); n != 0 {
		t.Fatalf("the other tenant has %d deals", n)
	}
}

// Custom values are read by their field's type, and a refused one fails its
// row naming its column, with nothing of the row written.
func TestDealImportReadsCustomValuesByType(t *testing.T) {
	r := newDealRig(t)
	ctx := dealImporter()
	tn, _ := r.company(t, 3)
	r.env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := r.fs.Create(ctx, tx, tn.ID, fields.Definition{Entity: funnel.EntityDeals, Key: "seats", LabelEN: "Seats", LabelZH: "席位数", Type: "number", Filterable: true})
		return err
	})
	body := "title,email,Seats,Region\nA,buyer1@example.com,\"1,200\",华东\nB,buyer2@example.com,many,华北\n"
	up, err := r.eng.Upload(ctx, tn, "deals", "d.csv", int64(len(body)), strings.NewReader(body), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.StartImport(ctx, tn, up.ID, map[string]string{"title": "title", "email": "customer", "Seats": "custom.seats", "Region": "custom.region"}, "create", ""); err != nil {
		t.Fatal(err)
	}
	im := r.wait(t, tn, up.ID, "completed", 60*time.Second)
	if im.Created != 1 || im.Failed != 1 {
		t.Fatalf("created %d failed %d", im.Created, im.Failed)
	}
	if got := reportLines(t, r.env, tn.ID, up.ID)[3]; got[0] != "Seats" {
		t.Fatalf("report %q", got)
	}
	var seats string
	var n int
	if err := r.env.Owner.NewRaw("SELECT (SELECT custom->>'seats' FROM deals WHERE tenant_id = ?0), (SELECT count(*) FROM field_index WHERE tenant_id = ?0)", tn.ID).
		Scan(context.Background(), &seats, &n); err != nil || seats != "1200" || n != 2 {
		t.Fatalf("seats %q, %d index rows, %v", seats, n, err)
	}
}
