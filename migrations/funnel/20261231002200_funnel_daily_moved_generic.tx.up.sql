-- funnel_daily_moved_generic runs funnel_daily_moved with its statement's
-- generic plan, made once per connection and reused. A move's analytics
-- statement is a dozen joins and windows over one deal's few stays, keyed by
-- arguments an index finds whatever their value, so its plan never depends on
-- them; planned afresh on every call, as PostgreSQL does when it judges a
-- generic plan dearer than the custom ones, the planning cost more than the
-- execution. The funnel calls it on one node only: on Citus that generic plan
-- cannot be distributed ("could not create distributed plan"), so there it
-- calls funnel_daily_moved, planned per call.
CREATE FUNCTION funnel_daily_moved_generic(t uuid, deal uuid, at timestamptz) RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM funnel_daily_moved(t, deal, at);
END $$;
