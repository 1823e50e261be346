package tickets

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/module"
)

// Caps on one list query: every condition is a clause the planner places, and
// a list of values is one condition.
const (
	maxConditions = 20
	maxValues     = 100
)

// Filter narrows a list of tickets. It is read from the list's query string
// (filterFromValues), which is also the form saved views keep it in.
type Filter struct {
	Status, Priority, Type, Channel []string
	Assignee                        string // "me", "none" or a member id
	Team                            string // "none" or a team id
	Requester                       *uuid.UUID
	Tags                            []string // every one of them
	Merged                          *bool    // merged into another ticket (merged_into_id set) or not
	WithSLA                         *bool    // has an SLA target (a first-response or resolution due time) or not
	Fields                          []FieldFilter
	Sort                            string // created_at, updated_at, number, sla_due_at (running clocks only) or custom.<key>; "-" for descending
	Cursor                          string
	Limit                           int
	// skip names the list's sets that a planned page applies itself
	// (fields.PageByTime, fields.PageSorted): ticketQuery leaves them out.
	skip map[string]bool
}

// setKey names a filter of the list as a plan's set.
func tagSetKey(t string) string { return "tag:" + t }

func fieldSetKey(ff FieldFilter) string { return ff.Field + "[" + ff.Op + "]=" + ff.Value }

// FieldFilter is one `field[op]=value` condition.
type FieldFilter struct{ Field, Op, Value string }

var filterKey = regexp.MustCompile(`^([a-z_]+(?:\.[a-z0-9_]+)?)\[([a-z]+)\]$`)

// fieldOps are the operators of the standard fields that take field[op]=value.
var fieldOps = map[string][]string{
	"created_at": {"eq", "gt", "gte", "lt", "lte", "between"},
	"updated_at": {"eq", "gt", "gte", "lt", "lte", "between"},
	// The moments the tickets metrics count by: a drill-down from a
	// response-time, resolution, SLA or CSAT point filters on its own.
	"first_responded_at": {"eq", "gt", "gte", "lt", "lte", "between"},
	"solved_at":          {"eq", "gt", "gte", "lt", "lte", "between"},
	"csat_rated_at":      {"eq", "gt", "gte", "lt", "lte", "between"},
	"number":             {"eq", "gt", "gte", "lt", "lte", "in"},
	"sla_due_at":         {"gt", "gte", "lt", "lte", "between"},
}

// listParams are the plain parameters of the list; the others are field[op]
// filters.
var listParams = map[string]bool{"status": true, "priority": true, "type": true, "channel": true, "assignee": true, "team": true,
	"requester_id": true, "tag": true, "merged": true, "with_sla": true, "sort": true, "cursor": true, "limit": true, "view_id": true}

