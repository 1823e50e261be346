package profiles

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
)

// PermClassify lets a member write classification rules and recompute the
// customers' scores: company-wide powers, so admins only.
const PermClassify = "profiles.classify"

// Rule actions.
const (
	ActionAddTag       = "add_tag"
	ActionRemoveTag    = "remove_tag"
	ActionSetLifecycle = "set_lifecycle"
	ActionSetField     = "set_field"
)

// Rule is a classification rule: the customers its condition matches get its
// action, each change audited as the rule's.
type Rule struct {
	bun.BaseModel `bun:"table:classification_rules,alias:r"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	Name          string     `bun:"name" json:"name"`
	Condition     string     `bun:"condition" json:"condition" doc:"the customer list's filter query string, e.g. rfm.segment=champions or revenue[gt]=50000"`
	Action        string     `bun:"action" json:"action" enum:"add_tag,remove_tag,set_lifecycle,set_field"`
	Field         string     `bun:"field_key" json:"field,omitempty" doc:"set_field: the key of a select custom field of customers"`
	Value         string     `bun:"value" json:"value" doc:"the tag, the lifecycle stage, or the select option"`
	Enabled       bool       `bun:"enabled" json:"enabled"`
	Position      int        `bun:"position" json:"position" doc:"enabled rules run in this order, lowest first"`
	CreatedBy     *uuid.UUID `bun:"created_by,type:uuid" json:"created_by,omitempty"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at" json:"updated_at"`
	LastRunAt     *time.Time `bun:"last_run_at" json:"last_run_at,omitempty"`
	LastChanged   int        `bun:"last_changed" json:"last_changed" doc:"customers the last run changed"`
}

// RuleInput creates a rule, or (RuleUpdate) changes one.
type RuleInput struct {
	Name      string `json:"name" minLength:"1" maxLength:"200"`
	Condition string `json:"condition" minLength:"1" maxLength:"2000" doc:"the customer list's filter query string"`
	Action    string `json:"action" enum:"add_tag,remove_tag,set_lifecycle,set_field"`
	Field     string `json:"field,omitempty" maxLength:"64" doc:"set_field only"`
	Value     string `json:"value" minLength:"1" maxLength:"200"`
	Enabled   bool   `json:"enabled,omitempty" doc:"off by default: dry-run it first"`
	Position  int    `json:"position,omitempty" minimum:"0" maximum:"100000"`
}

// RuleUpdate changes the fields it carries.
type RuleUpdate struct {
	Name      *string `json:"name,omitempty" minLength:"1" maxLength:"200"`
	Condition *string `json:"condition,omitempty" minLength:"1" maxLength:"2000"`
	Action    *string `json:"action,omitempty" enum:"add_tag,remove_tag,set_lifecycle,set_field"`
	Field     *string `json:"field,omitempty" maxLength:"64"`
	Value     *string `json:"value,omitempty" minLength:"1" maxLength:"200"`
	Enabled   *bool   `json:"enabled,omitempty"`
	Position  *int    `json:"position,omitempty" minimum:"0" maximum:"100000"`
}

// RuleRun says what a run (or a dry run) of a rule did or would do.
type RuleRun struct {
	RuleID  uuid.UUID `json:"rule_id"`
	Changed int       `json:"changed" doc:"customers changed (a dry run: customers that would change)"`
	DryRun  bool      `json:"dry_run"`
}

// plan is a validated rule, ready to run.
type plan struct {
	rule   Rule
	filter Filter
	def    *fields.Definition // set_field
}

// rebase renames an error's query.* locations to within the body field loc.
func rebase(err error, loc string) error {
	var e *errs.Error
	if errors.As(err, &e) {
		for i := range e.Errors {
			if rest, ok := strings.CutPrefix(e.Errors[i].Location, "query."); ok {
				e.Errors[i].Location = loc + "." + rest
			}
		}
		if len(e.Errors) > 0 {
			e.Detail = e.Errors[0].Location + ": " + e.Errors[0].Message
		}
	}
	return err
}

