-- The role's permissions and scope come from scalar subqueries instead of a LEFT
-- JOIN: Citus on PostgreSQL 15 refuses an outer join between distributed tables
-- whose plan carries a pseudo-constant qual, which the function's parameters make.
-- Same answer on one node: a membership has at most one role row.
CREATE OR REPLACE FUNCTION clientele_member_actor(p_tenant uuid, p_identity uuid)
RETURNS TABLE (role text, permissions text[], scope text, teams uuid[], teammates uuid[])
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
BEGIN
    EXECUTE format('SET LOCAL app.tenant_id = %L', p_tenant);
    RETURN QUERY
        SELECT m.role,
               coalesce((SELECT r.permissions FROM roles r WHERE r.tenant_id = m.tenant_id AND r.key = m.role), '{}'::text[]),
               coalesce((SELECT r.scope FROM roles r WHERE r.tenant_id = m.tenant_id AND r.key = m.role), ''),
               coalesce((SELECT array_agg(tm.team_id) FROM team_members tm
                         WHERE tm.tenant_id = m.tenant_id AND tm.identity_id = m.identity_id), '{}'::uuid[]),
               coalesce((SELECT array_agg(DISTINCT tm2.identity_id)
                         FROM team_members tm1
                         JOIN team_members tm2 ON tm2.tenant_id = tm1.tenant_id AND tm2.team_id = tm1.team_id
                         WHERE tm1.tenant_id = m.tenant_id AND tm1.identity_id = m.identity_id), '{}'::uuid[])
        FROM memberships m
        WHERE m.tenant_id = p_tenant AND m.identity_id = p_identity;
END $$;
