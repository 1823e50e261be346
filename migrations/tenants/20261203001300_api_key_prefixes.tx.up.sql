-- Lists showed 'ck_' and the first 8 characters of a key, which encode the
-- company's id, so every key of a company showed the same prefix. Keys now put
-- their own id first (tenants/auth.go). Keys made before keep their text, so
-- what they show runs 30 characters into it instead: past the company's id and
-- 52 bits into the key's own, still short of the secret. The key's text is
-- 'ck_' || base64url(company id || key id) || '_' || secret, so the prefix is
-- derived from the two ids the row holds.

-- Tenant by tenant, so it holds under forced RLS for a non-superuser owner.
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        UPDATE api_keys k SET prefix = 'ck_' || left(h.head, 30)
          FROM (SELECT tenant_id, id,
                       translate(encode(decode(replace(tenant_id::text, '-', '') || replace(id::text, '-', ''), 'hex'), 'base64'), '+/=', '-_') AS head
                  FROM api_keys WHERE tenant_id = t) h
         WHERE k.tenant_id = t AND h.tenant_id = k.tenant_id AND h.id = k.id
           AND k.prefix = 'ck_' || left(h.head, 8);
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;

-- What a list shows tells a company's keys apart.
CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (tenant_id, prefix);
