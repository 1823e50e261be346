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

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/patch"
)

// visible restricts q to the customers the actor's scope lets them see: all,
// those owned by the actor's teammates (team), or the actor's own (own). It is
// the SQL form of authz.Actor.SeesOwner, and the one place a customer query
// learns the actor's scope.
func visible(ctx context.Context, q *bun.SelectQuery, alias string) *bun.SelectQuery {
	return inScope(ctx, q, alias+"owner_id")
}

// inScope restricts q to rows whose person column (a customer's owner, a task's
// assignee) is within the actor's visibility.
func inScope(ctx context.Context, q *bun.SelectQuery, column string) *bun.SelectQuery {
	a := authz.ActorFrom(ctx)
	switch a.Visibility() {
	case authz.ScopeAll:
		return q
	case authz.ScopeTeam:
		if len(a.Teammates) > 0 {
			return q.Where(column+" IN (?)", bun.In(a.Teammates))
		}
	}
	return q.Where(column+" = ?", a.ID)
}

func notFound() error { return errs.E(errs.NotFound, "customer not found") }

// state says which customers an action by id may reach.
type state int

const (
	liveOnly    state = iota // not soft-deleted
	deletedOnly              // soft-deleted (restore)
	anyState                 // either (erase)
)

// scopedCustomer loads the customer an action by id is about, under the
// actor's scope, optionally locked for update. One the actor cannot see is
// NotFound, exactly like one that does not exist, so an action can neither
// reach nor reveal a record its actor may not read.
func scopedCustomer(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, st state, lock bool) (*Customer, error) {
	c := &Customer{}
	q := tx.NewSelect().Model(c).Where("c.tenant_id = ? AND c.id = ?", tenant, id)
	switch st {
	case liveOnly:
		q = q.Where("c.deleted_at IS NULL")
	case deletedOnly:
		q = q.Where("c.deleted_at IS NOT NULL")
	}
	if lock {
		q = q.For("UPDATE")
	}
	if err := visible(ctx, q, "c.").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound()
		}
		return nil, err
	}
	return c, nil
}

// duplicateError names each email and phone of the input that another customer
// holds, as sent and at its place in the body; the customers holding them are
// in the messages (value is what clashed, never an id).
func duplicateError(in CustomerInput, clashes []contactClash) error {
	holder := map[string]uuid.UUID{}
	for _, c := range clashes {
		if _, ok := holder[c.Key]; !ok {
			holder[c.Key] = c.CustomerID
		}
	}
	var fe []errs.FieldError
	var named []string
	add := func(loc, value, key string) {
		if id, ok := holder[key]; ok {
			fe = append(fe, errs.FieldError{Location: loc, Message: "already used by customer " + id.String(), Value: value})
			named = append(named, fmt.Sprintf("%s (customer %s)", value, id))
		}
	}
	for i, e := range in.Emails {
		if n, ok := normalizeEmail(e); ok {
			add(fmt.Sprintf("body.emails[%d]", i), e, "e:"+n)
		}
	}
	for i, p := range in.Phones {
		if d, ok := phoneDigits(p); ok {
			ts := phoneTerms(p, d)
			add(fmt.Sprintf("body.phones[%d]", i), p, ts[len(ts)-1])
		}
	}
	return errs.E(errs.Conflict, "A customer with this email or phone exists already: %s. Open it, or send ?allow_duplicate=true to create another.", strings.Join(named, ", ")).
		WithFields(fe...)
}

// CreateCustomer validates and stores a customer, with its search terms, an audit
// row and a customer.created event, in one transaction.
func (m *Module) CreateCustomer(ctx context.Context, tenant uuid.UUID, in CustomerInput, allowDuplicate bool) (*Customer, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	c, err := m.newCustomer(ctx, tenant, in, m.checkMember)
	if err != nil {
		return nil, err
	}
	return m.createCustomer(ctx, tenant, in, c, allowDuplicate)
}

