package tickets

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/records"
)

// visibleTickets restricts q (tickets aliased t) to the tickets the actor's
// scope reaches: all; their team's (the ticket's team is one of the actor's
// teams, or a teammate is its assignee); or their own (assigned to them). A
// ticket the actor created stays within reach in every scope, so whoever
// logged a call sees it afterwards even while nobody is assigned.
func visibleTickets(ctx context.Context, q *bun.SelectQuery) *bun.SelectQuery {
	a := authz.ActorFrom(ctx)
	if a.Kind == authz.ActorNone {
		return q.Where("false")
	}
	switch a.Visibility() {
	case authz.ScopeAll:
		return q
	case authz.ScopeTeam:
		mates := a.Teammates
		if len(mates) == 0 {
			mates = []uuid.UUID{a.ID}
		}
		return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("t.assignee_id IN (?)", bun.In(mates)).WhereOr("t.created_by = ?", a.ID)
			if len(a.TeamIDs) > 0 {
				q = q.WhereOr("t.team_id IN (?)", bun.In(a.TeamIDs))
			}
			return q
		})
	}
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("t.assignee_id = ?", a.ID).WhereOr("t.created_by = ?", a.ID)
	})
}

// sameID says whether two optional ids are equal.
func sameID(a, b *uuid.UUID) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func notFound() error { return errs.E(errs.NotFound, "ticket not found") }

// scopedTicket loads a ticket within the actor's scope, optionally locked for
// update. One the actor may not see is NotFound, exactly like one that does
// not exist.
func scopedTicket(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, lock bool) (*Ticket, error) {
	t := &Ticket{}
	q := tx.NewSelect().Model(t).Where("t.tenant_id = ? AND t.id = ?", tenant, id)
	if lock {
		q = q.For("UPDATE OF t")
	}
	if err := visibleTickets(ctx, q).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound()
		}
		return nil, err
	}
	return t, nil
}

// ticketTx is the shape of an action on one ticket: the permission, a tenant
// transaction in which fn produces the ticket, its custom values revealed or
// masked for the actor, and database errors named for a ticket.
func (m *Module) ticketTx(ctx context.Context, tenant uuid.UUID, perm string, fn func(ctx context.Context, tx bun.Tx) (*Ticket, error)) (*Ticket, error) {
	if err := authz.Require(ctx, perm); err != nil {
		return nil, err
	}
	var t *Ticket
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if t, err = fn(ctx, tx); err != nil {
			return err
		}
		return m.custom.Reveal(ctx, tx, tenant, &t.Custom)
	})
	if err != nil {
		return nil, db.Classify(err, "ticket")
	}
	return t, nil
}

func (m *Module) publish(ctx context.Context, topic string, id uuid.UUID) {
	m.d.Events.Publish(ctx, events.Event{Topic: topic, EntityID: id.String()})
}

// checkPeople refuses an assignee who is not a member, or a team that is not
// a team, of the company.
func (m *Module) checkPeople(ctx context.Context, tenant uuid.UUID, assignee, team *uuid.UUID) error {
	if assignee != nil && m.d.Members != nil {
		ok, err := m.d.Members.IsMember(ctx, tenant, *assignee)
		if err != nil {
			return err
		}
		if !ok {
			return errs.Field("body.assignee_id", "not a member of this company")
		}
	}
	if team != nil && m.d.Teams != nil {
		ok, err := m.d.Teams.IsTeam(ctx, tenant, *team)
		if err != nil {
			return err
		}
		if !ok {
			return errs.Field("body.team_id", "not a team of this company")
		}
	}
	return nil
}

// checkRequester makes sure a requester given by id is a live customer of the
// company that the actor may see; the customer is locked against a
// concurrent erase until the transaction ends.
func (m *Module) checkRequester(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID) error {
	if m.d.Records == nil {
		return errs.Field("body.requester_id", "customers are not available")
	}
	err := m.d.Records.Check(ctx, tx, tenant, entityCustomers, id, "body.requester_id")
	if errs.Is(err, errs.NotFound) {
		return errs.Field("body.requester_id", "no such customer, or you may not see it")
	}
	return err
}

