-- Tasks leave profiles for their own module (modules/tasks) and link to a record
-- of any entity by (entity, record_id) instead of customer_id: a customer today,
-- a deal or a ticket later. Every task about a customer keeps its customer as
-- ('customers', customer_id). A link to any entity cannot be a foreign key, so
-- the cascade the customers foreign key gave (erasing a customer removed its
-- tasks) is now done by the tasks module in the transaction that removes the
-- record (platform/records: the owner reports removals and merges).
ALTER TABLE tasks ADD COLUMN entity text, ADD COLUMN record_id uuid;

-- Tenant by tenant, so it holds under forced RLS for a non-superuser owner.
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        UPDATE tasks SET entity = 'customers', record_id = customer_id
         WHERE tenant_id = t AND customer_id IS NOT NULL;
        -- The module's own permissions: whoever could read or change tasks
        -- through profiles' permissions keeps that right.
        UPDATE roles SET permissions = array_append(permissions, 'tasks.read')
         WHERE tenant_id = t AND 'profiles.read' = ANY (permissions) AND NOT 'tasks.read' = ANY (permissions);
        UPDATE roles SET permissions = array_append(permissions, 'tasks.write')
         WHERE tenant_id = t AND 'profiles.write' = ANY (permissions) AND NOT 'tasks.write' = ANY (permissions);
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;

ALTER TABLE tasks ADD CONSTRAINT tasks_record_link CHECK ((entity IS NULL) = (record_id IS NULL)),
    ADD CONSTRAINT tasks_entity_name CHECK (entity IS NULL OR entity ~ '^[a-z][a-z0-9_]{0,39}$');
DROP INDEX tasks_customer_idx;
ALTER TABLE tasks DROP COLUMN customer_id;
CREATE INDEX tasks_record_idx ON tasks (tenant_id, entity, record_id, created_at DESC) WHERE record_id IS NOT NULL;