// planRule validates r in tx: the condition parses and applies (custom fields
// exist and are filterable), and the action's value is possible. Errors name
// the body field.
func (m *Module) planRule(ctx context.Context, tx bun.Tx, tenant uuid.UUID, r Rule) (*plan, error) {
	f, err := filterAt(r.Condition, "body.condition")
	if err != nil {
		return nil, err
	}
	p := &plan{rule: r, filter: f}
	// Applying it once checks what only the definitions know.
	if _, err := m.customerQuery(authz.AsSystem(ctx), tx, tx.NewSelect().TableExpr("customers AS c"), tenant, f); err != nil {
		return nil, rebase(err, "body.condition")
	}
	v := strings.TrimSpace(r.Value)
	switch r.Action {
	case ActionAddTag, ActionRemoveTag:
		if v == "" || len([]rune(v)) > 50 {
			return nil, errs.Field("body.value", "a tag is 1 to 50 characters")
		}
	case ActionSetLifecycle:
		if !lifecycles[v] {
			return nil, errs.Field("body.value", "use lead, prospect, customer, at_risk or churned")
		}
	case ActionSetField:
		defs, err := m.custom.Definitions(ctx, tx, tenant)
		if err != nil {
			return nil, err
		}
		for i := range defs {
			if defs[i].Key == r.Field && defs[i].ArchivedAt == nil {
				p.def = &defs[i]
			}
		}
		if p.def == nil || p.def.Type != fields.Select {
			return nil, errs.Field("body.field", "name a select custom field of customers")
		}
		if p.def.Unique {
			return nil, errs.Field("body.field", "a unique field cannot be given one value for many customers")
		}
		ok := false
		for _, o := range p.def.Options {
			ok = ok || o.Value == v
		}
		if !ok {
			return nil, errs.Field("body.value", "is not an option of "+r.Field)
		}
	default:
		return nil, errs.Field("body.action", "use add_tag, remove_tag, set_lifecycle or set_field")
	}
	p.rule.Value = v
	return p, nil
}

// target selects the ids, and the values before, of the customers the rule
// would change: those its condition matches (across the company: rules act
// for it, whatever the scope of whoever asks) whose value differs, and when
// since is set, only those changed since then.
func (m *Module) target(ctx context.Context, tx bun.Tx, tenant uuid.UUID, p *plan, since *time.Time) (*bun.SelectQuery, error) {
	q, err := m.customerQuery(authz.AsSystem(ctx), tx, tx.NewSelect().TableExpr("customers AS c").ColumnExpr("c.id, c.tags, c.lifecycle, c.custom"), tenant, p.filter)
	if err != nil {
		return nil, rebase(err, "body.condition")
	}
	v := p.rule.Value
	switch p.rule.Action {
	case ActionAddTag:
		q = q.Where("NOT EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.customer_id = c.id AND ct.tag = ?)", strings.ToLower(v))
	case ActionRemoveTag:
		q = q.Where("EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.customer_id = c.id AND ct.tag = ?)", strings.ToLower(v))
	case ActionSetLifecycle:
		q = q.Where("c.lifecycle <> ?", v)
	case ActionSetField:
		q = q.Where("(c.custom -> ?) IS DISTINCT FROM to_jsonb(?::text)", p.rule.Field, v)
	}
	if since != nil {
		q = q.Where("c.updated_at >= ?", *since)
	}
	return q, nil
}

