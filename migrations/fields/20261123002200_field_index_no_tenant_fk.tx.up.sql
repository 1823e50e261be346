-- field_index is a derived index of records' custom values, rewritten with the
-- record and deleted with it (fields.DeleteIndex, and an import's revert). Its
-- foreign key to tenants only served a tenant's deletion, yet it cost a trigger
-- call per row written: 32% of the time to insert index rows (EXPLAIN ANALYZE of
-- 88,000 rows: 0.49 s of triggers beside 1.06 s of inserts), and an import writes
-- about four per customer. Removing a tenant must delete its rows here, as it
-- must for customer_terms and customer_tags, which have no key to tenants either.
ALTER TABLE field_index DROP CONSTRAINT field_index_tenant_id_fkey;
