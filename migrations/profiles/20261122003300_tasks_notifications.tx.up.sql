-- Follow-up tasks and the in-app notifications their reminders create. A reminder
-- is a job record (platform jobs, critical queue) whose delivery inserts one
-- notification keyed by (task, remind_at): a second delivery finds the key and
-- does nothing, so a reminder is never delivered twice.
CREATE TABLE tasks (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    notes         text NOT NULL DEFAULT '',
    customer_id   uuid,
    assignee_id   uuid NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'canceled')),
    due_at        timestamptz,
    remind_at     timestamptz,
    created_by    uuid,
    completed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX tasks_assignee_idx ON tasks (tenant_id, assignee_id, status, due_at);
CREATE INDEX tasks_customer_idx ON tasks (tenant_id, customer_id, created_at DESC) WHERE customer_id IS NOT NULL;
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tasks
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE notifications (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    recipient_id  uuid NOT NULL,
    kind          text NOT NULL,
    title         text NOT NULL,
    body          text NOT NULL DEFAULT '',
    link          text NOT NULL DEFAULT '',
    source_key    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    read_at       timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT notifications_source_key UNIQUE (tenant_id, source_key)
);
CREATE INDEX notifications_recipient_idx ON notifications (tenant_id, recipient_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (tenant_id, recipient_id) WHERE read_at IS NULL;
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
