package profiles

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"golang.org/x/text/currency"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// EntityPurchases is the purchase history: the timeline's purchase entries,
// imported and exported through the transfer engine.
const EntityPurchases = "purchases"

// purchaseTargets are the columns of a purchase file. The customer is found by
// email, phone or a unique custom field of customers (custom.<key>); the order
// number is the purchase's idempotency key.
var purchaseTargets = []transfer.Target{
	{Key: "order_no", LabelEN: "Order number", LabelZH: "订单号", Aliases: []string{"order", "orderno", "ordernumber", "orderid", "order#", "单号", "订单", "订单编号", "订单号码"}},
	{Key: "email", LabelEN: "Customer email", LabelZH: "客户邮箱", Aliases: []string{"email", "e-mail", "mail", "邮箱", "电子邮件", "电子邮箱"}},
	{Key: "phone", LabelEN: "Customer phone", LabelZH: "客户电话", Aliases: []string{"phone", "mobile", "tel", "telephone", "电话", "手机", "手机号", "手机号码", "联系电话"}},
	{Key: "date", LabelEN: "Date", LabelZH: "日期", Aliases: []string{"orderdate", "purchasedate", "purchasedat", "orderedat", "date", "time", "下单日期", "下单时间", "购买日期", "购买时间", "订单日期", "时间"}},
	{Key: "amount", LabelEN: "Amount", LabelZH: "金额", Aliases: []string{"total", "price", "sum", "value", "订单金额", "总额", "总价", "价格", "实付金额"}},
	{Key: "currency", LabelEN: "Currency", LabelZH: "币种", Aliases: []string{"货币", "币别"}},
	{Key: "product", LabelEN: "Product", LabelZH: "商品", Aliases: []string{"description", "item", "items", "productname", "产品", "商品名称", "产品名称", "描述", "说明"}},
}

// purchaseAdapter plugs the purchase history into the transfer engine.
type purchaseAdapter struct{ m *Module }

// Entity names the rows.
func (a purchaseAdapter) Entity() string { return EntityPurchases }

// Module owns purchases, which live on the customers' timelines.
func (a purchaseAdapter) Module() string { return a.m.Name() }

// Permissions: purchases are read and written with the customers they belong to.
func (a purchaseAdapter) Permissions() (string, string) { return PermRead, PermWrite }

// BulkTables are the tables a purchase import fills.
func (a purchaseAdapter) BulkTables() []string { return []string{"interactions", "purchase_orders"} }

// uniqueFields are the customers' unique custom fields: a purchase file may
// name its customers by one (a member number, say).
func (a purchaseAdapter) uniqueFields(ctx context.Context, tx bun.IDB, tenant uuid.UUID) ([]fields.Definition, error) {
	if a.m.d.Fields == nil {
		return nil, nil
	}
	defs, err := a.m.custom.Definitions(ctx, tx, tenant)
	if err != nil {
		return nil, err
	}
	var out []fields.Definition
	for _, d := range defs {
		if d.Unique {
			out = append(out, d)
		}
	}
	return out, nil
}

// Targets are the purchase columns, then the customers' unique custom fields.
func (a purchaseAdapter) Targets(ctx context.Context, tx bun.IDB, tenant uuid.UUID) ([]transfer.Target, error) {
	defs, err := a.uniqueFields(ctx, tx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]transfer.Target, 0, len(defs)+len(purchaseTargets))
	for _, d := range defs {
		out = append(out, transfer.Target{Key: "custom." + d.Key, LabelEN: d.LabelEN, LabelZH: d.LabelZH, Sensitive: d.Sensitive})
	}
	return append(out, purchaseTargets...), nil
}

type purchasePlan struct {
	m      *Module
	col    map[string]int
	match  string // email, phone or custom.<key>
	unique fields.Definition
}

