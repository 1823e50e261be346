-- Saved views (platform/views): a named filter, sort and set of columns over
-- any entity's list, private to its owner or shared with the company. The
-- filter is the list's own query string, so a view means exactly what the same
-- list URL means. Customer segments move here (see the profiles migration that
-- follows), keeping their ids.
CREATE TABLE saved_views (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    entity      text NOT NULL CHECK (entity ~ '^[a-z][a-z0-9_]{0,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    owner_id    uuid NOT NULL,
    shared      boolean NOT NULL DEFAULT false,
    query       text NOT NULL DEFAULT '',
    sort        text NOT NULL DEFAULT '' CHECK (length(sort) <= 100),
    columns     text[] NOT NULL DEFAULT '{}' CHECK (cardinality(columns) <= 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- The views of one entity a member sees: theirs and the shared ones.
CREATE INDEX saved_views_entity_owner_idx ON saved_views (tenant_id, entity, owner_id);
ALTER TABLE saved_views ENABLE ROW LEVEL SECURITY;
ALTER TABLE saved_views FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON saved_views
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
