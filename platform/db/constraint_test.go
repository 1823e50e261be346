package db_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/clientele-crm/clientele/platform/db"
)

// A unique violation raised on a Citus shard names the shard's constraint,
// which carries the shard id; it is still the constraint the code asks about,
// and a constraint whose name merely starts the same is not.
func TestUniqueViolationOfAShardsConstraint(t *testing.T) {
	for _, c := range []struct {
		got  string
		want bool
	}{
		{"sla_policies_name_key", true},
		{"sla_policies_name_key_102243", true},
		{"sla_policies_name_key_", false},
		{"sla_policies_name_key_x1", false},
		{"sla_policies_name_key2", false},
		{"sla_policies_pkey_102243", false},
	} {
		err := &pgconn.PgError{Code: "23505", ConstraintName: c.got}
		if got := db.IsUniqueViolation(err, "sla_policies_name_key"); got != c.want {
			t.Errorf("%s: %v, want %v", c.got, got, c.want)
		}
	}
	// Citus passes on a worker's error with its message only.
	fromWorker := &pgconn.PgError{Code: "23505", Message: `duplicate key value violates unique constraint "sla_policies_name_key_102241"`}
	if !db.IsUniqueViolation(fromWorker, "sla_policies_name_key") || db.IsUniqueViolation(fromWorker, "sla_policies_pkey") {
		t.Error("the constraint named in a worker's message is not read")
	}
	if db.IsUniqueViolation(&pgconn.PgError{Code: "23503", ConstraintName: "sla_policies_name_key"}, "sla_policies_name_key") {
		t.Error("a foreign key violation is not a unique violation")
	}
}
