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

// mailWindow is how long notices wait to share one mail: a member whose 20
// reminders fall due in the same minute gets a few mails, not 20.
const mailWindow = 5 * time.Second

// maxDigest caps the notices one mail carries; more wait for the next mail.
const maxDigest = 100

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
	created := false
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		email := false
		if s.d.Mail != nil {
			p, err := preference(ctx, tx, tenant, recipient)
			if err != nil {
				return err
			}
			email = p.Email
		}
		var state *string
		if email {
			pending := "pending"
			state = &pending
		}
		var id uuid.UUID
		err := tx.NewRaw(`INSERT INTO notifications (tenant_id, recipient_id, kind, title, body, link, source_key, email_state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, source_key) DO NOTHING RETURNING id`,
			tenant, recipient, cut(n.Kind, 100), cut(n.Title, maxTitle), cut(n.Body, maxBody), cut(n.Link, maxLink), n.SourceKey, state).Scan(ctx, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // delivered before: nothing more to do
		}
		if err != nil {
			return err
		}
		created = true
		if !email {
			return nil
		}
		return s.scheduleMail(ctx, tx, tenant, recipient, id, n)
	})
	if err != nil {
		return false, db.Classify(err, "notification")
	}
	return created, nil
}

// Addressed is a notice for one recipient, for NotifyMany.
type Addressed struct {
	Recipient uuid.UUID
	Notice
}

// BatchNotifier notifies many members in one go; *Service implements it. A
// module delivering many notices at once (due reminders) uses it when its
// Notifier offers it, and Notify one by one otherwise.
type BatchNotifier interface {
	NotifyMany(ctx context.Context, tenant uuid.UUID, ns []Addressed) (created int, err error)
}

// MaxBatch caps the notices one NotifyMany takes.
const MaxBatch = 1000

var _ BatchNotifier = (*Service)(nil)

