package profiles

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// The customers' import adapter: what a file's columns can be, how rows are
// matched to customers (email, phone or a unique custom field), and how a batch
// creates and updates them through the staging tables with its journal.

// customerTargets are the standard columns a file can be mapped to, with the
// header words that suggest them.
var customerTargets = []transfer.Target{
	{Key: "name", LabelEN: "Name", LabelZH: "姓名", Aliases: []string{"name", "fullname", "customer", "customername", "contact", "姓名", "名称", "名字", "客户", "客户名称", "联系人"}},
	{Key: "kind", LabelEN: "Kind", LabelZH: "类型", Aliases: []string{"kind", "type", "类型", "客户类型"}},
	{Key: "emails", LabelEN: "Email", LabelZH: "邮箱", Aliases: []string{"email", "emails", "e-mail", "mail", "emailaddress", "邮箱", "电子邮件", "电子邮箱", "邮件"}},
	{Key: "phones", LabelEN: "Phone", LabelZH: "电话", Aliases: []string{"phone", "phones", "mobile", "tel", "telephone", "phonenumber", "电话", "手机", "手机号", "手机号码", "联系电话", "电话号码"}},
	{Key: "company", LabelEN: "Company", LabelZH: "公司", Aliases: []string{"company", "organization", "organisation", "employer", "公司", "公司名称", "单位", "企业"}},
	{Key: "address", LabelEN: "Address", LabelZH: "地址", Aliases: []string{"address", "地址", "联系地址", "通讯地址"}},
	{Key: "tags", LabelEN: "Tags", LabelZH: "标签", Aliases: []string{"tags", "tag", "labels", "标签"}},
	{Key: "lifecycle", LabelEN: "Lifecycle", LabelZH: "阶段", Aliases: []string{"lifecycle", "stage", "status", "阶段", "生命周期", "客户阶段"}},
	{Key: "source", LabelEN: "Source", LabelZH: "来源", Aliases: []string{"source", "channel", "leadsource", "来源", "渠道", "客户来源"}},
}

// customerAdapter plugs customers into the transfer engine.
type customerAdapter struct{ m *Module }

// Entity names the rows.
func (a customerAdapter) Entity() string { return EntityCustomers }

// Module owns customers.
func (a customerAdapter) Module() string { return a.m.Name() }

// Permissions to export and to import customers.
func (a customerAdapter) Permissions() (string, string) { return PermRead, PermWrite }

// BulkTables are the tables a customer import fills.
func (a customerAdapter) BulkTables() []string { return customerTables }

// customerTables are the tables that new customers fill.
var customerTables = []string{"customers", "customer_terms", "customer_tags", "customer_contacts", "customer_lifecycle_history", "field_index", "field_unique"}

// Targets are the custom fields (tried first by suggestions: a tenant's own
// label beats a generic word) and the standard columns.
func (a customerAdapter) Targets(ctx context.Context, tx bun.IDB, tenant uuid.UUID) ([]transfer.Target, error) {
	var out []transfer.Target
	if a.m.d.Fields != nil {
		defs, err := a.m.custom.Definitions(ctx, tx, tenant)
		if err != nil {
			return nil, err
		}
		for _, d := range defs {
			out = append(out, transfer.Target{Key: "custom." + d.Key, LabelEN: d.LabelEN, LabelZH: d.LabelZH, Sensitive: d.Sensitive})
		}
	}
	return append(out, customerTargets...), nil
}

// Plan checks a mapping against the file's columns and the tenant's fields.
func (a customerAdapter) Plan(ctx context.Context, tx bun.IDB, tenant uuid.UUID, s transfer.ImportSpec) (transfer.Plan, error) {
	return a.m.importPlan(ctx, tx, tenant, s.Columns, s.Mapping, s.Mode, s.MatchOn)
}

// Columns maps targets to the file's columns.
func (p *importPlanT) Columns() map[string]int { return p.col }

// custom is the row's custom values as their fields take them from JSON.
func (p *importPlanT) custom(r *transfer.Row) map[string]any {
	if c, ok := r.Data.(map[string]any); ok {
		return c
	}
	c := map[string]any{}
	for target, v := range r.Cells {
		if k, ok := strings.CutPrefix(target, "custom."); ok {
			c[k] = cellValue(p.defs[k], v)
		}
	}
	r.Data = c
	return c
}