// resolveRequester finds the ticket's requester: the customer given by id, or
// the one whose email or phone was given, made into a lead when none has it.
func (m *Module) resolveRequester(ctx context.Context, tx bun.Tx, tenant uuid.UUID, in TicketInput) (uuid.UUID, bool, error) {
	email, phone := strings.TrimSpace(in.RequesterEmail), strings.TrimSpace(in.RequesterPhone)
	if in.RequesterID != nil {
		if email != "" || phone != "" {
			return uuid.Nil, false, errs.Field("body.requester_id", "send requester_id, or requester_email and requester_phone, not both")
		}
		return *in.RequesterID, false, m.checkRequester(ctx, tx, tenant, *in.RequesterID)
	}
	if email == "" && phone == "" {
		return uuid.Nil, false, errs.Field("body.requester_id", "is required: send requester_id, or requester_email or requester_phone")
	}
	if m.d.People == nil {
		return uuid.Nil, false, errs.Field("body.requester_email", "matching a requester by email or phone is not available; send requester_id")
	}
	return m.d.People.MatchOrCreateLead(ctx, tenant, records.Contact{Name: in.RequesterName, Email: email, Phone: phone, Source: "tickets",
		EmailLocation: "body.requester_email", PhoneLocation: "body.requester_phone"})
}

// insertNumbered inserts a new ticket with the company's next number, taken
// in the same statement. The counter row stays locked until the transaction
// ends, so concurrent creations of one company take their numbers one after
// another, and a creation that rolls back gives its number back: numbers are
// unique and without gaps. Callers insert last, after the slower checks, to
// hold the lock briefly (what follows travels with COMMIT).
func insertNumbered(ctx context.Context, tx bun.Tx, t *Ticket) error {
	_, err := tx.NewInsert().Model(t).
		Value("number", "ticket_next_number(?)", t.TenantID).
		ExcludeColumn("updated_at").Returning("number, updated_at").Exec(ctx)
	return err
}

// insertAssigned inserts a new ticket of a team none of whose available
// members has a cap, dealt out round-robin among members (the team's) in the
// same statement that takes its number: the ticket's INSERT reads its
// assignee from ticket_round_robin (INSERT ... SELECT ... FROM the function),
// which makes or locks the team's cursor row, moves it to the first
// available member without a cap after the one it names (in id order, and
// round again) and takes that member's lock (see nextAgent); the number's
// counter is locked after them, in the order nextAgent takes the locks. The
// ticket goes to that member, open; to nobody, new, when none is available.
// The cursor's lock is held to the end, so tickets arriving together for one
// team are dealt out one after another and the rotation never hands two the
// same turn. A member who has a cap here is never picked (the desk sends
// teams with capped members to nextAgent, which counts their open tickets).
//
// The statement is bun's insert of the ticket with its VALUES list turned
// into a SELECT list over the function: bun builds no INSERT ... SELECT from
// a model, and Citus refuses the subqueries in VALUES this would otherwise
// take (it runs the SELECT, and so the function, on the coordinator).
func insertAssigned(ctx context.Context, tx bun.Tx, t *Ticket, members []uuid.UUID) error {
	q := tx.NewInsert().Model(t).
		Value("number", "ticket_next_number(?)", t.TenantID).
		Value("assignee_id", "rr.pick").
		Value("status", "CASE WHEN rr.pick IS NULL THEN 'new' ELSE 'open' END").
		ExcludeColumn("updated_at").Returning("number, assignee_id, status, updated_at")
	// bun sends DEFAULT for a nil pointer, which a SELECT list cannot hold;
	// those columns have no default but NULL.
	v := reflect.ValueOf(t).Elem()
	for _, f := range q.DB().Table(v.Type()).Fields {
		if f.IsPtr && f.HasNilValue(v) && f.Name != "assignee_id" {
			q.Value(f.Name, "NULL")
		}
	}
	gen := q.DB().QueryGen()
	b, err := q.AppendQuery(gen, nil)
	if err != nil {
		return err
	}
	// The column list comes before any value, and the RETURNING list after
	// the last one, so neither marker can be found inside a value.
	sql := string(b)
	values, returning := strings.Index(sql, ") VALUES ("), strings.LastIndex(sql, ") RETURNING ")
	if values < 0 || returning < values {
		return fmt.Errorf("tickets: round robin: unexpected insert %.80q", sql)
	}
	from := gen.FormatQuery(" FROM ticket_round_robin(?, ?, ?::uuid[]) AS rr(pick)", t.TenantID, *t.TeamID, uuidArray(members))
	sql = sql[:values] + ") SELECT " + sql[values+len(") VALUES ("):returning] + from + sql[returning+1:]
	// Sent without arguments, the text is not parsed for placeholders again.
	var assignee uuid.NullUUID
	if err := tx.QueryRowContext(ctx, sql).Scan(&t.Number, &assignee, &t.Status, &t.UpdatedAt); err != nil {
		return err
	}
	t.AssigneeID = nil
	if assignee.Valid {
		t.AssigneeID = &assignee.UUID
	}
	return nil
}

