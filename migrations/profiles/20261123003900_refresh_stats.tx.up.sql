-- Planner statistics after a bulk load. A tenant that imports a million customers
-- into a shared table is, to the planner, a tenant with almost no rows until the
-- next ANALYZE: joins on its rows are then planned as nested loops over the whole
-- tenant, and a count or a match that takes milliseconds takes minutes. Imports
-- refresh the statistics of the tables they fill as they grow and when they end.
-- ANALYZE needs the table's owner, so this owner function runs it for the app role
-- on a fixed list of tables, and on nothing else. It waits at most two seconds
-- for the table's lock (an autovacuum in the way is cancelled after one second
-- of waiting) and answers false when it gave up.
CREATE FUNCTION clientele_refresh_stats(p_table text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public SET lock_timeout = '2s' AS $$
BEGIN
    IF p_table NOT IN ('customers', 'customer_terms', 'customer_tags', 'customer_contacts', 'customer_lifecycle_history',
                       'field_index', 'field_unique', 'import_keys', 'import_journal', 'import_problems') THEN
        RAISE EXCEPTION 'clientele_refresh_stats: % is not a bulk-loaded table', p_table USING ERRCODE = '22023';
    END IF;
    EXECUTE format('ANALYZE %I', p_table);
    RETURN true;
EXCEPTION WHEN lock_not_available THEN
    RETURN false;
END $$;
REVOKE ALL ON FUNCTION clientele_refresh_stats(text) FROM PUBLIC;
