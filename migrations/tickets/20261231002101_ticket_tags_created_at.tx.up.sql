-- A ticket list filtered by a tag, newest first, can be driven from the tag, as
-- the customer and deal lists are: walking (tenant, tag, created_at, ticket)
-- backwards yields the newest tickets with the tag straight off the index, and
-- only those are probed for the other filters (fields.Set.Walk). created_at is
-- the ticket's own, copied when the tag row is written (and moved with it).
ALTER TABLE ticket_tags ADD COLUMN created_at timestamptz;

--bun:split

-- The backfill reads every company at once, as the tables' owner: row-level
-- security stops being forced on the owner for this transaction only (see the
-- deal tags' migration). A row it missed would stop the migration at SET NOT NULL.
ALTER TABLE ticket_tags NO FORCE ROW LEVEL SECURITY;

--bun:split
ALTER TABLE tickets NO FORCE ROW LEVEL SECURITY;

--bun:split
UPDATE ticket_tags tt SET created_at = k.created_at
  FROM tickets k
 WHERE k.tenant_id = tt.tenant_id AND k.id = tt.ticket_id;

--bun:split
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;

--bun:split
ALTER TABLE ticket_tags FORCE ROW LEVEL SECURITY;

--bun:split

ALTER TABLE ticket_tags ALTER COLUMN created_at SET NOT NULL;

--bun:split
ALTER TABLE ticket_tags ALTER COLUMN created_at SET DEFAULT now();

--bun:split
CREATE INDEX ticket_tags_recent_idx ON ticket_tags (tenant_id, tag, created_at, ticket_id);
