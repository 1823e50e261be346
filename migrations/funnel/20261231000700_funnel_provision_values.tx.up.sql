-- The defaults go in as multi-row VALUES, not INSERT ... SELECT FROM (VALUES):
-- Citus moves the rows of an INSERT ... SELECT whose source is not a co-located
-- shard into the shards with COPY, which PostgreSQL refuses on a table under
-- row-level security, so a company could not be created on Citus. The rows and
-- the guards are the same as before.
CREATE OR REPLACE FUNCTION funnel_provision(t uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE p uuid := gen_random_uuid();
BEGIN
    IF EXISTS (SELECT 1 FROM pipelines WHERE tenant_id = t) THEN
        RETURN;
    END IF;
    INSERT INTO pipelines (tenant_id, id, name_en, name_zh, position, is_default)
    VALUES (t, p, 'Sales', '销售', 0, true);
    INSERT INTO pipeline_stages (tenant_id, id, pipeline_id, name_en, name_zh, position, probability, kind, rotting_days)
    VALUES (t, gen_random_uuid(), p, 'Lead', '线索', 0, 10, 'open', 30),
           (t, gen_random_uuid(), p, 'Qualified', '需求确认', 1, 25, 'open', 21),
           (t, gen_random_uuid(), p, 'Proposal', '方案报价', 2, 50, 'open', 14),
           (t, gen_random_uuid(), p, 'Negotiation', '谈判', 3, 75, 'open', 14),
           (t, gen_random_uuid(), p, 'Won', '赢单', 4, 100, 'won', NULL),
           (t, gen_random_uuid(), p, 'Lost', '输单', 5, 0, 'lost', NULL);
    IF NOT EXISTS (SELECT 1 FROM deal_lost_reasons WHERE tenant_id = t) THEN
        INSERT INTO deal_lost_reasons (tenant_id, id, name_en, name_zh, position)
        VALUES (t, gen_random_uuid(), 'Price too high', '价格太高', 0),
               (t, gen_random_uuid(), 'Chose a competitor', '选择了竞争对手', 1),
               (t, gen_random_uuid(), 'No budget', '没有预算', 2),
               (t, gen_random_uuid(), 'Bad timing', '时机不合适', 3),
               (t, gen_random_uuid(), 'No response', '客户无回应', 4);
    END IF;
END $$;