// createCustomer stores c, made from in by newCustomer, with the checks that
// need the transaction: its company, duplicates (unless allowDuplicate),
// custom values.
func (m *Module) createCustomer(ctx context.Context, tenant uuid.UUID, in CustomerInput, c *Customer, allowDuplicate bool) (*Customer, error) {
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if err := m.checkCompany(ctx, tx, c); err != nil {
			return err
		}
		if !allowDuplicate {
			dups, hidden, err := findDuplicates(ctx, tx, tenant, contactKeys(c), c.ID)
			if err != nil {
				return err
			}
			if len(dups) > 0 {
				return duplicateError(in, dups)
			}
			if hidden > 0 {
				return errs.E(errs.Conflict, "A customer you cannot see has this email or phone already; ask a colleague or an admin about it, or send ?allow_duplicate=true to create another.").
					WithFields(errs.FieldError{Location: "body.emails", Message: "already used by a customer outside what your role shows you"})
			}
		}
		clean, err := m.validateCustom(ctx, tx, tenant, c.Custom, false)
		if err != nil {
			return err
		}
		c.Custom = clean
		if _, err := tx.NewInsert().Model(c).ExcludeColumn("created_at", "updated_at", "deleted_at").Returning("created_at, updated_at").Exec(ctx); err != nil {
			return err
		}
		if err := writeNewSideRows(ctx, tx, c); err != nil {
			return err
		}
		if err := m.custom.WriteNewIndex(ctx, tx, tenant, c.ID, c.Custom); err != nil {
			return err
		}
		if err := db.Defer(ctx, tx, "INSERT INTO customer_lifecycle_history (tenant_id, customer_id, to_stage, changed_by) VALUES (?, ?, ?, ?)",
			tenant, c.ID, c.Lifecycle, authz.RequesterID(ctx)); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "customer.create", Entity: "customer", EntityID: c.ID.String(), After: c, Sensitive: m.sensitive(ctx, tx, tenant)}); err != nil {
			return err
		}
		m.publish(ctx, "customer.created", c.ID)
		return m.reveal(ctx, tx, tenant, c)
	})
	if err != nil {
		return nil, db.Classify(err, "customer")
	}
	return c, nil
}

