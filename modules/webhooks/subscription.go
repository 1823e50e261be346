package webhooks

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
)

// Catalogue is every event type a subscription may name, besides "*" and
// "<object>.*". Modules publish them; docs/webhooks.md describes each.
var Catalogue = []string{
	"customer.created", "customer.updated", "customer.deleted", "customer.merged", "customers.imported",
	"interaction.created", "purchases.imported",
	"deal.created", "deal.updated", "deal.moved", "deal.won", "deal.lost", "deal.deleted", "deals.imported",
	"ticket.created", "ticket.updated", "ticket.status_changed", "ticket.replied", "ticket.noted", "ticket.merged", "tickets.imported",
	"task.created", "task.updated", "task.completed",
	TestEvent,
}

// TestEvent is what "send test event" delivers.
const TestEvent = "webhook.test"

// MaxSubscriptions is how many subscriptions a company may keep.
const MaxSubscriptions = 25

// Subscription is a URL that receives the events it names.
type Subscription struct {
	ID             uuid.UUID  `json:"id" bun:"id"`
	URL            string     `json:"url" bun:"url"`
	Description    string     `json:"description" bun:"description"`
	Events         []string   `json:"events" bun:"events,array"`
	Enabled        bool       `json:"enabled" bun:"enabled"`
	DisabledReason string     `json:"disabled_reason,omitempty" bun:"disabled_reason"`
	SecretHint     string     `json:"secret_hint" doc:"the signing secret's last four characters" bun:"-"`
	OldSecretUntil *time.Time `json:"old_secret_until,omitempty" doc:"until when deliveries are also signed with the secret before the last rotation" bun:"old_secret_until"`
	FailureStreak  int        `json:"failure_streak" doc:"failed attempts since the last success" bun:"failure_streak"`
	CreatedAt      time.Time  `json:"created_at" bun:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at" bun:"updated_at"`

	secret    string
	oldSecret *string
}

// subscriptionRow is how a subscription is read with its secrets.
type subscriptionRow struct {
	Subscription
	Secret    string  `bun:"secret"`
	OldSecret *string `bun:"old_secret"`
}

func (r subscriptionRow) public() Subscription {
	s := r.Subscription
	s.secret, s.oldSecret = r.Secret, r.OldSecret
	if n := len(r.Secret); n > 4 {
		s.SecretHint = "…" + r.Secret[n-4:]
	}
	if s.Events == nil {
		s.Events = []string{}
	}
	return s
}

// WithSecret is a subscription as created or rotated: the only time its secret
// is shown.
type WithSecret struct {
	Subscription
	Secret string `json:"secret" doc:"the signing secret; store it now, it is not shown again"`
}

// SubscriptionInput creates a subscription.
type SubscriptionInput struct {
	URL         string   `json:"url" maxLength:"2048" doc:"an https URL on the public internet"`
	Events      []string `json:"events" minItems:"1" maxItems:"64" doc:"event types (customer.created), <object>.* for all of one object, or * for every event"`
	Description string   `json:"description,omitempty" maxLength:"200"`
}

// SubscriptionPatch changes a subscription; absent fields stay.
type SubscriptionPatch struct {
	URL         *string  `json:"url,omitempty" maxLength:"2048"`
	Events      []string `json:"events,omitempty" maxItems:"64"`
	Description *string  `json:"description,omitempty" maxLength:"200"`
	Enabled     *bool    `json:"enabled,omitempty" doc:"switching a subscription back on clears its failure streak"`
}

var eventPattern = regexp.MustCompile(`^[a-z][a-z_]*\.(\*|[a-z][a-z_]*)$`)

