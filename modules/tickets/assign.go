package tickets

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"sort"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
)

// openStatuses are the statuses that count against an agent's cap.
var openStatuses = []string{"new", "open", "pending", "on_hold"}

// Agent is a team member as the desk sees them: whether they take the team's
// tickets, their cap of open tickets, and how many they hold now.
type Agent struct {
	MemberID  uuid.UUID `bun:"member_id,type:uuid" json:"member_id"`
	Available bool      `bun:"available" json:"available" doc:"takes the team's new tickets in turn"`
	MaxOpen   *int      `bun:"max_open" json:"max_open,omitempty" doc:"skipped while holding this many open tickets (new, open, pending, on hold); none: no cap"`
	Lead      bool      `bun:"lead" json:"lead" doc:"hears of the team's SLA breaches (and warnings of its unassigned tickets)"`
	Open      int       `bun:"open" json:"open" doc:"open tickets assigned to the member now, in any team"`
}

// AgentInput sets a member's availability for a team's tickets.
type AgentInput struct {
	Available bool `json:"available"`
	MaxOpen   *int `json:"max_open,omitempty" minimum:"1" maximum:"10000" doc:"the cap of open tickets; omit for none"`
	Lead      bool `json:"lead,omitempty" doc:"the member leads the team: SLA breaches of its tickets are sent to them"`
}

// agents lists the members of team with their availability and open counts,
// ordered by id, inside tx.
func (m *Module) agents(ctx context.Context, tx bun.Tx, tenant, team uuid.UUID) ([]Agent, error) {
	if m.d.Teams == nil {
		return nil, errs.E(errs.NotFound, "team not found")
	}
	members, err := m.d.Teams.TeamMembers(ctx, tenant, team)
	if err != nil {
		return nil, err
	}
	out := []Agent{}
	if len(members) == 0 {
		return out, nil
	}
	err = tx.NewRaw(`SELECT mm.id AS member_id, coalesce(a.available, false) AS available, a.max_open, coalesce(a.lead, false) AS lead,
		(SELECT count(*) FROM tickets t WHERE t.tenant_id = ? AND t.assignee_id = mm.id AND t.status IN (?)) AS open
		FROM unnest(?::uuid[]) AS mm(id)
		LEFT JOIN ticket_agents a ON a.tenant_id = ? AND a.team_id = ? AND a.member_id = mm.id
		ORDER BY mm.id`, tenant, bun.In(openStatuses), uuidArray(members), tenant, team).Scan(ctx, &out)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return out, err
}

// uuidArray is a uuid[] literal argument.
func uuidArray(ids []uuid.UUID) any {
	ss := make([]string, len(ids))
	for i, id := range ids {
		ss[i] = id.String()
	}
	return pgdialect.Array(ss)
}

// nextAgent picks, inside the creating transaction, who among members (the
// team's, by id) gets a new ticket of team: the first available member after
// the one who got the team's last ticket, in id order and round again,
// skipping those at their cap; nil when nobody may take it. Teams none of
// whose available members has a cap are dealt out by insertAssigned instead,
// in the ticket's insert.
//
// It costs three statements. The first makes and locks the team's cursor
// row, so one team's tickets are dealt out one at a time, and reads the
// available members with and without a cap; the cursor comes back as the
// lock found it (ON CONFLICT DO UPDATE reads the latest version), so the
// rotation never hands two tickets the same turn. Those members' locks
// (shared by every team they are in) are taken next, in id order, and a
// last statement (a snapshot taken after the locks) reads availability and
// caps again and counts the capped members' open tickets, up to the cap:
// counts stay true until commit, so no cap is passed even when two teams
// assign to the same member at once. A member whose lock was not taken (they
// became available meanwhile) is skipped for this ticket. Locks are taken in
// one order everywhere (cursor, members by id, then the number counter), so
// concurrent creations queue and never deadlock. The cursor's move travels
// with COMMIT (writeLater).
func (m *Module) nextAgent(ctx context.Context, tx bun.Tx, tenant, team uuid.UUID, members []uuid.UUID) (*uuid.UUID, error) {
	var last uuid.NullUUID
	var free, capped []string
	if err := tx.NewRaw(`WITH cur AS (INSERT INTO ticket_assign_cursors AS c (tenant_id, team_id) VALUES (?, ?)
			ON CONFLICT (tenant_id, team_id) DO UPDATE SET last_member_id = c.last_member_id RETURNING c.last_member_id)
		SELECT (SELECT last_member_id FROM cur),
			ARRAY(SELECT member_id::text FROM ticket_agents WHERE tenant_id = ? AND team_id = ? AND available AND max_open IS NULL ORDER BY member_id),
			ARRAY(SELECT member_id::text FROM ticket_agents WHERE tenant_id = ? AND team_id = ? AND available AND max_open IS NOT NULL ORDER BY member_id)`,
		tenant, team, tenant, team, tenant, team).Scan(ctx, &last, pgdialect.Array(&free), pgdialect.Array(&capped)); err != nil {
		return nil, err
	}
	inTeam := make(map[uuid.UUID]bool, len(members))
	for _, id := range members {
		inTeam[id] = true
	}
	// Every available member's lock (shared by every team they are in), in id
	// order: a member without a cap here may have one in another team, whose
	// count must see this ticket.
	all := append(append([]string(nil), free...), capped...)
	sort.Strings(all) // a uuid's text sorts as its bytes
	if len(all) > 0 {
		// unnest keeps the array's order, and each row's lock is taken as the
		// row is produced.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('tickets:agent:' || ? || ':' || m, 0)) FROM unnest(?::text[]) AS x(m)",
			tenant.String(), pgdialect.Array(all)); err != nil {
			return nil, err
		}
	}
	var eligible []uuid.UUID
	if len(capped) == 0 {
		for _, s := range free {
			if id, err := uuid.Parse(s); err == nil && inTeam[id] {
				eligible = append(eligible, id)
			}
		}
	} else {
		var rows []struct {
			MemberID uuid.UUID `bun:"member_id"`
			MaxOpen  *int      `bun:"max_open"`
			Open     int       `bun:"open"`
		}
		err := tx.NewRaw(`SELECT a.member_id, a.max_open,
				CASE WHEN a.max_open IS NULL THEN 0 ELSE (SELECT count(*) FROM (SELECT 1 FROM tickets t
					WHERE t.tenant_id = a.tenant_id AND t.assignee_id = a.member_id AND t.status IN (?) LIMIT a.max_open) n) END AS open
			FROM ticket_agents a WHERE a.tenant_id = ? AND a.team_id = ? AND a.available AND a.member_id = ANY(?::uuid[])
			ORDER BY a.member_id`, bun.In(openStatuses), tenant, team, uuidArray(members)).Scan(ctx, &rows)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		locked := map[string]bool{}
		for _, c := range all {
			locked[c] = true
		}
		for _, a := range rows {
			if locked[a.MemberID.String()] && (a.MaxOpen == nil || a.Open < *a.MaxOpen) {
				eligible = append(eligible, a.MemberID)
			}
		}
	}
	if len(eligible) == 0 {
		return nil, nil
	}
	sort.Slice(eligible, func(i, j int) bool { return bytes.Compare(eligible[i][:], eligible[j][:]) < 0 })
	pick := eligible[0]
	if last.Valid {
		for _, e := range eligible {
			if bytes.Compare(e[:], last.UUID[:]) > 0 {
				pick = e
				break
			}
		}
	}
	if err := writeLater(ctx, tx, "UPDATE ticket_assign_cursors SET last_member_id = ? WHERE tenant_id = ? AND team_id = ?", pick, tenant, team); err != nil {
		return nil, err
	}
	return &pick, nil
}

