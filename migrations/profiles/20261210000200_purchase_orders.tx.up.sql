-- Purchase history comes in by import (platform/transfer, entity "purchases").
-- An order number is a purchase's idempotency key: a tenant holds each once, so
-- importing the same file twice adds nothing. The interactions table is
-- partitioned by month and cannot hold a unique key without the date, so the
-- numbers live beside it, one row per purchase that has one, removed with the
-- purchase (and with its customer).
ALTER TABLE interactions ADD COLUMN order_no text;
CREATE TABLE purchase_orders (
    tenant_id      uuid NOT NULL,
    order_no       text NOT NULL COLLATE "C",
    interaction_id uuid NOT NULL,
    occurred_at    timestamptz NOT NULL,
    customer_id    uuid NOT NULL,
    PRIMARY KEY (tenant_id, order_no),
    FOREIGN KEY (tenant_id, occurred_at, interaction_id) REFERENCES interactions (tenant_id, occurred_at, id) ON DELETE CASCADE
);
CREATE INDEX purchase_orders_interaction_idx ON purchase_orders (tenant_id, interaction_id);
ALTER TABLE purchase_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE purchase_orders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON purchase_orders
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Purchase imports refresh the statistics of the tables they fill, as customer
-- imports do.
CREATE OR REPLACE FUNCTION clientele_refresh_stats(p_table text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public SET lock_timeout = '2s' AS $$
BEGIN
    IF p_table NOT IN ('customers', 'customer_terms', 'customer_tags', 'customer_contacts', 'customer_lifecycle_history',
                       'field_index', 'field_unique', 'import_keys', 'import_journal', 'import_problems',
                       'interactions', 'purchase_orders') THEN
        RAISE EXCEPTION 'clientele_refresh_stats: % is not a bulk-loaded table', p_table USING ERRCODE = '22023';
    END IF;
    EXECUTE format('ANALYZE %I', p_table);
    RETURN true;
EXCEPTION WHEN lock_not_available THEN
    RETURN false;
END $$;
REVOKE ALL ON FUNCTION clientele_refresh_stats(text) FROM PUBLIC;
