-- A deal list filtered by a tag, newest first (its default order), can be driven
-- from the tag, as the customer list is: walking (tenant, tag, created_at, deal)
-- backwards yields the newest deals with the tag straight off the index, and only
-- those are probed for the other filters (fields.Set.Walk). created_at is the
-- deal's own, copied when the tag row is written.
ALTER TABLE deal_tags ADD COLUMN created_at timestamptz;

--bun:split

-- The backfill reads every company at once, as the tables' owner: row-level
-- security stops being forced on the owner for this transaction only (the app's
-- role is not the owner and stays filtered), on one node and on Citus alike. A
-- row it missed would stop the migration at SET NOT NULL.
ALTER TABLE deal_tags NO FORCE ROW LEVEL SECURITY;

--bun:split
ALTER TABLE deals NO FORCE ROW LEVEL SECURITY;

--bun:split
UPDATE deal_tags dt SET created_at = d.created_at
  FROM deals d
 WHERE d.tenant_id = dt.tenant_id AND d.id = dt.deal_id;

--bun:split
ALTER TABLE deals FORCE ROW LEVEL SECURITY;

--bun:split
ALTER TABLE deal_tags FORCE ROW LEVEL SECURITY;

--bun:split

ALTER TABLE deal_tags ALTER COLUMN created_at SET NOT NULL;

--bun:split
ALTER TABLE deal_tags ALTER COLUMN created_at SET DEFAULT now();

--bun:split
CREATE INDEX deal_tags_recent_idx ON deal_tags (tenant_id, tag, created_at, deal_id);