// newCustomer is a customer to create from in, checked as far as Go can
// without the transaction: its fields normalised, its owner the actor when in
// names none, or a member of the company (checked with member).
func (m *Module) newCustomer(ctx context.Context, tenant uuid.UUID, in CustomerInput, member func(context.Context, uuid.UUID, *uuid.UUID, string) error) (*Customer, error) {
	c := &Customer{TenantID: tenant, ID: uuid.New(), Kind: in.Kind, Name: in.Name, CompanyID: in.CompanyID, Emails: in.Emails,
		Phones: in.Phones, Address: in.Address, OwnerID: in.OwnerID, Tags: in.Tags, Lifecycle: in.Lifecycle, Source: in.Source, Custom: in.Custom}
	if fe := c.normalize(); len(fe) > 0 {
		return nil, errs.E(errs.Invalid, "The customer could not be saved: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	if c.OwnerID == nil {
		if a := authz.ActorFrom(ctx); a.Kind == authz.ActorUser {
			id := a.ID
			c.OwnerID = &id
		}
	}
	if in.OwnerID != nil {
		if err := member(ctx, tenant, c.OwnerID, "body.owner_id"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// EntityCustomers is the custom-fields entity of customers.
const EntityCustomers = "customers"

// validateCustom checks custom values through the customers' binding: a new
// customer's (partial false) or a patch's (partial true).
func (m *Module) validateCustom(ctx context.Context, tx bun.Tx, tenant uuid.UUID, values map[string]any, partial bool) (map[string]any, error) {
	if partial {
		return m.custom.CheckPatch(ctx, tx, tenant, values)
	}
	return m.custom.Validate(ctx, tx, tenant, values)
}

func (m *Module) sensitive(ctx context.Context, tx bun.Tx, tenant uuid.UUID) []string {
	return m.custom.Sensitive(ctx, tx, tenant)
}

// reveal shows sensitive custom values to holders of pii.read and masks them for
// everyone else; c is changed in place (callers hand it to the client).
func (m *Module) reveal(ctx context.Context, tx bun.Tx, tenant uuid.UUID, cs ...*Customer) error {
	vals := make([]*map[string]any, len(cs))
	for i, c := range cs {
		vals[i] = &c.Custom
	}
	return m.custom.Reveal(ctx, tx, tenant, vals...)
}

// revealPage is reveal for every customer of a page.
func (m *Module) revealPage(ctx context.Context, tx bun.Tx, tenant uuid.UUID, page []Customer) error {
	ptrs := make([]*Customer, len(page))
	for i := range page {
		ptrs[i] = &page[i]
	}
	return m.reveal(ctx, tx, tenant, ptrs...)
}

func (m *Module) publish(ctx context.Context, topic string, id uuid.UUID) {
	m.d.Events.Publish(ctx, events.Event{Topic: topic, EntityID: id.String()})
}

// checkMember refuses an owner or assignee who is not a member of the tenant.
func (m *Module) checkMember(ctx context.Context, tenant uuid.UUID, id *uuid.UUID, location string) error {
	if id == nil || m.d.Members == nil {
		return nil
	}
	ok, err := m.d.Members.IsMember(ctx, tenant, *id)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Field(location, "not a member of this company")
	}
	return nil
}

func (m *Module) checkCompany(ctx context.Context, tx bun.Tx, c *Customer) error {
	if c.CompanyID == nil {
		return nil
	}
	var kind string
	err := tx.NewRaw("SELECT kind FROM customers WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL", c.TenantID, *c.CompanyID).Scan(ctx, &kind)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && kind != "company") {
		return errs.Field("body.company_id", "no company with this id exists in this tenant")
	}
	return err
}

// GetCustomer returns a live customer the actor may see.
func (m *Module) GetCustomer(ctx context.Context, tenant, id uuid.UUID) (*Customer, error) {
	return m.customerTx(ctx, tenant, PermRead, true, func(ctx context.Context, tx bun.Tx) (*Customer, error) {
		return scopedCustomer(ctx, tx, tenant, id, liveOnly, false)
	})
}

// customerTx is the shape of an action on one customer: the permission, a
// tenant transaction in which fn produces the customer, its custom values
// revealed or masked for the actor when reveal is set, and database errors
// named for a customer.
func (m *Module) customerTx(ctx context.Context, tenant uuid.UUID, perm string, reveal bool, fn func(ctx context.Context, tx bun.Tx) (*Customer, error)) (*Customer, error) {
	if err := authz.Require(ctx, perm); err != nil {
		return nil, err
	}
	var c *Customer
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if c, err = fn(ctx, tx); err != nil || !reveal {
			return err
		}
		return m.reveal(ctx, tx, tenant, c)
	})
	if err != nil {
		return nil, db.Classify(err, "customer")
	}
	return c, nil
}