// runRule applies one rule in tx with set-based statements: the customers,
// their side rows (tags, lifecycle history, custom-field index) and one audit
// row each, by the system and naming the rule. A dry run counts the same
// customers and changes nothing.
func (m *Module) runRule(ctx context.Context, tx bun.Tx, tenant uuid.UUID, p *plan, since *time.Time, dry bool) (int, error) {
	q, err := m.target(ctx, tx, tenant, p, since)
	if err != nil {
		return 0, err
	}
	if dry {
		n, err := q.Count(ctx)
		return n, err
	}
	v := p.rule.Value
	var set, diff string
	var setArgs, diffArgs []any
	switch p.rule.Action {
	case ActionAddTag:
		set, setArgs = "tags = u.tags || ARRAY[?::text]", []any{v}
		diff = "jsonb_build_object('tags', jsonb_build_object('from', to_jsonb(t.tags), 'to', to_jsonb(u.tags)))"
	case ActionRemoveTag:
		set, setArgs = "tags = ARRAY(SELECT x FROM unnest(u.tags) AS x WHERE lower(x) <> ?)", []any{strings.ToLower(v)}
		diff = "jsonb_build_object('tags', jsonb_build_object('from', to_jsonb(t.tags), 'to', to_jsonb(u.tags)))"
	case ActionSetLifecycle:
		set, setArgs = "lifecycle = ?", []any{v}
		diff = "jsonb_build_object('lifecycle', jsonb_build_object('from', t.lifecycle, 'to', u.lifecycle))"
	case ActionSetField:
		set, setArgs = "custom = jsonb_set(u.custom, ARRAY[?::text], to_jsonb(?::text))", []any{p.rule.Field, v}
		if p.def.Sensitive {
			diff, diffArgs = "jsonb_build_object(?::text, jsonb_build_object('from', ?::text, 'to', ?::text))", []any{"custom." + p.rule.Field, audit.Mask, audit.Mask}
		} else {
			diff, diffArgs = "jsonb_build_object(?::text, jsonb_strip_nulls(jsonb_build_object('from', t.custom -> ?, 'to', u.custom -> ?)))", []any{"custom." + p.rule.Field, p.rule.Field, p.rule.Field}
		}
	}
	args := []any{q.For("UPDATE OF c")}
	args = append(args, setArgs...)
	args = append(args, tenant)
	args = append(args, diffArgs...)
	args = append(args, p.rule.ID.String(), p.rule.Name)
	var rows []struct {
		ID    uuid.UUID `bun:"id"`
		OldLC string    `bun:"old_lc"`
		Diff  string    `bun:"diff"`
	}
	// The update returns plain columns and the diff is built over them:
	// Citus refuses a non-immutable function (jsonb_build_object, to_jsonb)
	// in RETURNING.
	diff = strings.NewReplacer("t.tags", "x.old_tags", "t.lifecycle", "x.old_lc", "t.custom", "x.old_custom",
		"u.tags", "x.tags", "u.lifecycle", "x.lifecycle", "u.custom", "x.custom").Replace(diff)
	err = tx.NewRaw(`WITH t AS (?), x AS (
		UPDATE customers AS u SET `+set+`, updated_at = now() FROM t WHERE u.tenant_id = ? AND u.id = t.id
		RETURNING u.id, u.tags, u.lifecycle, u.custom, t.tags AS old_tags, t.lifecycle AS old_lc, t.custom AS old_custom)
		SELECT x.id, x.old_lc, (`+diff+` || jsonb_build_object('rule', jsonb_build_object('to', jsonb_build_object('id', ?::text, 'name', ?::text))))::text AS diff
		FROM x`, args...).
		Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	ids := make([]uuid.UUID, len(rows))
	diffs := make([]string, len(rows))
	olds := make([]string, len(rows))
	for i, r := range rows {
		ids[i], diffs[i], olds[i] = r.ID, r.Diff, r.OldLC
	}
	// Through ExecStaged: an INSERT ... SELECT from unnest gets RETURNING on
	// Citus, which would otherwise COPY its rows into the shard (refused
	// under RLS).
	exec := func(query string, args ...any) error {
		_, err := db.ExecStaged(ctx, tx, query, args...)
		return err
	}
	switch p.rule.Action {
	case ActionAddTag:
		err = exec("INSERT INTO customer_tags (tenant_id, tag, customer_id) SELECT ?, ?, id FROM unnest(?::uuid[]) AS id ON CONFLICT DO NOTHING",
			tenant, strings.ToLower(v), pgUUIDs(ids))
	case ActionRemoveTag:
		err = exec("DELETE FROM customer_tags WHERE tenant_id = ? AND tag = ? AND customer_id = ANY(?::uuid[])", tenant, strings.ToLower(v), pgUUIDs(ids))
	case ActionSetLifecycle:
		err = exec(`INSERT INTO customer_lifecycle_history (tenant_id, customer_id, from_stage, to_stage, changed_by)
			SELECT ?, x.id, x.old, ?, NULL FROM unnest(?::uuid[], ?::text[]) AS x (id, old)`, tenant, v, pgUUIDs(ids), pgStrings(olds))
	case ActionSetField:
		if err = exec("DELETE FROM field_index WHERE tenant_id = ? AND entity = ? AND field_key = ? AND record_id = ANY(?::uuid[])",
			tenant, EntityCustomers, p.rule.Field, pgUUIDs(ids)); err == nil && !p.def.Sensitive && (p.def.Filterable || p.def.Sortable) {
			err = exec(`INSERT INTO field_index (tenant_id, entity, field_key, record_id, ord, v_text)
				SELECT ?, ?, ?, id, 0, ? FROM unnest(?::uuid[]) AS id`, tenant, EntityCustomers, p.rule.Field, v, pgUUIDs(ids))
		}
	}
	if err != nil {
		return 0, err
	}
	// One audit row per customer, by the system, the rule in the diff.
	err = db.Defer(ctx, tx, `INSERT INTO audit_log (tenant_id, id, occurred_at, actor_id, actor_kind, action, entity, entity_id, diff)
		SELECT ?, gen_random_uuid(), now(), NULL, 'system', 'customer.classify', 'customer', x.id::text, x.diff::jsonb
		FROM unnest(?::uuid[], ?::text[]) AS x (id, diff)`, tenant, pgUUIDs(ids), pgStrings(diffs))
	return len(rows), err
}

