package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/tenants"
)

// unavailableIdentities answers every sign-in with 503 until Kratos is wired.
type unavailableIdentities struct{}

func (unavailableIdentities) Verify(context.Context, string, string) (tenants.Session, error) {
	return tenants.Session{}, errs.E(errs.Unavailable, "Sign-in is unavailable right now (identity service not configured); try again in a minute.")
}
func (unavailableIdentities) Logout(context.Context, string, string) error { return nil }
func (unavailableIdentities) Invite(context.Context, string, string, time.Duration) (uuid.UUID, string, string, error) {
	return uuid.Nil, "", "", errs.E(errs.Unavailable, "Invitations are unavailable right now (identity service not configured).")
}

func newIdentityProvider(cfg config.Config, log *slog.Logger) tenants.IdentityProvider {
	return unavailableIdentities{}
}

type logMailer struct{ log *slog.Logger }

func (m logMailer) Send(ctx context.Context, mail tenants.Mail) error {
	m.log.InfoContext(ctx, "mail: not sent (no mailer configured)", "subject_len", len(mail.Subject))
	return nil
}

func newMailer(cfg config.Config, log *slog.Logger) tenants.Mailer { return logMailer{log: log} }