// UpdateCustomer applies the changes, records lifecycle history, audit and event.
func (m *Module) UpdateCustomer(ctx context.Context, tenant, id uuid.UUID, u CustomerUpdate) (*Customer, error) {
	return m.customerTx(ctx, tenant, PermWrite, true, func(ctx context.Context, tx bun.Tx) (*Customer, error) {
		cur, err := scopedCustomer(ctx, tx, tenant, id, liveOnly, true)
		if err != nil {
			return nil, err
		}
		before := *cur
		next := *cur
		patch.Set(&next.Kind, u.Kind)
		patch.Set(&next.Name, u.Name)
		if u.CompanyID != nil {
			next.CompanyID = u.CompanyID
		}
		patch.Set(&next.Emails, u.Emails)
		patch.Set(&next.Phones, u.Phones)
		patch.Set(&next.Address, u.Address)
		if u.OwnerID != nil {
			if err := m.checkMember(ctx, tenant, u.OwnerID, "body.owner_id"); err != nil {
				return nil, err
			}
			next.OwnerID = u.OwnerID
		}
		patch.Set(&next.Tags, u.Tags)
		patch.Set(&next.Lifecycle, u.Lifecycle)
		patch.Set(&next.Source, u.Source)
		if len(u.Custom) > 0 {
			if next.Custom, err = m.custom.Patch(ctx, tx, tenant, cur.Custom, u.Custom); err != nil {
				return nil, err
			}
		}
		if fe := next.normalize(cur.Address); len(fe) > 0 {
			return nil, errs.E(errs.Invalid, "The customer could not be saved: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
		}
		if err := m.checkCompany(ctx, tx, &next); err != nil {
			return nil, err
		}
		if _, err := tx.NewUpdate().Model(&next).ExcludeColumn("tenant_id", "id", "created_at", "deleted_at", "updated_at").
			Set("updated_at = now()").WherePK().Returning("updated_at").Exec(ctx); err != nil {
			return nil, err
		}
		if err := writeSideRows(ctx, tx, &next); err != nil {
			return nil, err
		}
		if len(u.Custom) > 0 {
			if err := m.custom.WriteIndex(ctx, tx, tenant, id, next.Custom); err != nil {
				return nil, err
			}
		}
		if next.Lifecycle != before.Lifecycle {
			if _, err := tx.ExecContext(ctx, "INSERT INTO customer_lifecycle_history (tenant_id, customer_id, from_stage, to_stage, changed_by) VALUES (?, ?, ?, ?, ?)",
				tenant, id, before.Lifecycle, next.Lifecycle, authz.RequesterID(ctx)); err != nil {
				return nil, err
			}
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "customer.update", Entity: "customer", EntityID: id.String(), Before: before, After: next, Sensitive: m.sensitive(ctx, tx, tenant)}); err != nil {
			return nil, err
		}
		m.publish(ctx, "customer.updated", id)
		return &next, nil
	})
}

// DeleteCustomer soft-deletes; RestoreCustomer undoes it.
func (m *Module) DeleteCustomer(ctx context.Context, tenant, id uuid.UUID, restore bool) (*Customer, error) {
	return m.customerTx(ctx, tenant, PermWrite, false, func(ctx context.Context, tx bun.Tx) (*Customer, error) {
		st := liveOnly
		if restore {
			st = deletedOnly
		}
		c, err := scopedCustomer(ctx, tx, tenant, id, st, true)
		if err != nil {
			return nil, err
		}
		action, topic := "customer.delete", "customer.deleted"
		if restore {
			c.DeletedAt = nil
			action, topic = "customer.restore", "customer.updated"
		} else {
			now := time.Now().UTC()
			c.DeletedAt = &now
		}
		if _, err := tx.NewUpdate().Model(c).Column("deleted_at").Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
			return nil, err
		}
		if err := writeSideRows(ctx, tx, c); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: action, Entity: "customer", EntityID: id.String(),
			Before: map[string]any{"deleted": !restore}, After: map[string]any{"deleted": restore == false}}); err != nil {
			return nil, err
		}
		m.publish(ctx, topic, id)
		return c, nil
	})
}

// Filter narrows a customer list.
type Filter struct {
	Q         string
	Lifecycle []string
	Owner     *uuid.UUID
	Tags      []string
	Kind      string
	Fields    []FieldFilter
	Sort      string // created_at, name, updated_at; "-" for descending
	Cursor    string
	Limit     int

	searchDriven bool // the first search group is joined by the caller, not probed
	// skip names the conditions a planned list applies itself (setKey), which
	// customerQuery leaves out.
	skip map[string]bool
}

// Keys of the conditions a planned list may take over from customerQuery.
func tagKey(tag string) string       { return "tag:" + tag }
func fieldKey(ff FieldFilter) string { return ff.Field + "[" + ff.Op + "]=" + ff.Value }

const searchKey = "q:0"

var sorts = map[string]struct{ expr, col string }{
	"created_at": {"c.created_at", "created_at"},
	"updated_at": {"c.updated_at", "updated_at"},
	"name":       {"lower(c.name)", "name"},
}

