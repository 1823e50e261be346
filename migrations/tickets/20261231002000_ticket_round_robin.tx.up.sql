-- ticket_round_robin deals a new ticket of team out among members (the
-- team's): the team's cursor row is made or locked first, so one team's
-- tickets are dealt out one at a time, and moves to the first available
-- member without a cap after the one it names (in id order, and round
-- again); that member's lock (the one nextAgent takes, shared by every team
-- the member is in) is taken before the ticket's number. NULL when nobody is
-- available: the cursor stays where it was.
--
-- The ticket's INSERT reads it as its source (INSERT ... SELECT ... FROM
-- ticket_round_robin(...)), so the assignment, the number and the row are
-- still one statement. It used to be CTEs read by subqueries in the INSERT's
-- VALUES and a cursor upsert with subqueries in ON CONFLICT DO UPDATE SET,
-- which Citus refuses. On Citus the INSERT ... SELECT's source runs on the
-- coordinator, where nextAgent's member locks are taken too, so the two ways
-- of assigning meet on the same locks on both paths.
CREATE FUNCTION ticket_round_robin(t uuid, team uuid, members uuid[]) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    last uuid;
    pick uuid;
BEGIN
    INSERT INTO ticket_assign_cursors AS c (tenant_id, team_id) VALUES (t, team)
        ON CONFLICT (tenant_id, team_id) DO UPDATE SET last_member_id = c.last_member_id
        RETURNING c.last_member_id INTO last;
    SELECT a.member_id INTO pick FROM ticket_agents a
     WHERE a.tenant_id = t AND a.team_id = team AND a.available AND a.max_open IS NULL AND a.member_id = ANY (members)
     ORDER BY (last IS NOT NULL AND a.member_id <= last), a.member_id LIMIT 1;
    IF pick IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE ticket_assign_cursors SET last_member_id = pick WHERE tenant_id = t AND team_id = team;
    PERFORM pg_advisory_xact_lock(hashtextextended('tickets:agent:' || t::text || ':' || pick::text, 0));
    RETURN pick;
END $$;
