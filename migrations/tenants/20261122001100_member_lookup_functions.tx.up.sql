-- One round trip per authenticated request instead of four: these functions set
-- the tenant (or identity) for the statement's own transaction and read under RLS
-- as the caller (SECURITY INVOKER), so the policies still decide what is visible.

CREATE FUNCTION clientele_member_actor(p_tenant uuid, p_identity uuid)
RETURNS TABLE (role text, permissions text[], scope text, teams uuid[])
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    RETURN QUERY
        SELECT m.role, coalesce(r.permissions, '{}'::text[]), coalesce(r.scope, ''),
               coalesce((SELECT array_agg(tm.team_id) FROM team_members tm
                         WHERE tm.tenant_id = m.tenant_id AND tm.identity_id = m.identity_id), '{}'::uuid[])
        FROM memberships m
        LEFT JOIN roles r ON r.tenant_id = m.tenant_id AND r.key = m.role
        WHERE m.tenant_id = p_tenant AND m.identity_id = p_identity;
END $$;

-- An identity's companies and pending invitations, across tenants, read through
-- the narrow member-lookup role (column grants plus its own identity policy).
CREATE FUNCTION clientele_my_tenants(p_identity uuid)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
DECLARE
    result jsonb;
BEGIN
    SET LOCAL ROLE clientele_member_lookup;
    PERFORM set_config('app.identity_id', p_identity::text, true);
    SELECT jsonb_build_object(
        'memberships', coalesce((
            SELECT jsonb_agg(jsonb_build_object('tenant_id', m.tenant_id, 'slug', t.slug, 'name', t.name, 'role', m.role) ORDER BY t.name)
            FROM memberships m JOIN tenants t ON t.id = m.tenant_id
            WHERE m.identity_id = p_identity AND t.status = 'active'), '[]'::jsonb),
        'invitations', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', i.id, 'tenant_id', i.tenant_id, 'tenant_slug', t.slug, 'tenant_name', t.name,
                                                'role', i.role, 'expires_at', i.expires_at) ORDER BY i.expires_at)
            FROM invitations i JOIN tenants t ON t.id = i.tenant_id
            WHERE i.identity_id = p_identity AND i.status = 'pending' AND i.expires_at > now() AND t.status = 'active'), '[]'::jsonb))
    INTO result;
    RESET ROLE;
    RETURN result;
END $$;