// teamTx runs fn for a team of the company, NotFound when there is none.
func (m *Module) teamTx(ctx context.Context, tenant, team uuid.UUID, perm string, fn func(ctx context.Context, tx bun.Tx) error) error {
	if err := authz.Require(ctx, perm); err != nil {
		return err
	}
	if m.d.Teams == nil {
		return errs.E(errs.NotFound, "team not found")
	}
	ok, err := m.d.Teams.IsTeam(ctx, tenant, team)
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(errs.NotFound, "team not found")
	}
	return db.Classify(db.InTenant(ctx, m.d.DB, tenant, fn), "team")
}

// ListAgents lists a team's members with their availability for tickets.
func (m *Module) ListAgents(ctx context.Context, tenant, team uuid.UUID) ([]Agent, error) {
	var out []Agent
	err := m.teamTx(ctx, tenant, team, PermRead, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = m.agents(ctx, tx, tenant, team)
		return err
	})
	return out, err
}

// SetAgent marks a member of a team available or not for its tickets, with a
// cap of open tickets. The member must be in the team.
func (m *Module) SetAgent(ctx context.Context, tenant, team, member uuid.UUID, in AgentInput) (*Agent, error) {
	var out *Agent
	err := m.teamTx(ctx, tenant, team, PermManage, func(ctx context.Context, tx bun.Tx) error {
		all, err := m.agents(ctx, tx, tenant, team)
		if err != nil {
			return err
		}
		var before *Agent
		for i := range all {
			if all[i].MemberID == member {
				before = &all[i]
			}
		}
		if before == nil {
			return errs.Field("path.member_id", "not a member of this team; add them to the team first")
		}
		if in.MaxOpen != nil && (*in.MaxOpen < 1 || *in.MaxOpen > 10000) {
			return errs.Field("body.max_open", "must be 1 to 10000, or omitted for no cap")
		}
		m.slaChanged(ctx, tenant) // the desk knows the teams with capped agents
		if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_agents (tenant_id, team_id, member_id, available, max_open, lead, updated_at) VALUES (?, ?, ?, ?, ?, ?, now())
			ON CONFLICT (tenant_id, team_id, member_id) DO UPDATE SET available = EXCLUDED.available, max_open = EXCLUDED.max_open, lead = EXCLUDED.lead, updated_at = EXCLUDED.updated_at`,
			tenant, team, member, in.Available, in.MaxOpen, in.Lead); err != nil {
			return err
		}
		after := *before
		after.Available, after.MaxOpen, after.Lead = in.Available, in.MaxOpen, in.Lead
		out = &after
		return audit.Record(ctx, tx, audit.Entry{Action: "ticket_agent.update", Entity: "team", EntityID: team.String(),
			Before: map[string]any{"member": member.String(), "available": before.Available, "max_open": before.MaxOpen, "lead": before.Lead},
			After:  map[string]any{"member": member.String(), "available": after.Available, "max_open": after.MaxOpen, "lead": after.Lead}})
	})
	return out, err
}
