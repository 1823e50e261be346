package funnel

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// dealTargets are the standard columns of a deal file. The customer is found
// by email, the pipeline and stage by their English or Chinese name; the owner
// is a member id (the kernel's member directory cannot look a member up by
// email).
var dealTargets = []transfer.Target{
	{Key: "title", LabelEN: "Title", LabelZH: "标题", Aliases: []string{"deal", "dealname", "name", "opportunity", "商机", "商机名称", "名称", "机会"}},
	{Key: "customer", LabelEN: "Customer email", LabelZH: "客户邮箱", Aliases: []string{"email", "e-mail", "customeremail", "mail", "邮箱", "电子邮件", "客户", "客户电子邮件"}},
	{Key: "pipeline", LabelEN: "Pipeline", LabelZH: "销售流程", Aliases: []string{"pipelinename", "流程", "管道", "销售管道"}},
	{Key: "stage", LabelEN: "Stage", LabelZH: "阶段", Aliases: []string{"stagename", "dealstage", "商机阶段", "销售阶段"}},
	{Key: "amount", LabelEN: "Amount", LabelZH: "金额", Aliases: []string{"value", "dealvalue", "total", "商机金额", "总额", "价值"}},
	{Key: "currency", LabelEN: "Currency", LabelZH: "币种", Aliases: []string{"货币", "币别"}},
	{Key: "expected_close", LabelEN: "Expected close", LabelZH: "预计成交日期", Aliases: []string{"closedate", "expectedclosedate", "close", "预计成交", "成交日期", "预计关闭日期"}},
	{Key: "owner_id", LabelEN: "Owner", LabelZH: "负责人", Aliases: []string{"owner", "ownerid", "所有者", "负责人id"}},
	{Key: "source", LabelEN: "Source", LabelZH: "来源", Aliases: []string{"leadsource", "channel", "渠道", "来源渠道"}},
	{Key: "tags", LabelEN: "Tags", LabelZH: "标签", Aliases: []string{"tag", "labels", "标记"}},
}

// dealAdapter plugs deals into the transfer engine.
type dealAdapter struct{ m *Module }

// Transfers are the entities of the module that the transfer engine imports
// and exports.
func (m *Module) Transfers() []transfer.Adapter { return []transfer.Adapter{dealAdapter{m}} }

// Entity names the rows.
func (a dealAdapter) Entity() string { return EntityDeals }

// Module owns deals.
func (a dealAdapter) Module() string { return a.m.Name() }

// Permissions are the deals' own.
func (a dealAdapter) Permissions() (string, string) { return PermRead, PermWrite }

// BulkTables are the tables a deal import fills, custom values included.
func (a dealAdapter) BulkTables() []string {
	return []string{"deals", "deal_tags", "deal_stage_history", "field_index", "field_unique"}
}

// Targets are the deal columns, then the deals' custom fields.
func (a dealAdapter) Targets(ctx context.Context, tx bun.IDB, tenant uuid.UUID) ([]transfer.Target, error) {
	defs, err := a.m.custom.Definitions(ctx, tx, tenant)
	if err != nil {
		return nil, err
	}
	out := append([]transfer.Target{}, dealTargets...)
	for _, d := range defs {
		out = append(out, transfer.Target{Key: "custom." + d.Key, LabelEN: d.LabelEN, LabelZH: d.LabelZH, Sensitive: d.Sensitive})
	}
	return out, nil
}

// dealPlan is a checked deal mapping with the tenant's pipelines and stages
// by name, read once when the import starts.
type dealPlan struct {
	m         *Module
	col       map[string]int
	custom    []string // custom field keys mapped
	defs      map[string]fields.Definition
	pipelines map[string]uuid.UUID
	def       uuid.UUID
	stages    map[uuid.UUID]map[string]*Stage
	first     map[uuid.UUID]*Stage // each pipeline's first open stage
	currency  string
	members   map[uuid.UUID]bool // owners checked already
}

