package profiles_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// timelineSum is a digest of the tenant's timeline and order numbers, every
// column.
func timelineSum(t *testing.T, env *testkit.Env, tenant uuid.UUID) (string, int) {
	t.Helper()
	var sum string
	var n int
	if err := env.Owner.NewRaw(`SELECT md5(concat_ws('#',
		(SELECT string_agg(to_jsonb(i)::text, '|' ORDER BY i.occurred_at, i.id) FROM interactions i WHERE i.tenant_id = ?0),
		(SELECT string_agg(to_jsonb(o)::text, '|' ORDER BY o.order_no) FROM purchase_orders o WHERE o.tenant_id = ?0))),
		(SELECT count(*) FROM interactions WHERE tenant_id = ?0)`, tenant).Scan(context.Background(), &sum, &n); err != nil {
		t.Fatal(err)
	}
	return sum, n
}

// The purchase history of issue 14: a 100,000-row purchase file imports with
// exact counts and an error report naming exactly the planted rows (a customer
// nobody has, a bad date, amount and currency, a missing and a repeated order
// number, an empty row); the same file imported again adds nothing; reverting
// both leaves the timeline byte-identical to before.
func TestPurchaseImportCountsReportIdempotenceRevert(t *testing.T) {
	ie := newImportEnv(t)
	ctx := importer()
	tn := ie.tenant()
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("CLIENTELE_IMPORT_TEST_ROWS")); err == nil && v >= 1000 {
		n = v
		t.Logf("CLIENTELE_IMPORT_TEST_ROWS: %d rows instead of 100,000", n)
	}
	ie.timeout = 60*time.Second + time.Duration(n)*time.Millisecond
	// The customers, imported through the engine too.
	const customers = 2000
	var cb strings.Builder
	cb.WriteString("姓名,邮箱\n")
	for i := 0; i < customers; i++ {
		fmt.Fprintf(&cb, "客户%d,buyer%d@example.com\n", i, i)
	}
	cu, err := ie.eng.Upload(ctx, tn, "customers", "客户.csv", int64(cb.Len()), strings.NewReader(cb.String()), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ie.eng.StartImport(ctx, tn, cu.ID, cu.SuggestedMapping, "create", ""); err != nil {
		t.Fatal(err)
	}
	if v := ie.wait(tn, cu.ID, "completed"); v.Created != customers {
		t.Fatalf("customers created: %d", v.Created)
	}
	// A purchase entered by hand before the import: the revert leaves it.
	var first uuid.UUID
	ie.env.InTenant(t, tn.ID, func(c context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT id FROM customers WHERE tenant_id = ? ORDER BY id LIMIT 1", tn.ID).Scan(c, &first)
	})
	if _, err := ie.m.AddInteraction(ctx, tn.ID, first, profiles.InteractionInput{Kind: "purchase", Summary: "Walk-in 门店", Amount: "88.00", Currency: "CNY"}); err != nil {
		t.Fatal(err)
	}
	sumBefore, countBefore := timelineSum(t, ie.env, tn.ID)

	type want struct{ column, reason string }
	bad := map[int64]want{} // file row -> its report line
	// The planted rows: the data row, the cell made bad, and the reason the
	// report gives; data row 70 is empty.
	planted := map[int]struct{ column, value, reason string }{
		10:    {"客户邮箱", "nobody@example.com", "no customer has this email"},
		20:    {"下单日期", "yesterday", "not a date"},
		30:    {"金额", "lots", "not an amount"},
		40:    {"币种", "XYZ1", "not a currency"},
		50:    {"订单号", "", "the order number is missing"},
		60:    {"订单号", "SO-0000001", "duplicate: row 2 of this file"},
		n / 2: {"客户邮箱", "buyer-unknown@example.com", "no customer has this email"},
	}
	var fb strings.Builder
	fb.WriteString("订单号,客户邮箱,下单日期,金额,币种,商品\n")
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		row := int64(i + 1)
		order, email := fmt.Sprintf("SO-%07d", i), fmt.Sprintf("buyer%d@example.com", i%customers)
		date, amount, cur := start.Add(time.Duration(i)*time.Minute).Format("2006-01-02 15:04:05"), fmt.Sprintf("%d.%02d", 10+i%990, i%100), "CNY"
		if i == 70 {
			fb.WriteString(",,,,,\n")
			continue
		}
		cells := map[string]*string{"订单号": &order, "客户邮箱": &email, "下单日期": &date, "金额": &amount, "币种": &cur}
		if p, ok := planted[i]; ok {
			*cells[p.column], bad[row] = p.value, want{p.column, p.reason}
		}
		fmt.Fprintf(&fb, "%s,%s,%s,%s,%s,商品 %d\n", order, email, date, amount, cur, i%50)
	}
	file := fb.String()
	run := func(name string) string {
		t.Helper()
		up, err := ie.eng.Upload(ctx, tn, "purchases", name, int64(len(file)), strings.NewReader(file), "")
		if err != nil {
			t.Fatal(err)
		}
		wantMap := map[string]string{"订单号": "order_no", "客户邮箱": "email", "下单日期": "date", "金额": "amount", "币种": "currency", "商品": "product"}
		if fmt.Sprint(up.SuggestedMapping) != fmt.Sprint(wantMap) || up.Total != int64(n) || up.Entity != "purchases" {
			t.Fatalf("upload: mapping %v, %d rows, entity %s", up.SuggestedMapping, up.Total, up.Entity)
		}
		if _, err := ie.eng.StartImport(ctx, tn, up.ID, up.SuggestedMapping, "create", ""); err != nil {
			t.Fatal(err)
		}
		return up.ID.String()
	}
	began := time.Now()
	id1 := run("orders.csv")
	v := ie.wait(tn, uuid.MustParse(id1), "completed")
	t.Logf("%d purchase rows in %s (%.0f rows/s)", n, time.Since(began).Round(time.Millisecond), float64(n)/time.Since(began).Seconds())
	wantCreated := int64(n - len(bad) - 1)
	if v.Processed != int64(n) || v.Created != wantCreated || v.Updated != 0 || v.Failed != int64(len(bad)) || v.Skipped != 1 {
		t.Fatalf("counts: processed %d created %d updated %d failed %d skipped %d; want %d, %d, 0, %d, 1", v.Processed, v.Created, v.Updated, v.Failed, v.Skipped, n, wantCreated, len(bad))
	}
	checkReport := func(id string, skippedToo map[int64]bool) {
		t.Helper()
		var got []reportLine
		for _, p := range reportOf(t, ie.env, tn.ID, uuid.MustParse(id)) {
			if p.Outcome == "failed" {
				got = append(got, p)
			}
		}
		rows := map[int64]bool{}
		for _, p := range got {
			w, ok := bad[p.Row]
			if !ok || p.Column != w.column || !strings.HasPrefix(p.Reason, w.reason) {
				t.Errorf("report line: row %d column %q: %s (want %+v)", p.Row, p.Column, p.Reason, w)
			}
			rows[p.Row] = true
		}
		if len(rows) != len(bad) {
			t.Errorf("the report names %d failed rows, want %d", len(rows), len(bad))
		}
		var skipped int
		ie.env.InTenant(t, tn.ID, func(c context.Context, tx bun.Tx) error {
			return tx.NewRaw("SELECT count(DISTINCT row_no) FROM import_problems WHERE tenant_id = ? AND import_id = ? AND outcome = 'skipped'", tn.ID, id).Scan(c, &skipped)
		})
		if skipped != len(skippedToo) {
			t.Errorf("%d skipped rows in the report, want %d", skipped, len(skippedToo))
		}
	}
	checkReport(id1, map[int64]bool{71: true})
	_, countAfter := timelineSum(t, ie.env, tn.ID)
	if countAfter != countBefore+int(wantCreated) {
		t.Fatalf("timeline has %d entries, want %d", countAfter, countBefore+int(wantCreated))
	}

	// The same file again adds nothing: every order is there already.
	began = time.Now()
	id2 := run("orders-again.csv")
	v2 := ie.wait(tn, uuid.MustParse(id2), "completed")
	t.Logf("the same file again in %s", time.Since(began).Round(time.Millisecond))
	if v2.Created != 0 || v2.Failed != int64(len(bad)) || v2.Skipped != wantCreated+1 {
		t.Fatalf("second import: created %d failed %d skipped %d", v2.Created, v2.Failed, v2.Skipped)
	}
	if _, c := timelineSum(t, ie.env, tn.ID); c != countAfter {
		t.Fatalf("the second import changed the timeline: %d entries, want %d", c, countAfter)
	}

	// Revert both: the timeline is as it was, to the byte.
	began = time.Now()
	defer func() { t.Logf("reverts in %s", time.Since(began).Round(time.Millisecond)) }()
	for _, id := range []string{id2, id1} {
		if _, err := ie.eng.RevertImport(ctx, tn, uuid.MustParse(id)); err != nil {
			t.Fatal(err)
		}
		ie.wait(tn, uuid.MustParse(id), "reverted")
	}
	if sum, c := timelineSum(t, ie.env, tn.ID); sum != sumBefore || c != countBefore {
		t.Fatalf("after the revert: %d entries (%s), want %d (%s)", c, sum, countBefore, sumBefore)
	}
}

