-- A change to a field that existing values must follow (type, options removed, a
-- lower rating max, sensitive, unique, filterable, sortable) runs as a bulk job:
-- the definition keeps its old shape until the job has converted every record,
-- and the new one waits in `pending`. Values that cannot follow are taken out of
-- their record and kept here, with the reason, for the admin to fix.
ALTER TABLE field_definitions ADD COLUMN pending jsonb;
ALTER TABLE field_definitions ADD COLUMN pending_job uuid;

CREATE TABLE field_conversion_failures (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id     uuid NOT NULL,
    entity     text NOT NULL,
    field_key  text NOT NULL,
    record_id  uuid NOT NULL,
    value      text NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, job_id, record_id)
);
CREATE INDEX field_conversion_failures_field_idx ON field_conversion_failures (tenant_id, entity, field_key, created_at);
ALTER TABLE field_conversion_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE field_conversion_failures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON field_conversion_failures
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
