-- An Idempotency-Key claim is held by a lease its request renews while it
-- runs. A replica that dies mid-request stops renewing, and a retry takes the
-- key over once the lease runs out (seconds), instead of being told to wait
-- for a fixed two minutes. NULL: a claim made before this column, which holds
-- for two minutes from its creation as it did.
ALTER TABLE idempotency_keys ADD COLUMN lease_until timestamptz;
