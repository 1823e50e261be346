-- The rollup's functions, with the same statements, except that every INSERT
-- ... SELECT whose rows are not read from a co-located shard (an array, a
-- function, a CTE) now has RETURNING (counted into a variable), and
-- funnel_daily_request's ON CONFLICT takes its time from EXCLUDED. On Citus an
-- INSERT ... SELECT that is neither pushed down to the shards nor has
-- RETURNING or ON CONFLICT moves its rows with COPY, which PostgreSQL refuses
-- on a table under row-level security; and Citus refuses a non-immutable
-- function in ON CONFLICT DO UPDATE SET. On one node nothing changes.
-- One function per statement (bun:split): Citus forwards DDL to the workers as
-- the text of the message.
CREATE OR REPLACE FUNCTION funnel_daily_write(t uuid, delta funnel_daily_row[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE written bigint;
BEGIN
    IF delta IS NULL OR cardinality(delta) = 0 THEN
        RETURN;
    END IF;
    WITH w AS (
        INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
        SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
          FROM unnest(delta) GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
        RETURNING 1)
    SELECT count(*) INTO written FROM w;
    IF EXISTS (SELECT 1 FROM funnel_daily_rebuilds WHERE tenant_id = t) THEN
        WITH l AS (
            INSERT INTO funnel_daily_log (tenant_id, deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
            SELECT t, x.deal_id, x.pipeline_id, x.stage_id, x.owner_id, x.metric, x.day, x.day2, x.currency, x.close_day, x.n, x.seconds, x.amount
              FROM unnest(delta) x JOIN funnel_daily_rebuilds r ON r.tenant_id = t AND r.pipeline_id = x.pipeline_id
            RETURNING 1)
        SELECT count(*) INTO written FROM l;
    END IF;
END $$;

--bun:split

CREATE OR REPLACE FUNCTION funnel_daily_rebuild(t uuid, pipe uuid, zone text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE written bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('funnel_daily'), hashtext(t::text));
    IF zone IS NOT NULL THEN
        INSERT INTO funnel_daily_zone (tenant_id, zone) VALUES (t, zone)
            ON CONFLICT (tenant_id) DO UPDATE SET zone = EXCLUDED.zone;
    END IF;
    PERFORM 1 FROM funnel_daily_rebuilds WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe) FOR UPDATE;
    DELETE FROM funnel_daily_rebuilds WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe);
    DELETE FROM funnel_daily_build WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe);
    DELETE FROM funnel_daily_spans WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe);
    DELETE FROM funnel_daily_log WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe);
    DELETE FROM funnel_daily WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe);
    WITH w AS (
        INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
        SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
          FROM funnel_daily_rows(t, NULL, pipe)
         GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
        RETURNING 1)
    SELECT count(*) INTO written FROM w;
END $$;

--bun:split

CREATE OR REPLACE FUNCTION funnel_daily_request(t uuid, pipe uuid, zone text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('funnel_daily'), hashtext(t::text));
    IF zone IS NOT NULL THEN
        INSERT INTO funnel_daily_zone (tenant_id, zone) VALUES (t, zone)
            ON CONFLICT (tenant_id) DO UPDATE SET zone = EXCLUDED.zone;
    END IF;
    -- A chunk under way commits first, so its rows are seen and dropped.
    PERFORM 1 FROM funnel_daily_rebuilds WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe) FOR UPDATE;
    DELETE FROM funnel_daily_build WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe);
    DELETE FROM funnel_daily_spans WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe);
    DELETE FROM funnel_daily_log WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe);
    INSERT INTO funnel_daily_rebuilds (tenant_id, pipeline_id, requested_at)
    SELECT t, p.id, now() FROM pipelines p WHERE p.tenant_id = t AND (pipe IS NULL OR p.id = pipe)
        ON CONFLICT (tenant_id, pipeline_id) DO UPDATE
       SET gen = funnel_daily_rebuilds.gen + 1, after_id = NULL, chunks = 0, deals = 0, requested_at = EXCLUDED.requested_at;
END $$;

--bun:split