// Purchase mappings are checked before anything runs, naming the field.
func TestPurchaseImportRefusesIncompleteMappings(t *testing.T) {
	ie := newImportEnv(t)
	ctx := importer()
	tn := ie.tenant()
	body := "order,email,date,amount,currency\nA-1,a@example.com,2024-01-02,10.00,CNY\n"
	up, err := ie.eng.Upload(ctx, tn, "purchases", "p.csv", int64(len(body)), strings.NewReader(body), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mapping map[string]string
		mode    string
		loc     string
	}{
		{map[string]string{"order": "order_no", "email": "email", "date": "date", "amount": "amount", "currency": "currency"}, "upsert", "body.mode"},
		{map[string]string{"email": "email", "date": "date", "amount": "amount", "currency": "currency"}, "create", "body.mapping"},
		{map[string]string{"order": "order_no", "date": "date", "amount": "amount", "currency": "currency"}, "create", "body.mapping"},
		{map[string]string{"order": "order_no", "email": "name", "date": "date", "amount": "amount", "currency": "currency"}, "create", "body.mapping.email"},
	} {
		_, err := ie.eng.StartImport(ctx, tn, up.ID, c.mapping, c.mode, "")
		if err == nil || !strings.Contains(fmt.Sprint(fieldsOf(err)), c.loc) {
			t.Errorf("mapping %v (%s): %v, want an error at %s", c.mapping, c.mode, err, c.loc)
		}
	}
	if _, err := ie.eng.Upload(ctx, tn, "deals", "p.csv", int64(len(body)), strings.NewReader(body), ""); err == nil || !strings.Contains(fmt.Sprint(fieldsOf(err)), "body.entity") {
		t.Errorf("an entity without an adapter: %v", err)
	}
}

// fieldsOf are the locations an error names.
func fieldsOf(err error) []string {
	var out []string
	var e *errs.Error
	if errors.As(err, &e) {
		for _, f := range e.Errors {
			out = append(out, f.Location)
		}
	}
	return out
}