// writeTags replaces a ticket's tag rows; fresh says there are none yet, so
// the rows can travel with COMMIT.
func writeTags(ctx context.Context, tx bun.Tx, t *Ticket, fresh bool) error {
	if !fresh {
		if _, err := tx.ExecContext(ctx, "DELETE FROM ticket_tags WHERE tenant_id = ? AND ticket_id = ?", t.TenantID, t.ID); err != nil {
			return err
		}
	}
	keys := tagKeys(t.Tags)
	if len(keys) == 0 {
		return nil
	}
	// Each tag row carries the ticket's creation time, so a tag is walked
	// newest first straight off its index (listSets).
	return db.Defer(ctx, tx, "INSERT INTO ticket_tags (tenant_id, tag, ticket_id, created_at) SELECT k.tenant_id, v, k.id, k.created_at FROM tickets k, unnest(?::text[]) AS v WHERE k.tenant_id = ? AND k.id = ?",
		pgdialect.Array(keys), t.TenantID, t.ID)
}

// ownTxKey marks a creation that runs in a transaction of its own.
type ownTxKey struct{}

// writeLater sends a write that nothing later in the creation reads back
// with COMMIT (db.Defer) when the creation has its transaction to itself. A
// creation inside a larger transaction (the demo seed, which then moves the
// ticket on, or another module's) writes at once, so what follows in that
// transaction reads it.
func writeLater(ctx context.Context, tx bun.Tx, query string, args ...any) error {
	if own, _ := ctx.Value(ownTxKey{}).(bool); own {
		return db.Defer(ctx, tx, query, args...)
	}
	// Through ExecStaged, as db.Defer does: an INSERT ... SELECT from unnest
	// gets RETURNING on Citus, which would otherwise COPY its rows into the
	// shard (refused under RLS).
	_, err := db.ExecStaged(ctx, tx, query, args...)
	return err
}

