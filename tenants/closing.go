package tenants

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// DefaultCloseGrace is how long a closed company can be reopened before its
// data is deleted, when Limits.CloseGrace is not set.
const DefaultCloseGrace = 14 * 24 * time.Hour

// TypePurge deletes the companies whose grace period has ended.
const TypePurge = "tenants:purge"

// ClosingCompany is a company being closed, as its owners see it.
type ClosingCompany struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	Slug       string    `json:"slug"`
	Name       string    `json:"name"`
	Role       string    `json:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles; here always owner, since only owners see closing companies"`
	PurgeAfter time.Time `json:"purge_after" doc:"when every record and file of the company is deleted; until then an owner may reopen it"`
}

func (s *Service) closeGrace() time.Duration {
	if s.d.Limits.CloseGrace > 0 {
		return s.d.Limits.CloseGrace
	}
	return DefaultCloseGrace
}

// CloseCompany closes the company for everyone at once: its routes answer 404
// and its API keys stop working. Only an owner, signed in, may do it, and must
// confirm with the company's slug. Its data is deleted after the grace
// period, unless an owner reopens it first.
func (s *Service) CloseCompany(ctx context.Context, t tenancy.Tenant, confirm string) (ClosingCompany, error) {
	a := authz.ActorFrom(ctx)
	if a.Kind != authz.ActorUser || a.Role != RoleOwner {
		return ClosingCompany{}, errs.E(errs.Forbidden, "Only an owner, signed in, can close the company; ask one of its owners.")
	}
	if confirm != t.Slug {
		return ClosingCompany{}, errs.Field("body.confirm", "type the company's address ("+t.Slug+") to confirm that every record and file of it is to be deleted")
	}
	out := ClosingCompany{TenantID: t.ID, Slug: t.Slug, Name: t.Name, Role: RoleOwner}
	err := db.InTenant(ctx, s.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewRaw(`UPDATE tenants SET status = 'closing', closing_at = now(), purge_after = now() + ?::interval, closed_by = ?, updated_at = now()
			WHERE id = ? AND status = 'active' RETURNING purge_after`, fmt.Sprintf("%d seconds", int64(s.closeGrace().Seconds())), a.ID, t.ID).Scan(ctx, &out.PurgeAfter)
		if errors.Is(err, sql.ErrNoRows) {
			return tenancy.NotFound()
		}
		if err != nil {
			return err
		}
		db.AfterCommit(ctx, func(context.Context) { s.me.clear() })
		// Its API keys stop with it, on every replica (the cached ones too).
		s.accessChanged(ctx, t.ID)
		return audit.Record(ctx, tx, audit.Entry{Action: "tenant.close", Entity: "tenant", EntityID: t.ID.String(),
			After: map[string]any{"status": "closing", "purge_after": out.PurgeAfter}})
	})
	if err != nil {
		return ClosingCompany{}, classify(err, "company")
	}
	s.d.Tenants.Forget(t.Slug)
	s.d.Log.Info("tenant closed", "tenant", t.ID.String(), "purge_after", out.PurgeAfter)
	return out, nil
}

// ReopenCompany undoes a close during the grace period. The caller must be an
// owner of the company; anyone else, and a company that is not closing, get
// the same 404.
func (s *Service) ReopenCompany(ctx context.Context, sess Session, slug string) (Membership, error) {
	var t struct {
		ID   uuid.UUID `bun:"id"`
		Name string    `bun:"name"`
	}
	err := s.d.DB.NewRaw("SELECT id, name FROM tenants WHERE slug = ? AND status = 'closing'", slug).Scan(ctx, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return Membership{}, tenancy.NotFound()
	}
	if err != nil {
		return Membership{}, errs.From(err)
	}
	ctx = authz.WithActor(ctx, authz.Actor{ID: sess.IdentityID, Kind: authz.ActorUser, Role: RoleOwner, Scope: authz.ScopeAll})
	err = db.InTenant(ctx, s.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var role string
		err := tx.NewRaw("SELECT role FROM memberships WHERE tenant_id = ? AND identity_id = ?", t.ID, sess.IdentityID).Scan(ctx, &role)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && role != RoleOwner) {
			return tenancy.NotFound()
		}
		if err != nil {
			return err
		}
		if err := db.ExecOne(ctx, tx, `UPDATE tenants SET status = 'active', closing_at = NULL, purge_after = NULL, closed_by = NULL, updated_at = now()
			WHERE id = ? AND status = 'closing'`, t.ID); err != nil {
			return err
		}
		db.AfterCommit(ctx, func(context.Context) { s.me.clear() })
		return audit.Record(ctx, tx, audit.Entry{Action: "tenant.reopen", Entity: "tenant", EntityID: t.ID.String(),
			Before: map[string]any{"status": "closing"}, After: map[string]any{"status": "active"}})
	})
	if err != nil {
		return Membership{}, classify(err, "company")
	}
	s.d.Tenants.Forget(slug)
	return Membership{TenantID: t.ID, Slug: slug, Name: t.Name, Role: RoleOwner}, nil
}

