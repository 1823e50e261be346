-- The actor also carries its teammates (everyone sharing a team with it, itself
-- included), so team-scoped visibility costs no extra query.
DROP FUNCTION clientele_member_actor(uuid, uuid);
CREATE FUNCTION clientele_member_actor(p_tenant uuid, p_identity uuid)
RETURNS TABLE (role text, permissions text[], scope text, teams uuid[], teammates uuid[])
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
BEGIN
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
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
