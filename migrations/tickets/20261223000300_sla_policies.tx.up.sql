-- SLA policies (modules/tickets): a policy, chosen by conditions on a ticket's
-- priority, type, channel or tags, sets targets for the first response and
-- for resolution, in minutes. The first active policy in position order whose
-- conditions all hold applies; an empty condition holds for any value.
-- Policies are switched off, never deleted, so a ticket's policy stays known.
CREATE TABLE sla_policies (
    tenant_id                uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                       uuid NOT NULL,
    name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    position                 integer NOT NULL DEFAULT 0,
    active                   boolean NOT NULL DEFAULT true,
    priorities               text[] NOT NULL DEFAULT '{}',
    types                    text[] NOT NULL DEFAULT '{}',
    channels                 text[] NOT NULL DEFAULT '{}',
    tags                     text[] NOT NULL DEFAULT '{}',
    first_response_minutes   integer CHECK (first_response_minutes BETWEEN 1 AND 525600),
    resolution_minutes       integer CHECK (resolution_minutes BETWEEN 1 AND 525600),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT sla_policies_name_key UNIQUE (tenant_id, name)
);
ALTER TABLE sla_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE sla_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sla_policies
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- A ticket's SLA: its policy, the time its clock stood still (pending, on
-- hold, solved) and since when it stands now, and the due times that follow:
-- created_at + target + paused seconds, stored so the inbox can order and
-- filter by them under RLS. Times run around the clock until business-hour
-- calendars exist.
ALTER TABLE tickets
    ADD COLUMN sla_policy_id          uuid,
    ADD COLUMN sla_paused_seconds     bigint NOT NULL DEFAULT 0 CHECK (sla_paused_seconds >= 0),
    ADD COLUMN sla_paused_at          timestamptz,
    ADD COLUMN first_response_due_at  timestamptz,
    ADD COLUMN resolution_due_at      timestamptz,
    ADD CONSTRAINT tickets_sla_policy_fk FOREIGN KEY (tenant_id, sla_policy_id) REFERENCES sla_policies (tenant_id, id);
-- The inbox's "due soonest" order over tickets whose clock runs.
CREATE INDEX tickets_resolution_due_idx ON tickets (tenant_id, resolution_due_at, id)
    WHERE resolution_due_at IS NOT NULL AND sla_paused_at IS NULL AND status IN ('new', 'open');