// CreateTicket validates and stores a ticket with the next number of the
// company, its tags and custom values, an audit row and a ticket.created
// event, in one transaction.
func (m *Module) CreateTicket(ctx context.Context, tenant uuid.UUID, in TicketInput) (*Ticket, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	t := &Ticket{TenantID: tenant, ID: uuid.New(), Subject: in.Subject, Description: in.Description, Channel: in.Channel, Type: in.Type,
		Priority: in.Priority, Status: "new", AssigneeID: in.AssigneeID, TeamID: in.TeamID, Tags: in.Tags, Custom: in.Custom,
		Version: 1, CreatedBy: authz.RequesterID(ctx), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if fe := t.normalize(); len(fe) > 0 {
		return nil, invalid(fe)
	}
	if t.AssigneeID != nil {
		t.Status = "open"
	}
	_, nested := db.TenantOf(ctx)
	ctx = context.WithValue(ctx, ownTxKey{}, !nested) // set either way: ctx may carry an outer creation's mark
	return m.ticketTx(ctx, tenant, PermWrite, func(ctx context.Context, tx bun.Tx) (*Ticket, error) {
		// Inside the transaction the checks are statements of it, not
		// transactions of their own. A team given without an assignee deals
		// the ticket out among its members; a team that has members is a team
		// of the company (its members go with it), so only one without any is
		// checked on its own.
		var members []uuid.UUID
		roundRobin := t.TeamID != nil && t.AssigneeID == nil && m.d.Teams != nil
		if roundRobin {
			var err error
			if members, err = m.d.Teams.TeamMembers(ctx, tenant, *t.TeamID); err != nil {
				return nil, err
			}
		}
		team := t.TeamID
		if len(members) > 0 {
			team = nil
		}
		if err := m.checkPeople(ctx, tenant, t.AssigneeID, team); err != nil {
			return nil, err
		}
		var err error
		if t.RequesterID, t.RequesterCreated, err = m.resolveRequester(ctx, tx, tenant, in); err != nil {
			return nil, err
		}
		if t.Custom, err = m.custom.Validate(ctx, tx, tenant, t.Custom); err != nil {
			return nil, err
		}
		// The SLA and its first alarm's delivery do not depend on who gets the
		// ticket (new and open both run the clock): they come before the
		// locks of the assignment and the number, which creations of one
		// company and team queue on.
		if err := m.applySLA(ctx, tx, t); err != nil {
			return nil, err
		}
		t.SLADueAt = slaDue(t)
		if err := m.scheduleFirstAlarm(ctx, tx, t); err != nil {
			return nil, err
		}
		desk, err := m.slaDesk(ctx, tx, tenant)
		if err != nil {
			return nil, err
		}
		switch {
		case len(members) > 0 && !desk.capped[*t.TeamID]:
			err = insertAssigned(ctx, tx, t, members)
		case len(members) > 0:
			if t.AssigneeID, err = m.nextAgent(ctx, tx, tenant, *t.TeamID, members); err != nil {
				return nil, err
			}
			if t.AssigneeID != nil {
				t.Status = "open"
			}
			err = insertNumbered(ctx, tx, t)
		default:
			err = insertNumbered(ctx, tx, t)
		}
		if err != nil {
			return nil, err
		}
		if err := writeTags(ctx, tx, t, true); err != nil {
			return nil, err
		}
		if err := writeNewAlarms(ctx, tx, t); err != nil {
			return nil, err
		}
		if err := m.custom.WriteNewIndex(ctx, tx, tenant, t.ID, t.Custom); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "ticket.create", Entity: "ticket", EntityID: t.ID.String(), After: t,
			Sensitive: m.custom.Sensitive(ctx, tx, tenant)}); err != nil {
			return nil, err
		}
		m.publish(ctx, "ticket.created", t.ID)
		return t, nil
	})
}

// GetTicket returns a ticket the actor may see.
func (m *Module) GetTicket(ctx context.Context, tenant, id uuid.UUID) (*Ticket, error) {
	return m.ticketTx(ctx, tenant, PermRead, func(ctx context.Context, tx bun.Tx) (*Ticket, error) {
		return scopedTicket(ctx, tx, tenant, id, false)
	})
}

// staleVersion is the refusal of a change made to a version of the ticket
// that is no longer current.
func staleVersion(t *Ticket, sent int) error {
	return errs.E(errs.Conflict, "The ticket changed since you read it (you sent version %d, it is at version %d). Load it again and repeat your change.", sent, t.Version).
		WithFields(errs.FieldError{Location: "body.version", Message: "is not the ticket's current version", Value: sent})
}