// NotifyMany is Notify for many notices in one statement: each is stored
// unless one with its source key exists, and each recipient wanting email
// gets their mail scheduled once for all their new notices (the same
// windowed mail job Notify uses). It joins the tenant transaction ctx
// carries; created counts the notices this call made.
func (s *Service) NotifyMany(ctx context.Context, tenant uuid.UUID, ns []Addressed) (int, error) {
	if len(ns) == 0 {
		return 0, nil
	}
	if len(ns) > MaxBatch {
		return 0, errs.InternalErr(fmt.Errorf("notify: %d notices in one batch; at most %d", len(ns), MaxBatch))
	}
	for _, a := range ns {
		if a.Recipient == uuid.Nil || a.Kind == "" || a.SourceKey == "" || strings.TrimSpace(a.Title) == "" {
			return 0, errs.InternalErr(fmt.Errorf("notify: a notice needs a recipient, kind, title and source key (kind %q)", a.Kind))
		}
		if len(a.SourceKey) > maxKey {
			return 0, errs.InternalErr(fmt.Errorf("notify: source key longer than %d bytes", maxKey))
		}
	}
	created := 0
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		email := map[uuid.UUID]bool{}
		if s.d.Mail != nil {
			for _, a := range ns {
				if _, seen := email[a.Recipient]; seen {
					continue
				}
				p, err := preference(ctx, tx, tenant, a.Recipient)
				if err != nil {
					return err
				}
				email[a.Recipient] = p.Email
			}
		}
		var sqlb strings.Builder
		sqlb.WriteString("INSERT INTO notifications (tenant_id, recipient_id, kind, title, body, link, source_key, email_state) VALUES ")
		args := make([]any, 0, 8*len(ns))
		for i, a := range ns {
			if i > 0 {
				sqlb.WriteString(", ")
			}
			sqlb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			var state *string
			if email[a.Recipient] {
				pending := "pending"
				state = &pending
			}
			args = append(args, tenant, a.Recipient, cut(a.Kind, 100), cut(a.Title, maxTitle), cut(a.Body, maxBody), cut(a.Link, maxLink), a.SourceKey, state)
		}
		sqlb.WriteString(" ON CONFLICT (tenant_id, source_key) DO NOTHING RETURNING id, recipient_id, source_key")
		var rows []struct {
			ID        uuid.UUID `bun:"id"`
			Recipient uuid.UUID `bun:"recipient_id"`
			SourceKey string    `bun:"source_key"`
		}
		if err := tx.NewRaw(sqlb.String(), args...).Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		created = len(rows)
		byKey := make(map[string]Notice, len(ns))
		for _, a := range ns {
			byKey[a.SourceKey] = a.Notice
		}
		mailed := map[uuid.UUID]bool{}
		for _, r := range rows {
			if !email[r.Recipient] || (mailed[r.Recipient] && s.d.Jobs != nil) {
				continue
			}
			mailed[r.Recipient] = true
			if err := s.scheduleMail(ctx, tx, tenant, r.Recipient, r.ID, byKey[r.SourceKey]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, db.Classify(err, "notification")
	}
	return created, nil
}

type mailPayload struct {
	Recipient uuid.UUID `json:"recipient"`
}

// scheduleMail makes sure a mail job will send the pending notice: the job of
// the recipient's current window, due when the window closes. That job is
// locked (FOR SHARE) until this transaction commits, so it cannot start before
// the notice is visible to it; when it has started already, the notice gets a
// job of its own. Without jobs the notice is mailed once it commits.
func (s *Service) scheduleMail(ctx context.Context, tx bun.Tx, tenant, recipient, id uuid.UUID, n Notice) error {
	if s.d.Jobs == nil {
		db.AfterCommit(ctx, func(ctx context.Context) {
			if err := s.d.Mail.MailMember(context.WithoutCancel(ctx), tenant, recipient, subject([]Notice{n}), text([]Notice{n})); err != nil {
				s.d.Log.WarnContext(ctx, "notify: mail failed; the in-app notice stands", "kind", n.Kind, "error", err.Error())
			}
		})
		return nil
	}
	// A mail job sends whatever notices of the recipient fall due in its
	// window, whoever caused them: the platform's own delivery, done with
	// nobody's rights, so it acts as the system, explicitly.
	ctx = authz.AsSystem(ctx)
	window := time.Now().Truncate(mailWindow)
	j, err := s.d.Jobs.Enqueue(ctx, tenant, jobs.Spec{Type: TypeMail, Queue: jobs.QueueDefault, RunAt: window.Add(mailWindow + time.Second),
		Payload: mailPayload{Recipient: recipient}, DedupeKey: fmt.Sprintf("mail:%s:%d", recipient, window.UnixMilli())})
	if err != nil {
		return err
	}
	var queued bool
	if err := tx.NewRaw("SELECT true FROM jobs WHERE tenant_id = ? AND id = ? AND status = ? FOR SHARE", tenant, j.ID, jobs.StatusQueued).Scan(ctx, &queued); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if queued {
		return nil
	}
	_, err = s.d.Jobs.Enqueue(ctx, tenant, jobs.Spec{Type: TypeMail, Queue: jobs.QueueDefault,
		Payload: mailPayload{Recipient: recipient}, DedupeKey: "mail:" + id.String()})
	return err
}

// deliverMail sends one mail with the recipient's pending notices, oldest
// first, and marks them sent in the same transaction: a failed send leaves
// them pending for the retry. A member who turned email off since gets
// nothing, and the notices are marked skipped.
func (s *Service) deliverMail(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
	var p mailPayload
	if err := j.Decode(&p); err != nil || p.Recipient == uuid.Nil {
		return errs.E(errs.Invalid, "malformed notification mail payload")
	}
	var rows []struct {
		ID    uuid.UUID `bun:"id"`
		Kind  string    `bun:"kind"`
		Title string    `bun:"title"`
		Body  string    `bun:"body"`
		Link  string    `bun:"link"`
	}
	if err := tx.NewRaw(`SELECT id, kind, title, body, link FROM notifications
		WHERE tenant_id = ? AND recipient_id = ? AND email_state = 'pending'
		ORDER BY created_at, id LIMIT ? FOR UPDATE SKIP LOCKED`, j.TenantID, p.Recipient, maxDigest+1).Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	more := len(rows) > maxDigest
	if more {
		rows = rows[:maxDigest]
	}
	ids := make([]uuid.UUID, len(rows))
	ns := make([]Notice, len(rows))
	for i, r := range rows {
		ids[i], ns[i] = r.ID, Notice{Kind: r.Kind, Title: r.Title, Body: r.Body, Link: r.Link}
	}
	pref, err := preference(ctx, tx, j.TenantID, p.Recipient)
	if err != nil {
		return err
	}
	state := "sent"
	if !pref.Email || s.d.Mail == nil {
		state = "skipped"
	}
	if _, err := tx.ExecContext(ctx, "UPDATE notifications SET email_state = ? WHERE tenant_id = ? AND id IN (?)", state, j.TenantID, bun.In(ids)); err != nil {
		return err
	}
	if more {
		if _, err := s.d.Jobs.Enqueue(ctx, j.TenantID, jobs.Spec{Type: TypeMail, Queue: jobs.QueueDefault,
			Payload: mailPayload{Recipient: p.Recipient}, DedupeKey: "mail:" + j.ID.String() + ":more"}); err != nil {
			return err
		}
	}
	if state == "skipped" {
		return nil
	}
	return s.d.Mail.MailMember(ctx, j.TenantID, p.Recipient, subject(ns), text(ns))
}

// subject and text are the mail of some notices, in English and Chinese: one
// notice reads as it did before notices were batched; several are listed.
func subject(ns []Notice) string {
	if len(ns) == 1 {
		if ns[0].Kind == "task.reminder" {
			return "Reminder: " + ns[0].Title
		}
		return ns[0].Title
	}
	return fmt.Sprintf("%d notifications: %s, … / %d 条通知", len(ns), cut(ns[0].Title, 60), len(ns))
}

func text(ns []Notice) string {
	var b strings.Builder
	for i, n := range ns {
		if i > 0 {
			b.WriteString("\n\n")
		}
		if n.Kind == "task.reminder" {
			b.WriteString("Reminder: " + n.Title + "\n提醒：" + n.Title)
		} else {
			b.WriteString(n.Title)
		}
		if n.Body != "" {
			b.WriteString("\n" + n.Body)
		}
	}
	b.WriteString("\n\nOpen them in Clientele under Notifications. 在 Clientele 的通知中查看。")
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