// checkEvents refuses an event type that is not in the catalogue and not a
// wildcard over an object the catalogue has, naming the item.
func checkEvents(evs []string) ([]string, []errs.FieldError) {
	var bad []errs.FieldError
	seen := map[string]bool{}
	out := []string{}
	for i, e := range evs {
		e = strings.TrimSpace(e)
		loc := fmt.Sprintf("body.events[%d]", i)
		switch {
		case e == "*":
		case !eventPattern.MatchString(e):
			bad = append(bad, errs.FieldError{Location: loc, Message: "is not an event type; use one such as customer.created, customer.* or *", Value: e})
			continue
		case strings.HasSuffix(e, ".*"):
			obj := strings.TrimSuffix(e, "*")
			if !slices.ContainsFunc(Catalogue, func(c string) bool { return strings.HasPrefix(c, obj) }) {
				bad = append(bad, errs.FieldError{Location: loc, Message: "names no object that has events; see docs/webhooks.md for the list", Value: e})
				continue
			}
		case !slices.Contains(Catalogue, e):
			bad = append(bad, errs.FieldError{Location: loc, Message: "is not an event Clientele sends; see docs/webhooks.md for the list", Value: e})
			continue
		}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, bad
}

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// manage opens the tenant transaction of an admin's action on webhooks.
func (m *Module) manage(ctx context.Context, tenant uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) error {
	if err := authz.Require(ctx, PermManage); err != nil {
		return err
	}
	err := db.InTenant(ctx, m.d.DB, tenant, fn)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "webhook subscription not found")
	}
	return db.Classify(err, "webhook subscription")
}

const subColumns = "id, url, description, events, enabled, disabled_reason, secret, old_secret, old_secret_until, failure_streak, created_at, updated_at"

func getSub(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID, lock bool) (Subscription, error) {
	var r subscriptionRow
	q := "SELECT " + subColumns + " FROM webhook_subscriptions WHERE tenant_id = ? AND id = ?"
	if lock {
		q += " FOR UPDATE"
	}
	if err := tx.NewRaw(q, tenant, id).Scan(ctx, &r); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Subscription{}, errs.E(errs.NotFound, "webhook subscription not found")
		}
		return Subscription{}, err
	}
	return r.public(), nil
}

// checkURL refuses a URL deliveries may not go to, naming the field.
func (m *Module) checkURL(ctx context.Context, raw string) error {
	if err := m.d.Egress.CheckURL(ctx, strings.TrimSpace(raw)); err != nil {
		return errs.Field("body.url", err.Error())
	}
	return nil
}

// ListSubscriptions lists the company's subscriptions, oldest first.
func (m *Module) ListSubscriptions(ctx context.Context, tenant uuid.UUID) ([]Subscription, error) {
	out := []Subscription{}
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		var rows []subscriptionRow
		if err := tx.NewRaw("SELECT "+subColumns+" FROM webhook_subscriptions WHERE tenant_id = ? ORDER BY created_at, id", tenant).Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		for _, r := range rows {
			out = append(out, r.public())
		}
		return nil
	})
	return out, err
}

