-- Search probes ask "does this customer have a term in this range?" per candidate
-- customer. With the term in the index the probe is an index-only scan instead of
-- a heap fetch per term row (measured: 166 ms -> see docs/benchmarks.md for q=user12).
DROP INDEX customer_terms_customer_idx;
CREATE INDEX customer_terms_customer_idx ON customer_terms (tenant_id, customer_id, term);
