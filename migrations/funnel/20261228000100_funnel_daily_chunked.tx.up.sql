-- funnel_daily was rebuilt in one statement under the company's lock: a
-- stage reorder, a kind change or a deletion in a pipeline of 500,000 deals
-- held every move of the company for minutes. A rebuild is now a request
-- (funnel_daily_request, which waits only for the changes in flight) and
-- chunks of deals, each its own transaction (funnel_daily_chunk), then one
-- statement that swaps the pipeline's rows (funnel_daily_finish). While a
-- pipeline's rebuild is pending its readers compute the figures from the
-- history instead (funnel_daily_rows), so they stay right meanwhile.
--
-- Changes made while a rebuild runs are not lost: every change of a deal's
-- contribution to a pipeline being rebuilt is also logged, per deal, with
-- its transaction id (funnel_daily_log). Each chunk keeps the snapshot its
-- rows were computed in; the finish adds exactly the logged changes a chunk
-- did not see (a transaction not visible in the snapshot of the chunk that
-- holds its deal). A chunk that fails rolls back and is done again; one that
-- committed is never redone. A new request for a pipeline being rebuilt
-- starts it over.

-- One row per pipeline whose figures are being rebuilt; deals up to after_id
-- (in id order) are built.
CREATE TABLE funnel_daily_rebuilds (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    pipeline_id   uuid NOT NULL,
    gen           integer NOT NULL DEFAULT 1,
    after_id      uuid,
    chunks        integer NOT NULL DEFAULT 0,
    deals         bigint NOT NULL DEFAULT 0,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, pipeline_id),
    FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipelines (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE funnel_daily_rebuilds ENABLE ROW LEVEL SECURITY;
ALTER TABLE funnel_daily_rebuilds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON funnel_daily_rebuilds
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The chunks built: deals in (lo, hi] (lo NULL: from the first), and the
-- snapshot their rows were computed in.
CREATE TABLE funnel_daily_spans (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    pipeline_id  uuid NOT NULL,
    lo           uuid,
    hi           uuid NOT NULL,
    snap         pg_snapshot NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX funnel_daily_spans_pipeline_idx ON funnel_daily_spans (tenant_id, pipeline_id, hi);
ALTER TABLE funnel_daily_spans ENABLE ROW LEVEL SECURITY;
ALTER TABLE funnel_daily_spans FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON funnel_daily_spans
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The chunks' figures, summed by key within each chunk.
CREATE TABLE funnel_daily_build (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    pipeline_id  uuid NOT NULL,
    stage_id     uuid NOT NULL,
    owner_id     uuid,
    metric       text NOT NULL,
    day          date NOT NULL,
    day2         date,
    currency     char(3),
    close_day    date,
    n            bigint NOT NULL,
    seconds      numeric NOT NULL DEFAULT 0,
    amount       numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX funnel_daily_build_pipeline_idx ON funnel_daily_build (tenant_id, pipeline_id);
ALTER TABLE funnel_daily_build ENABLE ROW LEVEL SECURITY;
ALTER TABLE funnel_daily_build FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON funnel_daily_build
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Changes to the contributions of deals to pipelines being rebuilt, per
-- deal, with the transaction that made them.
CREATE TABLE funnel_daily_log (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    xid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    deal_id      uuid NOT NULL,
    pipeline_id  uuid NOT NULL,
    stage_id     uuid NOT NULL,
    owner_id     uuid,
    metric       text NOT NULL,
    day          date NOT NULL,
    day2         date,
    currency     char(3),
    close_day    date,
    n            bigint NOT NULL,
    seconds      numeric NOT NULL DEFAULT 0,
    amount       numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX funnel_daily_log_pipeline_idx ON funnel_daily_log (tenant_id, pipeline_id, deal_id);
ALTER TABLE funnel_daily_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE funnel_daily_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON funnel_daily_log
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- funnel_daily_write appends the contribution changes in the transaction's
-- temporary table funnel_delta to funnel_daily, and logs those of pipelines
-- being rebuilt. Every writer calls it after the company's lock in shared
-- mode, so a rebuild's request, which takes it exclusively, sees no writer
-- that has not logged.
CREATE FUNCTION funnel_daily_write(t uuid, delta funnel_daily_row[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF delta IS NULL OR cardinality(delta) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
    SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
      FROM unnest(delta) GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day;
    IF EXISTS (SELECT 1 FROM funnel_daily_rebuilds WHERE tenant_id = t) THEN
        INSERT INTO funnel_daily_log (tenant_id, deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
        SELECT t, x.deal_id, x.pipeline_id, x.stage_id, x.owner_id, x.metric, x.day, x.day2, x.currency, x.close_day, x.n, x.seconds, x.amount
          FROM unnest(delta) x JOIN funnel_daily_rebuilds r ON r.tenant_id = t AND r.pipeline_id = x.pipeline_id;
    END IF;
END $$;

-- funnel_daily_add, funnel_daily_put: as before, through funnel_daily_write.
CREATE OR REPLACE FUNCTION funnel_daily_add(t uuid, deal_ids uuid[], pipe uuid, sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('funnel_daily'), hashtext(t::text));
    PERFORM funnel_daily_write(t, (
        SELECT array_agg(ROW(deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)::funnel_daily_row)
          FROM (SELECT deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day,
                       sign * sum(n) AS n, sign * sum(seconds) AS seconds, sign * sum(amount) AS amount
                  FROM funnel_daily_rows(t, deal_ids, pipe) r
                 GROUP BY deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day) y));
END $$;

-- funnel_daily_rebuild computes pipe's figures (NULL: every pipeline's)
-- afresh in one statement under the company's lock, dropping a rebuild
-- under way: for small companies and tests (a full recompute), never on a
-- request's path.
CREATE OR REPLACE FUNCTION funnel_daily_rebuild(t uuid, pipe uuid, zone text) RETURNS void LANGUAGE plpgsql AS $$
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
    INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
    SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
      FROM funnel_daily_rows(t, NULL, pipe)
     GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day;
END $$;

CREATE OR REPLACE FUNCTION funnel_daily_put(t uuid, deal_ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE taken json := coalesce(nullif(current_setting('funnel.taken', true), ''), '[]')::json;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('funnel_daily'), hashtext(t::text));
    PERFORM funnel_daily_write(t, (
        SELECT array_agg(ROW(deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)::funnel_daily_row)
          FROM (SELECT deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n) AS n, sum(seconds) AS seconds, sum(amount) AS amount
                  FROM (SELECT * FROM funnel_daily_rows(t, deal_ids, NULL)
                        UNION ALL
                        SELECT deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, -n, -seconds, -amount
                          FROM json_populate_recordset(NULL::funnel_daily_row, taken) WHERE deal_id = ANY (deal_ids)) x
                 GROUP BY deal_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
                HAVING sum(n) <> 0 OR sum(seconds) <> 0 OR sum(amount) <> 0) y));
    PERFORM set_config('funnel.taken', (
        SELECT coalesce(json_agg(x), '[]')::text FROM json_populate_recordset(NULL::funnel_daily_row, taken) x
         WHERE NOT x.deal_id = ANY (deal_ids)), true);
END $$;

-- funnel_daily_moved writes what a move of deal at moment "at" changed: the
-- move closed the stay it was in at "at" and opened one entered at "at". The
-- deal's contribution before the move is its history with that stay open
-- and without the new one, so one statement over the deal's few stays
-- computes both and writes the difference (two or three rows), instead of
-- keeping the contribution before the move and computing it again after.
-- Its plan is made once per session (a generic plan: every argument is a
-- single key, found by an index whatever its value); the default planned
-- the statement afresh on each of a connection's first five calls, which
-- cost a move 1.5 to 6 ms against 0.5 ms.
CREATE FUNCTION funnel_daily_moved(t uuid, deal uuid, at timestamptz) RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('funnel_daily'), hashtext(t::text));
    PERFORM funnel_daily_write(t, (
    WITH z AS (
        SELECT coalesce((SELECT zone FROM funnel_daily_zone WHERE tenant_id = t), (SELECT time_zone FROM tenants WHERE id = t), 'UTC') AS zone
    ), raw AS (
        SELECT h.pipeline_id, h.stage_id, h.entered_at, h.exited_at, h.entry_amount, h.currency
          FROM deal_stage_history h WHERE h.tenant_id = t AND h.deal_id = deal
    ), v AS (
        SELECT 1 AS sign, raw.* FROM raw
        UNION ALL
        SELECT -1, pipeline_id, stage_id, entered_at, CASE WHEN exited_at = at THEN NULL ELSE exited_at END, entry_amount, currency
          FROM raw WHERE entered_at <> at
    ), h AS (
        SELECT v.*, s.position, s.kind, d.owner_id, d.created_at AS created, d.expected_close,
               (v.entered_at AT TIME ZONE z.zone)::date AS eday, (v.exited_at AT TIME ZONE z.zone)::date AS xday
          FROM v
          JOIN pipeline_stages s ON s.tenant_id = t AND s.id = v.stage_id AND s.pipeline_id = v.pipeline_id
          JOIN deals d ON d.tenant_id = t AND d.id = deal
         CROSS JOIN z
         WHERE d.deleted_at IS NULL
    ), a AS (
        SELECT h.*, coalesce(max(CASE WHEN kind <> 'lost' THEN position END) OVER (PARTITION BY sign, pipeline_id ORDER BY entered_at
                   RANGE BETWEEN '1 microsecond' FOLLOWING AND UNBOUNDED FOLLOWING), -1) > position AS advanced
          FROM h
    ), b AS (
        SELECT a.*, max(eday) OVER w AS prev_day, max(eday) FILTER (WHERE advanced) OVER w AS prev_adv_day
          FROM a
        WINDOW w AS (PARTITION BY sign, pipeline_id, stage_id ORDER BY entered_at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ), r AS (
        SELECT sign, pipeline_id, stage_id, owner_id, 'entry' AS metric, eday AS day, NULL::date AS day2, NULL::char(3) AS currency,
               NULL::date AS close_day, 0::numeric AS seconds, 0::numeric AS amount FROM b
        UNION ALL SELECT sign, pipeline_id, stage_id, owner_id, 'entry_pair', eday, prev_day, NULL, NULL, 0, 0 FROM b WHERE prev_day IS NOT NULL
        UNION ALL SELECT sign, pipeline_id, stage_id, owner_id, 'adv', eday, NULL, NULL, NULL, 0, 0 FROM b WHERE advanced
        UNION ALL SELECT sign, pipeline_id, stage_id, owner_id, 'adv_pair', eday, prev_adv_day, NULL, NULL, 0, 0 FROM b WHERE advanced AND prev_adv_day IS NOT NULL
        UNION ALL SELECT sign, pipeline_id, stage_id, owner_id, 'exit', xday, NULL, NULL, NULL, extract(epoch FROM exited_at - entered_at), 0 FROM b WHERE exited_at IS NOT NULL
        UNION ALL SELECT sign, pipeline_id, stage_id, owner_id, 'won', eday, NULL, currency, expected_close, extract(epoch FROM entered_at - created), entry_amount FROM b WHERE kind = 'won'
        UNION ALL SELECT sign, pipeline_id, stage_id, owner_id, 'lost', eday, NULL, NULL, NULL, 0, 0 FROM b WHERE kind = 'lost'
    )
    SELECT array_agg(ROW(deal, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)::funnel_daily_row)
      FROM (SELECT pipeline_id, stage_id, owner_id, metric::text, day, day2, currency::char(3), close_day,
                   sum(sign)::bigint AS n, sum(sign * seconds)::numeric AS seconds, sum(sign * amount)::numeric AS amount
              FROM r GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
            HAVING sum(sign) <> 0 OR sum(sign * seconds) <> 0 OR sum(sign * amount) <> 0) y));
END $$;

-- funnel_daily_request marks pipe's figures (NULL: every pipeline's) for a
-- rebuild, over from the start if one was under way; with zone, in that
-- time zone from now on. It waits for the changes in flight (the company's
-- lock, exclusively, to its commit): every change after it is logged.
CREATE FUNCTION funnel_daily_request(t uuid, pipe uuid, zone text) RETURNS void LANGUAGE plpgsql AS $$
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
    INSERT INTO funnel_daily_rebuilds (tenant_id, pipeline_id)
    SELECT t, p.id FROM pipelines p WHERE p.tenant_id = t AND (pipe IS NULL OR p.id = pipe)
        ON CONFLICT (tenant_id, pipeline_id) DO UPDATE
       SET gen = funnel_daily_rebuilds.gen + 1, after_id = NULL, chunks = 0, deals = 0, requested_at = now();
END $$;

-- funnel_daily_chunk builds the next lim deals of pipe's rebuild in the
-- caller's transaction and returns how many it built (0: none left). The
-- rebuild's row is locked (a second runner skips it: -1), so chunks never
-- overlap.
CREATE FUNCTION funnel_daily_chunk(t uuid, pipe uuid, lim integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r funnel_daily_rebuilds;
    ids uuid[];
    hi uuid;
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
        RETURNING 1)
    INSERT INTO funnel_daily_spans (tenant_id, pipeline_id, lo, hi, snap)
    SELECT t, pipe, r.after_id, hi, pg_current_snapshot() FROM (SELECT count(*) FROM built) c;
    UPDATE funnel_daily_rebuilds SET after_id = hi, chunks = chunks + 1, deals = deals + cardinality(ids)
     WHERE tenant_id = t AND pipeline_id = pipe;
    RETURN cardinality(ids);
END $$;

-- funnel_daily_finish swaps pipe's figures for the built ones, once every
-- deal is built, in one statement: the chunks' rows, plus the logged
-- changes that the chunk holding their deal did not see. A change that
-- commits after this statement began keeps its own row in funnel_daily,
-- and one that committed before it is in the built figures or the log.
CREATE FUNCTION funnel_daily_finish(t uuid, pipe uuid) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    r funnel_daily_rebuilds;
    last uuid;
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
    )
    INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
    SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
      FROM seen, (SELECT count(*) FROM gone) g
     GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
    HAVING sum(n) <> 0 OR sum(seconds) <> 0 OR sum(amount) <> 0;
    DELETE FROM funnel_daily_build WHERE tenant_id = t AND pipeline_id = pipe;
    DELETE FROM funnel_daily_spans WHERE tenant_id = t AND pipeline_id = pipe;
    DELETE FROM funnel_daily_log WHERE tenant_id = t AND pipeline_id = pipe;
    DELETE FROM funnel_daily_rebuilds WHERE tenant_id = t AND pipeline_id = pipe;
    RETURN true;
END $$;

-- Compaction leaves the pipelines being rebuilt alone: their rows are
-- swapped by the finish, which takes no lock.
CREATE OR REPLACE FUNCTION funnel_daily_compact(t uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('funnel_daily'), hashtext(t::text));
    WITH gone AS (
        DELETE FROM funnel_daily WHERE tenant_id = t
           AND pipeline_id NOT IN (SELECT pipeline_id FROM funnel_daily_rebuilds WHERE tenant_id = t)
        RETURNING *)
    INSERT INTO funnel_daily (tenant_id, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, n, seconds, amount)
    SELECT t, pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day, sum(n), sum(seconds), sum(amount)
      FROM gone GROUP BY pipeline_id, stage_id, owner_id, metric, day, day2, currency, close_day
    HAVING sum(n) <> 0 OR sum(seconds) <> 0 OR sum(amount) <> 0;
END $$;
