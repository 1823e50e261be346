-- Dated exchange rates an admin keeps, per company: from valid_from on, one
-- unit of currency is worth rate units of base. Totals convert a deal with the
-- rate in force on its expected close date (the latest valid_from on or
-- before it). base is the company's currency when the rate was set: after the
-- company changes its currency, rates into the old one no longer apply and a
-- total that needs one says which rate is missing instead of guessing.
CREATE TABLE exchange_rates (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    base        char(3) NOT NULL CHECK (base ~ '^[A-Z]{3}$'),
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    valid_from  date NOT NULL,
    rate        numeric(20, 10) NOT NULL CHECK (rate > 0),
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT exchange_rates_day_key UNIQUE (tenant_id, base, currency, valid_from),
    CONSTRAINT exchange_rates_not_base CHECK (currency <> base)
);
ALTER TABLE exchange_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE exchange_rates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON exchange_rates
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
