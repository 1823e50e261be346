package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/config"
	"github.com/clientele-crm/clientele/platform/identity"
	"github.com/clientele-crm/clientele/platform/invalidate"
	"github.com/clientele-crm/clientele/tenants"
)

// kratosIdentities adapts the Kratos client to what tenants needs.
type kratosIdentities struct{ k *identity.Kratos }

func newKratos(cfg config.Config, log *slog.Logger, reg prometheus.Registerer, rdb redis.UniversalClient, b *breaker.Breaker, bus *invalidate.Bus) *identity.Kratos {
	return identity.New(identity.Options{PublicURL: cfg.KratosPublicURL, AdminURL: cfg.KratosAdminURL, Metrics: reg, Logger: log, Redis: rdb, Bus: bus,
		Timeout: cfg.KratosTimeout, Breaker: b,
		SignIn: identity.SignInLimits{PerIdentifier: cfg.SignInPerIdentifier, PerAddress: cfg.SignInPerIP, Window: cfg.SignInWindow}})
}

func (a kratosIdentities) Verify(ctx context.Context, token, cookie string) (tenants.Session, error) {
	s, setCookies, err := a.k.Whoami(ctx, token, cookie)
	if err != nil {
		return tenants.Session{}, err
	}
	return tenants.Session{IdentityID: s.Identity.ID, Email: s.Identity.Email, Name: s.Identity.Name, ExpiresAt: s.ExpiresAt, SetCookies: setCookies}, nil
}

func (a kratosIdentities) Logout(ctx context.Context, token, cookie string) error {
	return a.k.Logout(ctx, token, cookie)
}

func (a kratosIdentities) Invite(ctx context.Context, email, name string, ttl time.Duration) (uuid.UUID, string, string, error) {
	id, _, err := a.k.CreateIdentity(ctx, email, name)
	if err != nil {
		return uuid.Nil, "", "", err
	}
	link, code, err := a.k.RecoveryLink(ctx, id.ID, ttl)
	if err != nil {
		return uuid.Nil, "", "", err
	}
	return id.ID, link, code, nil
}

type mailAdapter struct{ m identity.Mailer }

// moduleMail is the configured mailer as modules take it (identity.Mailer).
type moduleMail struct{ m tenants.Mailer }

func (a moduleMail) Send(ctx context.Context, m identity.Mail) error {
	return a.m.Send(ctx, tenants.Mail{To: m.To, Subject: m.Subject, Text: m.Text})
}

func (a mailAdapter) Send(ctx context.Context, m tenants.Mail) error {
	return a.m.Send(ctx, identity.Mail{To: m.To, Subject: m.Subject, Text: m.Text})
}

func newMailer(cfg config.Config, log *slog.Logger) (tenants.Mailer, error) {
	m, err := identity.NewMailer(cfg.MailURL, filepath.Join(cfg.DataDir, "mail"), log)
	if err != nil {
		return nil, err
	}
	return mailAdapter{m: m}, nil
}

// reportMembers gives BI's scheduled reports the members' rights and roles
// (tenants, once built) and mail with attachments through the configured
// mailer.
type reportMembers struct {
	dir  *lateDirectory
	mail tenants.Mailer
}

func (r reportMembers) MemberActor(ctx context.Context, tenant, id uuid.UUID) (authz.Actor, error) {
	return r.dir.d.MemberActor(ctx, tenant, id)
}

func (r reportMembers) MembersWithRole(ctx context.Context, tenant uuid.UUID, role string) ([]uuid.UUID, error) {
	return r.dir.d.MembersWithRole(ctx, tenant, role)
}

// MailMemberFiles sends through the identity mailer, which carries
// attachments; another mailer (a stand-in) gets the text alone, and the
// files stay in the report inbox.
func (r reportMembers) MailMemberFiles(ctx context.Context, tenant, member uuid.UUID, m identity.Mail) error {
	if r.mail == nil {
		return nil
	}
	email, err := r.dir.d.MemberEmail(ctx, tenant, member)
	if err != nil {
		return err
	}
	m.To = email
	if a, ok := r.mail.(mailAdapter); ok {
		return a.m.Send(ctx, m)
	}
	return r.mail.Send(ctx, tenants.Mail{To: m.To, Subject: m.Subject, Text: m.Text})
}
