-- RFM and churn risk of each customer, recomputed by the per-company scoring
-- job (profiles:score) in one set-based statement. recency, frequency and
-- monetary are the customer's quintile (1 to 5) within the company, NULL
-- for a customer who never bought; segment follows from them (docs/bi.md).
-- reasons lists what makes up churn_risk: [{code, points, value, label_en,
-- label_zh}].
CREATE TABLE customer_scores (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id      uuid NOT NULL,
    recency          smallint CHECK (recency BETWEEN 1 AND 5),
    frequency        smallint CHECK (frequency BETWEEN 1 AND 5),
    monetary         smallint CHECK (monetary BETWEEN 1 AND 5),
    segment          text CHECK (segment IN ('champions', 'loyal', 'potential', 'new', 'at_risk', 'hibernating', 'lost')),
    last_purchase_at timestamptz,
    purchases        integer NOT NULL DEFAULT 0,
    revenue          numeric(20, 4) NOT NULL DEFAULT 0,
    churn_risk       smallint NOT NULL DEFAULT 0 CHECK (churn_risk BETWEEN 0 AND 100),
    reasons          jsonb NOT NULL DEFAULT '[]',
    computed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
    CHECK ((recency IS NULL) = (segment IS NULL))
);
CREATE INDEX customer_scores_segment_idx ON customer_scores (tenant_id, segment, customer_id);
CREATE INDEX customer_scores_risk_idx ON customer_scores (tenant_id, churn_risk, customer_id);
ALTER TABLE customer_scores ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_scores FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_scores
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Classification rules: a condition in the customer list's filter syntax and
-- one action. Enabled rules run, in position order, when customers change
-- (a deferred job) and after each nightly scoring.
CREATE TABLE classification_rules (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    condition     text NOT NULL CHECK (length(condition) BETWEEN 1 AND 2000),
    action        text NOT NULL CHECK (action IN ('add_tag', 'remove_tag', 'set_lifecycle', 'set_field')),
    field_key     text NOT NULL DEFAULT '',
    value         text NOT NULL CHECK (length(value) BETWEEN 1 AND 200),
    enabled       boolean NOT NULL DEFAULT false,
    position      integer NOT NULL DEFAULT 0,
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_run_at   timestamptz,
    last_changed  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX classification_rules_position_idx ON classification_rules (tenant_id, position, created_at);
ALTER TABLE classification_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE classification_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON classification_rules
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