// cursorT is a list position; custom sorts set P once past the values.
type cursorT = fields.Cursor

// customerQuery applies the tenant, the actor's scope and every filter of f.
// Tags asked for together are one condition: a customer has all of them.
func (m *Module) customerQuery(ctx context.Context, tx bun.Tx, q *bun.SelectQuery, tenant uuid.UUID, f Filter) (*bun.SelectQuery, error) {
	f = f.folded()
	// A query string passed its caps; a saved segment adds its own conditions.
	if n := len(f.Tags) + len(f.Fields); n > 2*MaxFilterTerms {
		return nil, errs.Field("query", fmt.Sprintf("has %d filter conditions with the segment's; a list takes at most %d", n, 2*MaxFilterTerms))
	}
	q = q.Where("c.tenant_id = ? AND c.deleted_at IS NULL", tenant)
	q = visible(ctx, q, "c.")
	if len(f.Lifecycle) > 0 {
		q = q.Where("c.lifecycle IN (?)", bun.In(f.Lifecycle))
	}
	if f.Owner != nil {
		q = q.Where("c.owner_id = ?", *f.Owner)
	}
	if f.Kind != "" {
		q = q.Where("c.kind = ?", f.Kind)
	}
	var tags []string
	for _, t := range f.Tags {
		if !f.skip[tagKey(t)] {
			tags = append(tags, t)
		}
	}
	switch len(tags) {
	case 0:
	case 1:
		if f.skip[fields.Probe] {
			// One customer, fixed by a walk: its tags are read from the
			// index that starts with the customer, as the search's terms
			// are below (the primary key starts with the tag).
			cond, args := fields.ProbeTags("customer_tags", "customer_id", "c.id", tenant, tags)
			q = q.Where(cond, args...)
			break
		}
		q = q.Where("EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.tag = ? AND ct.customer_id = c.id)", tags[0])
	default:
		if f.skip[fields.Probe] {
			cond, args := fields.ProbeTags("customer_tags", "customer_id", "c.id", tenant, tags)
			q = q.Where(cond, args...)
			break
		}
		// The count reads the tenant parameter, not c.tenant_id: under RLS,
		// Citus refuses an aggregate subquery correlated on the distribution
		// column beside another correlated subquery ("complex joins are only
		// supported when ..."), and routes this form to the tenant's shard.
		q = q.Where("(SELECT count(DISTINCT ct.tag) FROM customer_tags ct WHERE ct.tenant_id = ? AND ct.customer_id = c.id AND ct.tag IN (?)) = ?", tenant, bun.In(tags), len(tags))
	}
	for _, ff := range f.Fields {
		if f.skip[fieldKey(ff)] {
			continue
		}
		var err error
		if strings.HasPrefix(ff.Field, "custom.") {
			if q, err = m.custom.Where(ctx, tx, tenant, q, "c.id", strings.TrimPrefix(ff.Field, "custom."), ff.Op, ff.Value); err != nil {
				return nil, err
			}
			continue
		}
		if q, err = ff.apply(q); err != nil {
			return nil, err
		}
	}
	for i, group := range searchPlan(f.Q) {
		if i == 0 && (f.searchDriven || f.skip[searchKey]) {
			continue
		}
		alts, args := termAlts(group, nil)
		if f.skip[fields.Probe] {
			// One customer, fixed by a walk: its terms are read from the
			// index that starts with the customer, asked for in customer
			// order with the id bounded from both sides, which that index
			// alone gives without a sort. As a plain EXISTS, in a company
			// the statistics do not know, the primary key (tenant, term, ...)
			// cost the planner the same and was read from the start of the
			// term for each walked customer (issue 23, the soak's first
			// minute).
			q = q.Where("(SELECT true FROM customer_terms t WHERE t.tenant_id = ? AND t.customer_id >= c.id AND t.customer_id <= c.id AND ("+alts+") ORDER BY t.customer_id LIMIT 1)", append([]any{tenant}, args...)...)
			continue
		}
		q = q.Where("EXISTS (SELECT 1 FROM customer_terms t WHERE t.tenant_id = c.tenant_id AND t.customer_id = c.id AND ("+alts+"))", args...)
	}
	return q, nil
}