// Plan checks a purchase mapping: an order number, a date, an amount, a
// currency and one way to find the customer.
func (a purchaseAdapter) Plan(ctx context.Context, tx bun.IDB, tenant uuid.UUID, s transfer.ImportSpec) (transfer.Plan, error) {
	if s.Mode != "create" {
		return nil, errs.Field("body.mode", "purchases are only added: use create (a row whose order number is imported already is skipped)")
	}
	defs, err := a.uniqueFields(ctx, tx, tenant)
	if err != nil {
		return nil, err
	}
	unique := map[string]fields.Definition{}
	for _, d := range defs {
		unique["custom."+d.Key] = d
	}
	known := map[string]bool{}
	for _, t := range purchaseTargets {
		known[t.Key] = true
	}
	p := &purchasePlan{m: a.m, col: map[string]int{}}
	if err := mapColumns(s, p.col, func(target string) string {
		if known[target] {
			return ""
		}
		if _, ok := unique[target]; ok {
			return ""
		}
		if strings.HasPrefix(target, "custom.") {
			return "only a custom field of customers marked unique can find the customer of a purchase"
		}
		return "map to order_no, email, phone, date, amount, currency, product or custom.<key> of a unique customer field"
	}); err != nil {
		return nil, err
	}
	for _, need := range []struct{ target, why string }{
		{"order_no", "map a column to order_no: the order number keeps a purchase from being imported twice"},
		{"date", "map a column to date: when the purchase was made"},
		{"amount", "map a column to amount"},
		{"currency", "map a column to currency (an ISO 4217 code such as CNY)"},
	} {
		if _, ok := p.col[need.target]; !ok {
			return nil, errs.Field("body.mapping", need.why)
		}
	}
	p.match = s.MatchOn
	if p.match == "" {
		for _, t := range []string{"email", "phone"} {
			if _, ok := p.col[t]; ok {
				p.match = t
				break
			}
		}
		for k := range unique {
			if _, ok := p.col[k]; ok && p.match == "" {
				p.match = k
			}
		}
	}
	switch d, isUnique := unique[p.match]; {
	case p.match == "":
		return nil, errs.Field("body.mapping", "map a column to email, phone or custom.<key> of a unique customer field: it finds each purchase's customer")
	case p.match != "email" && p.match != "phone" && !isUnique:
		return nil, errs.Field("body.match_on", "use email, phone or custom.<key> of a custom field of customers marked unique")
	default:
		if _, ok := p.col[p.match]; !ok {
			return nil, errs.Field("body.match_on", "matching on "+p.match+" needs a column mapped to it")
		}
		p.unique = d
	}
	return p, nil
}