// PurgeDue deletes every company whose grace period has ended, and returns
// how many it deleted. A purge that stops half way is taken up again by the
// next run: each step deletes what is left.
func (s *Service) PurgeDue(ctx context.Context) (int, error) {
	var due []uuid.UUID
	if err := s.d.DB.NewRaw("SELECT id FROM tenants WHERE status = 'closing' AND purge_after <= now() ORDER BY purge_after LIMIT 20").Scan(ctx, &due); err != nil {
		return 0, err
	}
	for i, id := range due {
		if err := s.Purge(ctx, id); err != nil {
			return i, err
		}
	}
	return len(due), nil
}

// Purge deletes a closing company for good: it tells the members who belong
// to no other company, deletes its files, then every row that carries its
// tenant_id in every table of the catalogue (derived tables too: search
// terms, tags, the custom-field index), children before the tables they
// reference, and last the company itself.
func (s *Service) Purge(ctx context.Context, tenant uuid.UUID) error {
	ctx = authz.AsSystem(ctx)
	var status string
	var notified bool
	err := s.d.DB.NewRaw("SELECT status, purge_started_at IS NOT NULL FROM tenants WHERE id = ?", tenant).Scan(ctx, &status, &notified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // purged already
	}
	if err != nil {
		return err
	}
	if status != "closing" {
		return fmt.Errorf("tenants: purge of a company that is %s", status)
	}
	if !notified {
		if err := s.tellMembers(ctx, tenant); err != nil {
			return err
		}
		if _, err := s.d.DB.ExecContext(ctx, "UPDATE tenants SET purge_started_at = now() WHERE id = ?", tenant); err != nil {
			return err
		}
	}
	files, err := s.deleteFiles(ctx, tenant)
	if err != nil {
		return err
	}
	tables, err := TenantTables(ctx, s.d.DB)
	if err != nil {
		return err
	}
	var rows int64
	for _, table := range tables {
		err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			res, err := tx.ExecContext(ctx, "DELETE FROM ? WHERE tenant_id = ?", bun.Ident(table), tenant)
			if err == nil {
				n, _ := res.RowsAffected()
				rows += n
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("tenants: purge %s: %w", table, err)
		}
	}
	if _, err := s.d.DB.ExecContext(ctx, "DELETE FROM tenants WHERE id = ? AND status = 'closing'", tenant); err != nil {
		return fmt.Errorf("tenants: purge the company: %w", err)
	}
	s.me.clear()
	s.d.Log.Info("tenant purged", "tenant", tenant.String(), "rows", rows, "files", files, "tables", len(tables))
	return nil
}

// tellMembers mails each member who belongs to no other company that theirs
// is gone, before their address is deleted with it. Purge records that it
// did only once every mail went: a run stopped half way mails everyone again
// (at least once, never none).
func (s *Service) tellMembers(ctx context.Context, tenant uuid.UUID) error {
	var members []struct {
		ID    uuid.UUID `bun:"identity_id"`
		Email string    `bun:"email"`
	}
	var name string
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewRaw("SELECT name FROM tenants WHERE id = ?", tenant).Scan(ctx, &name); err != nil {
			return err
		}
		return tx.NewRaw("SELECT identity_id, email FROM memberships WHERE tenant_id = ? ORDER BY identity_id", tenant).Scan(ctx, &members)
	})
	if err != nil {
		return err
	}
	if s.d.Mailer == nil {
		return nil
	}
	for _, m := range members {
		my, err := s.myTenants(ctx, m.ID)
		if err != nil {
			return err
		}
		others := 0
		for _, ms := range my.Memberships {
			if ms.TenantID != tenant {
				others++
			}
		}
		for _, c := range my.Closing {
			if c.TenantID != tenant {
				others++
			}
		}
		if others > 0 || m.Email == "" {
			continue
		}
		err = s.d.Mailer.Send(ctx, Mail{To: m.Email,
			Subject: fmt.Sprintf("%s has been closed / %s 已关闭", name, name),
			Text: fmt.Sprintf("An owner closed the company %q on Clientele, and its grace period has ended: its records and files are being deleted. "+
				"You belong to no other company; you can still sign in and create one.\n\n"+
				"公司“%s”已由所有者关闭，保留期已结束，其记录和文件正在删除。您不属于其他公司；您仍可登录并创建新公司。", name, name)})
		if err != nil {
			return fmt.Errorf("tenants: tell member: %w", err)
		}
	}
	return nil
}

// deleteFiles deletes every file under the company's prefix in the blob
// store, and returns how many.
func (s *Service) deleteFiles(ctx context.Context, tenant uuid.UUID) (int, error) {
	if s.d.Files == nil {
		return 0, nil
	}
	n := 0
	prefix := "tenants/" + tenant.String() + "/"
	it := s.d.Files.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("tenants: list files: %w", err)
		}
		if obj.IsDir {
			continue
		}
		if err := s.d.Files.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return n, fmt.Errorf("tenants: delete file: %w", err)
		}
		n++
	}
}