// Check is the dry run of a row: its values as a new customer would take them.
func (p *importPlanT) Check(ctx context.Context, tx bun.Tx, r *transfer.Row) error {
	p.apply(r, &Customer{})
	if len(r.Problems) == 0 && len(p.custom(r)) > 0 {
		if _, _, err := p.checkCustom(ctx, tx, r, false); err != nil {
			return err
		}
	}
	return nil
}

// checkCustom validates a row's custom values as a create (or, partial, an
// update) takes them: a refusal becomes the row's problems (ok is false), any
// other error is the batch's.
func (p *importPlanT) checkCustom(ctx context.Context, tx bun.Tx, r *transfer.Row, partial bool) (map[string]any, bool, error) {
	clean, err := p.m.validateCustom(ctx, tx, p.tenant, p.custom(r), partial)
	if err == nil {
		return clean, true, nil
	}
	if _, ok := err.(*errs.Error); !ok {
		return nil, false, err
	}
	for _, pr := range p.customProblems(r.No, r.Raw, err) {
		r.Add(pr)
	}
	return nil, false, nil
}

// Key is the row's match key, which also finds duplicates within the file.
func (p *importPlanT) Key(r *transfer.Row) transfer.Key {
	k := p.matchKey(r)
	if k == "" {
		return transfer.Key{}
	}
	return transfer.Key{Value: k, Target: keyTarget(p, k), Shown: keyValue(k), Name: keyName(k)}
}

// Revert deletes the customers an import created and restores the ones it
// updated.
func (a customerAdapter) Revert(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entries []transfer.JournalEntry) error {
	m := a.m
	var created []uuid.UUID
	var restore []stagedWrite
	for _, e := range entries {
		if e.Action == "created" {
			created = append(created, e.RecordID)
			continue
		}
		before := &Customer{}
		if err := json.Unmarshal(e.Before, before); err != nil {
			return err
		}
		before.TenantID = tenant
		restore = append(restore, stagedWrite{c: before, keepUpdatedAt: true})
	}
	if err := m.loadStaged(ctx, tx, tenant, uuid.Nil, restore); err != nil {
		return err
	}
	if len(created) == 0 {
		return nil
	}
	for _, t := range []string{"field_index", "field_unique"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE tenant_id = ? AND entity = ? AND record_id IN (?)", tenant, EntityCustomers, bun.In(created)); err != nil {
			return err
		}
	}
	if err := deleteSearchRows(ctx, tx, tenant, created); err != nil {
		return err
	}
	// People left pointing at a company this revert deletes lose the link
	// (the foreign key has no ON DELETE SET NULL: Citus refuses it).
	if _, err := tx.ExecContext(ctx, "UPDATE customers SET company_id = NULL WHERE tenant_id = ? AND company_id IN (?) AND id NOT IN (?)", tenant, bun.In(created), bun.In(created)); err != nil {
		return err
	}
	// Others' rows about the customers go first: some hold a foreign key to
	// them (deals), which the delete would otherwise break.
	if err := m.d.Records.Removed(ctx, tx, tenant, EntityCustomers, created); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = ? AND id IN (?)", tenant, bun.In(created))
	return err
}

type importPlanT struct {
	m       *Module
	tenant  uuid.UUID
	cols    []string
	col     map[string]int // target -> column index
	defs    map[string]fields.Definition
	unique  []fields.Definition // the unique ones, in definition order
	mode    string
	matchOn string
}

