package notify

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
)

// Preference is how a member wants to hear of notices. Every notice is in the
// app; Email adds a mail. It defaults to on: reminders of tasks falling due are
// what a salesperson away from the screen must not miss, and they were mailed
// before members could choose.
type Preference struct {
	Email bool `json:"email" doc:"also email each notification (reminders included); default true"`
}

// DefaultPreference is a member's preference until they change it.
var DefaultPreference = Preference{Email: true}

func preference(ctx context.Context, tx bun.Tx, tenant, member uuid.UUID) (Preference, error) {
	p := DefaultPreference
	err := tx.NewRaw("SELECT email FROM notification_preferences WHERE tenant_id = ? AND member_id = ?", tenant, member).Scan(ctx, &p.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultPreference, nil
	}
	return p, err
}

// GetPreference returns a member's preference.
func (s *Service) GetPreference(ctx context.Context, tenant, member uuid.UUID) (Preference, error) {
	var p Preference
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		p, err = preference(ctx, tx, tenant, member)
		return err
	})
	return p, db.Classify(err, "notification preference")
}

// SetPreference stores a member's preference.
func (s *Service) SetPreference(ctx context.Context, tenant, member uuid.UUID, p Preference) error {
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		// The time goes through EXCLUDED: Citus refuses now() in DO UPDATE SET.
		_, err := tx.ExecContext(ctx, `INSERT INTO notification_preferences (tenant_id, member_id, email, updated_at) VALUES (?, ?, ?, now())
			ON CONFLICT (tenant_id, member_id) DO UPDATE SET email = excluded.email, updated_at = excluded.updated_at`, tenant, member, p.Email)
		return err
	})
	return db.Classify(err, "notification preference")
}