// nameKey is how names are compared: trimmed, case-folded.
func nameKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Plan checks a deal mapping: deals are only added, and need a title and a
// customer.
func (a dealAdapter) Plan(ctx context.Context, tx bun.IDB, tenant uuid.UUID, s transfer.ImportSpec) (transfer.Plan, error) {
	if s.Mode != "create" {
		return nil, errs.Field("body.mode", "deals are only added: use create")
	}
	if s.MatchOn != "" {
		return nil, errs.Field("body.match_on", "deals are only added, so nothing is matched; leave match_on out")
	}
	defs, err := a.m.custom.Definitions(ctx, tx, tenant)
	if err != nil {
		return nil, err
	}
	custom := map[string]bool{}
	byKey := map[string]fields.Definition{}
	for _, d := range defs {
		custom["custom."+d.Key] = true
		byKey[d.Key] = d
	}
	known := map[string]bool{}
	for _, t := range dealTargets {
		known[t.Key] = true
	}
	p := &dealPlan{m: a.m, col: map[string]int{}, pipelines: map[string]uuid.UUID{}, stages: map[uuid.UUID]map[string]*Stage{},
		first: map[uuid.UUID]*Stage{}, members: map[uuid.UUID]bool{}, defs: byKey}
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
			return nil, errs.Field("body.mapping."+c, "the file has no column with this name; use one of the columns the upload listed")
		}
		if !known[target] && !custom[target] {
			if strings.HasPrefix(target, "custom.") {
				return nil, errs.Field("body.mapping."+c, "no custom field of deals has this key")
			}
			return nil, errs.Field("body.mapping."+c, "map to title, customer, pipeline, stage, amount, currency, expected_close, owner_id, source, tags or custom.<key>")
		}
		if _, dup := p.col[target]; dup {
			return nil, errs.Field("body.mapping."+c, target+" is mapped from two columns; map it from one")
		}
		p.col[target] = i
		if custom[target] {
			p.custom = append(p.custom, strings.TrimPrefix(target, "custom."))
		}
	}
	for _, need := range []struct{ target, why string }{
		{"title", "map a column to title: every deal needs one"},
		{"customer", "map a column to customer: the email of the deal's customer"},
	} {
		if _, ok := p.col[need.target]; !ok {
			return nil, errs.Field("body.mapping", need.why)
		}
	}
	var ps []Pipeline
	if err := tx.NewSelect().Model(&ps).Where("p.tenant_id = ?", tenant).OrderExpr("p.position, p.id").Scan(ctx); err != nil {
		return nil, err
	}
	for _, pl := range ps {
		for _, n := range []string{pl.NameEN, pl.NameZH} {
			if k := nameKey(n); k != "" {
				if _, taken := p.pipelines[k]; !taken {
					p.pipelines[k] = pl.ID
				}
			}
		}
		if pl.IsDefault {
			p.def = pl.ID
		}
		p.stages[pl.ID] = map[string]*Stage{}
	}
	var ss []*Stage
	if err := tx.NewSelect().Model(&ss).Where("s.tenant_id = ?", tenant).OrderExpr("s.pipeline_id, s.position, s.id").Scan(ctx); err != nil {
		return nil, err
	}
	for _, st := range ss {
		byName := p.stages[st.PipelineID]
		if byName == nil {
			continue
		}
		for _, n := range []string{st.NameEN, st.NameZH} {
			if k := nameKey(n); k != "" {
				if _, taken := byName[k]; !taken {
					byName[k] = st
				}
			}
		}
		if st.Kind == KindOpen && p.first[st.PipelineID] == nil {
			p.first[st.PipelineID] = st
		}
	}
	if err := tx.NewRaw("SELECT currency FROM tenants WHERE id = ?", tenant).Scan(ctx, &p.currency); err != nil {
		return nil, err
	}
	return p, nil
}