// importPlan checks a mapping against the file's columns and the tenant's fields.
func (m *Module) importPlan(ctx context.Context, tx bun.IDB, tenant uuid.UUID, cols []string, mapping map[string]string, mode, matchOn string) (*importPlanT, error) {
	p := &importPlanT{m: m, tenant: tenant, cols: cols, col: map[string]int{}, defs: map[string]fields.Definition{}, mode: mode, matchOn: matchOn}
	if mode != "create" && mode != "update" && mode != "upsert" {
		return nil, errs.Field("body.mode", "use create, update or upsert")
	}
	if m.d.Fields != nil {
		defs, err := m.custom.Definitions(ctx, tx, tenant)
		if err != nil {
			return nil, err
		}
		for _, d := range defs {
			p.defs[d.Key] = d
			if d.Unique {
				p.unique = append(p.unique, d)
			}
		}
	}
	index := map[string]int{}
	for i, c := range cols {
		index[c] = i
	}
	known := map[string]bool{}
	for _, t := range customerTargets {
		known[t.Key] = true
	}
	keys := make([]string, 0, len(mapping))
	for k := range mapping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, col := range keys {
		target := strings.TrimSpace(mapping[col])
		if target == "" {
			continue
		}
		i, ok := index[col]
		if !ok {
			return nil, errs.Field("body.mapping."+col, "the file has no column with this name; use one of the columns the upload listed")
		}
		if k, isCustom := strings.CutPrefix(target, "custom."); isCustom {
			d, ok := p.defs[k]
			if !ok {
				return nil, errs.Field("body.mapping."+col, "no custom field "+k+" is defined for customers")
			}
			if d.Pending != nil {
				return nil, errs.Field("body.mapping."+col, "custom field "+k+" is being converted to a new type; wait for that to finish")
			}
		} else if !known[target] {
			return nil, errs.Field("body.mapping."+col, "map to name, kind, emails, phones, company, address, tags, lifecycle, source or custom.<key>")
		}
		if _, dup := p.col[target]; dup {
			return nil, errs.Field("body.mapping."+col, target+" is mapped from two columns; map it from one")
		}
		p.col[target] = i
	}
	if _, ok := p.col["name"]; !ok && mode != "update" {
		return nil, errs.Field("body.mapping", "map a column to name: new customers need one")
	}
	switch {
	case matchOn == "" && mode != "create":
		return nil, errs.Field("body.match_on", "update and upsert match rows to customers: use email, phone or custom.<key> of a unique field")
	case matchOn == "" || matchOn == "email" || matchOn == "phone":
		need := map[string]string{"email": "emails", "phone": "phones"}[matchOn]
		if _, ok := p.col[need]; need != "" && !ok {
			return nil, errs.Field("body.match_on", "matching on "+matchOn+" needs a column mapped to "+need)
		}
	default:
		k, ok := strings.CutPrefix(matchOn, "custom.")
		d, defined := p.defs[k]
		if !ok || !defined || !d.Unique {
			return nil, errs.Field("body.match_on", "use email, phone, or custom.<key> of a custom field marked unique")
		}
		if _, ok := p.col[matchOn]; !ok {
			return nil, errs.Field("body.match_on", "matching on "+matchOn+" needs a column mapped to it")
		}
	}
	return p, nil
}

func (p *importPlanT) apply(r *transfer.Row, c *Customer) {
	union := func(cur []string, add []string) []string {
		seen := map[string]bool{}
		out := []string{}
		for _, v := range append(append([]string{}, cur...), add...) {
			if k := strings.ToLower(v); !seen[k] {
				seen[k] = true
				out = append(out, v)
			}
		}
		return out
	}
	for target, v := range r.Cells {
		switch target {
		case "name":
			c.Name = v
		case "kind":
			c.Kind = word(r, target, v, kindWords, c.Kind, "kind must be person or company (个人 or 公司)")
		case "emails":
			c.Emails = union(c.Emails, transfer.SplitList(v))
		case "phones":
			c.Phones = union(c.Phones, transfer.SplitList(v))
		case "tags":
			c.Tags = union(c.Tags, transfer.SplitList(v))
		case "lifecycle":
			c.Lifecycle = word(r, target, v, lifecycleWords, c.Lifecycle, "lifecycle must be lead, prospect, customer, at_risk or churned (线索, 潜在客户, 客户, 有流失风险, 已流失)")
		case "source":
			c.Source = v
		case "address", "company":
			addr := map[string]any{}
			_ = json.Unmarshal(c.Address, &addr)
			if target == "address" {
				addr["line"] = v
			} else {
				addr["company"] = v
			}
			c.Address, _ = json.Marshal(addr)
		}
	}
	for _, fe := range c.normalize() {
		target := strings.TrimPrefix(fe.Location, "body.")
		if i := strings.IndexAny(target, "[."); i > 0 {
			target = target[:i]
		}
		r.Report(target, fmt.Sprint(fe.Value), fe.Message, "failed")
	}
}

// word is the value a cell's word (English or Chinese) stands for; an unknown
// word fails the row with why and leaves cur.
func word(r *transfer.Row, target, v string, words map[string]string, cur, why string) string {
	if w, ok := words[strings.ToLower(v)]; ok {
		return w
	}
	r.Fail(target, v, why)
	return cur
}

