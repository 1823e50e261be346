-- Members without jobs.manage list only the jobs they asked for: this index keeps
-- that list a walk of their own rows, newest first, however many jobs (reminders
-- among them) the company has.
CREATE INDEX jobs_tenant_requester_idx ON jobs (tenant_id, created_by, created_at DESC, id DESC);
