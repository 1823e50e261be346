// Package notify is the platform's notification centre. A module notifies a
// member with Notify and knows nothing of how notices are stored or delivered:
// each notice is one in-app row, keyed by its source so that a repeated Notify
// adds nothing, and, by the member's preference, one email, sent by a job so a
// worker killed before the mail went out sends it on the next run.
package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/jobs"
)

// TypeMail is the task that emails one notice.
const TypeMail = "notifications:mail"

// Notice is one thing a member should know.
type Notice struct {
	Kind  string // "task.reminder": what it is, for filters and icons
	Title string
	Body  string
	Link  string // a path in the web app, such as /tasks/<id>
	// SourceKey identifies what caused the notice, such as "task:<id>:<time>":
	// a second Notify with the same key adds nothing.
	SourceKey string
}

// Notifier is what a module needs to notify members; *Service implements it.
type Notifier interface {
	Notify(ctx context.Context, tenant, recipient uuid.UUID, n Notice) (created bool, err error)
}

// MemberMailer emails a member of a tenant; tenants knows their address.
type MemberMailer interface {
	MailMember(ctx context.Context, tenant, member uuid.UUID, subject, text string) error
}

// Enqueuer records a job in the caller's transaction (platform/jobs.Client).
type Enqueuer interface {
	Enqueue(ctx context.Context, tenant uuid.UUID, s jobs.Spec) (*jobs.Job, error)
}

// Deps are what the notification centre needs, built in cmd.
type Deps struct {
	DB   *bun.DB
	Jobs Enqueuer     // the mail job; nil: mail right after commit, best effort
	Mail MemberMailer // nil: no email at all
	Log  *slog.Logger
}

// Service stores and delivers notices.
type Service struct{ d Deps }

// New builds the service.
func New(d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{d: d}
}

// Caps on what a notice may carry; a longer text is cut, not refused, because
// the notifier is a module, not a person who could fix it.
const (
	maxTitle = 300
	maxBody  = 2000
	maxLink  = 500
	maxKey   = 200
)

// Notify stores the notice for recipient unless one with the same source key
// exists, and schedules its email when the recipient wants email. It joins the
// tenant transaction ctx carries, so the notice exists exactly when the
// caller's change does; created says whether this call made it.
func (s *Service) Notify(ctx context.Context, tenant, recipient uuid.UUID, n Notice) (bool, error) {
	if recipient == uuid.Nil || n.Kind == "" || n.SourceKey == "" || strings.TrimSpace(n.Title) == "" {
		return false, errs.InternalErr(fmt.Errorf("notify: a notice needs a recipient, kind, title and source key (kind %q)", n.Kind))
	}
	if len(n.SourceKey) > maxKey {
		return false, errs.InternalErr(fmt.Errorf("notify: source key longer than %d bytes", maxKey))
	}
	var id uuid.UUID
	created := false
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewRaw(`INSERT INTO notifications (tenant_id, recipient_id, kind, title, body, link, source_key)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, source_key) DO NOTHING RETURNING id`,
			tenant, recipient, cut(n.Kind, 100), cut(n.Title, maxTitle), cut(n.Body, maxBody), cut(n.Link, maxLink), n.SourceKey).Scan(ctx, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // delivered before: nothing more to do
		}
		if err != nil {
			return err
		}
		created = true
		if s.d.Mail == nil {
			return nil
		}
		p, err := preference(ctx, tx, tenant, recipient)
		if err != nil || !p.Email {
			return err
		}
		return s.scheduleMail(ctx, tenant, id, recipient, n)
	})
	if err != nil {
		return false, db.Classify(err, "notification")
	}
	return created, nil
}

type mailPayload struct {
	Notification uuid.UUID `json:"notification"`
}

// scheduleMail records the mail job in the notice's transaction; without jobs
// the mail goes out once it commits.
func (s *Service) scheduleMail(ctx context.Context, tenant, id, recipient uuid.UUID, n Notice) error {
	if s.d.Jobs != nil {
		// Mailing a notice already made is the platform's own delivery, done
		// with nobody's rights: it acts as the system, explicitly.
		_, err := s.d.Jobs.Enqueue(authz.AsSystem(ctx), tenant, jobs.Spec{Type: TypeMail, Queue: jobs.QueueDefault,
			Payload: mailPayload{Notification: id}, DedupeKey: "mail:" + n.SourceKey})
		return err
	}
	db.AfterCommit(ctx, func(ctx context.Context) {
		if err := s.d.Mail.MailMember(context.WithoutCancel(ctx), tenant, recipient, subject(n), text(n)); err != nil {
			s.d.Log.WarnContext(ctx, "notify: mail failed; the in-app notice stands", "kind", n.Kind, "error", err.Error())
		}
	})
	return nil
}

// deliverMail emails one stored notice. A member who turned email off since,
// or a notice deleted meanwhile, gets nothing. A failed send is retried by the
// job; the SMTP server, not the job, is the one place a duplicate could arise.
func (s *Service) deliverMail(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
	var p mailPayload
	if err := j.Decode(&p); err != nil {
		return errs.E(errs.Invalid, "malformed notification mail payload")
	}
	var row struct {
		Recipient uuid.UUID `bun:"recipient_id"`
		Kind      string    `bun:"kind"`
		Title     string    `bun:"title"`
		Body      string    `bun:"body"`
		Link      string    `bun:"link"`
	}
	err := tx.NewRaw("SELECT recipient_id, kind, title, body, link FROM notifications WHERE tenant_id = ? AND id = ?", j.TenantID, p.Notification).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	pref, err := preference(ctx, tx, j.TenantID, row.Recipient)
	if err != nil || !pref.Email || s.d.Mail == nil {
		return err
	}
	n := Notice{Kind: row.Kind, Title: row.Title, Body: row.Body, Link: row.Link}
	return s.d.Mail.MailMember(ctx, j.TenantID, row.Recipient, subject(n), text(n))
}

// subject and text are the mail of a notice, in English and Chinese.
func subject(n Notice) string {
	if n.Kind == "task.reminder" {
		return "Reminder: " + n.Title
	}
	return n.Title
}

func text(n Notice) string {
	var b strings.Builder
	b.WriteString(subject(n))
	if n.Kind == "task.reminder" {
		b.WriteString("\n提醒：" + n.Title)
	}
	if n.Body != "" {
		b.WriteString("\n\n" + n.Body)
	}
	b.WriteString("\n\nOpen it in Clientele under Notifications. 在 Clientele 的通知中查看。")
	return b.String()
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Jobs declares the mail task; it runs on the default queue, behind reminders.
func (s *Service) Jobs() []jobs.Handler {
	return []jobs.Handler{{Type: TypeMail, Queue: jobs.QueueDefault, Timeout: 30 * time.Second, Run: s.deliverMail}}
}
