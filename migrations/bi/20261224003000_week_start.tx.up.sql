-- The day a company's weeks start on, for BI's weekly buckets (modules/bi):
-- ISO numbering, 1 Monday ... 7 Sunday. Monday is the default in China and
-- under ISO 8601; a company in the US picks Sunday.
ALTER TABLE tenants ADD COLUMN week_start smallint NOT NULL DEFAULT 1 CHECK (week_start BETWEEN 1 AND 7);
