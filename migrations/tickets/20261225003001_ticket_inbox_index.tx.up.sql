-- The inbox of a team: its tickets whose SLA clock runs, most urgent first
-- (GET /tickets?team=<id>&status=new,open&sort=sla_due_at). With only the
-- company-wide tickets_sla_due_idx, a team's page walked the other teams'
-- running tickets too; this one starts at the team and reads its page in order.
CREATE INDEX tickets_team_sla_due_idx ON tickets (tenant_id, team_id, sla_due_at, id) WHERE sla_due_at IS NOT NULL;
