-- Satisfaction surveys (CSAT): when a ticket is solved the requester is sent a
-- link to rate it 1 to 5 with a comment. The row is made when the ticket is
-- solved (state pending); the mail job makes the token, keeps only its hash,
-- and sends the link; the link works once and until expires_at. A ticket has
-- one survey: solving it again after a reopen does not ask twice.
CREATE TABLE ticket_csat (
    tenant_id     uuid NOT NULL,
    ticket_id     uuid NOT NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'no_address', 'rated')),
    token_hash    bytea,
    expires_at    timestamptz,
    sent_at       timestamptz,
    rating        integer CHECK (rating BETWEEN 1 AND 5),
    comment       text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    rated_at      timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, ticket_id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX ticket_csat_token_key ON ticket_csat (tenant_id, token_hash) WHERE token_hash IS NOT NULL;
ALTER TABLE ticket_csat ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_csat FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_csat
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The rating shows on the ticket and feeds the measures.
ALTER TABLE tickets
    ADD COLUMN csat_rating    integer CHECK (csat_rating BETWEEN 1 AND 5),
    ADD COLUMN csat_comment   text,
    ADD COLUMN csat_rated_at  timestamptz;

-- The company's hosted form for feedback, complaints and requests: on or off,
-- its title and introduction. A company without a row has the form on with
-- the default texts.
CREATE TABLE ticket_form_settings (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    enabled     boolean NOT NULL DEFAULT true,
    title       text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
    intro       text NOT NULL DEFAULT '' CHECK (length(intro) <= 2000),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);
ALTER TABLE ticket_form_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_form_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_form_settings
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