// UpdateTicket applies the changes to the version of the ticket the caller
// read; a ticket changed since (another version) is refused with 409, and so
// is a closed one.
func (m *Module) UpdateTicket(ctx context.Context, tenant, id uuid.UUID, u TicketUpdate) (*Ticket, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	if u.AssigneeID != nil && u.ClearAssignee {
		return nil, errs.Field("body.clear_assignee", "send assignee_id or clear_assignee, not both")
	}
	if u.TeamID != nil && u.ClearTeam {
		return nil, errs.Field("body.clear_team", "send team_id or clear_team, not both")
	}
	if err := m.checkPeople(ctx, tenant, u.AssigneeID, u.TeamID); err != nil {
		return nil, err
	}
	return m.ticketTx(ctx, tenant, PermWrite, func(ctx context.Context, tx bun.Tx) (*Ticket, error) {
		cur, err := scopedTicket(ctx, tx, tenant, id, true)
		if err != nil {
			return nil, err
		}
		if cur.Version != u.Version {
			return nil, staleVersion(cur, u.Version)
		}
		if cur.Status == "closed" {
			return nil, errs.E(errs.Conflict, "A closed ticket is final; open a new ticket for a new request.")
		}
		next := *cur
		if u.Subject != nil {
			next.Subject = *u.Subject
		}
		if u.Description != nil {
			next.Description = *u.Description
		}
		if u.Type != nil {
			next.Type = *u.Type
		}
		if u.Priority != nil {
			next.Priority = *u.Priority
		}
		if u.AssigneeID != nil || u.ClearAssignee {
			next.AssigneeID = u.AssigneeID
			if next.Status == "new" && u.AssigneeID != nil {
				next.Status = "open"
			}
		}
		if u.TeamID != nil || u.ClearTeam {
			next.TeamID = u.TeamID
		}
		if u.Tags != nil {
			next.Tags = *u.Tags
		}
		if u.RequesterID != nil && *u.RequesterID != cur.RequesterID {
			if err := m.checkRequester(ctx, tx, tenant, *u.RequesterID); err != nil {
				return nil, err
			}
			next.RequesterID = *u.RequesterID
		}
		if len(u.Custom) > 0 {
			if next.Custom, err = m.custom.Patch(ctx, tx, tenant, cur.Custom, u.Custom); err != nil {
				return nil, err
			}
		}
		if fe := next.normalize(); len(fe) > 0 {
			return nil, invalid(fe)
		}
		slaMoves := next.Priority != cur.Priority || next.Type != cur.Type || strings.Join(tagKeys(next.Tags), ",") != strings.Join(tagKeys(cur.Tags), ",") ||
			!sameID(next.TeamID, cur.TeamID) // another team may count another calendar
		if slaMoves {
			if err := m.applySLA(ctx, tx, &next); err != nil { // the conditions changed: the policy may too
				return nil, err
			}
		}
		next.Version = cur.Version + 1
		if _, err := tx.NewUpdate().Model(&next).ExcludeColumn("tenant_id", "id", "number", "created_at", "created_by", "updated_at", "message_count").
			Set("updated_at = now()").WherePK().Returning("updated_at").Exec(ctx); err != nil {
			return nil, err
		}
		if u.Tags != nil {
			if err := writeTags(ctx, tx, &next, false); err != nil {
				return nil, err
			}
		}
		if slaMoves {
			if err := m.syncAlarms(ctx, tx, &next); err != nil {
				return nil, err
			}
		}
		if len(u.Custom) > 0 {
			if err := m.custom.WriteIndex(ctx, tx, tenant, id, next.Custom); err != nil {
				return nil, err
			}
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "ticket.update", Entity: "ticket", EntityID: id.String(), Before: cur, After: next,
			Sensitive: m.custom.Sensitive(ctx, tx, tenant)}); err != nil {
			return nil, err
		}
		m.publish(ctx, "ticket.updated", id)
		return &next, nil
	})
}

// slaColumns are what a status change writes of a ticket's SLA.
var slaColumns = []string{"sla_paused_seconds", "sla_paused_business_seconds", "sla_paused_at", "first_response_warn_at", "first_response_due_at",
	"resolution_warn_at", "resolution_due_at", "next_response_started_at", "next_response_warn_at", "next_response_due_at", "next_response_cycle"}