// ListCustomers returns one keyset page and the next cursor.
func (m *Module) ListCustomers(ctx context.Context, tenant uuid.UUID, f Filter) ([]Customer, string, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	f = f.folded()
	sortKey, desc := strings.TrimPrefix(f.Sort, "-"), strings.HasPrefix(f.Sort, "-")
	if f.Sort == "" {
		sortKey, desc = "created_at", true
	}
	after, err := fields.DecodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	if strings.HasPrefix(sortKey, "custom.") {
		return m.listByCustom(ctx, tenant, f, strings.TrimPrefix(sortKey, "custom."), desc, after)
	}
	s, ok := sorts[sortKey]
	if !ok {
		return nil, "", errs.Field("query.sort", "sort by created_at, updated_at, name or custom.<key> of a sortable custom field, with - for descending")
	}
	var out []Customer
	// Read-only: the page's read commits with itself (db.InTenantRead).
	err = db.InTenantRead(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if sortKey == "created_at" {
			planned, ok, err := m.plannedPage(ctx, tx, tenant, f, desc, after)
			if err != nil || ok {
				out = planned
				if err != nil {
					return err
				}
				return m.revealPage(ctx, tx, tenant, out)
			}
		}
		q, err := m.plainPage(ctx, tx, tenant, f, sortKey, s.expr, desc, after)
		if err != nil {
			return err
		}
		if out, err = readCustomers(ctx, tenant, q, f.Limit+1); err != nil {
			return err
		}
		return m.revealPage(ctx, tx, tenant, out)
	})
	if err != nil {
		return nil, "", db.Classify(err, "customer")
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = cursorT{V: sortValue(out[len(out)-1], sortKey), ID: out[len(out)-1].ID}.Encode()
	}
	return out, next, nil
}

// plainPage is the select of a page of customers sorted by a standard sort
// (expr) that the kernel's plan does not take: PostgreSQL's own plan, on the
// indexes of the sort and of the plain filters (lifecycle, owner, source).
func (m *Module) plainPage(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f Filter, sortKey, expr string, desc bool, after *cursorT) (*bun.SelectQuery, error) {
	q, sortExpr, idExpr, err := m.drivenQuery(ctx, tx, tenant, f, sortKey, expr, desc)
	if err != nil {
		return nil, err
	}
	dir, cmp := "ASC", ">"
	if desc {
		dir, cmp = "DESC", "<"
	}
	if after != nil {
		val := any(after.V)
		if sortKey != "name" {
			t, err := time.Parse(time.RFC3339Nano, after.V)
			if err != nil {
				return nil, errs.Field("query.cursor", "does not fit this sort; start again without it")
			}
			val = t
		}
		q = q.Where(fmt.Sprintf("(%s, %s) %s (?, ?)", sortExpr, idExpr, cmp), val, after.ID)
	}
	return q.ColumnExpr(customerColumns).OrderExpr(fmt.Sprintf("%s %s, %s %s", sortExpr, dir, idExpr, dir)).Limit(f.Limit + 1), nil
}

// listSets are the filters of f that are sets of customers held in an index
// (each tag, each custom value or range, the first search group), for the
// kernel's plan (fields.PageByTime).
func (m *Module) listSets(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f Filter) ([]fields.Set, error) {
	var sets []fields.Set
	for _, t := range f.Tags {
		sets = append(sets, fields.Set{Facet: "tag", Values: []string{t}, Key: tagKey(t),
			IDs:  "SELECT customer_id AS id FROM customer_tags WHERE tenant_id = ? AND tag = ?",
			Args: []any{tenant, t},
			Walk: "SELECT customer_id AS id, created_at AS at FROM customer_tags WHERE tenant_id = ? AND tag = ?", WalkArgs: []any{tenant, t}})
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
			s.Key = fieldKey(ff)
			sets = append(sets, s)
		}
	}
	if plan := searchPlan(f.Q); len(plan) > 0 {
		ids, args := termUnion(tenant, plan[0])
		s := fields.Set{Key: searchKey, IDs: ids, Args: args}
		if len(plan[0]) == 1 && plan[0][0].exact != "" {
			// One exact term names a customer once, in (created_at, customer) order.
			s.Walk, s.WalkArgs = "SELECT t.customer_id AS id, t.created_at AS at FROM customer_terms t WHERE t.tenant_id = ? AND t.term = ?", []any{tenant, plan[0][0].exact}
		} else {
			s.Dups = true
		}
		sets = append(sets, s)
	}
	return sets, nil
}

