package profiles_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/sheet"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/clientele-crm/clientele/platform/transfer"
)

type importEnv struct {
	t      *testing.T
	m      *profiles.Module
	eng    *transfer.Engine
	client *jobs.Client
	ropt   asynq.RedisClientOpt
	srv    *jobs.Server
	quiet  *slog.Logger
	env    *testkit.Env
	fs     *fields.Service
	blobs  *blob.Bucket
	// timeout bounds each wait for an import's status (60 s when zero).
	timeout time.Duration
}

func newImportEnv(t *testing.T) *importEnv {
	env := testkit.Get(t)
	var logTo io.Writer = io.Discard
	if os.Getenv("IMPORT_TEST_LOG") != "" {
		logTo = os.Stderr
	}
	quiet := slog.New(slog.NewTextHandler(logTo, nil))
	fs := customerFields(t, quiet)
	r := newTransferRig(t, env, env.App, quiet, profiles.Deps{Fields: fs})
	ie := &importEnv{t: t, m: r.m, eng: r.eng, client: r.client, ropt: r.ropt, quiet: quiet, env: env, fs: fs, blobs: r.bucket}
	ie.start()
	t.Cleanup(func() { ie.srv.Shutdown() })
	return ie
}

// tenant is a new tenant for the test.
func (ie *importEnv) tenant() tenancy.Tenant {
	tk := ie.env.NewTenant(ie.t)
	return tenancy.Tenant{ID: tk.ID, Slug: tk.Slug}
}

func (ie *importEnv) start() {
	ie.srv = jobs.NewServer(jobs.ServerOptions{Redis: ie.ropt, DB: ie.env.App, Concurrency: 2, Logger: ie.quiet, Handlers: handlersOf(ie.m, ie.eng),
		SweepInterval: 200 * time.Millisecond, NoScheduler: true, PollInterval: 50 * time.Millisecond, ShutdownTimeout: 2 * time.Second})
	if err := ie.srv.Start(); err != nil {
		ie.t.Fatal(err)
	}
}

func (ie *importEnv) wait(tn tenancy.Tenant, id uuid.UUID, want string) *transfer.ImportView {
	ie.t.Helper()
	timeout := ie.timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		v := ie.get(tn, id)
		if v.Status == want {
			return v
		}
		if v.Status == "failed" {
			ie.t.Fatalf("import failed: %v", deref(v.Error))
		}
		time.Sleep(100 * time.Millisecond)
	}
	v := ie.get(tn, id)
	if v.JobID != nil {
		if j, _ := ie.client.Get(context.Background(), tn.ID, *v.JobID); j != nil {
			ie.t.Fatalf("import did not reach %s: it is %s at %d rows; its job is %s after %d attempts: %s", want, v.Status, v.Processed, j.Status, j.Attempts, j.Error)
		}
	}
	ie.t.Fatalf("import did not reach %s: it is %s", want, v.Status)
	return nil
}

func (ie *importEnv) get(tn tenancy.Tenant, id uuid.UUID) *transfer.ImportView {
	ie.t.Helper()
	var v *transfer.ImportView
	ie.env.InTenant(ie.t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		im := &transfer.Import{}
		if err := tx.NewSelect().Model(im).Where("i.tenant_id = ? AND i.id = ?", tn.ID, id).Scan(ctx); err != nil {
			return err
		}
		v = &transfer.ImportView{Import: im}
		return nil
	})
	return v
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func importer() context.Context {
	return authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Scope: authz.ScopeAll,
		Permissions: map[string]bool{profiles.PermRead: true, profiles.PermWrite: true, fields.PermPIIRead: true}})
}