// setStatus moves t to status under the rules, keeps the times that say
// when it was solved and closed, and stops or starts its SLA clock; the
// caller writes t and then syncs its alarms.
func (m *Module) setStatus(ctx context.Context, tx bun.Tx, t *Ticket, status, loc string) error {
	if err := checkTransition(t.Status, status, loc); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	from := t.Status
	switch status {
	case "solved":
		t.SolvedAt = &now
	case "closed":
		t.ClosedAt = &now
	default:
		t.SolvedAt = nil // reopened, or still in work
	}
	t.Status = status
	if err := m.moveSLAClock(ctx, tx, t, from, now); err != nil {
		return err
	}
	if status == "solved" {
		return m.requestCSAT(ctx, tx, t)
	}
	return nil
}

// ChangeStatus moves a ticket to another status under the rules (a ticket
// never goes back to new, only a solved ticket closes, and a closed one is
// final). version, when not zero, must be the ticket's current version.
func (m *Module) ChangeStatus(ctx context.Context, tenant, id uuid.UUID, status string, version int) (*Ticket, error) {
	return m.ticketTx(ctx, tenant, PermWrite, func(ctx context.Context, tx bun.Tx) (*Ticket, error) {
		t, err := scopedTicket(ctx, tx, tenant, id, true)
		if err != nil {
			return nil, err
		}
		if version != 0 && version != t.Version {
			return nil, staleVersion(t, version)
		}
		before := *t
		if err := m.setStatus(ctx, tx, t, status, "body.status"); err != nil {
			return nil, err
		}
		t.Version++
		if _, err := tx.NewUpdate().Model(t).Column(append([]string{"status", "solved_at", "closed_at", "version"}, slaColumns...)...).Set("updated_at = now()").
			WherePK().Returning("updated_at").Exec(ctx); err != nil {
			return nil, err
		}
		if err := m.syncAlarms(ctx, tx, t); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "ticket.status_change", Entity: "ticket", EntityID: id.String(),
			Before: map[string]any{"status": before.Status}, After: map[string]any{"status": t.Status}}); err != nil {
			return nil, err
		}
		m.publish(ctx, "ticket.status_changed", id)
		return t, nil
	})
}

// RecordsRemoved implements records.Dependent: when customers are erased for
// good, their tickets (with their conversations) go with them, and whatever
// other modules keep about those tickets (tasks) follows.
func (m *Module) RecordsRemoved(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, ids []uuid.UUID) error {
	if entity != entityCustomers {
		return nil
	}
	var doomed []uuid.UUID
	if err := tx.NewRaw("SELECT id FROM tickets WHERE tenant_id = ? AND requester_id IN (?)", tenant, bun.In(ids)).Scan(ctx, &doomed); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err := m.forgetFiles(ctx, tx, tenant, doomed); err != nil {
		return err
	}
	var gone []uuid.UUID
	if err := tx.NewRaw("DELETE FROM tickets WHERE tenant_id = ? AND requester_id IN (?) RETURNING id", tenant, bun.In(ids)).Scan(ctx, &gone); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if len(gone) == 0 {
		return nil
	}
	for _, id := range gone {
		if err := m.custom.DeleteIndex(ctx, tx, tenant, id); err != nil {
			return err
		}
	}
	return m.d.Records.Removed(ctx, tx, tenant, EntityTickets, gone)
}

// RecordsMerged implements records.Dependent: the tickets of merged customers
// belong to the customer they were merged into.
func (m *Module) RecordsMerged(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entity string, from []uuid.UUID, into uuid.UUID) error {
	if entity != entityCustomers {
		return nil
	}
	_, err := tx.ExecContext(ctx, "UPDATE tickets SET requester_id = ?, updated_at = now(), version = version + 1 WHERE tenant_id = ? AND requester_id IN (?)",
		into, tenant, bun.In(from))
	return err
}

var _ records.Dependent = (*Module)(nil)
