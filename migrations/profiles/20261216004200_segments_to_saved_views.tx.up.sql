-- Customer segments become saved views of the customers list (platform/views).
-- Every segment moves with its id, owner, sharing, query and times, so links
-- to a segment (?segment_id=...) keep working. Row security is lifted for the
-- copy only: it runs as the owner of both tables, across every tenant.
ALTER TABLE segments NO FORCE ROW LEVEL SECURITY;
ALTER TABLE saved_views NO FORCE ROW LEVEL SECURITY;
INSERT INTO saved_views (tenant_id, id, entity, name, owner_id, shared, query, created_at, updated_at)
SELECT tenant_id, id, 'customers', name, owner_id, shared, query, created_at, updated_at FROM segments
ON CONFLICT (tenant_id, id) DO NOTHING;
ALTER TABLE saved_views FORCE ROW LEVEL SECURITY;
DROP TABLE segments;