// plannedPage reads a page by creation time through the kernel's plan when
// the list filters on indexed sets; ok is false when it has none.
func (m *Module) plannedPage(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f Filter, desc bool, after *cursorT) ([]Customer, bool, error) {
	sets, err := m.listSets(ctx, tx, tenant, f)
	if err != nil || len(sets) == 0 {
		return nil, false, err
	}
	p := fields.TimePage[Customer]{Entity: EntityCustomers, Sets: sets, Want: f.Limit + 1, Desc: desc,
		TimeExpr: "c.created_at", IDExpr: "c.id", Table: "customers",
		All:     "SELECT id, created_at AS at FROM customers WHERE tenant_id = ? AND deleted_at IS NULL",
		AllArgs: []any{tenant},
		Query: func(skip map[string]bool) (*bun.SelectQuery, error) {
			qf := f
			qf.skip = skip
			q, err := m.customerQuery(ctx, tx, tx.NewSelect().Model((*Customer)(nil)), tenant, qf)
			if err != nil {
				return nil, err
			}
			return q.ColumnExpr(customerColumns), nil
		},
		Read:   func(q *bun.SelectQuery) ([]Customer, error) { return readCustomers(ctx, tenant, q, f.Limit+1) },
		Limits: m.planLimits, Trace: m.planTrace,
		Position: func(c Customer) (time.Time, uuid.UUID) { return c.CreatedAt, c.ID },
	}
	if after != nil {
		t, err := time.Parse(time.RFC3339Nano, after.V)
		if err != nil {
			return nil, false, errs.Field("query.cursor", "does not fit this sort; start again without it")
		}
		p.After, p.AfterID = &t, after.ID
	}
	out, err := fields.PageByTime(ctx, tx, tenant, p)
	return out, true, err
}

// sortValue is c's value of a standard sort, as a cursor carries it.
func sortValue(c Customer, sortKey string) string {
	switch sortKey {
	case "updated_at":
		return c.UpdatedAt.Format(time.RFC3339Nano)
	case "name":
		return strings.ToLower(c.Name)
	}
	return c.CreatedAt.Format(time.RFC3339Nano)
}

// drivenQuery is the list's query with every filter of f, and the expressions
// its keyset runs on. On a list by creation time a search or a tag drives it:
// the first search group's term rows, or the tag's rows, are walked in
// (created_at, customer) order off their index, and only those customers are
// checked against the other filters. A search is usually the narrower of the two.
func (m *Module) drivenQuery(ctx context.Context, tx bun.Tx, tenant uuid.UUID, f Filter, sortKey, sortExpr string, desc bool) (q *bun.SelectQuery, sortBy, idExpr string, err error) {
	qf := f
	driveTag := ""
	var drive []termCond
	if sortKey == "created_at" {
		if plan := searchPlan(f.Q); len(plan) > 0 {
			drive, qf.searchDriven = plan[0], true
		} else if len(f.Tags) > 0 {
			driveTag, qf.Tags = strings.ToLower(f.Tags[0]), f.Tags[1:]
		}
	}
	var model []Customer
	if q, err = m.customerQuery(ctx, tx, tx.NewSelect().Model(&model), tenant, qf); err != nil {
		return nil, "", "", err
	}
	switch {
	case driveTag != "":
		q = q.Join("JOIN customer_tags AS dt ON dt.tenant_id = c.tenant_id AND dt.customer_id = c.id").Where("dt.tag = ?", driveTag)
		return q, "dt.created_at", "dt.customer_id", nil
	case drive != nil:
		sub, args := termWalk(tenant, drive, desc)
		return q.Join("JOIN ("+sub+") AS ds ON ds.customer_id = c.id", args...), "ds.created_at", "ds.customer_id", nil
	}
	return q, sortExpr, "c.id", nil
}

