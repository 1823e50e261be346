-- The SLA sweep finds, in every company, alarms that are overdue with no
-- delivery left to send them (one failed for good). It reads as the sweeper
-- role, which may see only what finding them needs.
CREATE POLICY sweeper_scan ON ticket_sla_alarms FOR SELECT TO clientele_sweeper USING (true);
GRANT SELECT (tenant_id, fire_at, fired_at) ON ticket_sla_alarms TO clientele_sweeper;
