-- Merging two tickets of one requester moves the conversation onto one and
-- closes the other with a link to it. The closed one is an empty shell by
-- then: when the ticket it points to is removed, it goes too.
ALTER TABLE tickets ADD COLUMN merged_into_id uuid,
    ADD CONSTRAINT tickets_merged_into_fk FOREIGN KEY (tenant_id, merged_into_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE;
CREATE INDEX tickets_merged_into_idx ON tickets (tenant_id, merged_into_id) WHERE merged_into_id IS NOT NULL;