// GetSubscription returns one subscription, without its secret.
func (m *Module) GetSubscription(ctx context.Context, tenant, id uuid.UUID) (*Subscription, error) {
	var s Subscription
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) (err error) {
		s, err = getSub(ctx, tx, tenant, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// CreateSubscription saves a subscription and returns it with its new secret.
func (m *Module) CreateSubscription(ctx context.Context, tenant uuid.UUID, in SubscriptionInput) (*WithSecret, error) {
	if err := authz.Require(ctx, PermManage); err != nil {
		return nil, err
	}
	evs, bad := checkEvents(in.Events)
	if len(evs) == 0 && len(bad) == 0 {
		bad = append(bad, errs.FieldError{Location: "body.events", Message: "names no event; give at least one, or *"})
	}
	if len(bad) > 0 {
		return nil, errs.E(errs.Invalid, "Some event types are not ones Clientele sends.").WithFields(bad...)
	}
	if err := m.checkURL(ctx, in.URL); err != nil {
		return nil, err
	}
	secret := newSecret()
	id := uuid.New()
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM webhook_subscriptions WHERE tenant_id = ?", tenant).Scan(ctx, &n); err != nil {
			return err
		}
		if n >= MaxSubscriptions {
			return errs.E(errs.Conflict, "The company has %d webhook subscriptions, the most it may keep. Delete one, or point one at more events.", n)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_subscriptions (tenant_id, id, url, description, events, secret, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, tenant, id, strings.TrimSpace(in.URL), strings.TrimSpace(in.Description), pgArray(evs), secret, authz.RequesterID(ctx))
		return err
	})
	if err != nil {
		return nil, err
	}
	m.forget(tenant)
	s, err := m.GetSubscription(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &WithSecret{Subscription: *s, Secret: secret}, nil
}

// UpdateSubscription changes a subscription.
func (m *Module) UpdateSubscription(ctx context.Context, tenant, id uuid.UUID, p SubscriptionPatch) (*Subscription, error) {
	if err := authz.Require(ctx, PermManage); err != nil {
		return nil, err
	}
	var evs []string
	if p.Events != nil {
		var bad []errs.FieldError
		evs, bad = checkEvents(p.Events)
		if len(evs) == 0 && len(bad) == 0 {
			bad = append(bad, errs.FieldError{Location: "body.events", Message: "names no event; give at least one, or *"})
		}
		if len(bad) > 0 {
			return nil, errs.E(errs.Invalid, "Some event types are not ones Clientele sends.").WithFields(bad...)
		}
	}
	if p.URL != nil {
		if err := m.checkURL(ctx, *p.URL); err != nil {
			return nil, err
		}
	}
	var s Subscription
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := getSub(ctx, tx, tenant, id, true); err != nil {
			return err
		}
		q := tx.NewUpdate().Table("webhook_subscriptions").Where("tenant_id = ? AND id = ?", tenant, id).Set("updated_at = now()")
		if p.URL != nil {
			q = q.Set("url = ?", strings.TrimSpace(*p.URL))
		}
		if p.Description != nil {
			q = q.Set("description = ?", strings.TrimSpace(*p.Description))
		}
		if evs != nil {
			q = q.Set("events = ?", pgArray(evs))
		}
		if p.Enabled != nil {
			q = q.Set("enabled = ?", *p.Enabled)
			if *p.Enabled {
				q = q.Set("disabled_reason = '', failure_streak = 0, failing_since = NULL")
			} else {
				q = q.Set("disabled_reason = ?", "switched off by an admin")
			}
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		var err error
		s, err = getSub(ctx, tx, tenant, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	m.forget(tenant)
	return &s, nil
}

// DeleteSubscription removes a subscription and its delivery log.
func (m *Module) DeleteSubscription(ctx context.Context, tenant, id uuid.UUID) error {
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		return db.ExecOne(ctx, tx, "DELETE FROM webhook_subscriptions WHERE tenant_id = ? AND id = ?", tenant, id)
	})
	m.forget(tenant)
	return err
}

// MaxGrace is the longest both secrets stay valid after a rotation.
const MaxGrace = 7 * 24 * time.Hour

// RotateSecret gives a subscription a new secret. For grace, deliveries are
// signed with both, so receivers can switch over without missing one.
func (m *Module) RotateSecret(ctx context.Context, tenant, id uuid.UUID, grace time.Duration) (*WithSecret, error) {
	if grace < 0 || grace > MaxGrace {
		return nil, errs.Field("body.grace_hours", fmt.Sprintf("must be between 0 and %d hours", int(MaxGrace.Hours())))
	}
	secret := newSecret()
	var s Subscription
	err := m.manage(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := getSub(ctx, tx, tenant, id, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_subscriptions SET old_secret = CASE WHEN ?::bigint > 0 THEN secret END,
			old_secret_until = CASE WHEN ?::bigint > 0 THEN now() + make_interval(secs => ?::bigint) END, secret = ?, updated_at = now()
			WHERE tenant_id = ? AND id = ?`, int64(grace.Seconds()), int64(grace.Seconds()), int64(grace.Seconds()), secret, tenant, id); err != nil {
			return err
		}
		var err error
		s, err = getSub(ctx, tx, tenant, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &WithSecret{Subscription: s, Secret: secret}, nil
}

// pgArray renders a text array for a raw statement.
func pgArray(ss []string) any { return pgdialect.Array(ss) }