// runRules runs every enabled rule of the company in order, as the system;
// since, when set, limits each to customers changed since its last run
// (less a minute, for transactions that committed late). It returns the
// customers each changed.
func (m *Module) runRules(ctx context.Context, tx bun.Tx, tenant uuid.UUID, incremental bool) ([]RuleRun, error) {
	changed := false
	ctx = authz.AsSystem(ctx)
	var rules []Rule
	if err := tx.NewSelect().Model(&rules).Where("r.tenant_id = ? AND r.enabled", tenant).OrderExpr("r.position, r.created_at, r.id").Scan(ctx); err != nil {
		return nil, err
	}
	out := []RuleRun{}
	for _, r := range rules {
		start := time.Now().UTC()
		p, err := m.planRule(ctx, tx, tenant, r)
		if err != nil {
			// A rule broken since it was saved (a field archived) is skipped
			// and says so in its last run; the others still run.
			m.d.Log.WarnContext(ctx, "profiles: classification rule no longer applies", "rule", r.ID.String(), "error", err.Error())
			continue
		}
		var since *time.Time
		if incremental && r.LastRunAt != nil {
			s := r.LastRunAt.Add(-time.Minute)
			since = &s
		}
		n, err := m.runRule(ctx, tx, tenant, p, since, false)
		if err != nil {
			return nil, fmt.Errorf("profiles: rule %s: %w", r.ID, err)
		}
		if _, err := tx.NewUpdate().Model((*Rule)(nil)).Set("last_run_at = ?, last_changed = ?", start, n).
			Where("tenant_id = ? AND id = ?", tenant, r.ID).Exec(ctx); err != nil {
			return nil, err
		}
		out = append(out, RuleRun{RuleID: r.ID, Changed: n})
		if n > 0 && !changed {
			// Rules change customers without an event each (a million
			// webhooks); one marks the bulk change.
			changed = true
			m.publish(ctx, "customers.classified", tenant)
		}
	}
	return out, nil
}

// requireClassify checks that the actor may write, try and run rules: they
// hold PermClassify and see every customer. A rule runs as the system over the
// whole company, so a role scoped to its own or its team's customers (a
// custom role may be given PermClassify) would otherwise change, or count in
// a dry run, customers it cannot see.
func requireClassify(ctx context.Context) error {
	if err := authz.Require(ctx, PermClassify); err != nil {
		return err
	}
	if authz.ActorFrom(ctx).Visibility() != authz.ScopeAll {
		return errs.E(errs.Forbidden, "Classification rules and score recomputes act on every customer of the company, so they need a role that sees all customers. Ask an owner or admin.")
	}
	return nil
}

// CreateRule saves a rule after checking its condition and action.
func (m *Module) CreateRule(ctx context.Context, tenant uuid.UUID, in RuleInput) (*Rule, error) {
	if err := requireClassify(ctx); err != nil {
		return nil, err
	}
	r := &Rule{TenantID: tenant, ID: uuid.New(), Name: strings.TrimSpace(in.Name), Condition: in.Condition, Action: in.Action,
		Field: in.Field, Value: in.Value, Enabled: in.Enabled, Position: in.Position}
	r.CreatedBy = authz.RequesterID(ctx)
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		p, err := m.planRule(ctx, tx, tenant, *r)
		if err != nil {
			return err
		}
		*r = p.rule
		if err := tx.NewInsert().Model(r).ExcludeColumn("last_run_at", "last_changed").Returning("*").Scan(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "classification_rule.create", Entity: "classification_rule", EntityID: r.ID.String(), After: r})
	})
	if err != nil {
		return nil, db.Classify(err, "classification rule")
	}
	return r, nil
}

func ruleNotFound() error { return errs.E(errs.NotFound, "No such classification rule.") }

func (m *Module) lockRule(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID) (*Rule, error) {
	r := &Rule{}
	if err := tx.NewSelect().Model(r).Where("r.tenant_id = ? AND r.id = ?", tenant, id).For("UPDATE").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ruleNotFound()
		}
		return nil, err
	}
	return r, nil
}

