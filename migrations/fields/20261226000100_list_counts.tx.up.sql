-- Per-company counts of each indexed custom value and each tag, per entity
-- (issue 20). A list with several filters reads them to choose its plan from
-- what this company holds, not from table-wide statistics that mix every
-- company together. Facet is 'tag', 'custom.<key>', or '*' (value '') for the
-- number of records. Only values held by at least a few records are kept (see
-- fields.CountFloor): a value that is absent is rare, so the plan drives from
-- it. The counts are rebuilt per company by an idempotent job (fields:recount)
-- and after a field conversion; they only steer the plan, every plan returns
-- the same rows.
CREATE TABLE list_counts (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    entity     text NOT NULL,
    facet      text NOT NULL,
    value      text NOT NULL COLLATE "C",
    n          bigint NOT NULL,
    counted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity, facet, value)
);
ALTER TABLE list_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE list_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON list_counts
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
