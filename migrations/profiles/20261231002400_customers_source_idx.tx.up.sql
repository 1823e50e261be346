-- A list of the customers from one source, newest first (source=web), reads
-- the source's own entries in time order, as lifecycle and owner already do;
-- before, it walked every customer of the company newest first and kept those
-- of the source, which for a rare source at a million customers is the whole
-- company. Text equality is leakproof, so the index serves the filter under
-- row-level security.
CREATE INDEX customers_source_idx ON customers (tenant_id, source, created_at DESC, id DESC) WHERE deleted_at IS NULL;
