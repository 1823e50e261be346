-- The changes feed: every record change of the entities integrations mirror
-- (customers, deals, tickets), deletions included, kept 30 days, so a system
-- can read "what changed since my cursor" instead of scanning whole lists.
-- Rows are written in the transaction of the change (platform/changes); txid
-- orders them, and a reader only sees transactions older than every one still
-- running, so a slow transaction can never slip in behind a cursor.
CREATE TABLE record_changes (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    entity     text NOT NULL,
    txid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ord        integer NOT NULL,
    record_id  text NOT NULL,
    op         text NOT NULL CHECK (op IN ('upsert', 'delete')),
    event_type text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity, txid, ord)
);
CREATE INDEX record_changes_age_idx ON record_changes (tenant_id, changed_at);
ALTER TABLE record_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE record_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON record_changes
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The daily prune runs outside any tenant; it deletes only changes past 30 days.
CREATE FUNCTION clientele_prune_record_changes() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM record_changes WHERE changed_at < now() - interval '30 days';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