// customProblems turns a custom-values 422 into report lines.
func (p *importPlanT) customProblems(no int64, rec []string, err error) []transfer.Problem {
	e, ok := err.(*errs.Error)
	if !ok || len(e.Errors) == 0 {
		return []transfer.Problem{{Row: no, Reason: err.Error(), Outcome: "failed"}}
	}
	var out []transfer.Problem
	for _, fe := range e.Errors {
		k := strings.TrimPrefix(fe.Location, "body.custom.")
		col, val := "", ""
		if i, ok := p.col["custom."+k]; ok {
			col = p.cols[i]
			if i < len(rec) {
				val = rec[i]
			}
		} else {
			col = "custom." + k
		}
		out = append(out, transfer.Problem{Row: no, Column: col, Value: val, Reason: fe.Message, Outcome: "failed"})
	}
	return out
}

// matchKey is the key a row is matched and de-duplicated by.
func (p *importPlanT) matchKey(r *transfer.Row) string {
	on := p.matchOn
	if on == "" { // create: the first email, else the first phone, keeps a file from holding one person twice
		if _, ok := r.Cells["emails"]; ok {
			on = "email"
		} else if _, ok := r.Cells["phones"]; ok {
			on = "phone"
		}
	}
	switch on {
	case "email":
		for _, e := range transfer.SplitList(r.Cells["emails"]) {
			if n, ok := normalizeEmail(e); ok {
				return "e:" + n
			}
		}
	case "phone":
		for _, ph := range transfer.SplitList(r.Cells["phones"]) {
			if keys := contactKeys(&Customer{Phones: []string{ph}}); len(keys) > 0 {
				return keys[0]
			}
		}
	default:
		if k, ok := strings.CutPrefix(on, "custom."); ok {
			if v, ok := p.custom(r)[k]; ok {
				if _, iv, err := p.defs[k].Normalize(v); err == nil && iv.Norm != "" {
					return "u:" + k + ":" + iv.Norm
				}
			}
		}
	}
	return ""
}

// Write applies a batch: rows are matched to customers by their key, then
// created or updated through the staging tables, with the journal.
func (p *importPlanT) Write(ctx context.Context, tx bun.Tx, b *transfer.Batch) (int64, int64, error) {
	matched, err := p.m.matchKeys(ctx, tx, b.Tenant, batchKeys(b.Rows))
	if err != nil {
		return 0, 0, err
	}
	w := &batchWrites{seesAll: authz.ActorFrom(ctx).Visibility() == authz.ScopeAll, now: time.Now().UTC(), touched: map[uuid.UUID]bool{}}
	current, err := p.current(ctx, tx, b, matched, w.seesAll)
	if err != nil {
		return 0, 0, err
	}
	for _, r := range b.Rows {
		if !r.OK() {
			continue
		}
		if err := p.planRow(ctx, tx, b.Tenant, r, matched, current, w); err != nil {
			return 0, 0, err
		}
	}
	ws, err := p.keepUnique(ctx, tx, b.Tenant, w)
	if err != nil {
		return 0, 0, err
	}
	if err := p.m.loadStaged(ctx, tx, b.Tenant, b.ImportID, ws); err != nil {
		return 0, 0, err
	}
	return int64(len(w.creates)), int64(len(w.updates)), nil
}

// batchWrites is what a batch will write: the customers it creates, with their
// rows, and the updates, each with the customer before and after.
type batchWrites struct {
	seesAll    bool
	now        time.Time
	creates    []*Customer
	createRows []*transfer.Row
	updates    []batchUpdate
	touched    map[uuid.UUID]bool
}

type batchUpdate struct {
	before, after *Customer
	row           *transfer.Row
}

// batchKeys are the match keys of the batch's valid rows.
func batchKeys(rows []*transfer.Row) []string {
	var keys []string
	for _, r := range rows {
		if r.OK() && r.Key != "" {
			keys = append(keys, r.Key)
		}
	}
	return keys
}