// Columns maps targets to the file's columns.
func (p *dealPlan) Columns() map[string]int { return p.col }

// dealRow is a row's deal once its cells are read.
type dealRow struct {
	title, email, amount, currency, close, source string
	stage                                         *Stage
	owner                                         *uuid.UUID
	tags                                          []string
	custom                                        map[string]any
}

// read checks a row's values into a deal; problems go on the row, each
// naming its column.
func (p *dealPlan) read(r *transfer.Row) *dealRow {
	if dr, ok := r.Data.(*dealRow); ok {
		return dr
	}
	dr := &dealRow{title: r.Cells["title"], source: r.Cells["source"]}
	r.Data = dr
	switch n := len([]rune(dr.title)); {
	case n == 0:
		r.Fail("title", "", "the title is missing")
	case n > 300:
		r.Fail("title", dr.title, "a title has at most 300 characters")
	}
	if v := r.Cells["customer"]; v == "" {
		r.Fail("customer", "", "the customer's email is missing")
	} else if e, ok := normalEmail(v); !ok {
		r.Fail("customer", v, "not an email address, so no customer can be found by it")
	} else {
		dr.email = e
	}
	pid := p.def
	if v := r.Cells["pipeline"]; v != "" {
		id, ok := p.pipelines[nameKey(v)]
		if !ok {
			r.Fail("pipeline", v, "no pipeline has this name (in English or Chinese)")
		}
		pid = id
	}
	if v := r.Cells["stage"]; v != "" {
		if st, ok := p.stages[pid][nameKey(v)]; !ok {
			if pid != uuid.Nil {
				r.Fail("stage", v, "the pipeline has no stage with this name (in English or Chinese)")
			}
		} else if st.Kind == KindLost {
			r.Fail("stage", v, "a new deal cannot start lost; import it into an open stage, then move it to the lost stage with a reason")
		} else {
			dr.stage = st
		}
	} else if pid != uuid.Nil {
		if dr.stage = p.first[pid]; dr.stage == nil {
			r.Fail("stage", "", "the pipeline has no open stage for new deals; name a stage")
		}
	}
	if pid == uuid.Nil && r.Cells["pipeline"] == "" {
		r.Fail("pipeline", "", "the company has no default pipeline; name one")
	}
	dr.amount = "0"
	if v := r.Cells["amount"]; v != "" {
		a := strings.NewReplacer(",", "", "，", "", " ", "", "¥", "", "￥", "", "$", "", "€", "", "£", "").Replace(v)
		if err := checkAmount(a, "amount"); err != nil {
			if strings.HasPrefix(a, "-") {
				r.Fail("amount", v, "an amount must not be negative")
			} else {
				r.Fail("amount", v, "not an amount: use an exact decimal such as 12500 or 12500.50 (up to 4 decimals)")
			}
		} else {
			dr.amount = a
		}
	}
	dr.currency = p.currency
	if v := r.Cells["currency"]; v != "" {
		c := strings.ToUpper(strings.TrimSpace(v))
		if c == "RMB" || c == "人民币" {
			c = "CNY"
		}
		if cc, err := checkCurrency(c, "currency"); err != nil {
			r.Fail("currency", v, "not a currency: use an ISO 4217 code such as CNY, USD or EUR")
		} else {
			dr.currency = cc
		}
	}
	if v := r.Cells["expected_close"]; v != "" {
		if d, ok := parseDay(v); ok {
			dr.close = d
		} else {
			r.Fail("expected_close", v, "not a date: use 2027-03-31, 2027/3/31 or 2027年3月31日")
		}
	}
	if n := len([]rune(dr.source)); n > 100 {
		r.Fail("source", dr.source, "a source has at most 100 characters")
	}
	if v := r.Cells["owner_id"]; v != "" {
		if id, err := uuid.Parse(strings.TrimSpace(v)); err != nil {
			r.Fail("owner_id", v, "not a member id")
		} else {
			dr.owner = &id
		}
	}
	if v := r.Cells["tags"]; v != "" {
		parts := strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ';' || c == '，' || c == '；' || c == '|' })
		if len(parts) > 50 {
			r.Fail("tags", v, "a deal has at most 50 tags")
		} else if tags, err := cleanTags(parts, "tags"); err != nil {
			r.Fail("tags", v, "a tag has at most 50 characters")
		} else {
			dr.tags = tags
		}
	}
	for _, k := range p.custom {
		if v := r.Cells["custom."+k]; v != "" {
			if dr.custom == nil {
				dr.custom = map[string]any{}
			}
			dr.custom[k] = cellValue(p.defs[k], v)
		}
	}
	return dr
}

