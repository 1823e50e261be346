-- A refresh replaces a metric's rows of a few days (measures.BuildRollup):
-- DELETE ... WHERE tenant_id AND metric AND day in the days. The primary key
-- is (tenant_id, metric, dim, day, ...), so that DELETE walked every row of
-- the metric to find a day's (16 ms a day at 100,000 customers, growing with
-- the company), once per day and metric refreshed. This index finds a day's
-- rows at once (0.08 ms).
CREATE INDEX bi_rollups_day_idx ON bi_rollups (tenant_id, metric, day);
