-- Closing a company: an owner closes it, it stops answering at once, an owner can
-- reopen it until purge_after, and then a job deletes every row and file it has.
ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check CHECK (status IN ('active', 'suspended', 'closing', 'deleted'));
ALTER TABLE tenants
    ADD COLUMN closing_at  timestamptz,
    ADD COLUMN purge_after timestamptz,
    ADD COLUMN closed_by   uuid,
    ADD COLUMN purge_started_at timestamptz;
CREATE INDEX tenants_purge_idx ON tenants (purge_after) WHERE status = 'closing';

GRANT SELECT (purge_after) ON tenants TO clientele_member_lookup;

-- An identity's companies and pending invitations, across tenants, read through
-- the narrow member-lookup role. Companies being closed are listed apart, to
-- their owners only, with the time their data goes: an owner can still reopen.
CREATE OR REPLACE FUNCTION clientele_my_tenants(p_identity uuid)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
DECLARE
    result jsonb;
BEGIN
    SET LOCAL ROLE clientele_member_lookup;
    EXECUTE format('SET LOCAL app.identity_id = %L', p_identity);
    SELECT jsonb_build_object(
        'memberships', coalesce((
            SELECT jsonb_agg(jsonb_build_object('tenant_id', m.tenant_id, 'slug', t.slug, 'name', t.name, 'role', m.role) ORDER BY t.name)
            FROM memberships m JOIN tenants t ON t.id = m.tenant_id
            WHERE m.identity_id = p_identity AND t.status = 'active'), '[]'::jsonb),
        'closing', coalesce((
            SELECT jsonb_agg(jsonb_build_object('tenant_id', m.tenant_id, 'slug', t.slug, 'name', t.name, 'role', m.role,
                                                'purge_after', t.purge_after) ORDER BY t.name)
            FROM memberships m JOIN tenants t ON t.id = m.tenant_id
            WHERE m.identity_id = p_identity AND t.status = 'closing' AND m.role = 'owner'), '[]'::jsonb),
        'invitations', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', i.id, 'tenant_id', i.tenant_id, 'tenant_slug', t.slug, 'tenant_name', t.name,
                                                'role', i.role, 'expires_at', i.expires_at) ORDER BY i.expires_at)
            FROM invitations i JOIN tenants t ON t.id = i.tenant_id
            WHERE i.identity_id = p_identity AND i.status = 'pending' AND i.expires_at > now() AND t.status = 'active'), '[]'::jsonb))
    INTO result;
    RESET ROLE;
    RETURN result;
END $$;