// cellValue reads a cell as the JSON value a custom field of its type takes
// (the customers' import reads cells the same way).
func cellValue(d fields.Definition, s string) any {
	s = strings.TrimSpace(s)
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

// normalEmail lower-cases a plain email address, as customers' contact keys
// keep it.
func normalEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", false
	}
	at := strings.LastIndex(s, "@")
	if at < 1 || !strings.Contains(s[at:], ".") || len(s) > 254 {
		return "", false
	}
	return strings.ToLower(s), true
}

var dayLayouts = []string{"2006-01-02", "2006/01/02", "2006.01.02", "2006-1-2", "2006/1/2", "2006.1.2", "2006年1月2日"}

// parseDay reads a calendar day as YYYY-MM-DD.
func parseDay(s string) (string, bool) {
	for _, l := range dayLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// Check is the dry run of a row: its values, without finding its customer.
func (p *dealPlan) Check(_ context.Context, _ bun.Tx, r *transfer.Row) error {
	p.read(r)
	return nil
}

// Key: deals have no identity in a file; two equal rows are two deals.
func (p *dealPlan) Key(r *transfer.Row) transfer.Key {
	p.read(r)
	return transfer.Key{}
}

// dealStageDDL is where a batch's deals are staged.
const dealStageDDL = `CREATE TEMP TABLE IF NOT EXISTS import_stage_deals (
	id uuid, title text, customer_id uuid, amount text, currency text, expected_close text, owner_id text,
	pipeline_id uuid, stage_id uuid, position text, source text, won boolean, tags text[], custom text, row_no bigint) ON COMMIT DROP`

// Write adds a batch's deals. Rows whose customer is not found (or is one the
// requester may not see), whose owner is not a member, or whose custom values
// are refused fail; the rest go in at the end of their stages' columns, with
// their tags, first history rows, custom-field index rows and the journal.
func (p *dealPlan) Write(ctx context.Context, tx bun.Tx, b *transfer.Batch) (int64, int64, error) {
	var keys []string
	for _, r := range b.Rows {
		if r.OK() {
			keys = append(keys, "e:"+p.read(r).email)
		}
	}
	if len(keys) == 0 {
		return 0, 0, nil
	}
	customers, err := matchCustomers(ctx, tx, b.Tenant, keys)
	if err != nil {
		return 0, 0, err
	}
	actor := authz.RequesterID(ctx)
	type staged struct {
		r  *transfer.Row
		dr *dealRow
		id uuid.UUID
		c  uuid.UUID
	}
	var ok []staged
	stageIDs := map[uuid.UUID]bool{}
	for _, r := range b.Rows {
		if !r.OK() {
			continue
		}
		dr := p.read(r)
		c, found := customers["e:"+dr.email]
		if !found {
			// A customer the requester may not see is not told apart from one
			// that does not exist.
			r.Fail("customer", r.Cells["customer"], "no customer has this email; the deal was not imported")
			continue
		}
		if dr.owner != nil && p.m.d.Members != nil {
			member, seen := p.members[*dr.owner]
			if !seen {
				if member, err = p.m.d.Members.IsMember(ctx, b.Tenant, *dr.owner); err != nil {
					return 0, 0, err
				}
				p.members[*dr.owner] = member
			}
			if !member {
				r.Fail("owner_id", r.Cells["owner_id"], "not a member of this company")
				continue
			}
		}
		if dr.owner == nil && actor != nil && authz.ActorFrom(ctx).Kind == authz.ActorUser {
			dr.owner = actor
		}
		if dr.custom != nil {
			v, err := p.m.custom.Validate(ctx, tx, b.Tenant, dr.custom)
			if err != nil {
				if !errs.Is(err, errs.Invalid) {
					return 0, 0, err
				}
				p.failCustom(r, err)
				continue
			}
			dr.custom = v
		}
		id, err := uuid.NewV7()
		if err != nil {
			return 0, 0, err
		}
		ok = append(ok, staged{r: r, dr: dr, id: id, c: c})
		stageIDs[dr.stage.ID] = true
	}
	if len(ok) == 0 {
		return 0, 0, nil
	}
	// The stages' rows are locked, as a placement on the board locks them, so
	// no move computes a position an imported deal takes.
	ids := make([]uuid.UUID, 0, len(stageIDs))
	for id := range stageIDs {
		ids = append(ids, id)
	}
	var last []struct {
		ID  uuid.UUID `bun:"id"`
		Pos *string   `bun:"pos"`
	}
	// The deals are read on the tenant parameter, not s.tenant_id: Citus
	// routes a FOR UPDATE only when every table is filtered on the
	// distribution column by value ("could not run distributed query with
	// FOR UPDATE/SHARE commands", and every deal import retried forever).
	if err := tx.NewRaw(`SELECT s.id, (SELECT max(d.position)::text FROM deals d WHERE d.tenant_id = ? AND d.stage_id = s.id AND d.deleted_at IS NULL) AS pos
		FROM pipeline_stages s WHERE s.tenant_id = ? AND s.id IN (?) ORDER BY s.id FOR UPDATE OF s`, b.Tenant, b.Tenant, bun.In(ids)).Scan(ctx, &last); err != nil {
		return 0, 0, err
	}
	pos := map[uuid.UUID]string{}
	for _, l := range last {
		if l.Pos != nil {
			pos[l.ID] = *l.Pos
		} else {
			pos[l.ID] = ""
		}
	}
	rows := make([][]any, 0, len(ok))
	for _, s := range ok {
		dr := s.dr
		if _, live := pos[dr.stage.ID]; !live {
			s.r.Fail("stage", s.r.Cells["stage"], "the stage was deleted while the import ran")
			continue
		}
		next := posAfter(pos[dr.stage.ID])
		pos[dr.stage.ID] = next
		var close, owner, custom any
		if dr.close != "" {
			close = dr.close
		}
		if dr.owner != nil {
			owner = dr.owner.String()
		}
		if dr.custom != nil {
			raw, err := json.Marshal(dr.custom)
			if err != nil {
				return 0, 0, err
			}
			custom = string(raw)
		}
		tags := dr.tags
		if tags == nil {
			tags = []string{}
		}
		rows = append(rows, []any{s.id, dr.title, s.c, dr.amount, dr.currency, close, owner, dr.stage.PipelineID, dr.stage.ID, next,
			strings.TrimSpace(dr.source), dr.stage.Kind == KindWon, tags, custom, s.r.No})
	}
	if len(rows) == 0 {
		return 0, 0, nil
	}
	if err := transfer.CopyStaged(ctx, tx, dealStageDDL, transfer.Staged{Table: "import_stage_deals",
		Cols: []string{"id", "title", "customer_id", "amount", "currency", "expected_close", "owner_id", "pipeline_id", "stage_id",
			"position", "source", "won", "tags", "custom", "row_no"}, Rows: rows}); err != nil {
		return 0, 0, err
	}
	for _, q := range []string{
		`INSERT INTO deals (tenant_id, id, title, customer_id, amount, currency, expected_close, owner_id, pipeline_id, stage_id, position,
			source, won_at, tags, custom, stage_entered_at, created_by)
		SELECT ?0, id, title, customer_id, amount::numeric, currency, expected_close::date, owner_id::uuid, pipeline_id, stage_id, position::numeric,
			source, CASE WHEN won THEN now() END, tags, coalesce(custom::jsonb, '{}'), now(), ?2 FROM import_stage_deals ORDER BY row_no`,
		// now() is the deals' created_at above: the same transaction's start.
		`INSERT INTO deal_tags (tenant_id, tag, deal_id, created_at) SELECT DISTINCT ?0::uuid, unnest(tags), id, now() FROM import_stage_deals`,
		`INSERT INTO deal_stage_history (tenant_id, deal_id, pipeline_id, stage_id, entered_at, entered_by, entry_amount, currency)
		SELECT ?0, id, pipeline_id, stage_id, now(), ?2, amount::numeric, currency FROM import_stage_deals`,
		`INSERT INTO import_journal (tenant_id, import_id, entity, record_id, action, row_no)
		SELECT ?0, ?1, 'deals', id, 'created', row_no FROM import_stage_deals`,
	} {
		if _, err := db.ExecStaged(ctx, tx, q, b.Tenant, b.ImportID, actor); err != nil {
			return 0, 0, db.Classify(err, "deal")
		}
	}
	written := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		written[i] = r[0].(uuid.UUID)
	}
	if err := recount(ctx, tx, b.Tenant, written...); err != nil {
		return 0, 0, err
	}
	for _, s := range ok {
		if s.dr.custom != nil && s.r.OK() {
			if err := p.m.custom.WriteNewIndex(ctx, tx, b.Tenant, s.id, s.dr.custom); err != nil {
				return 0, 0, err
			}
		}
	}
	return int64(len(rows)), 0, nil
}

