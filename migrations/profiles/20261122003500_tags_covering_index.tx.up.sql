-- Tag filters probe "does this customer have this tag?" per candidate; with the tag
-- in the index the probe is index-only (as for customer_terms).
DROP INDEX customer_tags_customer_idx;
CREATE INDEX customer_tags_customer_idx ON customer_tags (tenant_id, customer_id, tag);
