-- Saved reports and dashboards (modules/bi). A report is a question to one
-- metric (its query: metric, dimensions, filters, range) and a chart type; a
-- dashboard is a grid of reports with a range and filters of its own. Both
-- belong to the member who made them and are private unless shared with
-- roles; whoever runs one sees only the numbers their own role and scope
-- reach.
CREATE TABLE bi_reports (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    chart         text NOT NULL CHECK (chart IN ('kpi', 'line', 'area', 'bar', 'stacked_bar', 'pie', 'funnel', 'table', 'pivot', 'heatmap')),
    query         jsonb NOT NULL,
    owner_id      uuid NOT NULL,
    shared_roles  text[] NOT NULL DEFAULT '{}' CHECK (cardinality(shared_roles) <= 20),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX bi_reports_created_idx ON bi_reports (tenant_id, created_at DESC, id DESC);
ALTER TABLE bi_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_reports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_reports
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE bi_dashboards (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid NOT NULL,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    range            jsonb NOT NULL DEFAULT '{}',
    filters          jsonb NOT NULL DEFAULT '[]',
    refresh_seconds  integer NOT NULL DEFAULT 0 CHECK (refresh_seconds = 0 OR refresh_seconds BETWEEN 30 AND 86400),
    owner_id         uuid NOT NULL,
    shared_roles     text[] NOT NULL DEFAULT '{}' CHECK (cardinality(shared_roles) <= 20),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX bi_dashboards_created_idx ON bi_dashboards (tenant_id, created_at DESC, id DESC);
ALTER TABLE bi_dashboards ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_dashboards FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_dashboards
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- A dashboard's widgets: a report at a place on a 12-column grid. Removing a
-- report removes it from every dashboard.
CREATE TABLE bi_dashboard_widgets (
    tenant_id     uuid NOT NULL,
    dashboard_id  uuid NOT NULL,
    position      integer NOT NULL,
    report_id     uuid NOT NULL,
    x             integer NOT NULL CHECK (x BETWEEN 0 AND 11),
    y             integer NOT NULL CHECK (y BETWEEN 0 AND 1000),
    w             integer NOT NULL CHECK (w BETWEEN 1 AND 12),
    h             integer NOT NULL CHECK (h BETWEEN 1 AND 24),
    PRIMARY KEY (tenant_id, dashboard_id, position),
    FOREIGN KEY (tenant_id, dashboard_id) REFERENCES bi_dashboards (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, report_id) REFERENCES bi_reports (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX bi_dashboard_widgets_report_idx ON bi_dashboard_widgets (tenant_id, report_id);
ALTER TABLE bi_dashboard_widgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_dashboard_widgets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_dashboard_widgets
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