// failCustom reports a refused custom value on the column its field is
// mapped from (the first custom column when the error names none).
func (p *dealPlan) failCustom(r *transfer.Row, err error) {
	var e *errs.Error
	msg := "a custom value is not valid"
	target := "custom." + p.custom[0]
	if errors.As(err, &e) {
		if e.Detail != "" {
			msg = e.Detail
		}
		if len(e.Errors) > 0 {
			msg = e.Errors[0].Message
			for _, k := range p.custom {
				if strings.HasSuffix(e.Errors[0].Location, k) {
					target = "custom." + k
				}
			}
		}
	}
	r.Fail(target, r.Cells[target], msg)
}

// matchCustomers finds the live customer holding each contact key (e:email)
// among those the actor may see; when several hold one, the oldest wins. Two
// lookups, not a join: see profiles' bulkMatchContacts for why.
func matchCustomers(ctx context.Context, tx bun.Tx, tenant uuid.UUID, keys []string) (map[string]uuid.UUID, error) {
	out := map[string]uuid.UUID{}
	var held []struct {
		Key string    `bun:"key"`
		ID  uuid.UUID `bun:"customer_id"`
	}
	if err := tx.NewSelect().Table("customer_contacts").Column("key", "customer_id").
		Where("tenant_id = ? AND key IN (?)", tenant, bun.In(keys)).Scan(ctx, &held); err != nil {
		return nil, err
	}
	if len(held) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, 0, len(held))
	for _, h := range held {
		ids = append(ids, h.ID)
	}
	var live []struct {
		ID        uuid.UUID `bun:"id"`
		CreatedAt time.Time `bun:"created_at"`
	}
	q := tx.NewSelect().TableExpr("customers AS c").Column("c.id", "c.created_at").
		Where("c.tenant_id = ? AND c.id IN (?) AND c.deleted_at IS NULL", tenant, bun.In(ids))
	if err := inScope(ctx, q, "c.owner_id").Scan(ctx, &live); err != nil {
		return nil, err
	}
	born := make(map[uuid.UUID]time.Time, len(live))
	for _, c := range live {
		born[c.ID] = c.CreatedAt
	}
	for _, h := range held {
		at, ok := born[h.ID]
		if !ok {
			continue
		}
		if cur, seen := out[h.Key]; !seen || at.Before(born[cur]) {
			out[h.Key] = h.ID
		}
	}
	return out, nil
}

