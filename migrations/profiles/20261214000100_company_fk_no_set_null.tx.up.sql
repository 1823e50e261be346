-- Citus refuses ON DELETE SET NULL (and SET DEFAULT) on a foreign key that
-- includes the distribution column, even with a column list. A company is only
-- hard-deleted when an import is reverted; that code clears company_id of the
-- people who point at it first, which is what SET NULL (company_id) did.
ALTER TABLE customers DROP CONSTRAINT customers_tenant_id_company_id_fkey;
ALTER TABLE customers ADD CONSTRAINT customers_tenant_id_company_id_fkey
    FOREIGN KEY (tenant_id, company_id) REFERENCES customers (tenant_id, id);
