-- Outbound webhooks (modules/webhooks): a tenant's subscriptions, and one
-- delivery row per event and subscription. The delivery rows are the outbox:
-- they are written in the same transaction as the change that caused the event,
-- so an event exists exactly when its change does, whatever happens to Redis or
-- a worker afterwards.

CREATE TABLE webhook_subscriptions (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    url           text NOT NULL CHECK (length(url) <= 2048),
    description   text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    -- Event types ("customer.created"), "customer.*" for every customer event,
    -- or "*" for every event.
    events        text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 64),
    enabled       boolean NOT NULL DEFAULT true,
    disabled_reason text NOT NULL DEFAULT '',
    -- The signing secret, and the one it replaced while its grace period lasts:
    -- deliveries carry a signature with each, so receivers can switch over.
    secret        text NOT NULL,
    old_secret    text,
    old_secret_until timestamptz,
    -- The sequence number the next delivery gets, in dispatch order.
    next_seq      bigint NOT NULL DEFAULT 1,
    -- Failed attempts since the last success; past the limit the subscription
    -- is switched off and the admins told.
    failure_streak integer NOT NULL DEFAULT 0,
    failing_since  timestamptz,
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_subscriptions_created_idx ON webhook_subscriptions (tenant_id, created_at, id);
ALTER TABLE webhook_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_subscriptions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- One event for one subscription. status: pending (due at next_attempt_at),
-- sending (claimed by a dispatcher until lease_until; a dispatcher that dies
-- leaves it to be claimed again after that), succeeded, failed (gave up after
-- the retry window, or the subscription was deleted).
CREATE TABLE webhook_deliveries (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    subscription_id uuid NOT NULL,
    event_id        uuid NOT NULL,
    event_type      text NOT NULL,
    entity_id       text NOT NULL DEFAULT '',
    occurred_at     timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
    seq             bigint,
    -- The body as first sent; retries and replays send the same bytes.
    body            jsonb,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_status     integer,
    last_error      text NOT NULL DEFAULT '',
    last_latency_ms integer,
    -- The first KB of the receiver's last answer.
    last_response   text NOT NULL DEFAULT '',
    replay_of       uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES webhook_subscriptions (tenant_id, id) ON DELETE CASCADE
);
-- The dispatcher's queue: due work of a tenant in order.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (tenant_id, next_attempt_at, created_at, id)
    WHERE status IN ('pending', 'sending');
-- The delivery log of a subscription, newest first.
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (tenant_id, subscription_id, created_at DESC, id DESC);
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_deliveries
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The sweep finds due deliveries in every tenant as the sweeper role, which may
-- read only the scheduling columns (as for jobs), never a body or a secret.
CREATE POLICY sweeper_scan ON webhook_deliveries FOR SELECT TO clientele_sweeper USING (true);
GRANT SELECT (tenant_id, id, status, next_attempt_at, lease_until) ON webhook_deliveries TO clientele_sweeper;

-- Delivery records are kept for 30 days. The daily prune runs outside any
-- tenant, so it is a SECURITY DEFINER function that deletes nothing else.
CREATE FUNCTION webhook_prune_deliveries(keep_days int) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM webhook_deliveries
    WHERE created_at < now() - make_interval(days => greatest(keep_days, 1))
      AND status IN ('succeeded', 'failed');
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