CREATE OR REPLACE FUNCTION funnel_daily_chunk(t uuid, pipe uuid, lim integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r funnel_daily_rebuilds;
    ids uuid[];
    hi uuid;
    written bigint;
BEGIN
    SELECT * INTO r FROM funnel_daily_rebuilds WHERE tenant_id = t AND pipeline_id = pipe FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN -1;
    END IF;
    SELECT array_agg(id ORDER BY id) INTO ids FROM (
        SELECT id FROM deals WHERE tenant_id = t AND (r.after_id IS NULL OR id > r.after_id) ORDER BY id LIMIT lim) x;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    hi := ids[cardinality(ids)];
    -- One statement: the deals, their rows and the snapshot both were read
    -- in. A deal of the span this snapshot does not see (created or changed
    -- by a transaction in flight) is in the log.
    WITH span AS (
        SELECT array_agg(id ORDER BY id) AS a FROM (
            SELECT id FROM deals WHERE tenant_id = t AND (r.after_id IS NULL OR id > r.after_id) AND id <= hi) x
    ), built AS (
        INSERT INTO funnel_daily_build (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
        SELECT t, f.pipeline_id, f.stage_id, f.owner_id, f.metric, f.day, f.day2, f.currency, f.close_day, sum(f.n), sum(f.seconds), sum(f.amount)
          FROM span CROSS JOIN LATERAL funnel_daily_rows(t, span.a, pipe) f
         WHERE span.a IS NOT NULL
         GROUP BY f.pipeline_id, f.stage_id, f.owner_id, f.metric, f.day, f.day2, f.currency, f.close_day
        RETURNING 1
    ), spanned AS (
        INSERT INTO funnel_daily_spans (tenant_id, pipeline_id, lo, hi, snap)
        SELECT t, pipe, r.after_id, hi, pg_current_snapshot() FROM (SELECT count(*) FROM built) c
        RETURNING 1)
    SELECT count(*) INTO written FROM spanned;
    UPDATE funnel_daily_rebuilds SET after_id = hi, chunks = chunks + 1, deals = deals + cardinality(ids)
     WHERE tenant_id = t AND pipeline_id = pipe;
    RETURN cardinality(ids);
END $$;

--bun:split

CREATE OR REPLACE FUNCTION funnel_daily_finish(t uuid, pipe uuid) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    r funnel_daily_rebuilds;
    last uuid;
    written bigint;
BEGIN
    SELECT * INTO r FROM funnel_daily_rebuilds WHERE tenant_id = t AND pipeline_id = pipe FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT id INTO last FROM deals WHERE tenant_id = t ORDER BY id DESC LIMIT 1;
    IF last IS NOT NULL AND (r.after_id IS NULL OR r.after_id < last) THEN
        RETURN false;
    END IF;
    WITH gone AS (
        DELETE FROM funnel_daily WHERE tenant_id = t AND pipeline_id = pipe RETURNING 1
    ), seen AS (
        SELECT pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount
          FROM funnel_daily_build WHERE tenant_id = t AND pipeline_id = pipe
        UNION ALL
        SELECT l.pipeline_id, l.stage_id, l.owner_id, l.metric, l.day, l.day2, l.currency, l.close_day, l.n, l.seconds, l.amount
          FROM funnel_daily_log l
          LEFT JOIN LATERAL (
              SELECT s.snap FROM funnel_daily_spans s
               WHERE s.tenant_id = t AND s.pipeline_id = pipe AND s.hi >= l.deal_id ORDER BY s.hi LIMIT 1) s ON true
         WHERE l.tenant_id = t AND l.pipeline_id = pipe
           AND (s.snap IS NULL OR NOT pg_visible_in_snapshot(l.xid, s.snap))
    ), w AS (
        INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
        SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
          FROM seen, (SELECT count(*) FROM gone) g
         GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
        HAVING sum(n) <> 0 OR sum(seconds) <> 0 OR sum(amount) <> 0
        RETURNING 1)
    SELECT count(*) INTO written FROM w;
    DELETE FROM funnel_daily_build WHERE tenant_id = t AND pipeline_id = pipe;
    DELETE FROM funnel_daily_spans WHERE tenant_id = t AND pipeline_id = pipe;
    DELETE FROM funnel_daily_log WHERE tenant_id = t AND pipeline_id = pipe;
    DELETE FROM funnel_daily_rebuilds WHERE tenant_id = t AND pipeline_id = pipe;
    RETURN true;
END $$;

--bun:split

CREATE OR REPLACE FUNCTION funnel_daily_compact(t uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE written bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('funnel_daily'), hashtext(t::text));
    WITH gone AS (
        DELETE FROM funnel_daily WHERE tenant_id = t
           AND pipeline_id NOT IN (SELECT pipeline_id FROM funnel_daily_rebuilds WHERE tenant_id = t)
        RETURNING *
    ), w AS (
        INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
        SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
          FROM gone GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
        HAVING sum(n) <> 0 OR sum(seconds) <> 0 OR sum(amount) <> 0
        RETURNING 1)
    SELECT count(*) INTO written FROM w;
END $$;
