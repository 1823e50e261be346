-- The customer list filters on the address's province and city (province=广东,
-- city[in]=广州,深圳). Without an index a rare value walked the company's
-- newest-first index to its end: at a million customers, every customer read
-- for a page of the few who live there. Each index holds the customers that
-- have the part, in the list's order, so a page of one province (or a few) is
-- read from it whatever the company's mix. A customer without the part is not
-- in it (the filter's equality implies IS NOT NULL, so the planner may use the
-- partial index), and costs its writes nothing.
CREATE INDEX customers_province_idx ON customers (tenant_id, (address ->> 'province'), created_at DESC, id DESC)
    WHERE deleted_at IS NULL AND (address ->> 'province') IS NOT NULL;
CREATE INDEX customers_city_idx ON customers (tenant_id, (address ->> 'city'), created_at DESC, id DESC)
    WHERE deleted_at IS NULL AND (address ->> 'city') IS NOT NULL;