// current is the state of the customers the rows will update, locked, as far as
// the requester may see them: the import acts with their scope, so a customer
// outside it is neither changed nor named. A create needs the rows only to tell
// seen from unseen matches.
func (p *importPlanT) current(ctx context.Context, tx bun.Tx, b *transfer.Batch, matched map[string]uuid.UUID, seesAll bool) (map[uuid.UUID]*Customer, error) {
	var ids []uuid.UUID
	for _, r := range b.Rows {
		if id, ok := matched[r.Key]; ok && r.OK() && (p.mode != "create" || !seesAll) {
			ids = append(ids, id)
		}
	}
	current := map[uuid.UUID]*Customer{}
	if len(ids) == 0 {
		return current, nil
	}
	var cs []Customer
	q := tx.NewSelect().Model(&cs).Where("c.tenant_id = ? AND c.id IN (?) AND c.deleted_at IS NULL", b.Tenant, bun.In(ids)).OrderExpr("c.id")
	if p.mode != "create" {
		q = q.For("UPDATE")
	}
	if err := visible(ctx, q, "c.").Scan(ctx); err != nil {
		return nil, err
	}
	for i := range cs {
		current[cs[i].ID] = &cs[i]
	}
	return current, nil
}

// unseen skips a row whose match is missing from current: one the requester may
// not see (or, for one who sees all, a customer deleted since matchKeys read
// it). An unseen customer is not named.
func (p *importPlanT) unseen(r *transfer.Row, id uuid.UUID, seesAll bool) {
	if seesAll {
		r.Report("", "", "the matching customer "+id.String()+" was deleted meanwhile", "skipped")
		return
	}
	r.Report(keyTarget(p, r.Key), keyValue(r.Key), "a customer you cannot see has this "+keyName(r.Key)+" already; the row was left alone", "skipped")
}

// planRow decides what one valid row does: it is skipped or failed with its
// reason, or becomes an update of its matched customer or a new customer.
func (p *importPlanT) planRow(ctx context.Context, tx bun.Tx, tenant uuid.UUID, r *transfer.Row, matched map[string]uuid.UUID, current map[uuid.UUID]*Customer, w *batchWrites) error {
	id, found := matched[r.Key]
	switch {
	case found && p.mode == "create":
		if current[id] == nil && !w.seesAll {
			p.unseen(r, id, w.seesAll)
			return nil
		}
		r.Report(keyTarget(p, r.Key), keyValue(r.Key), "a customer with this "+keyName(r.Key)+" exists already ("+id.String()+"); import with upsert or update to change it", "skipped")
		return nil
	case r.Key == "" && p.mode != "create" && r.Cells[matchTarget(p.matchOn)] != "":
		v := r.Cells[matchTarget(p.matchOn)]
		r.Report(matchTarget(p.matchOn), v, "not a valid "+strings.TrimPrefix(p.matchOn, "custom.")+", so no customer can be matched by it", "failed")
		return nil
	case !found && p.mode == "update":
		reason := "no customer has this " + keyName(r.Key)
		if r.Key == "" {
			reason = "the row has no " + p.matchOn + " to match a customer by"
		}
		r.Report(keyTarget(p, r.Key), keyValue(r.Key), reason, "skipped")
		return nil
	case found:
		return p.planUpdate(ctx, tx, r, id, current[id], w)
	}
	return p.planCreate(ctx, tx, tenant, r, w)
}

// planUpdate applies the row to a copy of its customer, merging custom values.
func (p *importPlanT) planUpdate(ctx context.Context, tx bun.Tx, r *transfer.Row, id uuid.UUID, cur *Customer, w *batchWrites) error {
	if cur == nil {
		p.unseen(r, id, w.seesAll)
		return nil
	}
	if w.touched[id] {
		r.Report(keyTarget(p, r.Key), keyValue(r.Key), "another row of this batch already updated the same customer", "failed")
		return nil
	}
	next := *cur
	next.Emails, next.Phones, next.Tags = append([]string{}, cur.Emails...), append([]string{}, cur.Phones...), append([]string{}, cur.Tags...)
	p.apply(r, &next)
	if !r.OK() {
		return nil
	}
	if len(p.custom(r)) > 0 {
		clean, ok, err := p.checkCustom(ctx, tx, r, true)
		if err != nil || !ok {
			return err
		}
		merged := map[string]any{}
		for k, v := range cur.Custom {
			merged[k] = v
		}
		for k, v := range clean {
			merged[k] = v
		}
		next.Custom = merged
	}
	w.touched[id] = true
	w.updates = append(w.updates, batchUpdate{before: cur, after: &next, row: r})
	return nil
}

