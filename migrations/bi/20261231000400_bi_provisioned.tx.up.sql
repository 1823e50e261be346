-- Provisioned dashboards (modules/bi): each company gets a sales overview,
-- customer insights and a service dashboard, made of saved reports, once BI
-- is first used. They belong to the company rather than a member (owner_id
-- is the nil uuid), carry a stable provision_key so a rerun adds nothing,
-- and a Chinese name beside the English one, as pipeline stages do.
ALTER TABLE bi_reports
    ADD COLUMN name_zh text NOT NULL DEFAULT '' CHECK (length(name_zh) <= 200),
    ADD COLUMN provision_key text CHECK (provision_key ~ '^[a-z][a-z0-9_.]{1,79}$');
CREATE UNIQUE INDEX bi_reports_provision_key ON bi_reports (tenant_id, provision_key) WHERE provision_key IS NOT NULL;
ALTER TABLE bi_dashboards
    ADD COLUMN name_zh text NOT NULL DEFAULT '' CHECK (length(name_zh) <= 200),
    ADD COLUMN provision_key text CHECK (provision_key ~ '^[a-z][a-z0-9_.]{1,79}$');
CREATE UNIQUE INDEX bi_dashboards_provision_key ON bi_dashboards (tenant_id, provision_key) WHERE provision_key IS NOT NULL;

-- What was provisioned once, by key: a dashboard the company removed stays
-- removed, and one whose module was off is made when the module is on.
CREATE TABLE bi_provisions (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key             text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_.]{1,79}$'),
    dashboard_id    uuid,
    provisioned_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
ALTER TABLE bi_provisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_provisions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_provisions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
