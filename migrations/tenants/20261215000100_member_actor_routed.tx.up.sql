-- Every table the member lookup reads is filtered on tenant_id = p_tenant itself,
-- not only through the correlation with memberships (r.tenant_id = m.tenant_id).
-- Citus prunes a query to one shard only from a constant or parameter on each
-- distributed table's distribution column; it does not carry the equality through
-- a correlated subquery, so the former form ran on all shards of memberships, roles
-- and team_members for every API request. On one node the rows and the plan are the
-- same: the added conditions repeat what the correlation already implies.
CREATE OR REPLACE FUNCTION clientele_member_actor(p_tenant uuid, p_identity uuid)
RETURNS TABLE (role text, permissions text[], scope text, teams uuid[], teammates uuid[])
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public AS $$
BEGIN
    EXECUTE format('SET LOCAL app.tenant_id = %L', p_tenant);
    RETURN QUERY
        SELECT m.role,
               coalesce((SELECT r.permissions FROM roles r
                         WHERE r.tenant_id = p_tenant AND r.key = m.role), '{}'::text[]),
               coalesce((SELECT r.scope FROM roles r
                         WHERE r.tenant_id = p_tenant AND r.key = m.role), ''),
               coalesce((SELECT array_agg(tm.team_id) FROM team_members tm
                         WHERE tm.tenant_id = p_tenant AND tm.identity_id = p_identity), '{}'::uuid[]),
               coalesce((SELECT array_agg(DISTINCT tm2.identity_id)
                         FROM team_members tm1
                         JOIN team_members tm2 ON tm2.tenant_id = tm1.tenant_id AND tm2.team_id = tm1.team_id
                         WHERE tm1.tenant_id = p_tenant AND tm2.tenant_id = p_tenant
                           AND tm1.identity_id = p_identity), '{}'::uuid[])
        FROM memberships m
        WHERE m.tenant_id = p_tenant AND m.identity_id = p_identity;
END $$;