// mapColumns checks a mapping against the file's columns: each target from
// one column, each target known (bad says why not, or "").
func mapColumns(s transfer.ImportSpec, col map[string]int, bad func(target string) string) error {
	index := map[string]int{}
	for i, c := range s.Columns {
		index[c] = i
	}
	cols := make([]string, 0, len(s.Mapping))
	for c := range s.Mapping {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	for _, c := range cols {
		target := strings.TrimSpace(s.Mapping[c])
		if target == "" {
			continue
		}
		i, ok := index[c]
		if !ok {
			return errs.Field("body.mapping."+c, "the file has no column with this name; use one of the columns the upload listed")
		}
		if why := bad(target); why != "" {
			return errs.Field("body.mapping."+c, why)
		}
		if _, dup := col[target]; dup {
			return errs.Field("body.mapping."+c, target+" is mapped from two columns; map it from one")
		}
		col[target] = i
	}
	return nil
}

// Columns maps targets to the file's columns.
func (p *purchasePlan) Columns() map[string]int { return p.col }

// purchaseRow is a row's purchase once its cells are read.
type purchaseRow struct {
	at       time.Time
	amount   string
	currency string
	summary  string
	order    string
	customer string // the customer's match key
}

// read checks a row's values into a purchase; problems go on the row.
func (p *purchasePlan) read(r *transfer.Row) *purchaseRow {
	if pr, ok := r.Data.(*purchaseRow); ok {
		return pr
	}
	pr := &purchaseRow{order: r.Cells["order_no"]}
	r.Data = pr
	if pr.order == "" {
		r.Fail("order_no", "", "the order number is missing: it keeps the purchase from being imported twice")
	} else if utf8.RuneCountInString(pr.order) > 100 {
		r.Fail("order_no", pr.order, "an order number has at most 100 characters")
	}
	if v := r.Cells["date"]; v == "" {
		r.Fail("date", "", "the date is missing")
	} else if at, ok := parseDate(v); !ok {
		r.Fail("date", v, "not a date: use 2024-03-01, 2024/3/1, 2024年3月1日 or 2024-03-01 14:30")
	} else if at.After(time.Now().Add(24 * time.Hour)) {
		r.Fail("date", v, "a purchase cannot be more than a day ahead")
	} else {
		pr.at = at
	}
	amount := strings.NewReplacer(",", "", "，", "", " ", "", "¥", "", "￥", "", "$", "", "€", "", "£", "").Replace(r.Cells["amount"])
	if !decimalPattern.MatchString(amount) {
		r.Fail("amount", r.Cells["amount"], "not an amount: use an exact decimal such as 1999.00")
	} else {
		pr.amount = amount
	}
	cur := strings.ToUpper(strings.TrimSpace(r.Cells["currency"]))
	if cur == "RMB" || cur == "人民币" {
		cur = "CNY"
	}
	if _, err := currency.ParseISO(cur); err != nil || len(cur) != 3 {
		r.Fail("currency", r.Cells["currency"], "not a currency: use an ISO 4217 code such as CNY, USD or EUR")
	} else {
		pr.currency = cur
	}
	pr.summary = r.Cells["product"]
	if pr.summary == "" {
		pr.summary = "Order " + pr.order
	}
	if utf8.RuneCountInString(pr.summary) > 500 {
		pr.summary = string([]rune(pr.summary)[:499]) + "…"
	}
	v := r.Cells[p.match]
	switch {
	case v == "":
		r.Fail(p.match, "", "the row has no "+p.match+" to find its customer by")
	case p.match == "email":
		if n, ok := normalizeEmail(v); ok {
			pr.customer = "e:" + n
		}
	case p.match == "phone":
		if keys := contactKeys(&Customer{Phones: []string{v}}); len(keys) > 0 {
			pr.customer = keys[0]
		}
	default:
		if _, iv, err := p.unique.Normalize(cellValue(p.unique, v)); err == nil && iv.Norm != "" {
			pr.customer = "u:" + p.unique.Key + ":" + iv.Norm
		}
	}
	if v != "" && pr.customer == "" {
		r.Fail(p.match, v, "not a valid "+strings.TrimPrefix(p.match, "custom.")+", so no customer can be found by it")
	}
	return pr
}

var dateLayouts = []string{"2006-01-02", "2006/01/02", "2006.01.02", "2006-1-2", "2006/1/2", "2006.1.2", "2006年1月2日",
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006/01/02 15:04:05", "2006/1/2 15:04:05", "2006/1/2 15:04", time.RFC3339, "2006-01-02T15:04:05"}

// parseDate reads a purchase date; one without a zone is taken as UTC.
func parseDate(s string) (time.Time, bool) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Check is the dry run of a row: its values, without finding its customer.
func (p *purchasePlan) Check(_ context.Context, _ bun.Tx, r *transfer.Row) error {
	p.read(r)
	return nil
}

// Key is the order number: a second row with it in the file is a duplicate.
func (p *purchasePlan) Key(r *transfer.Row) transfer.Key {
	pr := p.read(r)
	if !r.OK() {
		return transfer.Key{}
	}
	return transfer.Key{Value: pr.order, Target: "order_no", Shown: pr.order, Name: "order number"}
}

// purchaseStageDDL is where a batch's purchases are staged.
const purchaseStageDDL = `CREATE TEMP TABLE IF NOT EXISTS import_stage_purchases (
	id uuid, occurred_at timestamptz, customer_id uuid, summary text, amount text, currency text, order_no text, row_no bigint) ON COMMIT DROP`

// Write adds a batch's purchases: rows whose order is imported already are
// skipped, rows whose customer is not found (or not one the requester may see)
// fail, and the rest go in with their order numbers and the journal.
func (p *purchasePlan) Write(ctx context.Context, tx bun.Tx, b *transfer.Batch) (int64, int64, error) {
	// Orders imported already are skipped first: a file imported again costs
	// no customer lookups.
	var orders []string
	for _, r := range b.Rows {
		if r.OK() {
			orders = append(orders, p.read(r).order)
		}
	}
	if len(orders) == 0 {
		return 0, 0, nil
	}
	var taken []string
	if err := tx.NewSelect().Table("purchase_orders").Column("order_no").
		Where("tenant_id = ? AND order_no IN (?)", b.Tenant, bun.In(orders)).Scan(ctx, &taken); err != nil {
		return 0, 0, err
	}
	exists := map[string]bool{}
	for _, o := range taken {
		exists[o] = true
	}
	var keys []string
	for _, r := range b.Rows {
		if !r.OK() {
			continue
		}
		if pr := p.read(r); exists[pr.order] {
			r.Report("order_no", pr.order, "order "+pr.order+" is imported already; the row was left alone", "skipped")
		} else {
			keys = append(keys, pr.customer)
		}
	}
	if len(keys) == 0 {
		return 0, 0, nil
	}
	matched, err := p.m.matchKeys(ctx, tx, b.Tenant, keys)
	if err != nil {
		return 0, 0, err
	}
	seen, err := visibleCustomers(ctx, tx, b.Tenant, matched)
	if err != nil {
		return 0, 0, err
	}
	actor := authz.RequesterID(ctx)
	var rows [][]any
	for _, r := range b.Rows {
		if !r.OK() {
			continue
		}
		pr := p.read(r)
		id, found := matched[pr.customer]
		if !found || !seen[id] {
			// A customer the requester may not see is not named, nor told apart
			// from one that does not exist.
			r.Fail(p.match, r.Cells[p.match], "no customer has this "+strings.TrimPrefix(p.match, "custom.")+"; the purchase was not imported")
			continue
		}
		iid, err := uuid.NewV7()
		if err != nil {
			return 0, 0, err
		}
		rows = append(rows, []any{iid, pr.at, id, pr.summary, pr.amount, pr.currency, pr.order, r.No})
	}
	if len(rows) == 0 {
		return 0, 0, nil
	}
	if err := transfer.CopyStaged(ctx, tx, purchaseStageDDL, transfer.Staged{Table: "import_stage_purchases",
		Cols: []string{"id", "occurred_at", "customer_id", "summary", "amount", "currency", "order_no", "row_no"}, Rows: rows}); err != nil {
		return 0, 0, err
	}
	for _, q := range []string{
		`INSERT INTO interactions (tenant_id, id, occurred_at, customer_id, kind, channel, summary, actor_id, amount, currency, order_no)
		SELECT ?0, id, occurred_at, customer_id, 'purchase', 'import', summary, ?2, amount::numeric, currency, order_no FROM import_stage_purchases`,
		`INSERT INTO purchase_orders (tenant_id, order_no, interaction_id, occurred_at, customer_id)
		SELECT ?0, order_no, id, occurred_at, customer_id FROM import_stage_purchases ORDER BY order_no`,
		`INSERT INTO import_journal (tenant_id, import_id, entity, record_id, action, row_no)
		SELECT ?0, ?1, 'purchases', id, 'created', row_no FROM import_stage_purchases`,
	} {
		// ExecStaged: on Citus an INSERT ... SELECT from the staging table would
		// otherwise reach the shards as COPY, which RLS refuses.
		if _, err := db.ExecStaged(ctx, tx, q, b.Tenant, b.ImportID, actor); err != nil {
			return 0, 0, db.Classify(err, "purchase")
		}
	}
	return int64(len(rows)), 0, nil
}

// visibleCustomers are the live customers among matched that the actor may see.
func visibleCustomers(ctx context.Context, tx bun.Tx, tenant uuid.UUID, matched map[string]uuid.UUID) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	if len(matched) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, 0, len(matched))
	for _, id := range matched {
		ids = append(ids, id)
	}
	var seen []uuid.UUID
	q := tx.NewSelect().TableExpr("customers AS c").Column("c.id").
		Where("c.tenant_id = ? AND c.id IN (?) AND c.deleted_at IS NULL", tenant, bun.In(ids))
	if err := visible(ctx, q, "c.").Scan(ctx, &seen); err != nil {
		return nil, err
	}
	for _, id := range seen {
		out[id] = true
	}
	return out, nil
}

