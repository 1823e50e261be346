-- Search drives newest-first lists from the matching terms: each term row carries
-- its customer's created_at, so a prefix or a single character is answered from
-- the index (term range -> newest matches) and only the newest candidates are
-- joined to customers. Before, the planner walked every customer newest first and
-- probed the terms per row, which cost 200-700 ms for an email prefix matching
-- 0.7% of a million customers (docs/benchmarks.md).
ALTER TABLE customer_terms ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

-- Backfill tenant by tenant, so it holds under forced RLS for a non-superuser owner.
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        UPDATE customer_terms ct SET created_at = c.created_at
          FROM customers c
         WHERE c.tenant_id = ct.tenant_id AND c.id = ct.customer_id AND ct.tenant_id = t
           AND ct.created_at IS DISTINCT FROM c.created_at;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;

CREATE INDEX customer_terms_recent_idx ON customer_terms (tenant_id, term, created_at, customer_id);