// planCreate makes the row a new customer, owned by the requester when a member
// asked (as CreateCustomer does: a key owns no customers).
func (p *importPlanT) planCreate(ctx context.Context, tx bun.Tx, tenant uuid.UUID, r *transfer.Row, w *batchWrites) error {
	// Time-ordered ids (UUIDv7): every index led by (tenant, customer id) and
	// the key lookups on customers then append near the right edge of the
	// btree instead of touching a random page per row.
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	c := &Customer{TenantID: tenant, ID: id, Source: "import", CreatedAt: w.now, UpdatedAt: w.now}
	if a := authz.ActorFrom(ctx); a.Kind == authz.ActorUser && a.ID != uuid.Nil {
		owner := a.ID
		c.OwnerID = &owner
	}
	p.apply(r, c)
	if !r.OK() {
		return nil
	}
	clean, ok, err := p.checkCustom(ctx, tx, r, false)
	if err != nil || !ok {
		return err
	}
	c.Custom = clean
	w.creates = append(w.creates, c)
	w.createRows = append(w.createRows, r)
	return nil
}

// keepUnique fails the rows whose unique custom values another customer holds
// already (the row, not the batch), drops them from w, and returns the writes
// left for the staging tables: creates first, then updates.
func (p *importPlanT) keepUnique(ctx context.Context, tx bun.Tx, tenant uuid.UUID, w *batchWrites) ([]stagedWrite, error) {
	checkCs, checkRows := append([]*Customer(nil), w.creates...), append([]*transfer.Row(nil), w.createRows...)
	for _, u := range w.updates {
		checkCs, checkRows = append(checkCs, u.after), append(checkRows, u.row)
	}
	if err := p.m.checkUnique(ctx, tx, tenant, p, checkCs, checkRows); err != nil {
		return nil, err
	}
	keptUpdates := w.updates[:0]
	for _, u := range w.updates {
		if u.row.OK() {
			keptUpdates = append(keptUpdates, u)
		}
	}
	w.updates = keptUpdates
	ws := make([]stagedWrite, 0, len(w.creates)+len(w.updates))
	kept := w.creates[:0]
	for i, c := range w.creates {
		if r := w.createRows[i]; r.OK() {
			kept = append(kept, c)
			ws = append(ws, stagedWrite{c: c, create: true, row: r.No})
		}
	}
	w.creates = kept
	for _, u := range w.updates {
		ws = append(ws, stagedWrite{c: u.after, row: u.row.No, before: u.before})
	}
	return ws, nil
}

func matchTarget(on string) string {
	switch on {
	case "email":
		return "emails"
	case "phone":
		return "phones"
	}
	return on
}

func keyName(key string) string {
	switch {
	case strings.HasPrefix(key, "e:"):
		return "email"
	case strings.HasPrefix(key, "u:"):
		return strings.SplitN(key, ":", 3)[1]
	default:
		return "phone"
	}
}

func keyTarget(p *importPlanT, key string) string {
	switch {
	case strings.HasPrefix(key, "e:"):
		return "emails"
	case strings.HasPrefix(key, "u:"):
		return "custom." + strings.SplitN(key, ":", 3)[1]
	case key == "":
		return ""
	default:
		return "phones"
	}
}

func keyValue(key string) string {
	if strings.HasPrefix(key, "u:") {
		return strings.SplitN(key, ":", 3)[2]
	}
	if i := strings.IndexByte(key, ':'); i >= 0 {
		return key[i+1:]
	}
	return key
}

// matchKeys finds the live customers holding each key (the oldest wins when
// duplicates exist already).
func (m *Module) matchKeys(ctx context.Context, tx bun.Tx, tenant uuid.UUID, keys []string) (map[string]uuid.UUID, error) {
	out := map[string]uuid.UUID{}
	var contact, unique []string
	uniqueField := map[string]string{}
	for _, k := range keys {
		if strings.HasPrefix(k, "u:") {
			parts := strings.SplitN(k, ":", 3)
			unique = append(unique, parts[2])
			uniqueField[parts[2]] = parts[1]
		} else {
			contact = append(contact, k)
		}
	}
	if len(contact) > 0 {
		held, err := bulkMatchContacts(ctx, tx, tenant, contact)
		if err != nil {
			return nil, err
		}
		for k, id := range held {
			out[k] = id
		}
	}
	if len(unique) > 0 {
		var rows []struct {
			Field string    `bun:"field_key"`
			Norm  string    `bun:"v_norm"`
			ID    uuid.UUID `bun:"record_id"`
		}
		if err := tx.NewSelect().Table("field_unique").Column("field_key", "v_norm", "record_id").
			Where("tenant_id = ? AND entity = ? AND v_norm IN (?)", tenant, EntityCustomers, bun.In(unique)).Scan(ctx, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out["u:"+r.Field+":"+r.Norm] = r.ID
		}
	}
	return out, nil
}

