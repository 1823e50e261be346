-- Scheduled reports (modules/bi). A subscription sends a report or a
-- dashboard by email, daily, weekly or monthly at a local time of the
-- company: a member subscribes themselves, someone with bi.manage subscribes
-- a role. Each run is a delivery row per (subscription, period, recipient),
-- claimed in the scheduler's transaction, so two schedulers make one; the
-- delivery job renders and mails it and marks it sent in one transaction,
-- so a retry after a failed send does not send twice.
CREATE TABLE bi_subscriptions (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid NOT NULL,
    report_id     uuid,
    dashboard_id  uuid,
    member_id     uuid,
    role          text CHECK (role ~ '^[a-z][a-z0-9_]{1,39}$'),
    frequency     text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
    weekday       integer CHECK (weekday BETWEEN 1 AND 7),
    month_day     integer CHECK (month_day BETWEEN 1 AND 31),
    at_minute     integer NOT NULL CHECK (at_minute BETWEEN 0 AND 1439),
    next_run_at   timestamptz NOT NULL,
    created_by    uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((report_id IS NULL) <> (dashboard_id IS NULL)),
    CHECK ((member_id IS NULL) <> (role IS NULL)),
    CHECK ((frequency = 'weekly') = (weekday IS NOT NULL)),
    CHECK ((frequency = 'monthly') = (month_day IS NOT NULL)),
    FOREIGN KEY (tenant_id, report_id) REFERENCES bi_reports (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, dashboard_id) REFERENCES bi_dashboards (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX bi_subscriptions_due_idx ON bi_subscriptions (tenant_id, next_run_at);
CREATE INDEX bi_subscriptions_member_idx ON bi_subscriptions (tenant_id, member_id, created_at DESC, id DESC);
CREATE INDEX bi_subscriptions_created_idx ON bi_subscriptions (tenant_id, created_at DESC, id DESC);
CREATE INDEX bi_subscriptions_report_idx ON bi_subscriptions (tenant_id, report_id);
CREATE INDEX bi_subscriptions_dashboard_idx ON bi_subscriptions (tenant_id, dashboard_id);
ALTER TABLE bi_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_subscriptions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- One report sent to one recipient for one period of a subscription: the
-- report inbox. It outlives its subscription (no foreign key to it), so
-- unsubscribing keeps what was delivered.
CREATE TABLE bi_deliveries (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid NOT NULL,
    subscription_id  uuid NOT NULL,
    period           text NOT NULL CHECK (period ~ '^\d{4}-\d{2}-\d{2}$'),
    recipient_id     uuid NOT NULL,
    title            text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'skipped')),
    reason           text,
    scheduled_for    timestamptz NOT NULL,
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, subscription_id, period, recipient_id)
);
CREATE INDEX bi_deliveries_inbox_idx ON bi_deliveries (tenant_id, recipient_id, scheduled_for DESC, id DESC);
ALTER TABLE bi_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_deliveries
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- The files a delivery carried (PNG per widget, XLSX, PDF), for the inbox.
CREATE TABLE bi_delivery_files (
    tenant_id     uuid NOT NULL,
    delivery_id   uuid NOT NULL,
    position      integer NOT NULL CHECK (position >= 0),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    content_type  text NOT NULL,
    size          integer NOT NULL CHECK (size >= 0),
    data          bytea NOT NULL,
    PRIMARY KEY (tenant_id, delivery_id, position),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES bi_deliveries (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE bi_delivery_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE bi_delivery_files FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bi_delivery_files
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