// splitList reads repeated parameters and comma lists alike.
func splitList(vs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// filterFromValues reads a list query string into a Filter; every refusal
// names its parameter under loc ("query" for the list, "body.query" for a
// saved view).
func filterFromValues(q url.Values, loc string) (Filter, error) {
	var f Filter
	var fe []errs.FieldError
	bad := func(k, msg string, v any) {
		fe = append(fe, errs.FieldError{Location: loc + "." + k, Message: msg, Value: v})
	}
	conditions := 0
	for _, e := range []struct {
		key string
		set []string
		dst *[]string
	}{{"status", statuses, &f.Status}, {"priority", priorities, &f.Priority}, {"type", types, &f.Type}, {"channel", channels, &f.Channel}} {
		vs := splitList(q[e.key])
		if len(vs) > maxValues {
			bad(e.key, fmt.Sprintf("takes at most %d values", maxValues), len(vs))
			continue
		}
		for _, v := range vs {
			if !oneOf(v, e.set) {
				bad(e.key, "use "+listed(e.set), v)
			}
		}
		if len(vs) > 0 {
			conditions++
		}
		*e.dst = vs
	}
	if v := strings.TrimSpace(q.Get("assignee")); v != "" {
		if _, err := uuid.Parse(v); err != nil && v != "me" && v != "none" {
			bad("assignee", "a member id, me or none", v)
		}
		f.Assignee = v
		conditions++
	}
	if v := strings.TrimSpace(q.Get("team")); v != "" {
		if _, err := uuid.Parse(v); err != nil && v != "none" {
			bad("team", "a team id or none", v)
		}
		f.Team = v
		conditions++
	}
	if v := strings.TrimSpace(q.Get("requester_id")); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			bad("requester_id", "must be a customer id", v)
		}
		f.Requester = &id
		conditions++
	}
	for _, t := range splitList(q["tag"]) {
		if len([]rune(t)) > 50 {
			bad("tag", "tags are 1 to 50 characters", t)
			continue
		}
		f.Tags = append(f.Tags, strings.ToLower(t))
	}
	f.Tags = splitList(f.Tags)
	conditions += len(f.Tags)
	for _, e := range []struct {
		key string
		dst **bool
	}{{"merged", &f.Merged}, {"with_sla", &f.WithSLA}} {
		if !q.Has(e.key) {
			continue
		}
		switch v := strings.TrimSpace(q.Get(e.key)); v {
		case "true", "false":
			b := v == "true"
			*e.dst = &b
			conditions++
		default:
			bad(e.key, "true or false", v)
		}
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if listParams[k] {
			continue
		}
		mm := filterKey.FindStringSubmatch(k)
		if mm == nil {
			bad(k, "not a filter: use status, priority, type, channel, assignee, team, requester_id, tag, merged, with_sla, or field[op]=value such as created_at[gte]=2026-01-01", nil)
			continue
		}
		field, op := mm[1], mm[2]
		if !strings.HasPrefix(field, "custom.") {
			ops, ok := fieldOps[field]
			if !ok {
				bad(k, "unknown field; filter on created_at, updated_at, first_responded_at, solved_at, csat_rated_at, number, sla_due_at or custom.<key>", nil)
				continue
			}
			if !oneOf(op, ops) {
				bad(k, fmt.Sprintf("operator %s does not apply to %s; use %s", op, field, listed(ops)), nil)
				continue
			}
		}
		for _, v := range q[k] {
			ff := FieldFilter{Field: field, Op: op, Value: v}
			if timeFields[field] {
				// Checked here too, so a saved view with a time that is no
				// time is refused when saved, not when first listed.
				if _, err := ff.times(); err != nil {
					bad(k, "must be a date (2026-01-31) or an RFC 3339 time; between takes two: from,to", v)
					continue
				}
			}
			f.Fields = append(f.Fields, ff)
			conditions++
		}
	}
	if conditions > maxConditions {
		bad("filter", fmt.Sprintf("has %d conditions; a list takes at most %d", conditions, maxConditions), conditions)
	}
	f.Sort = q.Get("sort")
	if key := strings.TrimPrefix(f.Sort, "-"); f.Sort != "" && !strings.HasPrefix(key, "custom.") && !oneOf(key, sortKeys) {
		bad("sort", "sort by created_at, updated_at, number, sla_due_at or custom.<key> of a sortable custom field, with - for descending", f.Sort)
	}
	if len(fe) > 0 {
		return f, errs.E(errs.Invalid, "Some filters are invalid: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	return f, nil
}

// filterFromQuery reads a saved view's filter, the list's own query string.
func filterFromQuery(raw, loc string) (Filter, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return Filter{}, errs.Field(loc, "is not a query string such as status=open&priority=high")
	}
	return filterFromValues(q, loc)
}

// sortKeys are the standard sorts; sortExpr says what each orders by.
var (
	sortKeys = []string{"created_at", "updated_at", "number", "sla_due_at"}
	sortExpr = map[string]string{"created_at": "t.created_at", "updated_at": "t.updated_at", "number": "t.number", "sla_due_at": "t.sla_due_at"}
)

