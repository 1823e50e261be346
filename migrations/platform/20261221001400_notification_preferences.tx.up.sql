-- The notification centre is the platform's (platform/notify); the notifications
-- table keeps its rows. Each member chooses whether notices also come by email;
-- a member without a row gets the default (email on, as reminders were mailed
-- before there was a choice).
CREATE TABLE notification_preferences (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    member_id   uuid NOT NULL,
    email       boolean NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, member_id)
);
ALTER TABLE notification_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_preferences FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_preferences
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
