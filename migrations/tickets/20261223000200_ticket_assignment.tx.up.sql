-- Round-robin assignment of a team's tickets (modules/tickets). Which members
-- of a team take tickets, and how many open ones each may hold, is the desk's
-- own record: team membership itself stays with tenants.
CREATE TABLE ticket_agents (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    team_id     uuid NOT NULL,
    member_id   uuid NOT NULL,
    available   boolean NOT NULL DEFAULT false,
    -- At most this many open tickets (new, open, pending, on hold) assigned
    -- to the member before round-robin skips them; NULL: no cap.
    max_open    integer CHECK (max_open IS NULL OR max_open BETWEEN 1 AND 10000),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, team_id, member_id)
);
ALTER TABLE ticket_agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_agents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_agents
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The member a team's last ticket went to. Assigning locks the team's row
-- until the ticket commits, so tickets arriving together for one team are
-- dealt out one after another: each sees the open counts the previous ones
-- left, and the rotation never hands two tickets the same turn.
CREATE TABLE ticket_assign_cursors (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    team_id         uuid NOT NULL,
    last_member_id  uuid,
    PRIMARY KEY (tenant_id, team_id)
);
ALTER TABLE ticket_assign_cursors ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_assign_cursors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_assign_cursors
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
