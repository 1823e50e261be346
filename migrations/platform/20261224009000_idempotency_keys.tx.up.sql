-- Idempotency-Key: the first result of a POST, kept 24 hours per company,
-- caller and key, so a retried request returns it instead of acting twice.
CREATE TABLE idempotency_keys (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- who sent it: "user:<id>" or "api_key:<id>"; one caller's key never
    -- answers another's request
    caller       text NOT NULL CHECK (length(caller) <= 100),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- sha-256 of the method, the path and the body: the same key with another
    -- request is refused
    fingerprint  bytea NOT NULL,
    state        text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done')),
    status       integer,
    content_type text NOT NULL DEFAULT '',
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, caller, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (tenant_id, created_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON idempotency_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The daily prune runs outside any tenant; it deletes only keys past a day.
CREATE FUNCTION clientele_prune_idempotency_keys() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM idempotency_keys WHERE created_at < now() - interval '25 hours';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