// checkUnique fails new rows whose unique custom values another customer (or
// an earlier row of the batch) holds.
//
// cs[i] is the customer as row rows[i] would write it; a value the customer
// itself already holds (an update that keeps it) is no conflict.
func (m *Module) checkUnique(ctx context.Context, tx bun.Tx, tenant uuid.UUID, p *importPlanT, cs []*Customer, rows []*transfer.Row) error {
	seen := map[string]int64{}
	var norms []string
	type ref struct {
		i   int
		key string
	}
	var refs []ref
	for i, c := range cs {
		if !rows[i].OK() {
			continue
		}
		// The unique values exactly as the write will store them: the same
		// derivation loadStaged uses. The values are validated already; one that
		// still fails here fails the batch there, as before.
		_, uniq, err := fields.IndexRows(p.unique, c.Custom)
		if err != nil {
			continue
		}
		for _, u := range uniq {
			key := u.Key + "\x00" + u.Norm
			if first, dup := seen[key]; dup {
				rows[i].Report("custom."+u.Key, fmt.Sprint(c.Custom[u.Key]), fmt.Sprintf("must be unique: row %d of this file has the same value", first), "failed")
				continue
			}
			seen[key] = rows[i].No
			norms = append(norms, u.Norm)
			refs = append(refs, ref{i, key})
		}
	}
	if len(norms) == 0 {
		return nil
	}
	var taken []struct {
		Field  string    `bun:"field_key"`
		Norm   string    `bun:"v_norm"`
		Record uuid.UUID `bun:"record_id"`
	}
	if err := tx.NewSelect().Table("field_unique").Column("field_key", "v_norm", "record_id").
		Where("tenant_id = ? AND entity = ? AND v_norm IN (?)", tenant, EntityCustomers, bun.In(norms)).Scan(ctx, &taken); err != nil {
		return err
	}
	held := map[string]uuid.UUID{}
	for _, t := range taken {
		held[t.Field+"\x00"+t.Norm] = t.Record
	}
	for _, r := range refs {
		if owner, ok := held[r.key]; ok && owner != cs[r.i].ID && rows[r.i].OK() {
			k := strings.SplitN(r.key, "\x00", 2)[0]
			rows[r.i].Report("custom."+k, strings.SplitN(r.key, "\x00", 2)[1], "must be unique: another customer already has this value", "failed")
		}
	}
	return nil
}

// CancelImport asks a queued or running import to stop at its next batch.
// cellValue turns a cell into what a custom field of d's type accepts from JSON.
func cellValue(d fields.Definition, s string) any {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	switch d.Type {
	case fields.MultiSelect:
		var out []any
		for _, p := range transfer.SplitList(s) {
			out = append(out, p)
		}
		return out
	case fields.Boolean:
		switch strings.ToLower(s) {
		case "true", "yes", "y", "1", "是", "对":
			return true
		case "false", "no", "n", "0", "否", "不":
			return false
		}
	case fields.Number, fields.Rating:
		return strings.ReplaceAll(s, ",", "")
	case fields.Currency:
		f := strings.Fields(s)
		if len(f) == 2 {
			if len(f[0]) == 3 && strings.ToUpper(f[0]) == f[0] {
				return map[string]any{"amount": f[1], "currency": f[0]}
			}
			return map[string]any{"amount": f[0], "currency": strings.ToUpper(f[1])}
		}
	}
	return s
}

var lifecycleWords = map[string]string{
	"lead": "lead", "prospect": "prospect", "customer": "customer", "at_risk": "at_risk", "at risk": "at_risk", "churned": "churned",
	"线索": "lead", "潜在客户": "prospect", "意向客户": "prospect", "客户": "customer", "成交客户": "customer", "有流失风险": "at_risk", "流失风险": "at_risk", "已流失": "churned", "流失": "churned",
}

var kindWords = map[string]string{"person": "person", "individual": "person", "个人": "person", "company": "company", "organization": "company", "公司": "company", "企业": "company"}