// checksum is a digest of every customer of the tenant, all columns.
func checksum(t *testing.T, env *testkit.Env, tenant uuid.UUID) (string, int) {
	var sum string
	var n int
	env.InTenant(t, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT coalesce(md5(string_agg(to_jsonb(c)::text, '|' ORDER BY c.id)), ''), count(*) FROM customers c WHERE c.tenant_id = ?`, tenant).Scan(ctx, &sum, &n)
	})
	return sum, n
}

// derivedSum is a digest of the tenant's derived rows: search terms, tags,
// contact keys and custom index rows. Terms, tags and index rows have no foreign
// key to customers, so a revert must delete them itself.
func derivedSum(t *testing.T, env *testkit.Env, tenant uuid.UUID) string {
	t.Helper()
	return derivedSumOn(t, env.Owner, tenant)
}

// Acceptance 1 and 4 of issue 5 (3 at 100k rows; the 1M-row kill with SIGKILL is
// `clientele bench -imports -import-kill`): a 100,000-row XLSX with planted bad rows
// imports with exact counts and an error report naming exactly those rows;
// importing again in update mode changes rows and duplicates none; a worker
// stopped halfway resumes from its checkpoint; revert restores the tenant's
// customers exactly, checked by a checksum.
func TestImportXLSXUpsertReportUpdateRevert(t *testing.T) {
	ie := newImportEnv(t)
	ctx := importer()
	tk, ok2 := ie.env.NewTenant(t), ie.env.NewTenant(t)
	tn, other := tenancy.Tenant{ID: tk.ID, Slug: tk.Slug}, tenancy.Tenant{ID: ok2.ID, Slug: ok2.Slug}
	ie.env.InTenant(t, tn.ID, func(c context.Context, tx bun.Tx) error {
		for _, d := range []fields.Definition{
			{Key: "tier", LabelEN: "Tier", LabelZH: "等级", Type: fields.Select, Options: []fields.Option{{Value: "gold"}, {Value: "silver"}}, Filterable: true},
			{Key: "score", LabelEN: "Score", LabelZH: "积分", Type: fields.Number, Filterable: true, Sortable: true},
		} {
			d.Entity = profiles.EntityCustomers
			if _, err := ie.fs.Create(c, tx, tn.ID, d); err != nil {
				return err
			}
		}
		return nil
	})
	// A customer that exists before the import, matched by email.
	pre, err := ie.m.CreateCustomer(ctx, tn.ID, profiles.CustomerInput{Name: "Existing 老客户", Emails: []string{"user5@example.com"}, Tags: []string{"old"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	sumBefore, nBefore := checksum(t, ie.env, tn.ID)
	derivedBefore := derivedSum(t, ie.env, tn.ID)
	// 100,000 rows as the issue asks; CLIENTELE_IMPORT_TEST_ROWS lowers it for a
	// quick local run (the run says so).
	n := int64(100_000)
	if v, err := strconv.ParseInt(os.Getenv("CLIENTELE_IMPORT_TEST_ROWS"), 10, 64); err == nil && v >= 1000 {
		n = v
		t.Logf("CLIENTELE_IMPORT_TEST_ROWS: %d rows instead of 100,000", n)
	}
	// A bound on a stall, not on speed (the benchmark judges speed): 100k rows
	// took 175 s on a 2-core machine running four other builds, so 1 ms a row
	// was too tight there.
	ie.timeout = 2*time.Minute + time.Duration(n)*3*time.Millisecond
	bad := map[int64]string{} // file row -> what is wrong
	build := func(tier string) []byte {
		var buf bytes.Buffer
		x := sheet.NewXLSX(&buf, "客户")
		_ = x.WriteRow([]string{"姓名", "邮箱", "电话", "公司", "标签", "等级", "积分", "阶段"})
		for i := 1; i <= int(n); i++ {
			row := int64(i + 1)
			email := fmt.Sprintf("user%d@example.com", i)
			name := fmt.Sprintf("客户%d", i)
			phone := fmt.Sprintf("+86 138 %04d %04d", i/10000, i%10000)
			tr, score, stage := tier, fmt.Sprint(i%1000), "lead"
			switch {
			case i == 100:
				email, bad[row] = "not-an-email", "email"
			case i == 200:
				tr, bad[row] = "platinum", "tier"
			case i == 300:
				score, bad[row] = "lots", "score"
			case i == 400:
				email, bad[row] = "user2@example.com", "duplicate"
			case i == 500:
				stage, bad[row] = "vip", "lifecycle"
			case i == 600:
				_ = x.WriteRow([]string{"", "", "", "", "", "", "", ""})
				continue
			}
			_ = x.WriteRow([]string{name, email, phone, "顶点贸易", "import", tr, score, stage})
		}
		_ = x.Close()
		return buf.Bytes()
	}
	file := build("gold")
	up, err := ie.eng.Upload(ctx, tn, "customers", "客户.xlsx", int64(len(file)), bytes.NewReader(file), "")
	if err != nil {
		t.Fatal(err)
	}
	if up.Format != "xlsx" || up.Total != n || len(up.Sample) != 20 {
		t.Fatalf("upload: format %s, %d rows, %d sample rows", up.Format, up.Total, len(up.Sample))
	}
	wantMap := map[string]string{"姓名": "name", "邮箱": "emails", "电话": "phones", "公司": "company", "标签": "tags", "等级": "custom.tier", "积分": "custom.score", "阶段": "lifecycle"}
	if fmt.Sprint(up.SuggestedMapping) != fmt.Sprint(wantMap) {
		t.Fatalf("suggested mapping %v", up.SuggestedMapping)
	}
	// Stop the worker once the import is well under way; a new one resumes it.
	began := time.Now()
	v, err := ie.eng.StartImport(ctx, tn, up.ID, up.SuggestedMapping, "upsert", "email")
	if err != nil || v.Status != "queued" {
		t.Fatalf("start: %v %v", v, err)
	}
	for deadline := time.Now().Add(ie.timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if g := ie.get(tn, up.ID); g.Processed >= n/2 || g.Status == "completed" {
			break
		}
	}
	stoppedAt := ie.get(tn, up.ID).Processed
	ie.srv.Shutdown()
	ie.start()
	done := ie.wait(tn, up.ID, "completed")
	t.Logf("worker stopped at %d of %d rows, resumed; import done in %s", stoppedAt, n, time.Since(began).Round(time.Millisecond))
	// Rows: n data rows = created + updated (user5 existed) + skipped (the empty row) + failed (the planted ones).
	if done.Processed != n || done.Created != n-2-int64(len(bad)) || done.Updated != 1 || done.Skipped != 1 || done.Failed != int64(len(bad)) {
		t.Fatalf("counts: processed %d created %d updated %d skipped %d failed %d (planted %d)", done.Processed, done.Created, done.Updated, done.Skipped, done.Failed, len(bad))
	}
	probs := reportOf(t, ie.env, tn.ID, up.ID)
	got := map[int64]bool{}
	for _, p := range probs {
		if p.Outcome == "failed" {
			got[p.Row] = true
			if _, ok := bad[p.Row]; !ok {
				t.Errorf("row %d reported but was not planted: %s %s", p.Row, p.Column, p.Reason)
			}
		} else if p.Row != 601 {
			t.Errorf("row %d skipped: %s", p.Row, p.Reason)
		}
	}
	for row, what := range bad {
		if !got[row] {
			t.Errorf("planted %s at row %d is missing from the report", what, row)
		}
	}
	var emails, distinct, tagged int
	ie.env.InTenant(t, tn.ID, func(c context.Context, tx bun.Tx) error {
		if err := tx.NewRaw("SELECT count(*), count(DISTINCT lower(emails[1])) FROM customers WHERE tenant_id = ?", tn.ID).Scan(c, &emails, &distinct); err != nil {
			return err
		}
		return tx.NewRaw("SELECT count(*) FROM customer_tags WHERE tenant_id = ? AND tag = 'import'", tn.ID).Scan(c, &tagged)
	})
	if emails != distinct || emails != int(done.Created)+1 || tagged != emails {
		t.Fatalf("%d customers, %d distinct emails, %d tagged import; created %d", emails, distinct, tagged, done.Created)
	}
	// The matched customer kept its tag and gained the file's, and search finds the new ones.
	if c, err := ie.m.GetCustomer(ctx, tn.ID, pre.ID); err != nil || strings.Join(c.Tags, ",") != "old,import" || c.Custom["tier"] != "gold" {
		t.Fatalf("updated customer %+v %v", c, err)
	}
	if found, _, err := ie.m.ListCustomers(ctx, tn.ID, profiles.Filter{Q: fmt.Sprintf("客户%d", n-1)}); err != nil || len(found) != 1 {
		t.Fatalf("search after import: %d %v", len(found), err)
	}
	sumAfterFirst, _ := checksum(t, ie.env, tn.ID)

	// The same file again, in update mode, with another tier: every matched row
	// updates, nothing is created.
	file2 := build("silver")
	up2, err := ie.eng.Upload(ctx, tn, "customers", "again.xlsx", int64(len(file2)), bytes.NewReader(file2), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ie.eng.StartImport(ctx, tn, up2.ID, up2.SuggestedMapping, "update", "email"); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	done2 := ie.wait(tn, up2.ID, "completed")
	t.Logf("update run done in %s", time.Since(began).Round(time.Millisecond))
	// Update mode: the rows that failed the first time match nobody now and are
	// skipped; the invalid email and the duplicate fail again.
	if done2.Created != 0 || done2.Updated != done.Created+1 || done2.Failed != 2 || done2.Skipped != 4 {
		t.Fatalf("update run: created %d updated %d skipped %d failed %d", done2.Created, done2.Updated, done2.Skipped, done2.Failed)
	}
	if _, cnt := checksum(t, ie.env, tn.ID); cnt != emails {
		t.Fatalf("update mode changed the number of customers: %d -> %d", emails, cnt)
	}
	silver, _ := ie.m.CountCustomers(ctx, tn.ID, profiles.Filter{Fields: mustFilters(t, "custom.tier=silver")})
	if silver != emails {
		t.Fatalf("%d silver customers after the update, want %d", silver, emails)
	}
	// Revert the update, then the first import: the checksums come back.
	if _, err := ie.eng.RevertImport(ctx, tn, up2.ID); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	ie.wait(tn, up2.ID, "reverted")
	t.Logf("revert of the update done in %s", time.Since(began).Round(time.Millisecond))
	if sum, _ := checksum(t, ie.env, tn.ID); sum != sumAfterFirst {
		t.Fatal("reverting the update did not restore the customers")
	}
	if _, err := ie.eng.RevertImport(ctx, tn, up.ID); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	ie.wait(tn, up.ID, "reverted")
	t.Logf("revert of the first import done in %s", time.Since(began).Round(time.Millisecond))
	if sum, cnt := checksum(t, ie.env, tn.ID); sum != sumBefore || cnt != nBefore {
		t.Fatalf("after both reverts: %d customers (want %d), checksum differs: %v", cnt, nBefore, sum != sumBefore)
	}
	if derivedSum(t, ie.env, tn.ID) != derivedBefore {
		t.Fatal("after both reverts the search terms, tags, contact keys or custom index rows differ from before the import")
	}
	if gold, _ := ie.m.CountCustomers(ctx, tn.ID, profiles.Filter{Fields: mustFilters(t, "custom.tier=gold")}); gold != 0 {
		t.Fatalf("%d gold customers in the index after revert", gold)
	}
	// The other tenant sees none of it.
	if _, cnt := checksum(t, ie.env, other.ID); cnt != 0 {
		t.Fatalf("other tenant has %d customers", cnt)
	}
	if _, err := ie.eng.StartImport(ctx, other, up.ID, up.SuggestedMapping, "create", ""); !errs.Is(err, errs.NotFound) {
		t.Fatalf("other tenant starting this import: %v", err)
	}
}

func mustFilters(t *testing.T, q string) []profiles.FieldFilter {
	vals := map[string][]string{}
	k, v, _ := strings.Cut(q, "=")
	vals[k] = []string{v}
	ff, err := profiles.ParseFilters(vals)
	if err != nil {
		t.Fatal(err)
	}
	return ff
}

// A GBK-encoded CSV of Chinese names and addresses is detected and imported
// correctly; bad files get a 4xx naming the file, never a silent skip.
func TestImportGBKAndBadFiles(t *testing.T) {
	ie := newImportEnv(t)
	ctx := importer()
	tn := ie.tenant()
	text := "姓名,地址,手机\n张伟,北京市朝阳区建国路88号,13800138000\n李娜,上海市浦东新区世纪大道100号,13900139000\n王芳,\"广州市天河区\n体育西路\",13700137000\n赵六,深圳市,12\n钱七,杭州市\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	up, err := ie.eng.Upload(ctx, tn, "customers", "客户.csv", int64(len(gbk)), strings.NewReader(gbk), "")
	if err != nil {
		t.Fatal(err)
	}
	if up.Encoding != "gb18030" || fmt.Sprint(up.Columns) != "[姓名 地址 手机]" || up.Total != 5 {
		t.Fatalf("upload: %s %v %d", up.Encoding, up.Columns, up.Total)
	}
	if len(up.DryRun) != 2 { // the bad phone and the ragged row, found in the sample
		t.Fatalf("dry run %+v", up.DryRun)
	}
	if _, err := ie.eng.StartImport(ctx, tn, up.ID, up.SuggestedMapping, "create", ""); err != nil {
		t.Fatal(err)
	}
	done := ie.wait(tn, up.ID, "completed")
	if done.Created != 3 || done.Failed != 2 {
		t.Fatalf("created %d failed %d", done.Created, done.Failed)
	}
	list, _, err := ie.m.ListCustomers(ctx, tn.ID, profiles.Filter{Q: "王", Limit: 10})
	if err != nil || len(list) != 1 || list[0].Name != "王芳" || !strings.Contains(string(list[0].Address), "广州市天河区\\n体育西路") {
		t.Fatalf("王芳 after import: %+v %v", list, err)
	}
	var names []string
	all, _, _ := ie.m.ListCustomers(ctx, tn.ID, profiles.Filter{Limit: 10})
	for _, c := range all {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "张伟,李娜,王芳" {
		t.Fatalf("names %v", names)
	}
	for name, body := range map[string]string{
		"empty":       "",
		"header only": "姓名,邮箱\n",
		"no header":   ",,\n张三,a@b.example,\n",
	} {
		_, err := ie.eng.Upload(ctx, tn, "customers", name+".csv", int64(len(body)), strings.NewReader(body), "")
		if e, ok := err.(*errs.Error); !ok || e.Status != 422 || e.Errors[0].Location != "body.file" {
			t.Errorf("%s file: %v", name, err)
		}
	}
	_, err = ie.eng.Upload(ctx, tn, "customers", "huge.csv", 300<<20, strings.NewReader("姓名\n张三\n"), "")
	if e, ok := err.(*errs.Error); !ok || e.Status != 413 {
		t.Errorf("oversize: %v", err)
	}
	if _, err := ie.eng.Upload(ctx, tn, "customers", "x.csv", 10, strings.NewReader("姓名\n张三\n"), "latin1"); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown encoding: %v", err)
	}
	// A mapping to a column or field that does not exist names it.
	up2, _ := ie.eng.Upload(ctx, tn, "customers", "ok.csv", 20, strings.NewReader("姓名\n张三\n"), "")
	for _, c := range []struct {
		mapping map[string]string
		mode    string
		match   string
		loc     string
	}{
		{map[string]string{"nope": "name"}, "create", "", "body.mapping.nope"},
		{map[string]string{"姓名": "custom.nope"}, "create", "", "body.mapping.姓名"},
		{map[string]string{"姓名": "name"}, "upsert", "", "body.match_on"},
		{map[string]string{"姓名": "name"}, "update", "email", "body.match_on"},
		{map[string]string{"姓名": "name"}, "merge", "", "body.mode"},
	} {
		_, err := ie.eng.StartImport(ctx, tn, up2.ID, c.mapping, c.mode, c.match)
		if e, ok := err.(*errs.Error); !ok || e.Status != 422 || e.Errors[0].Location != c.loc {
			t.Errorf("%v %s %s: %v", c.mapping, c.mode, c.match, err)
		}
	}
}

// A unique custom field: a row may keep its own customer's value, but a value
// another customer holds, or an earlier row of the file took, fails that row with
// the file's column named, whether the row creates or updates; the rest of the batch goes
// in.
func TestImportUniqueCustomFieldFailsOnlyItsRow(t *testing.T) {
	ie := newImportEnv(t)
	ctx := importer()
	tn := ie.tenant()
	ie.env.InTenant(t, tn.ID, func(c context.Context, tx bun.Tx) error {
		_, err := ie.fs.Create(c, tx, tn.ID, fields.Definition{Entity: profiles.EntityCustomers, Key: "member_no", LabelEN: "Member no", LabelZH: "会员号",
			Type: fields.Text, Unique: true})
		return err
	})
	x, err := ie.m.CreateCustomer(ctx, tn.ID, profiles.CustomerInput{Name: "X", Emails: []string{"x@example.com"}, Custom: map[string]any{"member_no": "M1"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	y, err := ie.m.CreateCustomer(ctx, tn.ID, profiles.CustomerInput{Name: "Y", Emails: []string{"y@example.com"}, Custom: map[string]any{"member_no": "M2"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	file := "姓名,邮箱,会员号\n" +
		"X renamed,x@example.com,M1\n" + // row 2: keeps its own value: updated
		"Y renamed,y@example.com,M1\n" + // row 3: X holds M1: failed
		"Z,z@example.com,M2\n" + // row 4: Y holds M2: failed
		"W,w@example.com,M3\n" + // row 5: created
		"V,v@example.com,M3\n" // row 6: row 5 took M3: failed
	up, err := ie.eng.Upload(ctx, tn, "customers", "members.csv", int64(len(file)), strings.NewReader(file), "")
	if err != nil {
		t.Fatal(err)
	}
	if up.SuggestedMapping["会员号"] != "custom.member_no" {
		t.Fatalf("mapping %v", up.SuggestedMapping)
	}
	if _, err := ie.eng.StartImport(ctx, tn, up.ID, up.SuggestedMapping, "upsert", "email"); err != nil {
		t.Fatal(err)
	}
	done := ie.wait(tn, up.ID, "completed")
	if done.Created != 1 || done.Updated != 1 || done.Failed != 3 || done.Skipped != 0 {
		t.Fatalf("created %d updated %d failed %d skipped %d", done.Created, done.Updated, done.Failed, done.Skipped)
	}
	var probs []struct {
		Row    int64  `bun:"row_no"`
		Column string `bun:"column_name"`
	}
	ie.env.InTenant(t, tn.ID, func(c context.Context, tx bun.Tx) error {
		return tx.NewSelect().Table("import_problems").Column("row_no", "column_name").Where("tenant_id = ? AND import_id = ?", tn.ID, up.ID).OrderExpr("row_no").Scan(c, &probs)
	})
	if fmt.Sprint(probs) != "[{3 会员号} {4 会员号} {6 会员号}]" {
		t.Fatalf("problems %v", probs)
	}
	if c, _ := ie.m.GetCustomer(ctx, tn.ID, x.ID); c.Name != "X renamed" || c.Custom["member_no"] != "M1" {
		t.Fatalf("X after import: %s %v", c.Name, c.Custom)
	}
	if c, _ := ie.m.GetCustomer(ctx, tn.ID, y.ID); c.Name != "Y" || c.Custom["member_no"] != "M2" {
		t.Fatalf("Y after import: %s %v", c.Name, c.Custom)
	}
}