// ticketQuery applies the tenant, the actor's scope and every filter of f.
func (m *Module) ticketQuery(ctx context.Context, tx bun.Tx, q *bun.SelectQuery, tenant uuid.UUID, f Filter) (*bun.SelectQuery, error) {
	q = visibleTickets(ctx, q.Where("t.tenant_id = ?", tenant))
	for _, c := range []struct {
		col string
		vs  []string
	}{{"t.status", f.Status}, {"t.priority", f.Priority}, {"t.type", f.Type}, {"t.channel", f.Channel}} {
		if len(c.vs) > 0 {
			q = q.Where(c.col+" IN (?)", bun.In(c.vs))
		}
	}
	switch f.Assignee {
	case "":
	case "none":
		q = q.Where("t.assignee_id IS NULL")
	case "me":
		q = q.Where("t.assignee_id = ?", authz.ActorFrom(ctx).ID)
	default:
		id, err := uuid.Parse(f.Assignee)
		if err != nil {
			return nil, errs.Field("query.assignee", "a member id, me or none")
		}
		q = q.Where("t.assignee_id = ?", id)
	}
	switch f.Team {
	case "":
	case "none":
		q = q.Where("t.team_id IS NULL")
	default:
		id, err := uuid.Parse(f.Team)
		if err != nil {
			return nil, errs.Field("query.team", "a team id or none")
		}
		q = q.Where("t.team_id = ?", id)
	}
	if f.Requester != nil {
		q = q.Where("t.requester_id = ?", *f.Requester)
	}
	if f.Merged != nil {
		if *f.Merged {
			q = q.Where("t.merged_into_id IS NOT NULL")
		} else {
			q = q.Where("t.merged_into_id IS NULL")
		}
	}
	if f.WithSLA != nil {
		if *f.WithSLA {
			q = q.Where("(t.resolution_due_at IS NOT NULL OR t.first_response_due_at IS NOT NULL)")
		} else {
			q = q.Where("t.resolution_due_at IS NULL AND t.first_response_due_at IS NULL")
		}
	}
	var tags []string
	for _, tag := range f.Tags {
		if !f.skip[tagSetKey(tag)] {
			tags = append(tags, tag)
		}
	}
	if f.skip[fields.Probe] && len(tags) > 0 {
		// One ticket, fixed by a walk: its own tags (docs/list-plans.md).
		cond, args := fields.ProbeTags("ticket_tags", "ticket_id", "t.id", tenant, tags)
		q = q.Where(cond, args...)
		tags = nil
	}
	for _, tag := range tags {
		q = q.Where("EXISTS (SELECT 1 FROM ticket_tags tt WHERE tt.tenant_id = t.tenant_id AND tt.tag = ? AND tt.ticket_id = t.id)", tag)
	}
	for _, ff := range f.Fields {
		var err error
		if strings.HasPrefix(ff.Field, "custom.") {
			if f.skip[fieldSetKey(ff)] {
				continue
			}
			if q, err = m.custom.Where(ctx, tx, tenant, q, "t.id", strings.TrimPrefix(ff.Field, "custom."), ff.Op, ff.Value); err != nil {
				return nil, err
			}
			continue
		}
		if q, err = ff.apply(q); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// apply adds one standard field filter to q.
func (f FieldFilter) apply(q *bun.SelectQuery) (*bun.SelectQuery, error) {
	loc := "query." + f.Field + "[" + f.Op + "]"
	col := "t." + f.Field
	ops := map[string]string{"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
	if f.Field == "number" {
		var ns []int64
		for _, p := range splitList([]string{strings.TrimPrefix(f.Value, "#")}) {
			n, err := strconv.ParseInt(strings.TrimPrefix(p, "#"), 10, 64)
			if err != nil {
				return nil, errs.Field(loc, "must be a ticket number such as 1001")
			}
			ns = append(ns, n)
		}
		if len(ns) == 0 {
			return nil, errs.Field(loc, "give a ticket number")
		}
		if f.Op == "in" {
			return q.Where(col+" IN (?)", bun.In(ns)), nil
		}
		return q.Where(col+" "+ops[f.Op]+" ?", ns[0]), nil
	}
	ts, err := f.times()
	if err != nil {
		return nil, err
	}
	if f.Op == "between" {
		return q.Where(col+" >= ? AND "+col+" <= ?", ts[0], ts[1]), nil
	}
	return q.Where(col+" "+ops[f.Op]+" ?", ts[0]), nil
}

// timeFields are the standard fields that hold a moment.
var timeFields = map[string]bool{"created_at": true, "updated_at": true, "sla_due_at": true,
	"first_responded_at": true, "solved_at": true, "csat_rated_at": true}

// times reads the moments of a time field's filter: one, or two for between.
func (f FieldFilter) times() ([]time.Time, error) {
	loc := "query." + f.Field + "[" + f.Op + "]"
	parse := func(s string) (time.Time, error) {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
			if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
				return t, nil
			}
		}
		return time.Time{}, errs.Field(loc, "must be a date (2026-01-31) or an RFC 3339 time")
	}
	if f.Op == "between" {
		parts := strings.Split(f.Value, ",")
		if len(parts) != 2 {
			return nil, errs.Field(loc, "between takes two values: from,to")
		}
		from, err := parse(parts[0])
		if err != nil {
			return nil, err
		}
		to, err := parse(parts[1])
		if err != nil {
			return nil, err
		}
		return []time.Time{from, to}, nil
	}
	t, err := parse(f.Value)
	if err != nil {
		return nil, err
	}
	return []time.Time{t}, nil
}

// ListTickets returns one keyset page of the tickets within the actor's
// scope that match f, and the cursor of the next page ("" on the last).
func (m *Module) ListTickets(ctx context.Context, tenant uuid.UUID, f Filter) ([]Ticket, string, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	key, desc := strings.TrimPrefix(f.Sort, "-"), strings.HasPrefix(f.Sort, "-")
	if f.Sort == "" {
		key, desc = "created_at", true
	}
	after, err := fields.DecodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	var out []Ticket
	next := ""
	// Read-only: the page's read commits with itself (db.InTenantRead).
	err = db.InTenantRead(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var sets []fields.Set
		if key == "created_at" || strings.HasPrefix(key, "custom.") {
			var err error
			if sets, err = m.listSets(ctx, tx, tenant, f); err != nil {
				return err
			}
		}
		if strings.HasPrefix(key, "custom.") {
			var err error
			out, next, err = fields.PageSorted(ctx, tx, m.custom, tenant, fields.SortedPage{Key: strings.TrimPrefix(key, "custom."), Desc: desc, Limit: f.Limit, After: after, Alias: "t",
				Sets: sets, Limits: m.planLimits, Trace: m.planTrace},
				func(dest *[]Ticket, skip map[string]bool) (*bun.SelectQuery, error) {
					qf := f
					qf.skip = skip
					return m.ticketQuery(ctx, tx, tx.NewSelect().Model(dest), tenant, qf)
				}, func(t *Ticket) uuid.UUID { return t.ID })
			if err != nil {
				return err
			}
		} else if len(sets) > 0 {
			// By creation time with indexed sets: planned from the company's
			// counts (docs/list-plans.md).
			p := fields.TimePage[Ticket]{Entity: EntityTickets, Sets: sets, Want: f.Limit + 1, Desc: desc,
				TimeExpr: "t.created_at", IDExpr: "t.id", Table: "tickets",
				// Every ticket: the list's query decides which are visible.
				All: "SELECT id, created_at AS at FROM tickets WHERE tenant_id = ?", AllArgs: []any{tenant},
				Query: func(skip map[string]bool) (*bun.SelectQuery, error) {
					qf := f
					qf.skip = skip
					return m.ticketQuery(ctx, tx, tx.NewSelect().Model((*Ticket)(nil)), tenant, qf)
				},
				Read:   func(q *bun.SelectQuery) ([]Ticket, error) { return readTickets(ctx, q, f.Limit+1) },
				Limits: m.planLimits, Trace: m.planTrace,
				Position: func(t Ticket) (time.Time, uuid.UUID) { return t.CreatedAt, t.ID },
			}
			if after != nil {
				at, err := time.Parse(time.RFC3339Nano, after.V)
				if err != nil {
					return errs.Field("query.cursor", "does not fit this sort; start again without it")
				}
				p.After, p.AfterID = &at, after.ID
			}
			var err error
			if out, err = fields.PageByTime(ctx, tx, tenant, p); err != nil {
				return err
			}
			if len(out) > f.Limit {
				out = out[:f.Limit]
				last := out[len(out)-1]
				next = fields.Cursor{ID: last.ID, V: last.CreatedAt.Format(time.RFC3339Nano)}.Encode()
			}
		} else {
			expr, ok := sortExpr[key]
			if !ok {
				return errs.Field("query.sort", "sort by created_at, updated_at, number, sla_due_at or custom.<key> of a sortable custom field, with - for descending")
			}
			q, err := m.ticketQuery(ctx, tx, tx.NewSelect().Model(&out), tenant, f)
			if err != nil {
				return err
			}
			if key == "sla_due_at" {
				q = q.Where("t.sla_due_at IS NOT NULL") // only tickets whose clock runs
			}
			dir, cmp := "ASC", ">"
			if desc {
				dir, cmp = "DESC", "<"
			}
			if after != nil {
				var v any = after.V
				if key == "number" {
					n, err := strconv.ParseInt(after.V, 10, 64)
					if err != nil {
						return errs.Field("query.cursor", "does not fit this sort; start again without it")
					}
					v = n
				} else {
					t, err := time.Parse(time.RFC3339Nano, after.V)
					if err != nil {
						return errs.Field("query.cursor", "does not fit this sort; start again without it")
					}
					v = t
				}
				q = q.Where(fmt.Sprintf("(%s, t.id) %s (?, ?)", expr, cmp), v, after.ID)
			}
			if out, err = readTickets(ctx, q.OrderExpr(fmt.Sprintf("%s %s, t.id %s", expr, dir, dir)).Limit(f.Limit+1), f.Limit+1); err != nil {
				return err
			}
			if len(out) > f.Limit {
				out = out[:f.Limit]
				last := out[len(out)-1]
				c := fields.Cursor{ID: last.ID, V: last.CreatedAt.Format(time.RFC3339Nano)}
				switch key {
				case "updated_at":
					c.V = last.UpdatedAt.Format(time.RFC3339Nano)
				case "number":
					c.V = strconv.FormatInt(last.Number, 10)
				case "sla_due_at":
					c.V = last.SLADueAt.Format(time.RFC3339Nano)
				}
				next = c.Encode()
			}
		}
		vals := make([]*map[string]any, len(out))
		for i := range out {
			vals[i] = &out[i].Custom
		}
		return m.custom.Reveal(ctx, tx, tenant, vals...)
	})
	if err != nil {
		return nil, "", db.Classify(err, "ticket")
	}
	if out == nil {
		out = []Ticket{}
	}
	return out, next, nil
}

