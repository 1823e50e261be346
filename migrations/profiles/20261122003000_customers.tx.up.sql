-- Customer profiles. Search works under RLS through customer_terms: every name
-- token (and each CJK character and bigram), normalised email and phone digits is a
-- row, found by btree equality or a prefix range, which RLS does not block (unlike
-- ILIKE, pg_trgm or full-text operators, which are not leakproof).

CREATE TABLE customers (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('person', 'company')),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    company_id   uuid,
    emails       text[] NOT NULL DEFAULT '{}',
    phones       text[] NOT NULL DEFAULT '{}',
    address      jsonb NOT NULL DEFAULT '{}',
    owner_id     uuid,
    tags         text[] NOT NULL DEFAULT '{}',
    lifecycle    text NOT NULL DEFAULT 'lead' CHECK (lifecycle IN ('lead', 'prospect', 'customer', 'at_risk', 'churned')),
    source       text NOT NULL DEFAULT '',
    custom       jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES customers (tenant_id, id) ON DELETE SET NULL (company_id)
);
-- Keyset orders for the common sorts; all lead with tenant_id.
CREATE INDEX customers_created_idx ON customers (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX customers_name_idx ON customers (tenant_id, lower(name), id) WHERE deleted_at IS NULL;
CREATE INDEX customers_updated_idx ON customers (tenant_id, updated_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX customers_owner_idx ON customers (tenant_id, owner_id, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX customers_lifecycle_idx ON customers (tenant_id, lifecycle, created_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX customers_company_idx ON customers (tenant_id, company_id) WHERE company_id IS NOT NULL;
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Tags as rows too, so a tag filter is an index lookup.
CREATE TABLE customer_tags (
    tenant_id    uuid NOT NULL,
    tag          text NOT NULL,
    customer_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, tag, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_tags_customer_idx ON customer_tags (tenant_id, customer_id);
ALTER TABLE customer_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_tags
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Search terms: kind n (name token), e (email), p (phone digits).
CREATE TABLE customer_terms (
    tenant_id    uuid NOT NULL,
    term         text NOT NULL COLLATE "C",
    customer_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, term, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_terms_customer_idx ON customer_terms (tenant_id, customer_id);
ALTER TABLE customer_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_terms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_terms
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- Normalised contact keys for duplicate detection (one row per email or phone).
CREATE TABLE customer_contacts (
    tenant_id    uuid NOT NULL,
    key          text NOT NULL COLLATE "C",
    customer_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, key, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_contacts_customer_idx ON customer_contacts (tenant_id, customer_id);
ALTER TABLE customer_contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_contacts
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

CREATE TABLE customer_lifecycle_history (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id  uuid NOT NULL,
    from_stage   text,
    to_stage     text NOT NULL,
    changed_by   uuid,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_lifecycle_history_customer_idx ON customer_lifecycle_history (tenant_id, customer_id, changed_at DESC);
ALTER TABLE customer_lifecycle_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_lifecycle_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_lifecycle_history
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
