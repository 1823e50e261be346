-- Customer imports: the upload's record, the rows it rejected or skipped (the
-- error report), the keys already seen in the file (duplicates within a file are
-- caught by the primary key, which also survives a crash), and a journal of what
-- each row did, so a revert deletes what was created and restores what was
-- updated.
CREATE TABLE imports (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    entity       text NOT NULL DEFAULT 'customers',
    status       text NOT NULL DEFAULT 'uploaded' CHECK (status IN ('uploaded', 'queued', 'running', 'completed', 'failed', 'canceled', 'reverting', 'reverted')),
    filename     text NOT NULL,
    format       text NOT NULL CHECK (format IN ('csv', 'xlsx')),
    encoding     text NOT NULL DEFAULT 'utf-8',
    blob_key     text NOT NULL,
    size_bytes   bigint NOT NULL,
    columns      jsonb NOT NULL DEFAULT '[]',
    mapping      jsonb,
    mode         text CHECK (mode IN ('create', 'update', 'upsert')),
    match_on     text,
    total        bigint NOT NULL DEFAULT 0,
    processed    bigint NOT NULL DEFAULT 0,
    created      bigint NOT NULL DEFAULT 0,
    updated      bigint NOT NULL DEFAULT 0,
    skipped      bigint NOT NULL DEFAULT 0,
    failed       bigint NOT NULL DEFAULT 0,
    reverted     bigint NOT NULL DEFAULT 0,
    job_id       uuid,
    error        text,
    created_by   uuid,
    started_at   timestamptz,
    finished_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX imports_recent_idx ON imports (tenant_id, created_at DESC, id DESC);
ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE imports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON imports
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE import_problems (
    tenant_id  uuid NOT NULL,
    import_id  uuid NOT NULL,
    row_no     bigint NOT NULL,
    seq        int NOT NULL,
    outcome    text NOT NULL CHECK (outcome IN ('failed', 'skipped')),
    column_name text NOT NULL DEFAULT '',
    value      text NOT NULL DEFAULT '',
    reason     text NOT NULL,
    PRIMARY KEY (tenant_id, import_id, row_no, seq),
    FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE import_problems ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_problems FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_problems
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE import_keys (
    tenant_id  uuid NOT NULL,
    import_id  uuid NOT NULL,
    key        text NOT NULL COLLATE "C",
    row_no     bigint NOT NULL,
    PRIMARY KEY (tenant_id, import_id, key),
    FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE import_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE import_journal (
    tenant_id   uuid NOT NULL,
    import_id   uuid NOT NULL,
    customer_id uuid NOT NULL,
    action      text NOT NULL CHECK (action IN ('created', 'updated')),
    before      jsonb,
    row_no      bigint NOT NULL,
    PRIMARY KEY (tenant_id, import_id, customer_id),
    FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE import_journal ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_journal FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_journal
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
