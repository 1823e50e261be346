-- The analytics of a pipeline over a year read half a million stays at the
-- bench's volume (a window over every stay, joined to its deal): about a
-- second. funnel_daily holds the same figures summed by pipeline, stage,
-- owner and day (in the company's time zone), so a year is a few thousand
-- narrow rows.
--
-- Rows are deltas, appended and never updated, so concurrent moves take no
-- lock on them: a change to deals removes their contribution (sign -1)
-- before it and adds it again (sign +1) after it, in the same transaction,
-- through funnel_daily_add. The hourly sweep folds each key's rows into one
-- (funnel_daily_compact). What a contribution depends on beyond the deal
-- (stage order and kind, the stages that still exist, the time zone) is
-- rebuilt for the whole pipeline when it changes (funnel_daily_rebuild).
--
-- Metrics, each a count n, with seconds and amount where they apply:
--   entry       stays begun on day
--   entry_pair  a stay begun on day whose deal's previous stay in the same
--               stage began on day2: entered(S) over [from, to] counts deals
--               once, as entries minus the pairs with both days inside
--   adv, adv_pair  the same for the stays that advanced (a later stay of
--               the deal in a stage placed after S that is not a lost one)
--   exit        stays ended on day; seconds: their length
--   won         entries into won stages; seconds: from the deal's creation;
--               amount: entry amounts in currency, by the deal's expected
--               close (close_day, NULL: converted at today's rate)
--   lost        entries into lost stages
CREATE TABLE funnel_daily (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    pipeline_id  uuid NOT NULL,
    stage_id     uuid NOT NULL,
    owner_id     uuid,
    metric       text NOT NULL CHECK (metric IN ('entry', 'entry_pair', 'adv', 'adv_pair', 'exit', 'won', 'lost')),
    day          date NOT NULL,
    day2         date,
    currency     char(3),
    close_day    date,
    n            bigint NOT NULL,
    seconds      numeric NOT NULL DEFAULT 0,
    amount       numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
-- Covering: a year of a pipeline is read from the index alone.
CREATE INDEX funnel_daily_day_idx ON funnel_daily (tenant_id, pipeline_id, day) INCLUDE (stage_id, metric, owner_id, day2, n, seconds);
ALTER TABLE funnel_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE funnel_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON funnel_daily
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The time zone a company's funnel_daily days are in; when the company's
-- zone is another, the analytics rebuild its rows first.
CREATE TABLE funnel_daily_zone (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    zone       text NOT NULL,
    PRIMARY KEY (tenant_id)
);
ALTER TABLE funnel_daily_zone ENABLE ROW LEVEL SECURITY;
ALTER TABLE funnel_daily_zone FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON funnel_daily_zone
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- A deal's contribution, a row per stay and metric: what funnel_daily
-- holds, summed by key (never by deal, which a rebuild's millions of stays
-- would make a huge aggregate).
CREATE TYPE funnel_daily_row AS (
    deal_id uuid, pipeline_id uuid, stage_id uuid, owner_id uuid, metric text, day date, day2 date,
    currency char(3), close_day date, n bigint, seconds numeric, amount numeric);

-- funnel_daily_rows computes the contribution of the live deals deal_ids
-- (NULL: every deal) in pipe (NULL: every pipeline), row by row, from
-- their history. It is planned for its arguments on each call: a deal's few
-- stays are found by the history's index, a rebuild reads the pipeline's
-- (a cached generic plan read the whole history for one deal).
CREATE FUNCTION funnel_daily_rows(t uuid, deal_ids uuid[], pipe uuid) RETURNS SETOF funnel_daily_row LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan AS $$
BEGIN
    RETURN QUERY
    WITH z AS (
        SELECT coalesce((SELECT zone FROM funnel_daily_zone WHERE tenant_id = t), (SELECT time_zone FROM tenants WHERE id = t), 'UTC') AS zone
    ), h AS (
        SELECT h.pipeline_id, h.stage_id, h.deal_id, h.entered_at, h.exited_at, h.entry_amount, h.currency,
               s.position, s.kind, d.owner_id, d.created_at AS created, d.expected_close,
               (h.entered_at AT TIME ZONE z.zone)::date AS eday, (h.exited_at AT TIME ZONE z.zone)::date AS xday
          FROM deal_stage_history h
          JOIN pipeline_stages s ON s.tenant_id = h.tenant_id AND s.id = h.stage_id AND s.pipeline_id = h.pipeline_id
          JOIN deals d ON d.tenant_id = h.tenant_id AND d.id = h.deal_id
         CROSS JOIN z
         WHERE h.tenant_id = t AND (deal_ids IS NULL OR h.deal_id = ANY (deal_ids)) AND d.deleted_at IS NULL
           AND (pipe IS NULL OR h.pipeline_id = pipe)
    ), a AS (
        -- A stay advanced when a strictly later stay of its deal in the
        -- pipeline is in a stage placed after it that is not a lost one.
        SELECT h.*, coalesce(max(CASE WHEN kind <> 'lost' THEN position END) OVER (PARTITION BY deal_id, pipeline_id ORDER BY entered_at
                   RANGE BETWEEN '1 microsecond' FOLLOWING AND UNBOUNDED FOLLOWING), -1) > position AS advanced
          FROM h
    ), b AS (
        SELECT a.*, max(eday) OVER w AS prev_day, max(eday) FILTER (WHERE advanced) OVER w AS prev_adv_day
          FROM a
        WINDOW w AS (PARTITION BY deal_id, pipeline_id, stage_id ORDER BY entered_at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ), r AS (
        SELECT deal_id, pipeline_id, stage_id, owner_id, 'entry' AS metric, eday AS day, NULL::date AS day2, NULL::char(3) AS currency,
               NULL::date AS close_day, 0::numeric AS seconds, 0::numeric AS amount FROM b
        UNION ALL SELECT deal_id, pipeline_id, stage_id, owner_id, 'entry_pair', eday, prev_day, NULL, NULL, 0, 0 FROM b WHERE prev_day IS NOT NULL
        UNION ALL SELECT deal_id, pipeline_id, stage_id, owner_id, 'adv', eday, NULL, NULL, NULL, 0, 0 FROM b WHERE advanced
        UNION ALL SELECT deal_id, pipeline_id, stage_id, owner_id, 'adv_pair', eday, prev_adv_day, NULL, NULL, 0, 0 FROM b WHERE advanced AND prev_adv_day IS NOT NULL
        UNION ALL SELECT deal_id, pipeline_id, stage_id, owner_id, 'exit', xday, NULL, NULL, NULL, extract(epoch FROM exited_at - entered_at), 0 FROM b WHERE exited_at IS NOT NULL
        UNION ALL SELECT deal_id, pipeline_id, stage_id, owner_id, 'won', eday, NULL, currency, expected_close, extract(epoch FROM entered_at - created), entry_amount FROM b WHERE kind = 'won'
        UNION ALL SELECT deal_id, pipeline_id, stage_id, owner_id, 'lost', eday, NULL, NULL, NULL, 0, 0 FROM b WHERE kind = 'lost'
    )
    SELECT deal_id, pipeline_id, stage_id, owner_id, metric::text, day, day2, currency::char(3), close_day, 1::bigint, seconds::numeric, amount::numeric
      FROM r;
END $$;

-- funnel_daily_add appends sign times the contribution of deal_ids (NULL:
-- every deal) to pipe's figures (NULL: every pipeline). It takes the company's lock in
-- shared mode, which a rebuild takes exclusively, and holds it to the
-- commit: a rebuild never runs between a change and its contribution.
CREATE FUNCTION funnel_daily_add(t uuid, deal_ids uuid[], pipe uuid, sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('funnel_daily'), hashtext(t::text));
    INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
    SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sign * sum(n), sign * sum(seconds), sign * sum(amount)
      FROM funnel_daily_rows(t, deal_ids, pipe) r
     GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day;
END $$;

-- A change to a few deals (a move) writes only what it changed: before it,
-- funnel_daily_take keeps their contribution in the transaction (a local
-- setting); after it, funnel_daily_put appends the new contribution less
-- the kept one, key by key, leaving out what did not change: a move adds
-- two or three rows instead of taking out and putting back every stay's.
CREATE FUNCTION funnel_daily_take(t uuid, deal_ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('funnel_daily'), hashtext(t::text));
    PERFORM set_config('funnel.taken', (
        SELECT coalesce(json_agg(x), '[]')::text FROM (
            SELECT * FROM json_populate_recordset(NULL::funnel_daily_row, coalesce(nullif(current_setting('funnel.taken', true), ''), '[]')::json)
            UNION ALL SELECT * FROM funnel_daily_rows(t, deal_ids, NULL)) x), true);
END $$;

CREATE FUNCTION funnel_daily_put(t uuid, deal_ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE taken json := coalesce(nullif(current_setting('funnel.taken', true), ''), '[]')::json;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('funnel_daily'), hashtext(t::text));
    INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
    SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
      FROM (SELECT * FROM funnel_daily_rows(t, deal_ids, NULL)
            UNION ALL
            SELECT deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, -n, -seconds, -amount
              FROM json_populate_recordset(NULL::funnel_daily_row, taken) WHERE deal_id = ANY (deal_ids)) x
     GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
    HAVING sum(n) <> 0 OR sum(seconds) <> 0 OR sum(amount) <> 0;
    PERFORM set_config('funnel.taken', (
        SELECT coalesce(json_agg(x), '[]')::text FROM json_populate_recordset(NULL::funnel_daily_row, taken) x
         WHERE NOT x.deal_id = ANY (deal_ids)), true);
END $$;

-- funnel_daily_rebuild computes pipe's figures (NULL: every pipeline) afresh
-- from the history; with zone, in that time zone from now on.
CREATE FUNCTION funnel_daily_rebuild(t uuid, pipe uuid, zone text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('funnel_daily'), hashtext(t::text));
    DELETE FROM funnel_daily WHERE tenant_id = t AND (pipe IS NULL OR pipeline_id = pipe);
    IF zone IS NOT NULL THEN
        INSERT INTO funnel_daily_zone (tenant_id, zone) VALUES (t, zone)
            ON CONFLICT (tenant_id) DO UPDATE SET zone = EXCLUDED.zone;
    END IF;
    PERFORM funnel_daily_add(t, NULL, pipe, 1);
END $$;

-- funnel_daily_compact folds each key's deltas into one row, dropping keys
-- that sum to nothing.
CREATE FUNCTION funnel_daily_compact(t uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('funnel_daily'), hashtext(t::text));
    WITH gone AS (DELETE FROM funnel_daily WHERE tenant_id = t RETURNING *)
    INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
    SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
      FROM gone GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
    HAVING sum(n) <> 0 OR sum(seconds) <> 0 OR sum(amount) <> 0;
END $$;

DO $$
DECLARE t record;
BEGIN
    FOR t IN SELECT id, time_zone FROM tenants LOOP
        EXECUTE format('SET LOCAL app.tenant_id = %L', t.id);
        PERFORM funnel_daily_rebuild(t.id, NULL, t.time_zone);
    END LOOP;
    SET LOCAL app.tenant_id = '';
END $$;
