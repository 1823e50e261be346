-- Business-hour calendars for SLA targets (modules/tickets): a time zone, the
-- working hours of each weekday and the holidays. A team may have its own
-- calendar; the company's default one serves every other ticket. A policy
-- that counts business hours uses the ticket's team's calendar, else the
-- default, else the clock. Hours and holidays are small lists kept with the
-- calendar and checked by the module (no overlaps, a known time zone).
CREATE TABLE sla_calendars (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    time_zone   text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    team_id     uuid,
    is_default  boolean NOT NULL DEFAULT false,
    hours       jsonb NOT NULL DEFAULT '[]',
    holidays    jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT sla_calendars_name_key UNIQUE (tenant_id, name)
);
CREATE UNIQUE INDEX sla_calendars_team_key ON sla_calendars (tenant_id, team_id) WHERE team_id IS NOT NULL;
CREATE UNIQUE INDEX sla_calendars_default_key ON sla_calendars (tenant_id) WHERE is_default;
ALTER TABLE sla_calendars ENABLE ROW LEVEL SECURITY;
ALTER TABLE sla_calendars FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sla_calendars
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Policies gain a next-response target, the share of a target at which the
-- assignee is warned, and whether targets count business hours.
ALTER TABLE sla_policies
    ADD COLUMN next_response_minutes integer CHECK (next_response_minutes BETWEEN 1 AND 525600),
    ADD COLUMN warn_percent integer NOT NULL DEFAULT 80 CHECK (warn_percent BETWEEN 1 AND 99),
    ADD COLUMN business_hours boolean NOT NULL DEFAULT false;

-- A ticket's deadlines: for each target the time of its warning and its due
-- time, all in UTC, computed in business time and moved when the clock stops
-- and starts again. The next-response clock starts each time the requester
-- comes back (pending or solved to open after a first response); cycle counts
-- those waits. sla_paused_business_seconds is the business time the clock
-- stood still, so a policy applied anew keeps the pauses.
ALTER TABLE tickets
    ADD COLUMN first_response_warn_at       timestamptz,
    ADD COLUMN resolution_warn_at           timestamptz,
    ADD COLUMN next_response_started_at     timestamptz,
    ADD COLUMN next_response_warn_at        timestamptz,
    ADD COLUMN next_response_due_at         timestamptz,
    ADD COLUMN next_response_cycle          integer NOT NULL DEFAULT 0 CHECK (next_response_cycle >= 0),
    ADD COLUMN sla_paused_business_seconds  bigint NOT NULL DEFAULT 0 CHECK (sla_paused_business_seconds >= 0);

-- The warnings and breaches still to send, and those sent: one row per
-- ticket, target, stage and cycle. A delivery claims due rows FOR UPDATE SKIP
-- LOCKED, notifies and marks them fired in one transaction, so each is sent
-- exactly once whatever Redis loses. Rows not fired are rewritten whenever the
-- ticket's deadlines move; fired rows stay as the record.
CREATE TABLE ticket_sla_alarms (
    tenant_id  uuid NOT NULL,
    ticket_id  uuid NOT NULL,
    metric     text NOT NULL CHECK (metric IN ('first_response', 'next_response', 'resolution')),
    stage      text NOT NULL CHECK (stage IN ('warning', 'breach')),
    cycle      integer NOT NULL DEFAULT 0,
    fire_at    timestamptz NOT NULL,
    fired_at   timestamptz,
    PRIMARY KEY (tenant_id, ticket_id, metric, stage, cycle),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_sla_alarms_due_idx ON ticket_sla_alarms (tenant_id, fire_at) WHERE fired_at IS NULL;
ALTER TABLE ticket_sla_alarms ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_sla_alarms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_sla_alarms
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Breaches as they happened: a target missed, when it was due, and under
-- which policy; written when the breach alarm fires or when a target is met
-- late, whichever comes first, once per ticket, target and cycle.
CREATE TABLE ticket_sla_breaches (
    tenant_id    uuid NOT NULL,
    ticket_id    uuid NOT NULL,
    metric       text NOT NULL CHECK (metric IN ('first_response', 'next_response', 'resolution')),
    cycle        integer NOT NULL DEFAULT 0,
    policy_id    uuid,
    due_at       timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, ticket_id, metric, cycle),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_sla_breaches_due_idx ON ticket_sla_breaches (tenant_id, due_at);
ALTER TABLE ticket_sla_breaches ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_sla_breaches FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_sla_breaches
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Team leads hear of breaches: the desk's own record, beside availability.
ALTER TABLE ticket_agents ADD COLUMN lead boolean NOT NULL DEFAULT false;