// Revert deletes the deals an import added, with their tags and stage
// history (the foreign keys cascade), their custom-field index rows, and
// whatever other modules keep about them (tasks).
func (a dealAdapter) Revert(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entries []transfer.JournalEntry) error {
	ids := make([]uuid.UUID, 0, len(entries))
	strs := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.RecordID)
		strs = append(strs, e.RecordID.String())
	}
	// The custom-field index and uniqueness rows go in two statements, not
	// one call a deal (as profiles' staged import writes them).
	for _, q := range []string{
		"DELETE FROM field_index WHERE tenant_id = ? AND entity = ? AND record_id = ANY (?::uuid[])",
		"DELETE FROM field_unique WHERE tenant_id = ? AND entity = ? AND record_id = ANY (?::uuid[])",
	} {
		if _, err := tx.ExecContext(ctx, q, tenant, EntityDeals, pgdialect.Array(strs)); err != nil {
			return db.Classify(err, "field index")
		}
	}
	if err := a.m.d.Records.Removed(ctx, tx, tenant, EntityDeals, ids); err != nil {
		return err
	}
	if err := uncount(ctx, tx, tenant, ids...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM deals WHERE tenant_id = ? AND id = ANY (?::uuid[])", tenant, pgdialect.Array(strs))
	return err
}

