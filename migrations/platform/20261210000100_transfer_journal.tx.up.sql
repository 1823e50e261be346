-- Imports become the platform's (platform/transfer): one set of tables for every
-- entity a module hands the engine, keyed by the entity and the record id rather
-- than by a customer. Existing imports were all of customers: their journal
-- rows get that entity and keep every value, so each stays readable and
-- revertible as it was.
ALTER TABLE import_journal RENAME COLUMN customer_id TO record_id;
ALTER TABLE import_journal ADD COLUMN entity text;
UPDATE import_journal j SET entity = i.entity FROM imports i WHERE i.tenant_id = j.tenant_id AND i.id = j.import_id;
UPDATE import_journal SET entity = 'customers' WHERE entity IS NULL;
ALTER TABLE import_journal ALTER COLUMN entity SET NOT NULL;
ALTER TABLE import_journal DROP CONSTRAINT import_journal_pkey;
ALTER TABLE import_journal ADD PRIMARY KEY (tenant_id, import_id, entity, record_id);
-- Which imports touched a record (its history, an erasure that must reach the
-- journal's copies of it).
CREATE INDEX import_journal_record_idx ON import_journal (tenant_id, entity, record_id);
-- The imports list of one entity.
CREATE INDEX imports_entity_recent_idx ON imports (tenant_id, entity, created_at DESC, id DESC);