// TenantTables lists every table of the catalogue with a tenant_id column
// (partitioned tables as their parent), tables that reference another first,
// without tenants itself.
func TenantTables(ctx context.Context, d bun.IDB) ([]string, error) {
	var tables []string
	if err := d.NewRaw(`SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'tenants'
		ORDER BY c.relname`).Scan(ctx, &tables); err != nil {
		return nil, err
	}
	var edges []struct {
		Child  string `bun:"child"`
		Parent string `bun:"parent"`
	}
	if err := d.NewRaw(`SELECT DISTINCT ch.relname AS child, pa.relname AS parent FROM pg_constraint k
		JOIN pg_class ch ON ch.oid = k.conrelid JOIN pg_class pa ON pa.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = ch.relnamespace
		WHERE k.contype = 'f' AND n.nspname = current_schema() AND ch.oid <> pa.oid AND NOT ch.relispartition`).Scan(ctx, &edges); err != nil {
		return nil, err
	}
	return childrenFirst(tables, edges), nil
}

// childrenFirst orders tables so that a table comes before every table it
// references (a depth-first walk over the references, in name order).
func childrenFirst(tables []string, edges []struct {
	Child  string `bun:"child"`
	Parent string `bun:"parent"`
}) []string {
	in := map[string]bool{}
	for _, t := range tables {
		in[t] = true
	}
	children := map[string][]string{}
	for _, e := range edges {
		if in[e.Child] && in[e.Parent] {
			children[e.Parent] = append(children[e.Parent], e.Child)
		}
	}
	for _, c := range children {
		sort.Strings(c)
	}
	// A table is placed after all tables that reference it: a post-order walk
	// from each table over its referencing children, reversed at the end,
	// gives parents last.
	seen := map[string]int{} // 1 visiting, 2 done
	var order []string
	var visit func(t string)
	visit = func(t string) {
		if seen[t] != 0 {
			return // done, or a cycle (broken where it is met)
		}
		seen[t] = 1
		for _, c := range children[t] {
			visit(c)
		}
		seen[t] = 2
		order = append(order, t)
	}
	for _, t := range tables {
		visit(t)
	}
	return order
}

// closeRoutes registers closing a company (a tenant route).
func (s *Service) closeRoutes(api huma.API) {
	type closeIn struct {
		Body struct {
			Confirm string `json:"confirm" maxLength:"40" doc:"the company's address (its slug), typed again to confirm"`
		} `nameHint:"CompanyClose"`
	}
	type closeOut struct{ Body ClosingCompany }
	huma.Register(api, huma.Operation{OperationID: "close-company", Method: http.MethodPost, Path: "/close", Summary: "Close the company",
		Description: "Closes the company at once for every member and API key: its routes answer 404 from then on. After the grace period (14 days unless configured) " +
			"every record and file of the company is deleted, and members who belong to no other company are told by email. Until then an owner can reopen it " +
			"(POST /api/v1/companies/{slug}/reopen). Only an owner, signed in, may close it, confirming with the company's slug.",
		Responses: httpx.Refusals(map[int]string{403: "The caller is not an owner signed in with a session.", 422: "confirm is not the company's slug."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *closeIn) (*closeOut, error) {
			c, err := s.CloseCompany(ctx, t, in.Body.Confirm)
			if err != nil {
				return nil, err
			}
			return &closeOut{Body: c}, nil
		}))
}

// reopenRoute registers reopening a closing company (an account route).
func (s *Service) reopenRoute(g huma.API) {
	type reopenIn struct {
		Slug string `path:"slug" maxLength:"40" doc:"the company's address"`
	}
	type membershipOut struct{ Body Membership }
	huma.Register(g, huma.Operation{OperationID: "reopen-company", Method: http.MethodPost, Path: "/companies/{slug}/reopen", Summary: "Reopen a closing company",
		Description: "Undoes a close during the grace period: the company, its members and API keys work again as before. Only an owner of the company may reopen it; " +
			"for anyone else, and for a company that is not closing, the answer is 404. GET /me lists the companies the caller can reopen under closing.",
		Responses: httpx.Refusals(map[int]string{404: "No closing company with this address has the caller as an owner."}),
	},
		signedIn(func(ctx context.Context, sess Session, in *reopenIn) (*membershipOut, error) {
			m, err := s.ReopenCompany(ctx, sess, in.Slug)
			if err != nil {
				return nil, err
			}
			return &membershipOut{Body: m}, nil
		}))
}

// Jobs are the package's task handlers: the purge of closed companies.
func (s *Service) Jobs() []jobs.Handler {
	return []jobs.Handler{{Type: TypePurge, Queue: jobs.QueueDefault, Timeout: jobs.MaxTimeout,
		RunGlobal: func(ctx context.Context, _ json.RawMessage) error {
			_, err := s.PurgeDue(ctx)
			return err
		}}}
}

// Schedules runs the purge every hour.
func (s *Service) Schedules() []jobs.Schedule {
	return []jobs.Schedule{{Name: "tenants-purge-hourly", Cron: "41 * * * *", Type: TypePurge, Queue: jobs.QueueDefault}}
}