// dealColumns are the standard columns of a deal export, the import's.
var dealColumns = []string{"title", "customer", "pipeline", "stage", "amount", "currency", "expected_close", "owner_id", "source", "tags"}

// ExportQuery checks a deal filter: the deal list's query string.
func (a dealAdapter) ExportQuery(_ context.Context, _ uuid.UUID, req transfer.ExportRequest) (string, error) {
	if req.SegmentID != "" {
		return "", errs.Field("body.segment_id", "deals are exported by a filter (the deal list's), not a segment; a saved view is view=<id> in the filter")
	}
	v, err := url.ParseQuery(req.Filter)
	if err != nil {
		return "", errs.Field("body.filter", "not a query string such as status=open&tag=vip")
	}
	if _, err := filterFromQuery(v, "body.filter"); err != nil {
		return "", err
	}
	return req.Filter, nil
}

// ExportColumns checks the requested columns: the standard ones and
// custom.<key>.
func (a dealAdapter) ExportColumns(ctx context.Context, tenant uuid.UUID, want []string) ([]string, error) {
	var defs []string
	err := db.InTenant(ctx, a.m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		ds, err := a.m.custom.Definitions(ctx, tx, tenant)
		for _, d := range ds {
			defs = append(defs, "custom."+d.Key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	all := append(append([]string{}, dealColumns...), defs...)
	if len(want) == 0 {
		return all, nil
	}
	known := map[string]bool{}
	for _, c := range all {
		known[c] = true
	}
	for i, c := range want {
		if !known[c] {
			return nil, errs.Field(fmt.Sprintf("body.fields[%d]", i), "unknown column; use "+strings.Join(all, ", "))
		}
	}
	return want, nil
}

// exportQuery selects the deals the filter and the actor's scope reach.
func (a dealAdapter) exportQuery(ctx context.Context, tx bun.Tx, tenant uuid.UUID, query string) (*bun.SelectQuery, error) {
	v, err := url.ParseQuery(query)
	if err != nil {
		return nil, errs.Field("filter", "not a query string")
	}
	f, err := filterFromQuery(v, "filter")
	if err != nil {
		return nil, err
	}
	return a.m.dealQuery(ctx, tx, tx.NewSelect().TableExpr("deals AS d"), tenant, f)
}

// ExportCount counts the deals the query selects.
func (a dealAdapter) ExportCount(ctx context.Context, tenant uuid.UUID, query string) (int64, error) {
	var n int64
	err := db.InTenant(ctx, a.m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q, err := a.exportQuery(ctx, tx, tenant, query)
		if err != nil {
			return err
		}
		return q.ColumnExpr("count(*)").Scan(ctx, &n)
	})
	return n, err
}

// ExportPage lists the next thousand deals in id order, with their
// customers' first email and their pipelines' and stages' names, custom
// values revealed or masked for the actor.
func (a dealAdapter) ExportPage(ctx context.Context, tenant uuid.UUID, query string, cols []string, cursor string) ([][]string, string, error) {
	var after uuid.UUID
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err == nil {
			after, err = uuid.ParseBytes(raw)
		}
		if err != nil {
			return nil, "", errs.E(errs.Invalid, "bad export cursor")
		}
	}
	var page []struct {
		Deal
		Email    string `bun:"email"`
		Pipeline string `bun:"pipeline"`
		Stage    string `bun:"stage"`
	}
	err := db.InTenant(ctx, a.m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q, err := a.exportQuery(ctx, tx, tenant, query)
		if err != nil {
			return err
		}
		q = q.ColumnExpr("d.*, d.amount::text AS amount").
			ColumnExpr("(SELECT c.emails[1] FROM customers c WHERE c.tenant_id = d.tenant_id AND c.id = d.customer_id) AS email").
			ColumnExpr("(SELECT coalesce(nullif(p.name_en, ''), p.name_zh) FROM pipelines p WHERE p.tenant_id = d.tenant_id AND p.id = d.pipeline_id) AS pipeline").
			ColumnExpr("(SELECT coalesce(nullif(s.name_en, ''), s.name_zh) FROM pipeline_stages s WHERE s.tenant_id = d.tenant_id AND s.id = d.stage_id) AS stage")
		if after != uuid.Nil {
			q = q.Where("d.id > ?", after)
		}
		if err := q.OrderExpr("d.id").Limit(1000).Scan(ctx, &page); err != nil {
			return err
		}
		vals := make([]*map[string]any, len(page))
		for i := range page {
			if page[i].Custom == nil {
				page[i].Custom = map[string]any{}
			}
			vals[i] = &page[i].Custom
		}
		return a.m.custom.Reveal(ctx, tx, tenant, vals...)
	})
	if err != nil {
		return nil, "", err
	}
	out := make([][]string, len(page))
	for n, d := range page {
		row := make([]string, len(cols))
		for i, c := range cols {
			switch c {
			case "title":
				row[i] = d.Title
			case "customer":
				row[i] = d.Email
			case "pipeline":
				row[i] = d.Pipeline
			case "stage":
				row[i] = d.Stage
			case "amount":
				row[i] = d.Amount
			case "currency":
				row[i] = d.Currency
			case "expected_close":
				if d.ExpectedClose != nil {
					row[i] = string(*d.ExpectedClose)
				}
			case "owner_id":
				if d.OwnerID != nil {
					row[i] = d.OwnerID.String()
				}
			case "source":
				row[i] = d.Source
			case "tags":
				row[i] = strings.Join(d.Tags, ", ")
			default:
				if v, ok := d.Custom[strings.TrimPrefix(c, "custom.")]; ok && v != nil {
					row[i] = cellText(v)
				}
			}
		}
		out[n] = row
	}
	next := ""
	if len(page) == 1000 {
		next = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].ID.String()))
	}
	return out, next, nil
}

// cellText writes a custom value into a cell: text as it is, lists joined,
// anything else as JSON.
func cellText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = cellText(p)
		}
		return strings.Join(parts, ", ")
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}
