-- Span rows of the rollups (platform/measures, rollup.go): a distinct count
-- or a stock ratio keeps, for the day t of a fact, the days of its span:
-- the fact counts in a bucket starting on day A when lo < A <= hi. Every
-- other row spans all time. A percentile keeps the day's values, sorted
-- (vals), as percentile_cont reads them.
ALTER TABLE bi_rollups
    ADD COLUMN lo date NOT NULL DEFAULT '-infinity',
    ADD COLUMN hi date NOT NULL DEFAULT 'infinity',
    ADD COLUMN vals float8[];
ALTER TABLE bi_rollups DROP CONSTRAINT bi_rollups_pkey;
ALTER TABLE bi_rollups ADD PRIMARY KEY (tenant_id, metric, dim, day, key, lo, hi);

-- The metrics whose facts fall on each of a record's days, as bits
-- (platform/measures MetricBit), one per day: a refresh computes again only
-- the days of each metric's own facts. None (rows kept before): every metric.
ALTER TABLE bi_rollup_subject_days ADD COLUMN masks bigint[];

-- A mark's last touch: a refresh reads the marks without locking them and
-- at its end deletes those it read that no writer touched since, so a
-- writer marking a record never waits for a refresh.
ALTER TABLE bi_rollup_dirty ADD COLUMN touched timestamptz NOT NULL DEFAULT clock_timestamp();
