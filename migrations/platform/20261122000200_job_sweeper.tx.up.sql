-- The job sweeper must find due work in every tenant. It switches, inside a
-- read-only transaction, to the NOLOGIN role clientele_sweeper, which may read only
-- the scheduling columns of jobs (column grants are applied by migrate), never the
-- payload or result. The role is created by migrate before this file runs.
CREATE POLICY sweeper_scan ON jobs FOR SELECT TO clientele_sweeper USING (true);
