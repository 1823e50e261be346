-- Email of notifications goes out in short batches per member (platform/notify):
-- a notice the member wants by email is 'pending' until a mail job sends it
-- with the others that fell due in the same few seconds, then 'sent'; 'skipped'
-- when the member turned email off before it went. NULL: no email wanted.
ALTER TABLE notifications ADD COLUMN email_state text
    CONSTRAINT notifications_email_state CHECK (email_state IN ('pending', 'sent', 'skipped'));
CREATE INDEX notifications_email_pending_idx ON notifications (tenant_id, recipient_id, created_at)
    WHERE email_state = 'pending';
