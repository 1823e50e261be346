-- Reminders are delivered in batches per tenant instead of one job each: a
-- batch takes the tenant's open tasks whose remind_at has come and whose
-- reminded_at differs from it, notifies their assignees and sets reminded_at
-- to the remind_at it delivered. A snooze (a new remind_at) makes the task due
-- again. The tasks row holds the due time, so losing Redis or a worker loses
-- no reminder.
ALTER TABLE tasks ADD COLUMN reminded_at timestamptz;

-- Reminders delivered before this change are marked delivered: their notice
-- exists under the source key task:<id>:<remind_at in ms>. Tenant by tenant, so
-- it holds under forced RLS for a non-superuser owner.
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        UPDATE tasks k SET reminded_at = k.remind_at
         WHERE k.tenant_id = t AND k.remind_at IS NOT NULL
           AND EXISTS (SELECT 1 FROM notifications n WHERE n.tenant_id = t
                AND n.source_key = 'task:' || k.id::text || ':' || floor(extract(epoch FROM k.remind_at) * 1000)::bigint::text);
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;

-- The batch's lookup: a tenant's open reminders not yet delivered, by due time.
CREATE INDEX tasks_reminder_due_idx ON tasks (tenant_id, remind_at)
    WHERE status = 'open' AND remind_at IS NOT NULL AND reminded_at IS DISTINCT FROM remind_at;
