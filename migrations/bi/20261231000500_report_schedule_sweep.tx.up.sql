-- The minutely schedule sweep finds the companies with a subscription due as
-- the sweeper role, which may read only what finding them needs, instead of
-- opening a transaction in every active company each minute.
CREATE POLICY sweeper_scan ON bi_subscriptions FOR SELECT TO clientele_sweeper USING (true);
GRANT SELECT (tenant_id, next_run_at) ON bi_subscriptions TO clientele_sweeper;
