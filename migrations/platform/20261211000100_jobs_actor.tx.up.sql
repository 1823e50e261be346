-- A job runs with exactly the rights of the actor who asked for it: a snapshot of
-- that actor (kind, permissions, scope, teammates) is kept on the job's row and
-- the worker hands it to the handler. Enqueue refuses a context with no actor,
-- and a row with no snapshot runs as nobody, who may do nothing.
ALTER TABLE jobs ADD COLUMN actor jsonb;
-- Unfinished jobs recorded before this ran as the system (the old default); they
-- keep doing so. Imports and exports still act as the snapshot in their payload.
UPDATE jobs SET actor = '{"id":"00000000-0000-0000-0000-000000000000","kind":"system","permissions":[],"scope":"all"}'::jsonb
WHERE actor IS NULL AND status IN ('queued', 'running', 'retrying');
