-- The sales funnel (modules/funnel): pipelines of ordered stages, deals that
-- move through them, the tenant's list of lost reasons, and the history of every
-- stage a deal entered and left, which analytics are computed from.

CREATE TABLE pipelines (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    name_en     text NOT NULL DEFAULT '' CHECK (length(name_en) <= 100),
    name_zh     text NOT NULL DEFAULT '' CHECK (length(name_zh) <= 100),
    position    integer NOT NULL DEFAULT 0,
    -- The pipeline a deal goes to when none is named; one per tenant.
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT pipelines_named CHECK (name_en <> '' OR name_zh <> '')
);
CREATE UNIQUE INDEX pipelines_default_key ON pipelines (tenant_id) WHERE is_default;
CREATE INDEX pipelines_position_idx ON pipelines (tenant_id, position, id);
ALTER TABLE pipelines ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipelines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pipelines
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- A stage's position orders it in its pipeline. Positions are not unique: a
-- reorder rewrites them all under the pipeline's row lock, which is rare and
-- small (a pipeline has a handful of stages).
CREATE TABLE pipeline_stages (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    pipeline_id  uuid NOT NULL,
    name_en      text NOT NULL DEFAULT '' CHECK (length(name_en) <= 100),
    name_zh      text NOT NULL DEFAULT '' CHECK (length(name_zh) <= 100),
    position     integer NOT NULL,
    probability  smallint NOT NULL CHECK (probability BETWEEN 0 AND 100),
    kind         text NOT NULL DEFAULT 'open' CHECK (kind IN ('open', 'won', 'lost')),
    -- Days without activity after which a deal in this stage is rotting; NULL: never.
    rotting_days integer CHECK (rotting_days IS NULL OR rotting_days BETWEEN 1 AND 3650),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    -- The target of deals' (pipeline, stage) key: a deal's stage is one of its
    -- pipeline's stages, which the database checks, not only the code.
    UNIQUE (tenant_id, pipeline_id, id),
    FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipelines (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT pipeline_stages_named CHECK (name_en <> '' OR name_zh <> '')
);
CREATE INDEX pipeline_stages_order_idx ON pipeline_stages (tenant_id, pipeline_id, position, id);
ALTER TABLE pipeline_stages ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipeline_stages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pipeline_stages
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Why deals are lost, a list each tenant edits.
CREATE TABLE deal_lost_reasons (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    name_en     text NOT NULL DEFAULT '' CHECK (length(name_en) <= 100),
    name_zh     text NOT NULL DEFAULT '' CHECK (length(name_zh) <= 100),
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT deal_lost_reasons_named CHECK (name_en <> '' OR name_zh <> '')
);
CREATE INDEX deal_lost_reasons_position_idx ON deal_lost_reasons (tenant_id, position, id);
ALTER TABLE deal_lost_reasons ENABLE ROW LEVEL SECURITY;
ALTER TABLE deal_lost_reasons FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deal_lost_reasons
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Deals. position orders a deal in its stage's column: an exact decimal, so a
-- move writes only the moved row (the midpoint of its new neighbours, or one
-- past the last) and never renumbers the column; the unique index is the last
-- guard against two deals taking one slot.
-- version counts writes for optimistic concurrency (a stale one is refused).
-- The customer key has no ON DELETE action: a customer removed for good (an
-- erase, a reverted import) is announced to the records registry first, in
-- the same transaction, and the funnel deletes its deals then, with their
-- custom-field index rows and the tasks about them; a soft-deleted customer
-- keeps its deals.
CREATE TABLE deals (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid NOT NULL,
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    customer_id      uuid NOT NULL,
    amount           numeric(20, 4) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    currency         char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    expected_close   date,
    owner_id         uuid,
    pipeline_id      uuid NOT NULL,
    stage_id         uuid NOT NULL,
    position         numeric NOT NULL,
    source           text NOT NULL DEFAULT '' CHECK (length(source) <= 100),
    lost_reason_id   uuid,
    lost_note        text NOT NULL DEFAULT '' CHECK (length(lost_note) <= 2000),
    won_at           timestamptz,
    lost_at          timestamptz,
    tags             text[] NOT NULL DEFAULT '{}',
    custom           jsonb NOT NULL DEFAULT '{}',
    version          integer NOT NULL DEFAULT 1,
    stage_entered_at timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipelines (tenant_id, id),
    FOREIGN KEY (tenant_id, pipeline_id, stage_id) REFERENCES pipeline_stages (tenant_id, pipeline_id, id),
    FOREIGN KEY (tenant_id, lost_reason_id) REFERENCES deal_lost_reasons (tenant_id, id)
);
CREATE UNIQUE INDEX deals_column_key ON deals (tenant_id, stage_id, position) WHERE deleted_at IS NULL;
CREATE INDEX deals_created_idx ON deals (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX deals_updated_idx ON deals (tenant_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX deals_close_idx ON deals (tenant_id, expected_close, id) WHERE deleted_at IS NULL;
CREATE INDEX deals_owner_idx ON deals (tenant_id, owner_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX deals_customer_idx ON deals (tenant_id, customer_id);
CREATE INDEX deals_pipeline_idx ON deals (tenant_id, pipeline_id, stage_id);
CREATE INDEX deals_lost_reason_idx ON deals (tenant_id, lost_reason_id) WHERE lost_reason_id IS NOT NULL;
ALTER TABLE deals ENABLE ROW LEVEL SECURITY;
ALTER TABLE deals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deals
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Tags as rows too, so a tag filter is an index lookup under RLS (an array
-- operator is not leakproof and could not use an index).
CREATE TABLE deal_tags (
    tenant_id  uuid NOT NULL,
    tag        text NOT NULL,
    deal_id    uuid NOT NULL,
    PRIMARY KEY (tenant_id, tag, deal_id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX deal_tags_deal_idx ON deal_tags (tenant_id, deal_id);
ALTER TABLE deal_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE deal_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deal_tags
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- One row per stay of a deal in a stage: entered when it arrived, exited when
-- it left (NULL while it is there), by whom, and its amount at each moment.
-- stage_id has no foreign key on purpose: a deleted stage's history still
-- counts in the analytics of the periods it was in use.
CREATE TABLE deal_stage_history (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    deal_id       uuid NOT NULL,
    pipeline_id   uuid NOT NULL,
    stage_id      uuid NOT NULL,
    entered_at    timestamptz NOT NULL,
    entered_by    uuid,
    entry_amount  numeric(20, 4) NOT NULL,
    exited_at     timestamptz,
    exited_by     uuid,
    exit_amount   numeric(20, 4),
    currency      char(3) NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, deal_id) REFERENCES deals (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX deal_stage_history_open_key ON deal_stage_history (tenant_id, deal_id) WHERE exited_at IS NULL;
CREATE INDEX deal_stage_history_deal_idx ON deal_stage_history (tenant_id, deal_id, entered_at);
CREATE INDEX deal_stage_history_pipeline_idx ON deal_stage_history (tenant_id, pipeline_id, entered_at);
ALTER TABLE deal_stage_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE deal_stage_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deal_stage_history
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The defaults every company starts with: the pipeline 线索 Lead, 需求确认
-- Qualified, 方案报价 Proposal, 谈判 Negotiation, 赢单 Won, 输单 Lost, and a
-- few lost reasons. It runs in the caller's tenant transaction (the signup's,
-- through the module's Provisioner, or this migration's below) and does
-- nothing for a tenant that has a pipeline already.
CREATE FUNCTION funnel_provision(t uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE p uuid := gen_random_uuid();
BEGIN
    IF EXISTS (SELECT 1 FROM pipelines WHERE tenant_id = t) THEN
        RETURN;
    END IF;
    INSERT INTO pipelines (tenant_id, id, name_en, name_zh, position, is_default)
    VALUES (t, p, 'Sales', '销售', 0, true);
    INSERT INTO pipeline_stages (tenant_id, id, pipeline_id, name_en, name_zh, position, probability, kind, rotting_days)
    SELECT t, gen_random_uuid(), p, s.en, s.zh, s.pos, s.prob, s.kind, s.rot
      FROM (VALUES ('Lead', '线索', 0, 10, 'open', 30),
                   ('Qualified', '需求确认', 1, 25, 'open', 21),
                   ('Proposal', '方案报价', 2, 50, 'open', 14),
                   ('Negotiation', '谈判', 3, 75, 'open', 14),
                   ('Won', '赢单', 4, 100, 'won', NULL),
                   ('Lost', '输单', 5, 0, 'lost', NULL)) AS s (en, zh, pos, prob, kind, rot);
    IF NOT EXISTS (SELECT 1 FROM deal_lost_reasons WHERE tenant_id = t) THEN
        INSERT INTO deal_lost_reasons (tenant_id, id, name_en, name_zh, position)
        SELECT t, gen_random_uuid(), r.en, r.zh, r.pos
          FROM (VALUES ('Price too high', '价格太高', 0),
                       ('Chose a competitor', '选择了竞争对手', 1),
                       ('No budget', '没有预算', 2),
                       ('Bad timing', '时机不合适', 3),
                       ('No response', '客户无回应', 4)) AS r (en, zh, pos);
    END IF;
END $$;

-- Companies that exist already get the defaults too, tenant by tenant under
-- forced RLS (SET LOCAL, which Citus forwards, not set_config).
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        EXECUTE format('SET LOCAL app.tenant_id = %L', t);
        PERFORM funnel_provision(t);
    END LOOP;
    SET LOCAL app.tenant_id = '';
END $$;
