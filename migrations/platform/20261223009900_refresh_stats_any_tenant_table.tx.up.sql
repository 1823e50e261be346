-- Planner statistics after a bulk write, for every module. The first version of
-- clientele_refresh_stats took a fixed list of the customer tables; conversions of
-- a custom field rewrite field_index for any entity, and every module's imports
-- fill its own tables. The function now takes any ordinary table of the public
-- schema that has a tenant_id column (every tenant table has one; the schema lint
-- keeps it so), and still nothing else: not a catalog, not a global table, not a
-- view. It waits at most two seconds for the table's lock and answers false when
-- it gave up.
CREATE OR REPLACE FUNCTION clientele_refresh_stats(p_table text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public SET lock_timeout = '2s' AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
        WHERE c.relname = p_table AND c.relkind IN ('r', 'p')) THEN
        RAISE EXCEPTION 'clientele_refresh_stats: % is not a tenant table', p_table USING ERRCODE = '22023';
    END IF;
    EXECUTE format('ANALYZE public.%I', p_table);
    RETURN true;
EXCEPTION WHEN lock_not_available THEN
    RETURN false;
END $$;
REVOKE ALL ON FUNCTION clientele_refresh_stats(text) FROM PUBLIC;