// ListRules lists the company's rules in the order they run.
func (m *Module) ListRules(ctx context.Context, tenant uuid.UUID) ([]Rule, error) {
	if err := requireClassify(ctx); err != nil {
		return nil, err
	}
	out := []Rule{}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&out).Where("r.tenant_id = ?", tenant).OrderExpr("r.position, r.created_at, r.id").Limit(500).Scan(ctx)
	})
	return out, db.Classify(err, "classification rule")
}

// GetRule reads one rule.
func (m *Module) GetRule(ctx context.Context, tenant, id uuid.UUID) (*Rule, error) {
	if err := requireClassify(ctx); err != nil {
		return nil, err
	}
	var r *Rule
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		r, err = m.lockRule(ctx, tx, tenant, id)
		return err
	})
	return r, db.Classify(err, "classification rule")
}

// UpdateRule changes a rule; the result is checked as a new one would be.
func (m *Module) UpdateRule(ctx context.Context, tenant, id uuid.UUID, in RuleUpdate) (*Rule, error) {
	if err := requireClassify(ctx); err != nil {
		return nil, err
	}
	var out *Rule
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		before, err := m.lockRule(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		next := *before
		if in.Name != nil {
			next.Name = strings.TrimSpace(*in.Name)
		}
		if in.Condition != nil {
			next.Condition = *in.Condition
		}
		if in.Action != nil {
			next.Action = *in.Action
		}
		if in.Field != nil {
			next.Field = *in.Field
		}
		if in.Value != nil {
			next.Value = *in.Value
		}
		if in.Enabled != nil {
			next.Enabled = *in.Enabled
		}
		if in.Position != nil {
			next.Position = *in.Position
		}
		if next.Action != ActionSetField {
			next.Field = ""
		}
		p, err := m.planRule(ctx, tx, tenant, next)
		if err != nil {
			return err
		}
		next = p.rule
		if _, err := tx.NewUpdate().Model(&next).Column("name", "condition", "action", "field_key", "value", "enabled", "position").
			Set("updated_at = now()").WherePK().Returning("*").Exec(ctx); err != nil {
			return err
		}
		out = &next
		return audit.Record(ctx, tx, audit.Entry{Action: "classification_rule.update", Entity: "classification_rule", EntityID: id.String(), Before: before, After: next})
	})
	if err != nil {
		return nil, db.Classify(err, "classification rule")
	}
	return out, nil
}

// DeleteRule removes a rule; what it changed stays.
func (m *Module) DeleteRule(ctx context.Context, tenant, id uuid.UUID) error {
	if err := requireClassify(ctx); err != nil {
		return err
	}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		before, err := m.lockRule(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(before).WherePK().Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "classification_rule.delete", Entity: "classification_rule", EntityID: id.String(), Before: before})
	})
	return db.Classify(err, "classification rule")
}

// DryRunRule counts the customers the rule would change now, across the
// company, changing nothing. Run now (RunRule) changes exactly those.
func (m *Module) DryRunRule(ctx context.Context, tenant, id uuid.UUID) (*RuleRun, error) {
	return m.runOne(ctx, tenant, id, true)
}

// RunRule applies one rule now, whether or not it is enabled.
func (m *Module) RunRule(ctx context.Context, tenant, id uuid.UUID) (*RuleRun, error) {
	return m.runOne(ctx, tenant, id, false)
}

func (m *Module) runOne(ctx context.Context, tenant, id uuid.UUID, dry bool) (*RuleRun, error) {
	if err := requireClassify(ctx); err != nil {
		return nil, err
	}
	out := &RuleRun{RuleID: id, DryRun: dry}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		r, err := m.lockRule(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		p, err := m.planRule(ctx, tx, tenant, *r)
		if err != nil {
			return err
		}
		start := time.Now().UTC()
		out.Changed, err = m.runRule(authz.AsSystem(ctx), tx, tenant, p, nil, dry)
		if err != nil || dry {
			return err
		}
		_, err = tx.NewUpdate().Model((*Rule)(nil)).Set("last_run_at = ?, last_changed = ?", start, out.Changed).
			Where("tenant_id = ? AND id = ?", tenant, id).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "classification rule")
	}
	return out, nil
}

func pgUUIDs(ids []uuid.UUID) any { return pgdialect.Array(uuidStrings(ids)) }
func pgStrings(ss []string) any   { return pgdialect.Array(ss) }