// termAlts is the condition on a term row t that matches one search group,
// any of its terms, and its arguments appended to args.
func termAlts(group []termCond, args []any) (string, []any) {
	alts := make([]string, 0, len(group))
	for _, cond := range group {
		if cond.exact != "" {
			alts = append(alts, "t.term = ?")
			args = append(args, cond.exact)
		} else {
			alts = append(alts, "(t.term >= ? AND t.term < ?)")
			args = append(args, cond.prefix, prefixEnd(cond.prefix))
		}
	}
	return strings.Join(alts, " OR "), args
}

// termUnion is the ids of the customers a search group matches, one select
// of the terms per alternative, joined by UNION ALL, and its arguments: each
// reads its own range of the terms' key and can stop early (a capped count,
// fields.countCap). With the alternatives ORed in one select the scan bounds
// only the company and filters every term of it: a count capped at 83 read
// 12,083 entries of a company of 4,000 customers. A customer an
// alternative matches twice, or two alternatives match, comes twice
// (Set.Dups).
func termUnion(tenant uuid.UUID, group []termCond) (string, []any) {
	var parts []string
	var args []any
	for _, cond := range group {
		alt, a := termAlts([]termCond{cond}, []any{tenant})
		parts = append(parts, "SELECT t.customer_id AS id FROM customer_terms t WHERE t.tenant_id = ? AND "+alt)
		args = append(args, a...)
	}
	return strings.Join(parts, " UNION ALL "), args
}

// termWalk is the subquery of the customers a search group matches, with
// their creation time, ordered for the keyset, and its arguments.
func termWalk(tenant uuid.UUID, drive []termCond, desc bool) (string, []any) {
	alts, args := termAlts(drive, []any{tenant})
	sub := "SELECT t.customer_id, t.created_at FROM customer_terms t WHERE t.tenant_id = ? AND (" + alts + ")"
	if len(drive) > 1 || drive[0].exact == "" {
		// A customer can match a range twice (two emails): once is enough.
		sub += " GROUP BY t.customer_id, t.created_at"
	}
	// Ordered inside, so the join keeps the order and stops at the page's
	// end instead of joining every match and sorting afterwards.
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	return sub + fmt.Sprintf(" ORDER BY t.created_at %s, t.customer_id %s", dir, dir), args
}

// listByCustom pages customers in the order of a custom field, through the
// binding's walk of the field's typed index, planned from the company's
// counts when the list filters on indexed sets.
func (m *Module) listByCustom(ctx context.Context, tenant uuid.UUID, f Filter, key string, desc bool, after *cursorT) ([]Customer, string, error) {
	var out []Customer
	var next string
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		sets, err := m.listSets(ctx, tx, tenant, f)
		if err != nil {
			return err
		}
		out, next, err = fields.PageSorted(ctx, tx, m.custom, tenant, fields.SortedPage{Key: key, Desc: desc, Limit: f.Limit, After: after, Alias: "c",
			Sets: sets, Limits: m.planLimits, Trace: m.planTrace},
			func(dest *[]Customer, skip map[string]bool) (*bun.SelectQuery, error) {
				qf := f
				qf.skip = skip
				return m.customerQuery(ctx, tx, tx.NewSelect().Model(dest), tenant, qf)
			}, func(c *Customer) uuid.UUID { return c.ID })
		if err != nil {
			return err
		}
		return m.revealPage(ctx, tx, tenant, out)
	})
	if err != nil {
		return nil, "", db.Classify(err, "customer")
	}
	if out == nil {
		out = []Customer{}
	}
	return out, next, nil
}
