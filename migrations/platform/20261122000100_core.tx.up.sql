-- Kernel schema: tenants (global), module enablement, job records, audit log.
-- Tenant tables: tenant_id leads every primary key, foreign key and index; RLS is
-- enabled and forced with the one policy expression the schema lint checks for.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Global: a tenant is resolved from its slug before any tenant context exists.
CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL,
    name        text NOT NULL,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    time_zone   text NOT NULL DEFAULT 'UTC',
    locale      text NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'zh-CN')),
    currency    char(3) NOT NULL DEFAULT 'USD',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_slug_key UNIQUE (slug),
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$')
);

CREATE TABLE tenant_modules (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    module      text NOT NULL,
    enabled     boolean NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, module)
);
ALTER TABLE tenant_modules ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_modules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_modules
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The record of every background job. Asynq carries only (tenant_id, id).
CREATE TABLE jobs (
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             uuid NOT NULL DEFAULT gen_random_uuid(),
    task_type      text NOT NULL,
    queue          text NOT NULL CHECK (queue IN ('critical', 'default', 'bulk')),
    status         text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'failed', 'canceled')),
    payload        jsonb NOT NULL DEFAULT '{}',
    result         jsonb,
    checkpoint     jsonb,
    error          text,
    progress_done  bigint NOT NULL DEFAULT 0,
    progress_total bigint,
    attempts       int NOT NULL DEFAULT 0,
    max_attempts   int NOT NULL DEFAULT 10,
    run_at         timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    heartbeat_at   timestamptz,
    created_by     uuid,
    dedupe_key     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_tenant_created_idx ON jobs (tenant_id, created_at DESC, id DESC);
CREATE INDEX jobs_tenant_type_idx ON jobs (tenant_id, task_type, created_at DESC);
CREATE UNIQUE INDEX jobs_tenant_dedupe_key ON jobs (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
-- The sweeper's scan: unfinished work only, so it stays small.
CREATE INDEX jobs_tenant_due_idx ON jobs (tenant_id, run_at) WHERE status IN ('queued', 'running', 'retrying');
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Audit log: append-only, range-partitioned by month; retention drops partitions.
CREATE TABLE audit_log (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor_id     uuid,
    actor_kind   text NOT NULL DEFAULT 'system' CHECK (actor_kind IN ('user', 'api_key', 'system')),
    action       text NOT NULL,
    entity       text NOT NULL,
    entity_id    text NOT NULL,
    diff         jsonb NOT NULL DEFAULT '{}',
    request_id   text,
    PRIMARY KEY (tenant_id, occurred_at, id)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX audit_log_tenant_entity_idx ON audit_log (tenant_id, entity, entity_id, occurred_at DESC);
CREATE INDEX audit_log_tenant_actor_idx ON audit_log (tenant_id, actor_id, occurred_at DESC);
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The two partition functions are SECURITY DEFINER so the worker's app role can run
-- upkeep without holding DDL rights; migrate grants EXECUTE to the app role only.
-- Creates the monthly partitions of a partitioned table from one month back to
-- months_ahead months ahead, each with RLS enabled, forced and the tenant policy,
-- so a child reached directly is as locked as its parent. Idempotent.
CREATE FUNCTION clientele_ensure_month_partitions(parent regclass, months_ahead int)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date - interval '1 month';
    stop date := date_trunc('month', now() AT TIME ZONE 'UTC')::date + make_interval(months => months_ahead);
    child text;
    made int := 0;
BEGIN
    WHILE m <= stop LOOP
        child := format('%s_p%s', parent::text, to_char(m, 'YYYYMM'));
        IF to_regclass(child) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           child, parent, m::timestamptz, (m + interval '1 month')::timestamptz);
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', child);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', child);
            EXECUTE format($p$CREATE POLICY tenant_isolation ON %I
                USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
                WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)$p$, child);
            made := made + 1;
        END IF;
        m := m + interval '1 month';
    END LOOP;
    RETURN made;
END $$;

-- Drops monthly partitions that end before now() - keep_months. Returns how many.
CREATE FUNCTION clientele_drop_old_partitions(parent regclass, keep_months int)
RETURNS int LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    r record;
    cutoff text := to_char(date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => keep_months), 'YYYYMM');
    dropped int := 0;
BEGIN
    FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = parent AND c.relname ~ '_p[0-9]{6}$' LOOP
        IF right(r.relname, 6) < cutoff THEN
            EXECUTE format('DROP TABLE %I', r.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;

REVOKE ALL ON FUNCTION clientele_ensure_month_partitions(regclass, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION clientele_drop_old_partitions(regclass, int) FROM PUBLIC;

SELECT clientele_ensure_month_partitions('audit_log', 3);