// listSets are the filters of f that are sets of tickets held in an index
// (each tag, each custom value or range), for the kernel's plans.
func (m *Module) listSets(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f Filter) ([]fields.Set, error) {
	var sets []fields.Set
	for _, tag := range f.Tags {
		sets = append(sets, fields.Set{Facet: "tag", Values: []string{tag}, Key: tagSetKey(tag),
			IDs: "SELECT ticket_id AS id FROM ticket_tags WHERE tenant_id = ? AND tag = ?", Args: []any{tenant, tag},
			Walk: "SELECT ticket_id AS id, created_at AS at FROM ticket_tags WHERE tenant_id = ? AND tag = ?", WalkArgs: []any{tenant, tag}})
	}
	for _, ff := range f.Fields {
		if !strings.HasPrefix(ff.Field, "custom.") {
			continue
		}
		s, ok, err := m.custom.Set(ctx, tx, tenant, strings.TrimPrefix(ff.Field, "custom."), ff.Op, ff.Value)
		if err != nil {
			return nil, err
		}
		if ok {
			s.Key = fieldSetKey(ff)
			sets = append(sets, s)
		}
	}
	return sets, nil
}

// CountTickets counts the tickets within the actor's scope that match f.
func (m *Module) CountTickets(ctx context.Context, tenant uuid.UUID, f Filter) (int, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return 0, err
	}
	n := 0
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q, err := m.ticketQuery(ctx, tx, tx.NewSelect().TableExpr("tickets AS t"), tenant, f)
		if err != nil {
			return err
		}
		n, err = q.Count(ctx)
		return err
	})
	return n, db.Classify(err, "ticket")
}

