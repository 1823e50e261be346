-- ticket_next_number takes a company's next ticket number: the counter row is
-- made or moved on and stays locked until the transaction ends, so numbers are
-- unique and without gaps, and a creation that rolls back gives its number
-- back. A ticket's INSERT calls it in VALUES, in the same statement as before,
-- instead of reading a data-modifying CTE with a subquery in VALUES, which
-- Citus refuses ("subqueries are not supported within INSERT queries"); Citus
-- runs a function in an INSERT's VALUES on the coordinator, before it routes the
-- row. PL/pgSQL, not SQL: Citus cannot plan a SQL function's parameters.
CREATE FUNCTION ticket_next_number(t uuid) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
    INSERT INTO ticket_counters (tenant_id, last_number) VALUES (t, 1001)
        ON CONFLICT (tenant_id) DO UPDATE SET last_number = ticket_counters.last_number + 1
        RETURNING last_number INTO n;
    RETURN n;
END $$;
