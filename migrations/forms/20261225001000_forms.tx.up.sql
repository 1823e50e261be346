-- Web-to-lead forms (modules/forms): a company's forms, each with a public
-- token its hosted page and snippet carry, and what each submission sent,
-- with the consent text the sender agreed to and when.

CREATE TABLE lead_forms (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The public token: the hosted page's and the snippet's key to the form.
    token        text NOT NULL,
    enabled      boolean NOT NULL DEFAULT true,
    -- The form's fields, in order: [{key, label_en, label_zh, required}].
    fields       jsonb NOT NULL DEFAULT '[]',
    title_en     text NOT NULL DEFAULT '',
    title_zh     text NOT NULL DEFAULT '',
    consent      boolean NOT NULL DEFAULT false,
    consent_en   text NOT NULL DEFAULT '',
    consent_zh   text NOT NULL DEFAULT '',
    thanks_en    text NOT NULL DEFAULT '',
    thanks_zh    text NOT NULL DEFAULT '',
    redirect_url text NOT NULL DEFAULT '',
    -- What a submission does besides the customer and its timeline entry.
    owner_id     uuid,
    create_task  boolean NOT NULL DEFAULT false,
    task_title   text NOT NULL DEFAULT '',
    pipeline_id  uuid,
    stage_id     uuid,
    submissions  bigint NOT NULL DEFAULT 0,
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX lead_forms_token_idx ON lead_forms (tenant_id, token);
CREATE INDEX lead_forms_created_idx ON lead_forms (tenant_id, created_at, id);
ALTER TABLE lead_forms ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_forms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_forms
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);

-- One submission. customer_id follows the customer through merges and goes
-- with it when it is removed for good (the module is told, records.Dependent).
CREATE TABLE lead_form_submissions (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid NOT NULL,
    form_id      uuid NOT NULL,
    customer_id  uuid NOT NULL,
    created_customer boolean NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}',
    locale       text NOT NULL DEFAULT 'en',
    consent_text text,
    consent_at   timestamptz,
    source       text NOT NULL DEFAULT '' CHECK (length(source) <= 2048),
    referrer     text NOT NULL DEFAULT '' CHECK (length(referrer) <= 2048),
    utm          jsonb NOT NULL DEFAULT '{}',
    task_id      uuid,
    deal_id      uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, form_id) REFERENCES lead_forms (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_form_submissions_form_idx ON lead_form_submissions (tenant_id, form_id, created_at DESC, id DESC);
CREATE INDEX lead_form_submissions_customer_idx ON lead_form_submissions (tenant_id, customer_id);
ALTER TABLE lead_form_submissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_form_submissions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_form_submissions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
