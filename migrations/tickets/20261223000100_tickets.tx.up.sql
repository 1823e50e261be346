-- Service tickets (modules/tickets): requests, complaints and feedback, each
-- numbered per company (#1001, #1002, ...) and carrying its conversation.

-- The last number handed out in each company. Creating a ticket takes the next
-- one with an upsert on this row, in the transaction that inserts the ticket:
-- the row lock serialises concurrent creations of one company until commit,
-- and a creation that rolls back gives its number back, so numbers stay unique
-- and gap-free. The upsert is the last statement before the insert, so the
-- lock is held only for the insert and the commit.
CREATE TABLE ticket_counters (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    last_number  bigint NOT NULL CHECK (last_number >= 1001),
    PRIMARY KEY (tenant_id)
);
ALTER TABLE ticket_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_counters
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The requester is a customer of the same company. The foreign key is deferred
-- to the commit: erasing a customer (profiles) deletes the row first and then
-- tells the dependents (platform/records), and the tickets module then removes
-- that customer's tickets, and tells the tasks about them, in the same
-- transaction. A merge of customers moves the tickets to the survivor the same
-- way. Assignee and team are members and teams of the company (checked by the
-- module through the member directory: tenants owns those tables and deletes
-- from them without knowing about tickets).
CREATE TABLE tickets (
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  uuid NOT NULL,
    number              bigint NOT NULL CHECK (number >= 1001),
    subject             text NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
    description         text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    requester_id        uuid NOT NULL,
    channel             text NOT NULL CHECK (channel IN ('email', 'phone', 'web_form', 'chat', 'social')),
    type                text NOT NULL DEFAULT 'question' CHECK (type IN ('question', 'incident', 'complaint', 'feedback', 'request')),
    priority            text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status              text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')),
    assignee_id         uuid,
    team_id             uuid,
    tags                text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 50),
    custom              jsonb NOT NULL DEFAULT '{}',
    -- Optimistic concurrency: an update names the version it read and is
    -- refused (409) when the ticket changed since.
    version             integer NOT NULL DEFAULT 1,
    -- How many messages the conversation holds; the next message's seq.
    message_count       integer NOT NULL DEFAULT 0,
    -- SLA facts the module records as they happen: the first public reply,
    -- and when the ticket was last solved and closed.
    first_responded_at  timestamptz,
    solved_at           timestamptz,
    closed_at           timestamptz,
    created_by          uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT tickets_number_key UNIQUE (tenant_id, number),
    CONSTRAINT tickets_requester_fk FOREIGN KEY (tenant_id, requester_id) REFERENCES customers (tenant_id, id)
        DEFERRABLE INITIALLY DEFERRED
);
-- Keyset orders of the list's sorts, and the common filters; all lead with tenant_id.
CREATE INDEX tickets_created_idx ON tickets (tenant_id, created_at DESC, id DESC);
CREATE INDEX tickets_updated_idx ON tickets (tenant_id, updated_at DESC, id DESC);
CREATE INDEX tickets_status_idx ON tickets (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX tickets_assignee_idx ON tickets (tenant_id, assignee_id, status, created_at DESC);
CREATE INDEX tickets_team_idx ON tickets (tenant_id, team_id, status, created_at DESC) WHERE team_id IS NOT NULL;
CREATE INDEX tickets_requester_idx ON tickets (tenant_id, requester_id, created_at DESC);
ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tickets
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Tags as rows, so a tag filter is an index lookup under RLS (array operators
-- are not leakproof and cannot use an index there).
CREATE TABLE ticket_tags (
    tenant_id   uuid NOT NULL,
    tag         text NOT NULL COLLATE "C",
    ticket_id   uuid NOT NULL,
    PRIMARY KEY (tenant_id, tag, ticket_id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_tags_ticket_idx ON ticket_tags (tenant_id, ticket_id);
ALTER TABLE ticket_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_tags
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The conversation: public replies (emailed to the requester) and internal
-- notes (members only), in the order seq gives them within their ticket.
-- author_id is the member who wrote it; NULL for the requester or the system.
-- A public reply's email is a job; email_state says where it is.
CREATE TABLE ticket_messages (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    ticket_id    uuid NOT NULL,
    seq          integer NOT NULL CHECK (seq >= 1),
    kind         text NOT NULL CHECK (kind IN ('reply', 'note')),
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 50000),
    author_id    uuid,
    email_state  text CHECK (email_state IN ('pending', 'sent', 'no_address')),
    emailed_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT ticket_messages_seq_key UNIQUE (tenant_id, ticket_id, seq),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE ticket_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_messages
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