// Entities declares the tickets: the kernel gives them custom fields and
// saved views.
func (m *Module) Entities() []module.Entity {
	return []module.Entity{{
		Name: EntityTickets, LabelEN: "Tickets", LabelZH: "工单", Table: "tickets", Read: PermRead,
		Tags: &module.TagTable{Table: "ticket_tags", ID: "ticket_id"},
		Columns: []module.Column{
			{Key: "number", LabelEN: "Number", LabelZH: "编号"},
			{Key: "subject", LabelEN: "Subject", LabelZH: "主题"},
			{Key: "requester_id", LabelEN: "Requester", LabelZH: "请求人"},
			{Key: "status", LabelEN: "Status", LabelZH: "状态"},
			{Key: "priority", LabelEN: "Priority", LabelZH: "优先级"},
			{Key: "type", LabelEN: "Type", LabelZH: "类型"},
			{Key: "channel", LabelEN: "Channel", LabelZH: "渠道"},
			{Key: "assignee_id", LabelEN: "Assignee", LabelZH: "处理人"},
			{Key: "team_id", LabelEN: "Team", LabelZH: "团队"},
			{Key: "tags", LabelEN: "Tags", LabelZH: "标签"},
			{Key: "created_at", LabelEN: "Created", LabelZH: "创建时间"},
			{Key: "updated_at", LabelEN: "Updated", LabelZH: "更新时间"},
		},
		Sorts: sortKeys,
		Query: ticketQueries{m},
	}}
}

// ticketQueries checks and counts the ticket filters saved views keep.
type ticketQueries struct{ m *Module }

// CheckQuery validates a ticket list query string as the list would.
func (q ticketQueries) CheckQuery(raw, loc string) error {
	_, err := filterFromQuery(raw, loc)
	return err
}

// CountQuery counts the tickets a saved filter matches, within the actor's scope.
func (q ticketQueries) CountQuery(ctx context.Context, tenant uuid.UUID, raw string) (int, error) {
	f, err := filterFromQuery(raw, "query")
	if err != nil {
		return 0, err
	}
	return q.m.CountTickets(ctx, tenant, f)
}
