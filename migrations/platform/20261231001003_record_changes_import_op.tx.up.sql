-- The changes feed's "import" entries (records came in bulk: re-read what
-- changed since) were refused by the op check, so no import ever reached a
-- mirror. The check now takes them.
ALTER TABLE record_changes DROP CONSTRAINT record_changes_op_check;
ALTER TABLE record_changes ADD CONSTRAINT record_changes_op_check CHECK (op IN ('upsert', 'delete', 'import'));
