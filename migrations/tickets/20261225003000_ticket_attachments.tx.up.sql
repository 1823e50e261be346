-- Files attached to a ticket: to a reply or note of its conversation
-- (message_id), or to the ticket itself when the hosted form sent them
-- (message_id NULL). The bytes live in the blob store under blob_key; the row
-- is written in the transaction that adds the message or the ticket, after
-- the file is stored, so a row always has its file. The ticket's and the
-- message's removal takes the rows (the module deletes the files after commit).
CREATE TABLE ticket_attachments (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    ticket_id     uuid NOT NULL,
    message_id    uuid,
    filename      text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    content_type  text NOT NULL CHECK (length(content_type) BETWEEN 1 AND 200),
    size_bytes    bigint NOT NULL CHECK (size_bytes BETWEEN 1 AND 10485760),
    blob_key      text NOT NULL,
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, message_id) REFERENCES ticket_messages (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_attachments_ticket_idx ON ticket_attachments (tenant_id, ticket_id, created_at, id);
CREATE INDEX ticket_attachments_message_idx ON ticket_attachments (tenant_id, message_id) WHERE message_id IS NOT NULL;
ALTER TABLE ticket_attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_attachments
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
