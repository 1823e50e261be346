-- The interaction timeline: append-only and high volume, so range-partitioned by
-- month (partitions are created ahead by migrate and the daily platform:partitions
-- job; retention drops whole partitions). Money is an exact decimal plus currency.
CREATE TABLE interactions (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    occurred_at  timestamptz NOT NULL,
    customer_id  uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'visit', 'note', 'social', 'purchase', 'feedback')),
    channel      text NOT NULL DEFAULT '',
    summary      text NOT NULL CHECK (length(summary) BETWEEN 1 AND 500),
    body         text NOT NULL DEFAULT '',
    actor_id     uuid,
    amount       numeric(18, 4),
    currency     char(3),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, occurred_at, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
    CHECK ((kind = 'purchase') = (amount IS NOT NULL AND currency IS NOT NULL))
) PARTITION BY RANGE (occurred_at);
CREATE INDEX interactions_customer_idx ON interactions (tenant_id, customer_id, occurred_at DESC, id DESC);
ALTER TABLE interactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE interactions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON interactions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
-- History reaches back: keep a default partition for anything outside the monthly
-- range (imports of old purchases), so an old date is never an error.
CREATE TABLE interactions_default PARTITION OF interactions DEFAULT;
ALTER TABLE interactions_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE interactions_default FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON interactions_default
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
