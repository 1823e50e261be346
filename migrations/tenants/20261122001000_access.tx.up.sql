-- Who may do what in a tenant: memberships (keyed by the Kratos identity id), custom
-- roles, teams, invitations and API keys. Identity traits are never trusted for
-- authorisation: everything here is Clientele's own record.

CREATE TABLE memberships (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    identity_id  uuid NOT NULL,
    role         text NOT NULL,
    email        text NOT NULL,
    name         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, identity_id)
);
CREATE INDEX memberships_tenant_role_idx ON memberships (tenant_id, role);
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- /api/v1/me lists an identity's tenants before any tenant is chosen. The app role
-- switches to this NOLOGIN role (created by migrate) inside a read-only transaction
-- and may read only these columns of memberships, and only those of one identity.
CREATE POLICY member_lookup ON memberships FOR SELECT TO clientele_member_lookup
    USING (identity_id = NULLIF(current_setting('app.identity_id', true), '')::uuid);

CREATE TABLE roles (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{1,39}$'),
    name         text NOT NULL,
    permissions  text[] NOT NULL DEFAULT '{}',
    scope        text NOT NULL DEFAULT 'own' CHECK (scope IN ('own', 'team', 'all')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON roles
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE teams (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT teams_name_key UNIQUE (tenant_id, name)
);
ALTER TABLE teams ENABLE ROW LEVEL SECURITY;
ALTER TABLE teams FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON teams
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE team_members (
    tenant_id    uuid NOT NULL,
    team_id      uuid NOT NULL,
    identity_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, team_id, identity_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, identity_id) REFERENCES memberships (tenant_id, identity_id) ON DELETE CASCADE
);
CREATE INDEX team_members_identity_idx ON team_members (tenant_id, identity_id);
ALTER TABLE team_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE team_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON team_members
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE invitations (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    email        text NOT NULL,
    role         text NOT NULL,
    identity_id  uuid NOT NULL,
    invited_by   uuid,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'revoked')),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_pending_email_key ON invitations (tenant_id, email) WHERE status = 'pending';
CREATE INDEX invitations_identity_idx ON invitations (tenant_id, identity_id);
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
CREATE POLICY member_lookup ON invitations FOR SELECT TO clientele_member_lookup
    USING (identity_id = NULLIF(current_setting('app.identity_id', true), '')::uuid);

CREATE TABLE api_keys (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL,
    prefix        text NOT NULL,
    secret_hash   bytea NOT NULL,
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

GRANT SELECT (tenant_id, identity_id, role) ON memberships TO clientele_member_lookup;
GRANT SELECT (tenant_id, id, identity_id, role, status, expires_at) ON invitations TO clientele_member_lookup;
GRANT SELECT (id, slug, name, status) ON tenants TO clientele_member_lookup;
