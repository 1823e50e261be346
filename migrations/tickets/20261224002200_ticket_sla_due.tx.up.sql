-- The inbox's "breaching soon": each ticket keeps the earliest due time of
-- its targets still running (the first response until it came, a next
-- response while the requester waits, resolution), none while its clock
-- stands still or every target is met. The list filters and sorts by it.
ALTER TABLE tickets ADD COLUMN sla_due_at timestamptz;
UPDATE tickets SET sla_due_at = LEAST(CASE WHEN first_responded_at IS NULL THEN first_response_due_at END, next_response_due_at, resolution_due_at)
    WHERE status IN ('new', 'open') AND sla_paused_at IS NULL;
CREATE INDEX tickets_sla_due_idx ON tickets (tenant_id, sla_due_at, id) WHERE sla_due_at IS NOT NULL;
