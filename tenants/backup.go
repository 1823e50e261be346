package tenants

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/backup"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// BackupPath is the owner's download of the company's archive, under
// /api/v1/t/{tenant}. It is a raw route (a stream of any size never sits in
// memory, which a Huma response would), described in the API document under
// the "close" tag.
const BackupPath = "/backup"

// backups holds the companies whose archive is being written: one at a time
// per company, so a double click does not take two database connections.
type backups struct {
	mu      sync.Mutex
	running map[uuid.UUID]bool
}

func (b *backups) start(id uuid.UUID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running == nil {
		b.running = map[uuid.UUID]bool{}
	}
	if b.running[id] {
		return false
	}
	b.running[id] = true
	return true
}

func (b *backups) done(id uuid.UUID) {
	b.mu.Lock()
	delete(b.running, id)
	b.mu.Unlock()
}

var runningBackups backups

// backupRoute registers the download of the company's archive.
func (s *Service) backupRoute(r fiber.Router) {
	r.Get(BackupPath, s.downloadBackup)
}

// downloadBackup streams the company's archive (platform/backup) as it is
// written: every record, file, member and setting, with a manifest and
// checksums. Only an owner, signed in, may take it: it holds everything,
// sensitive values sealed. The download is in the audit log.
func (s *Service) downloadBackup(c *fiber.Ctx) error {
	ctx := c.UserContext()
	t, err := tenancy.MustFrom(ctx)
	if err != nil {
		return err
	}
	a := authz.ActorFrom(ctx)
	if a.Kind != authz.ActorUser || a.Role != RoleOwner {
		return errs.E(errs.Forbidden, "Only an owner, signed in, can download the company's backup; ask one of its owners.")
	}
	if !runningBackups.start(t.ID) {
		return errs.E(errs.RateLimited, "A backup of this company is being downloaded already; try again when it has finished.")
	}
	err = db.InTenant(ctx, s.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{Action: "tenant.backup", Entity: "tenant", EntityID: t.ID.String()})
	})
	if err != nil {
		runningBackups.done(t.ID)
		return err
	}
	pr, pw := io.Pipe()
	log := s.d.Log
	go func() {
		defer runningBackups.done(t.ID)
		// The stream outlives the handler; it stops when the client goes
		// (the pipe is closed) or after a generous deadline.
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Hour)
		defer cancel()
		err := ExportCompany(ectx, s, t.ID, pw)
		if err != nil && !errors.Is(err, io.ErrClosedPipe) && log != nil {
			log.Warn("tenant backup failed", "tenant", t.ID.String(), "error", err.Error())
		}
		pw.CloseWithError(err)
	}()
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-backup-%s.zip"`, t.Slug, time.Now().UTC().Format("20060102-1504")))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendStream(pr)
}

// ExportCompany writes the company's archive to w on a connection of the
// service's pool (as the app role, so row-level security holds it to the
// company).
func ExportCompany(ctx context.Context, s *Service, tenant uuid.UUID, w io.Writer) error {
	return WithPgx(ctx, s.d.DB, func(c *pgx.Conn) error {
		_, err := backup.Export(ctx, c, s.d.Files, tenant, w)
		return err
	})
}

// WithPgx runs fn on one pgx connection taken from the pool, for COPY.
func WithPgx(ctx context.Context, d *bun.DB, fn func(*pgx.Conn) error) error {
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("tenants: backup needs the pgx driver, not %T", dc)
		}
		return fn(pc.Conn())
	})
}
