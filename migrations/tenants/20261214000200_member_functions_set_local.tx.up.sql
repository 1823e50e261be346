-- The member lookup functions scope their statement with SET LOCAL instead of
-- set_config(): Citus forwards SET LOCAL to the workers that run the statement
-- (citus.propagate_set_commands = 'local') and never a set_config() call, under
-- which the workers would see no tenant and return no rows. On one node the two
-- are the same.
CREATE OR REPLACE FUNCTION clientele_member_actor(p_tenant uuid, p_identity uuid)
RETURNS TABLE (role text, permissions text[], scope text, teams uuid[], teammates uuid[])
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
BEGIN
    EXECUTE format('SET LOCAL app.tenant_id = %L', p_tenant);
    RETURN QUERY
        SELECT m.role, coalesce(r.permissions, '{}'::text[]), coalesce(r.scope, ''),
               coalesce((SELECT array_agg(tm.team_id) FROM team_members tm
                         WHERE tm.tenant_id = m.tenant_id AND tm.identity_id = m.identity_id), '{}'::uuid[]),
               coalesce((SELECT array_agg(DISTINCT tm2.identity_id)
                         FROM team_members tm1
                         JOIN team_members tm2 ON tm2.tenant_id = tm1.tenant_id AND tm2.team_id = tm1.team_id
                         WHERE tm1.tenant_id = m.tenant_id AND tm1.identity_id = m.identity_id), '{}'::uuid[])
        FROM memberships m
        LEFT JOIN roles r ON r.tenant_id = m.tenant_id AND r.key = m.role
        WHERE m.tenant_id = p_tenant AND m.identity_id = p_identity;
END $$;

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
        'invitations', coalesce((
            SELECT jsonb_agg(jsonb_build_object('id', i.id, 'tenant_id', i.tenant_id, 'tenant_slug', t.slug, 'tenant_name', t.name,
                                                'role', i.role, 'expires_at', i.expires_at) ORDER BY i.expires_at)
            FROM invitations i JOIN tenants t ON t.id = i.tenant_id
            WHERE i.identity_id = p_identity AND i.status = 'pending' AND i.expires_at > now() AND t.status = 'active'), '[]'::jsonb))
    INTO result;
    RESET ROLE;
    RETURN result;
END $$;
