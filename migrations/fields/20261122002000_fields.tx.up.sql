-- Custom fields engine (platform/fields): definitions per tenant and entity, a typed
-- index side table that btree can use under RLS, a uniqueness table whose primary
-- key enforces `unique` fields per tenant even under concurrent writes, and the
-- per-tenant data key (wrapped by the master key) for sensitive values.

CREATE TABLE field_definitions (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    entity      text NOT NULL,
    key         text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    label_en    text NOT NULL,
    label_zh    text NOT NULL DEFAULT '',
    type        text NOT NULL CHECK (type IN ('text', 'long_text', 'number', 'decimal', 'currency', 'date',
                    'datetime', 'boolean', 'select', 'multi_select', 'email', 'phone', 'url', 'user', 'rating')),
    options     jsonb NOT NULL DEFAULT '{}',
    required    boolean NOT NULL DEFAULT false,
    "unique"    boolean NOT NULL DEFAULT false,
    "default"   jsonb,
    filterable  boolean NOT NULL DEFAULT false,
    sortable    boolean NOT NULL DEFAULT false,
    sensitive   boolean NOT NULL DEFAULT false,
    position    int NOT NULL DEFAULT 0,
    help_en     text NOT NULL DEFAULT '',
    help_zh     text NOT NULL DEFAULT '',
    archived_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity, key),
    CONSTRAINT field_definitions_sensitive_not_indexed
        CHECK (NOT sensitive OR NOT (filterable OR sortable OR "unique"))
);
ALTER TABLE field_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE field_definitions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON field_definitions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- One row per indexed value (multi_select has one per choice, told apart by ord).
-- v_text is byte-ordered (COLLATE "C") so a prefix written as a range is exact.
CREATE TABLE field_index (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    entity     text NOT NULL,
    field_key  text NOT NULL,
    record_id  uuid NOT NULL,
    ord        int NOT NULL DEFAULT 0,
    v_text     text COLLATE "C",
    v_num      numeric,
    v_time     timestamptz,
    v_bool     boolean,
    PRIMARY KEY (tenant_id, entity, field_key, record_id, ord)
);
CREATE INDEX field_index_text_idx ON field_index (tenant_id, entity, field_key, v_text, record_id) WHERE v_text IS NOT NULL;
CREATE INDEX field_index_num_idx ON field_index (tenant_id, entity, field_key, v_num, record_id) WHERE v_num IS NOT NULL;
CREATE INDEX field_index_time_idx ON field_index (tenant_id, entity, field_key, v_time, record_id) WHERE v_time IS NOT NULL;
CREATE INDEX field_index_bool_idx ON field_index (tenant_id, entity, field_key, v_bool, record_id) WHERE v_bool IS NOT NULL;
CREATE INDEX field_index_record_idx ON field_index (tenant_id, entity, record_id);
ALTER TABLE field_index ENABLE ROW LEVEL SECURITY;
ALTER TABLE field_index FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON field_index
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The primary key is the uniqueness: a second writer of the same normalised value
-- waits for the first and then fails with a unique violation.
CREATE TABLE field_unique (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    entity     text NOT NULL,
    field_key  text NOT NULL,
    v_norm     text NOT NULL,
    record_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, entity, field_key, v_norm)
);
CREATE INDEX field_unique_record_idx ON field_unique (tenant_id, entity, record_id);
ALTER TABLE field_unique ENABLE ROW LEVEL SECURITY;
ALTER TABLE field_unique FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON field_unique
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The tenant's data key, AES-GCM sealed under the master key from config.
CREATE TABLE tenant_keys (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    wrapped_key bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id)
);
ALTER TABLE tenant_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
