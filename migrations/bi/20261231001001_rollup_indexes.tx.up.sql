-- Indexes that let a rollup refresh read one day of a metric's facts
-- rather than the whole table (modules/bi/rollups.go): the moments facts
-- fall on that no index bounded. The partial ones hold only the rows that
-- have the moment, so creating a deal or a ticket pays nothing for them.
CREATE INDEX customer_lifecycle_history_changed_idx ON customer_lifecycle_history (tenant_id, changed_at);
CREATE INDEX deals_won_idx ON deals (tenant_id, won_at) WHERE won_at IS NOT NULL;
CREATE INDEX deals_lost_idx ON deals (tenant_id, lost_at) WHERE lost_at IS NOT NULL;
CREATE INDEX tickets_solved_idx ON tickets (tenant_id, solved_at) WHERE solved_at IS NOT NULL;
CREATE INDEX tickets_rated_idx ON tickets (tenant_id, csat_rated_at) WHERE csat_rated_at IS NOT NULL;
-- The response-time percentiles are answered from the tickets (a percentile
-- does not add up over days): this bounds their read to the range's tickets.
CREATE INDEX tickets_responded_idx ON tickets (tenant_id, first_responded_at) WHERE first_responded_at IS NOT NULL;
-- Stage conversion counts the stays begun on a day.
CREATE INDEX deal_stage_history_entered_idx ON deal_stage_history (tenant_id, entered_at);
