-- A delivered report's files are kept for the retention days
-- (CLIENTELE_REPORT_FILE_DAYS), then removed by a nightly job, which notes
-- when here so the inbox can say why a report has none.
ALTER TABLE bi_deliveries ADD COLUMN files_expired_at timestamptz;
CREATE INDEX bi_deliveries_sent_idx ON bi_deliveries (tenant_id, sent_at) WHERE files_expired_at IS NULL AND status = 'sent';