// Revert deletes the purchases an import added; their order numbers go with
// them (the foreign key cascades), so the file can be imported again.
func (a purchaseAdapter) Revert(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entries []transfer.JournalEntry) error {
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.RecordID.String())
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM interactions i USING (
			SELECT interaction_id, occurred_at FROM purchase_orders WHERE tenant_id = ?0 AND interaction_id = ANY (?1::uuid[])) o
		WHERE i.tenant_id = ?0 AND i.occurred_at = o.occurred_at AND i.id = o.interaction_id`, tenant, pgdialect.Array(ids))
	return err
}

// Transfers are the entities of the module that the transfer engine imports
// and exports.
func (m *Module) Transfers() []transfer.Adapter {
	return []transfer.Adapter{customerAdapter{m}, purchaseAdapter{m}}
}

// purchaseColumns are the columns of a purchase export.
var purchaseColumns = []string{"order_no", "date", "customer_id", "customer_name", "email", "phone", "amount", "currency", "product"}

// ExportQuery checks a purchase filter: customer_id, from and to (dates).
func (a purchaseAdapter) ExportQuery(_ context.Context, _ uuid.UUID, req transfer.ExportRequest) (string, error) {
	if req.SegmentID != "" {
		return "", errs.Field("body.segment_id", "purchases are exported by a filter (customer_id, from, to), not a segment")
	}
	if _, err := purchaseFilterOf(req.Filter, "body.filter"); err != nil {
		return "", err
	}
	return req.Filter, nil
}

type purchaseFilter struct {
	customer *uuid.UUID
	from, to *time.Time
}

func purchaseFilterOf(q, loc string) (purchaseFilter, error) {
	var f purchaseFilter
	vs, err := url.ParseQuery(q)
	if err != nil {
		return f, errs.Field(loc, "not a query string such as from=2024-01-01&to=2024-12-31")
	}
	for k, v := range vs {
		switch k {
		case "customer_id":
			id, err := uuid.Parse(v[0])
			if err != nil {
				return f, errs.Field(loc, "customer_id must be a customer id")
			}
			f.customer = &id
		case "from", "to":
			t, ok := parseDate(v[0])
			if !ok {
				return f, errs.Field(loc, k+" must be a date such as 2024-01-01")
			}
			if k == "from" {
				f.from = &t
			} else {
				t = t.AddDate(0, 0, 1) // to is inclusive of its day
				f.to = &t
			}
		default:
			return f, errs.Field(loc, "unknown filter "+k+"; purchases filter by customer_id, from and to")
		}
	}
	return f, nil
}

// ExportColumns checks the requested columns.
func (a purchaseAdapter) ExportColumns(_ context.Context, _ uuid.UUID, want []string) ([]string, error) {
	if len(want) == 0 {
		return append([]string{}, purchaseColumns...), nil
	}
	known := map[string]bool{}
	for _, c := range purchaseColumns {
		known[c] = true
	}
	for i, c := range want {
		if !known[c] {
			return nil, errs.Field(fmt.Sprintf("body.fields[%d]", i), "unknown column; use "+strings.Join(purchaseColumns, ", "))
		}
	}
	return want, nil
}

// purchaseQuery selects the purchases of customers the actor may see.
func (a purchaseAdapter) purchaseQuery(ctx context.Context, tx bun.Tx, tenant uuid.UUID, query string) (*bun.SelectQuery, error) {
	f, err := purchaseFilterOf(query, "filter")
	if err != nil {
		return nil, err
	}
	q := tx.NewSelect().TableExpr("interactions AS i").Join("JOIN customers AS c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id").
		Where("i.tenant_id = ? AND i.kind = 'purchase' AND c.deleted_at IS NULL", tenant)
	if f.customer != nil {
		q = q.Where("i.customer_id = ?", *f.customer)
	}
	if f.from != nil {
		q = q.Where("i.occurred_at >= ?", *f.from)
	}
	if f.to != nil {
		q = q.Where("i.occurred_at < ?", *f.to)
	}
	return visible(ctx, q, "c."), nil
}

// ExportCount counts the purchases the query selects.
func (a purchaseAdapter) ExportCount(ctx context.Context, tenant uuid.UUID, query string) (int64, error) {
	var n int64
	err := db.InTenant(ctx, a.m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q, err := a.purchaseQuery(ctx, tx, tenant, query)
		if err != nil {
			return err
		}
		return q.ColumnExpr("count(*)").Scan(ctx, &n)
	})
	return n, err
}

// ExportPage lists the next thousand purchases, oldest first.
func (a purchaseAdapter) ExportPage(ctx context.Context, tenant uuid.UUID, query string, cols []string, cursor string) ([][]string, string, error) {
	type after struct {
		At time.Time `json:"a"`
		ID uuid.UUID `json:"i"`
	}
	var cur *after
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		cur = &after{}
		if err != nil || json.Unmarshal(raw, cur) != nil {
			return nil, "", errs.E(errs.Invalid, "bad export cursor")
		}
	}
	var page []struct {
		ID       uuid.UUID `bun:"id"`
		At       time.Time `bun:"occurred_at"`
		Customer uuid.UUID `bun:"customer_id"`
		Name     string    `bun:"name"`
		Emails   []string  `bun:"emails,array"`
		Phones   []string  `bun:"phones,array"`
		Summary  string    `bun:"summary"`
		Amount   string    `bun:"amount"`
		Currency string    `bun:"currency"`
		OrderNo  *string   `bun:"order_no"`
	}
	err := db.InTenant(ctx, a.m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q, err := a.purchaseQuery(ctx, tx, tenant, query)
		if err != nil {
			return err
		}
		q = q.ColumnExpr("i.id, i.occurred_at, i.customer_id, c.name, c.emails, c.phones, i.summary, i.amount::text AS amount, i.currency, i.order_no")
		if cur != nil {
			q = q.Where("(i.occurred_at, i.id) > (?, ?)", cur.At, cur.ID)
		}
		return q.OrderExpr("i.occurred_at, i.id").Limit(1000).Scan(ctx, &page)
	})
	if err != nil {
		return nil, "", err
	}
	out := make([][]string, len(page))
	for n, p := range page {
		row := make([]string, len(cols))
		for i, c := range cols {
			switch c {
			case "order_no":
				if p.OrderNo != nil {
					row[i] = *p.OrderNo
				}
			case "date":
				row[i] = p.At.UTC().Format(time.RFC3339)
			case "customer_id":
				row[i] = p.Customer.String()
			case "customer_name":
				row[i] = p.Name
			case "email":
				row[i] = strings.Join(p.Emails, "; ")
			case "phone":
				row[i] = strings.Join(p.Phones, "; ")
			case "amount":
				row[i] = p.Amount
			case "currency":
				row[i] = p.Currency
			case "product":
				row[i] = p.Summary
			}
		}
		out[n] = row
	}
	next := ""
	if len(page) == 1000 {
		last := page[len(page)-1]
		raw, _ := json.Marshal(after{At: last.At, ID: last.ID})
		next = base64.RawURLEncoding.EncodeToString(raw)
	}
	return out, next, nil
}
