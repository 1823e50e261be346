package notify

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Module is the kernel module serving the notification centre: every member's
// own notices and email preference, under /api/v1/t/{tenant}/notifications.
type Module struct{ s *Service }

// NewModule wraps the service as a module.
func NewModule(s *Service) *Module { return &Module{s: s} }

// Name is the job namespace ("notifications:mail").
func (m *Module) Name() string { return "notifications" }

// Jobs declares the mail task.
func (m *Module) Jobs() []jobs.Handler { return m.s.Jobs() }

// APITags describes the tag of the notification operations.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{{Name: "notifications", Description: "The caller's notifications and how they are delivered."}}
}

// Notification is one in-app message.
type Notification struct {
	ID        uuid.UUID  `json:"id" bun:"id"`
	Kind      string     `json:"kind" bun:"kind"`
	Title     string     `json:"title" bun:"title"`
	Body      string     `json:"body" bun:"body"`
	Link      string     `json:"link" bun:"link"`
	CreatedAt time.Time  `json:"created_at" bun:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty" bun:"read_at"`
}

// me is the tenant and the actor the routes act for: every notice and
// preference is the caller's own (an API key's inbox is its own, and empty).
func me(ctx context.Context) (uuid.UUID, uuid.UUID, error) {
	tn, err := tenancy.MustFrom(ctx)
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	return tn.ID, authz.ActorFrom(ctx).ID, nil
}

// Routes registers the notification centre.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	type notesOut struct {
		Body struct {
			Items  []Notification `json:"items"`
			Unread int            `json:"unread"`
		} `nameHint:"NotificationList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-notifications", Method: http.MethodGet, Path: "/notifications", Summary: "My notifications, newest first, with the unread count",
		Description: "The caller's own notifications (reminders of tasks falling due, and what other modules send), newest first, and how many are unread."},
		func(ctx context.Context, in *struct {
			Limit int `query:"limit" minimum:"1" maximum:"200" default:"50"`
		}) (*notesOut, error) {
			tenant, member, err := me(ctx)
			if err != nil {
				return nil, err
			}
			out := &notesOut{}
			out.Body.Items = []Notification{}
			err = db.InTenant(ctx, m.s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
				if err := tx.NewRaw(`SELECT id, kind, title, body, link, created_at, read_at FROM notifications WHERE tenant_id = ? AND recipient_id = ?
					ORDER BY created_at DESC, id DESC LIMIT ?`, tenant, member, in.Limit).Scan(ctx, &out.Body.Items); err != nil && !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				return tx.NewRaw("SELECT count(*) FROM notifications WHERE tenant_id = ? AND recipient_id = ? AND read_at IS NULL", tenant, member).Scan(ctx, &out.Body.Unread)
			})
			return out, db.Classify(err, "notification")
		})
	type idIn struct {
		ID uuid.UUID `path:"id"`
	}
	huma.Register(api, huma.Operation{OperationID: "read-notification", Method: http.MethodPost, Path: "/notifications/{id}/read", DefaultStatus: 204, Summary: "Mark one notification read",
		Description: "Marks one of the caller's notifications read; reading it twice is harmless."},
		func(ctx context.Context, in *idIn) (*struct{}, error) {
			tenant, member, err := me(ctx)
			if err != nil {
				return nil, err
			}
			err = db.InTenant(ctx, m.s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
				res, err := tx.ExecContext(ctx, "UPDATE notifications SET read_at = least(read_at, now()) WHERE tenant_id = ? AND id = ? AND recipient_id = ?", tenant, in.ID, member)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					return errs.E(errs.NotFound, "notification not found")
				}
				return nil
			})
			return nil, err
		})
	huma.Register(api, huma.Operation{OperationID: "read-all-notifications", Method: http.MethodPost, Path: "/notifications/read-all", DefaultStatus: 204, Summary: "Mark all my notifications read",
		Description: "Marks every unread notification of the caller read."},
		func(ctx context.Context, _ *struct{}) (*struct{}, error) {
			tenant, member, err := me(ctx)
			if err != nil {
				return nil, err
			}
			return nil, db.InTenant(ctx, m.s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE notifications SET read_at = now() WHERE tenant_id = ? AND recipient_id = ? AND read_at IS NULL", tenant, member)
				return err
			})
		})
	type prefOut struct{ Body Preference }
	huma.Register(api, huma.Operation{OperationID: "get-notification-preferences", Method: http.MethodGet, Path: "/notifications/preferences", Summary: "How I hear of notifications",
		Description: "The caller's delivery preference: every notification shows in the app; email adds a mail to the caller's address in this company."},
		func(ctx context.Context, _ *struct{}) (*prefOut, error) {
			tenant, member, err := me(ctx)
			if err != nil {
				return nil, err
			}
			p, err := m.s.GetPreference(ctx, tenant, member)
			if err != nil {
				return nil, err
			}
			return &prefOut{Body: p}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "set-notification-preferences", Method: http.MethodPut, Path: "/notifications/preferences", Summary: "Choose how I hear of notifications",
		Description: "Sets the caller's delivery preference for the notifications that come after."},
		func(ctx context.Context, in *struct{ Body Preference }) (*prefOut, error) {
			tenant, member, err := me(ctx)
			if err != nil {
				return nil, err
			}
			if err := m.s.SetPreference(ctx, tenant, member, in.Body); err != nil {
				return nil, err
			}
			return &prefOut{Body: in.Body}, nil
		})
}
