-- Daily rollups of the metrics that add up over days (platform/measures,
-- rollup.go; kept by modules/bi/rollups.go). One row is one metric, one day
-- of the company's time zone and one value of one dimension (dim '' is the
-- total): the number of fact rows, the sum of their value, how many had a
-- value, and the sum of their base. An interval metric keeps its changes
-- (+1 on the day an interval starts, -1 on the day it ends).
CREATE TABLE bi_rollups (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    metric     text NOT NULL,
    dim        text NOT NULL,
    day        date NOT NULL,
    key        text NOT NULL,
    n          bigint NOT NULL,
    v          numeric,
    vn         bigint NOT NULL,
    b          numeric,
    PRIMARY KEY (tenant_id, metric, dim, day, key)
);
ALTER TABLE bi_rollups ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_rollups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_rollups
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Per company and module: the time zone and currency the rollups were
-- built in (a change of either rebuilds them), and when they were built,
-- last refreshed and last reconciled against the records, with the rows
-- the last reconcile found wrong.
CREATE TABLE bi_rollup_state (
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    module         text NOT NULL,
    time_zone      text NOT NULL,
    currency       text NOT NULL,
    built_at       timestamptz NOT NULL,
    refreshed_at   timestamptz NOT NULL,
    reconciled_at  timestamptz,
    drift          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, module)
);
ALTER TABLE bi_rollup_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_rollup_state FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_rollup_state
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The days each record's facts fall on, as of the last refresh: a changed
-- record moves numbers on those days and on the days its facts fall on now.
CREATE TABLE bi_rollup_subject_days (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    module     text NOT NULL,
    subject    uuid NOT NULL,
    days       date[] NOT NULL,
    PRIMARY KEY (tenant_id, module, subject)
);
ALTER TABLE bi_rollup_subject_days ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_rollup_subject_days FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_rollup_subject_days
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Records changed since the last refresh, written in the transaction of the
-- change (an events recorder); the nil uuid stands for every record of the
-- module (an import). The earliest mark of a record is kept: the rollups
-- are exact as of the oldest mark still waiting.
CREATE TABLE bi_rollup_dirty (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    module     text NOT NULL,
    subject    uuid NOT NULL,
    marked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, module, subject)
);
ALTER TABLE bi_rollup_dirty ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_rollup_dirty FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_rollup_dirty
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- The minutely sweep finds the companies with marks waiting as the sweeper.
CREATE POLICY sweeper_scan ON bi_rollup_dirty FOR SELECT TO clientele_sweeper USING (true);
GRANT SELECT (tenant_id, module) ON bi_rollup_dirty TO clientele_sweeper;
