-- funnel_daily_moved plans its statement the default way again, not as a
-- generic plan forced for the session. Citus cannot plan that statement with
-- its arguments left as parameters ("could not create distributed plan"), so
-- every move of a deal failed on Citus. On one node a connection's first five
-- calls plan afresh (1.5 to 6 ms a move instead of 0.5 ms), then PostgreSQL
-- keeps the generic plan when it costs no more; the pool's connections are
-- long-lived, so that cost is paid once per connection.
ALTER FUNCTION funnel_daily_moved(uuid, uuid, timestamptz) RESET plan_cache_mode;
