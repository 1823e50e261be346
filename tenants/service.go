package tenants

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"golang.org/x/text/currency"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// reservedSlugs would collide with routes or mislead people.
var reservedSlugs = map[string]bool{
	"admin": true, "api": true, "app": true, "www": true, "kratos": true, "static": true, "assets": true,
	"login": true, "logout": true, "signup": true, "register": true, "settings": true, "t": true, "help": true,
	"support": true, "status": true, "docs": true, "billing": true, "me": true, "new": true, "root": true,
	"system": true, "clientele": true, "metrics": true, "healthz": true, "readyz": true, "mail": true,
}

// Membership is one tenant an identity belongs to.
type Membership struct {
	TenantID uuid.UUID `json:"tenant_id" bun:"tenant_id"`
	Slug     string    `json:"slug" bun:"slug"`
	Name     string    `json:"name" bun:"name"`
	Role     string    `json:"role" bun:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles"`
}

// PendingInvitation is an invitation waiting for the identity.
type PendingInvitation struct {
	ID         uuid.UUID `json:"id" bun:"id"`
	TenantID   uuid.UUID `json:"tenant_id" bun:"tenant_id"`
	TenantSlug string    `json:"tenant_slug" bun:"slug"`
	TenantName string    `json:"tenant_name" bun:"name"`
	Role       string    `json:"role" bun:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles"`
	ExpiresAt  time.Time `json:"expires_at" bun:"expires_at"`
}

// CreateTenant signs a company up and makes the caller its owner; every module
// provisions its defaults in the same transaction.
func (s *Service) CreateTenant(ctx context.Context, sess Session, name, slug string) (Membership, error) {
	name = strings.TrimSpace(name)
	slug = strings.ToLower(strings.TrimSpace(slug))
	var fields []errs.FieldError
	if name == "" || len([]rune(name)) > 100 {
		fields = append(fields, errs.FieldError{Location: "body.name", Message: "give the company a name of 1 to 100 characters"})
	} else if !errs.OneLine(name) {
		fields = append(fields, errs.FieldError{Location: "body.name", Message: errs.OneLineMessage})
	}
	switch {
	case !tenancy.SlugPattern.MatchString(slug):
		fields = append(fields, errs.FieldError{Location: "body.slug", Message: "use 1 to 40 lowercase letters, digits and inner hyphens, e.g. acme-trading", Value: slug})
	case reservedSlugs[slug]:
		fields = append(fields, errs.FieldError{Location: "body.slug", Message: "this address is reserved; choose another", Value: slug})
	}
	if len(fields) > 0 {
		return Membership{}, errs.E(errs.Invalid, "The company could not be created: %s.", fields[0].Message).WithFields(fields...)
	}
	id := uuid.New()
	err := s.accessTx(ctx, id, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO tenants (id, slug, name) VALUES (?, ?, ?)", id, slug, name); err != nil {
			if db.IsUniqueViolation(err, "tenants_slug_key") {
				return errs.E(errs.Conflict, "The address %q is taken; choose another.", slug).
					WithFields(errs.FieldError{Location: "body.slug", Message: "already taken", Value: slug})
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO memberships (tenant_id, identity_id, role, email, name) VALUES (?, ?, ?, ?, ?)",
			id, sess.IdentityID, RoleOwner, strings.ToLower(sess.Email), sess.Name); err != nil {
			return err
		}
		for _, m := range s.d.Modules {
			if p, ok := m.(module.Provisioner); ok {
				if err := p.Provision(ctx, tx, id); err != nil {
					return fmt.Errorf("tenants: provision %s: %w", m.Name(), err)
				}
			}
		}
		actx := authz.WithActor(ctx, authz.Actor{ID: sess.IdentityID, Kind: authz.ActorUser})
		db.AfterCommit(ctx, func(context.Context) { s.me.clear() })
		return audit.Record(actx, tx, audit.Entry{Action: "tenant.create", Entity: "tenant", EntityID: id.String(),
			After: map[string]any{"name": name, "slug": slug, "owner": sess.IdentityID}})
	})
	if err != nil {
		return Membership{}, db.Classify(err, "company")
	}
	return Membership{TenantID: id, Slug: slug, Name: name, Role: RoleOwner}, nil
}

// MyCompanies are an identity's companies: those it belongs to, those being
// closed that it owns (it may still reopen them), and its pending invitations.
type MyCompanies struct {
	Memberships []Membership        `json:"memberships"`
	Closing     []ClosingCompany    `json:"closing"`
	Invitations []PendingInvitation `json:"invitations"`
}

// MyTenants lists the identity's memberships, closing companies and pending
// invitations, across tenants, through the narrow member-lookup role.
func (s *Service) MyTenants(ctx context.Context, identity uuid.UUID) (MyCompanies, error) {
	if my, ok := s.me.get(identity); ok {
		return my, nil
	}
	my, err := s.myTenants(ctx, identity)
	if err == nil {
		s.me.put(identity, my)
	}
	return my, err
}

func (s *Service) myTenants(ctx context.Context, identity uuid.UUID) (MyCompanies, error) {
	var raw []byte
	// One statement: the function switches to the member-lookup role for itself.
	if err := db.ScopedCall(ctx, s.d.DB, func(ctx context.Context, q bun.IDB) error {
		return q.NewRaw("SELECT clientele_my_tenants(?)::text", identity).Scan(ctx, &raw)
	}); err != nil {
		return MyCompanies{}, errs.From(err)
	}
	var out MyCompanies
	if err := json.Unmarshal(raw, &out); err != nil {
		return MyCompanies{}, errs.InternalErr(err)
	}
	if out.Memberships == nil {
		out.Memberships = []Membership{}
	}
	if out.Closing == nil {
		out.Closing = []ClosingCompany{}
	}
	if out.Invitations == nil {
		out.Invitations = []PendingInvitation{}
	}
	return out, nil
}

// Member is a person in a tenant.
type Member struct {
	IdentityID uuid.UUID `json:"identity_id" bun:"identity_id"`
	Email      string    `json:"email" bun:"email"`
	Name       string    `json:"name" bun:"name"`
	Role       string    `json:"role" bun:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles"`
	CreatedAt  time.Time `json:"created_at" bun:"created_at"`
}

// ListMembers lists the tenant's members by name.
func (s *Service) ListMembers(ctx context.Context, tenant uuid.UUID) ([]Member, error) {
	out := []Member{}
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT identity_id, email, name, role, created_at FROM memberships WHERE tenant_id = ? ORDER BY lower(name), email`, tenant).Scan(ctx, &out)
	})
	return out, classify(err, "member")
}

func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	return db.Classify(err, what)
}

// lockOwners locks the owner rows so two concurrent demotions cannot both pass the
// last-owner check.
func lockOwners(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (int, error) {
	var ids []uuid.UUID
	err := tx.NewRaw("SELECT identity_id FROM memberships WHERE tenant_id = ? AND role = 'owner' FOR UPDATE", tenant).Scan(ctx, &ids)
	return len(ids), err
}

var errLastOwner = errs.E(errs.Conflict, "A company needs at least one owner. Make someone else an owner first.")

// ChangeRole sets a member's role.
func (s *Service) ChangeRole(ctx context.Context, tenant, identity uuid.UUID, role string) (Member, error) {
	if err := authz.Require(ctx, PermMembersManage); err != nil {
		return Member{}, err
	}
	var m Member
	err := s.accessTx(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		next, err := s.role(ctx, tx, tenant, role)
		if err != nil {
			return err
		}
		owners, err := lockOwners(ctx, tx, tenant)
		if err != nil {
			return err
		}
		if err := tx.NewRaw("SELECT identity_id, email, name, role, created_at FROM memberships WHERE tenant_id = ? AND identity_id = ? FOR UPDATE", tenant, identity).Scan(ctx, &m); err != nil {
			return err
		}
		actor := authz.ActorFrom(ctx)
		if actor.Kind == authz.ActorUser && identity == actor.ID {
			return errs.E(errs.Forbidden, "Nobody changes their own role; ask another owner or admin.")
		}
		cur, err := s.role(ctx, tx, tenant, m.Role)
		if err != nil {
			return err
		}
		if err := mayManageMember(actor, cur); err != nil {
			return err
		}
		if err := mayGrant(actor, next, false); err != nil {
			return err
		}
		if m.Role == RoleOwner && role != RoleOwner && owners <= 1 {
			return errLastOwner
		}
		before := m.Role
		if _, err := tx.ExecContext(ctx, "UPDATE memberships SET role = ?, updated_at = now() WHERE tenant_id = ? AND identity_id = ?", role, tenant, identity); err != nil {
			return err
		}
		m.Role = role
		db.AfterCommit(ctx, func(context.Context) { s.me.clear() })
		return audit.Record(ctx, tx, audit.Entry{Action: "member.role_change", Entity: "member", EntityID: identity.String(),
			Before: map[string]any{"role": before}, After: map[string]any{"role": role}})
	})
	return m, classify(err, "member")
}

// RemoveMember takes a person out of the tenant.
func (s *Service) RemoveMember(ctx context.Context, tenant, identity uuid.UUID) error {
	if err := authz.Require(ctx, PermMembersManage); err != nil {
		return err
	}
	err := s.accessTx(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		owners, err := lockOwners(ctx, tx, tenant)
		if err != nil {
			return err
		}
		var m Member
		if err := tx.NewRaw("SELECT identity_id, email, name, role, created_at FROM memberships WHERE tenant_id = ? AND identity_id = ? FOR UPDATE", tenant, identity).Scan(ctx, &m); err != nil {
			return err
		}
		if m.Role == RoleOwner && owners <= 1 {
			return errLastOwner
		}
		// Leaving is always allowed; removing someone else needs rights over them.
		if actor := authz.ActorFrom(ctx); actor.Kind != authz.ActorUser || identity != actor.ID {
			cur, err := s.role(ctx, tx, tenant, m.Role)
			if err != nil {
				return err
			}
			if err := mayManageMember(actor, cur); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM memberships WHERE tenant_id = ? AND identity_id = ?", tenant, identity); err != nil {
			return err
		}
		db.AfterCommit(ctx, func(context.Context) { s.me.clear() })
		return audit.Record(ctx, tx, audit.Entry{Action: "member.remove", Entity: "member", EntityID: identity.String(),
			Before: map[string]any{"role": m.Role, "email": m.Email}, Sensitive: []string{"email"}})
	})
	return classify(err, "member")
}

// Invitation is an invitation as admins see it.
type Invitation struct {
	ID         uuid.UUID  `json:"id" bun:"id"`
	Email      string     `json:"email" bun:"email"`
	Role       string     `json:"role" bun:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles"`
	Status     string     `json:"status" bun:"status" enum:"pending,accepted,revoked"`
	IdentityID uuid.UUID  `json:"identity_id" bun:"identity_id"`
	ExpiresAt  time.Time  `json:"expires_at" bun:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty" bun:"accepted_at"`
	CreatedAt  time.Time  `json:"created_at" bun:"created_at"`
}

// Invite invites a person by email: their identity is created if needed, and they
// receive a link to set a password; after signing in they accept.
func (s *Service) Invite(ctx context.Context, t tenancy.Tenant, email, role, name string) (Invitation, error) {
	if err := authz.Require(ctx, PermMembersManage); err != nil {
		return Invitation{}, err
	}
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Address != strings.TrimSpace(email) || !strings.Contains(addr.Address[strings.LastIndex(addr.Address, "@"):], ".") {
		return Invitation{}, errs.E(errs.Invalid, "The email address is not valid.").
			WithFields(errs.FieldError{Location: "body.email", Message: "not a valid email address, e.g. li.lei@example.com"})
	}
	email = strings.ToLower(addr.Address)
	// Validate the role before creating anything at the identity service.
	if err := db.InTenant(ctx, s.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.role(ctx, tx, t.ID, role)
		if err != nil {
			return err
		}
		if err := mayGrant(authz.ActorFrom(ctx), r, false); err != nil {
			return err
		}
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM memberships WHERE tenant_id = ? AND email = ?", t.ID, email).Scan(ctx, &n); err != nil {
			return err
		}
		if n > 0 {
			return errs.E(errs.Conflict, "%s is already a member.", email).WithFields(errs.FieldError{Location: "body.email", Message: "already a member"})
		}
		return nil
	}); err != nil {
		return Invitation{}, classify(err, "invitation")
	}
	identity, link, code, err := s.d.Identities.Invite(ctx, email, name, s.d.Limits.InviteTTL)
	if err != nil {
		return Invitation{}, err
	}
	var inv Invitation
	err = db.InTenant(ctx, s.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		actor := authz.ActorFrom(ctx)
		var by *uuid.UUID
		if actor.Kind == authz.ActorUser {
			by = &actor.ID
		}
		// A new invitation replaces a pending one for the same address.
		if _, err := tx.ExecContext(ctx, "UPDATE invitations SET status = 'revoked' WHERE tenant_id = ? AND email = ? AND status = 'pending'", t.ID, email); err != nil {
			return err
		}
		if err := tx.NewRaw(`INSERT INTO invitations (tenant_id, email, role, identity_id, invited_by, expires_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id, email, role, status, identity_id, expires_at, accepted_at, created_at`,
			t.ID, email, role, identity, by, time.Now().Add(s.d.Limits.InviteTTL)).Scan(ctx, &inv); err != nil {
			return err
		}
		db.AfterCommit(ctx, func(context.Context) { s.me.clear() })
		return audit.Record(ctx, tx, audit.Entry{Action: "invitation.create", Entity: "invitation", EntityID: inv.ID.String(),
			After: map[string]any{"email": email, "role": role}, Sensitive: []string{"email"}})
	})
	if err != nil {
		return Invitation{}, classify(err, "invitation")
	}
	body := fmt.Sprintf("You have been invited to %s on Clientele as %s.\n\n1. Open %s and enter the code %s, then choose your password.\n2. Sign in and accept the invitation.\n\n您已受邀加入 Clientele 上的 %s。请打开上面的链接，输入验证码并设置密码，然后登录并接受邀请。\n\nThe link expires in %s.\n",
		t.Name, role, link, code, t.Name, s.d.Limits.InviteTTL.Round(time.Hour))
	if s.d.Mailer != nil {
		if err := s.d.Mailer.Send(ctx, Mail{To: email, Subject: "Invitation to " + t.Name + " on Clientele", Text: body}); err != nil {
			s.d.Log.WarnContext(ctx, "tenants: invitation mail failed; the invitation stands and can be sent again", "invitation_id", inv.ID.String(), "error", err.Error())
		}
	}
	return inv, nil
}

// ListInvitations lists the tenant's invitations, newest first.
func (s *Service) ListInvitations(ctx context.Context, tenant uuid.UUID) ([]Invitation, error) {
	if err := authz.Require(ctx, PermMembersManage); err != nil {
		return nil, err
	}
	out := []Invitation{}
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT id, email, role, status, identity_id, expires_at, accepted_at, created_at FROM invitations
			WHERE tenant_id = ? ORDER BY created_at DESC LIMIT 500`, tenant).Scan(ctx, &out)
	})
	return out, classify(err, "invitation")
}

// RevokeInvitation withdraws a pending invitation.
func (s *Service) RevokeInvitation(ctx context.Context, tenant, id uuid.UUID) error {
	if err := authz.Require(ctx, PermMembersManage); err != nil {
		return err
	}
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		err := db.ExecOne(ctx, tx, "UPDATE invitations SET status = 'revoked' WHERE tenant_id = ? AND id = ? AND status = 'pending'", tenant, id)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "invitation not found, or no longer pending")
		}
		if err != nil {
			return err
		}
		db.AfterCommit(ctx, func(context.Context) { s.me.clear() })
		return audit.Record(ctx, tx, audit.Entry{Action: "invitation.revoke", Entity: "invitation", EntityID: id.String()})
	})
	return classify(err, "invitation")
}

// AcceptInvitation makes the signed-in invitee a member.
func (s *Service) AcceptInvitation(ctx context.Context, sess Session, slug string, id uuid.UUID) (Membership, error) {
	t, err := s.d.Tenants.Resolve(ctx, slug)
	if err != nil {
		return Membership{}, err
	}
	var m Membership
	err = s.accessTx(ctx, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var inv Invitation
		if err := tx.NewRaw(`SELECT id, email, role, status, identity_id, expires_at, accepted_at, created_at FROM invitations
			WHERE tenant_id = ? AND id = ? FOR UPDATE`, t.ID, id).Scan(ctx, &inv); err != nil {
			return err
		}
		if inv.IdentityID != sess.IdentityID {
			return errs.E(errs.NotFound, "invitation not found")
		}
		if inv.Status != "pending" || time.Now().After(inv.ExpiresAt) {
			return errs.E(errs.Conflict, "This invitation is no longer valid (%s). Ask for a new one.", map[bool]string{true: "expired", false: inv.Status}[inv.Status == "pending"])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (tenant_id, identity_id, role, email, name) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, identity_id) DO NOTHING`, t.ID, sess.IdentityID, inv.Role, inv.Email, sess.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE invitations SET status = 'accepted', accepted_at = now() WHERE tenant_id = ? AND id = ?", t.ID, id); err != nil {
			return err
		}
		m = Membership{TenantID: t.ID, Slug: t.Slug, Name: t.Name, Role: inv.Role}
		actx := authz.WithActor(ctx, authz.Actor{ID: sess.IdentityID, Kind: authz.ActorUser})
		db.AfterCommit(ctx, func(context.Context) { s.me.clear() })
		return audit.Record(actx, tx, audit.Entry{Action: "invitation.accept", Entity: "member", EntityID: sess.IdentityID.String(),
			After: map[string]any{"role": inv.Role}})
	})
	return m, classify(err, "invitation")
}

// Roles returns the built-in and custom roles.
func (s *Service) Roles(ctx context.Context, tenant uuid.UUID) ([]Role, error) {
	var out []Role
	for _, k := range []string{RoleOwner, RoleAdmin, RoleManager, RoleAgent, RoleViewer} {
		out = append(out, s.builtIn[k])
	}
	var custom []struct {
		Key         string   `bun:"key"`
		Name        string   `bun:"name"`
		Permissions []string `bun:"permissions,array"`
		Scope       string   `bun:"scope"`
	}
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT key, name, permissions, scope FROM roles WHERE tenant_id = ? ORDER BY key", tenant).Scan(ctx, &custom)
	})
	for _, c := range custom {
		out = append(out, Role{Key: c.Key, Name: c.Name, Permissions: c.Permissions, Scope: authz.Scope(c.Scope)})
	}
	return out, classify(err, "role")
}

// Catalogue lists every permission a role may hold.
func (s *Service) Catalogue() []authz.Permission { return s.catalogue }

func (s *Service) validPerms(perms []string) error {
	known := map[string]bool{}
	for _, p := range s.catalogue {
		known[p.Key] = true
	}
	for i, p := range perms {
		if !known[p] {
			return errs.E(errs.Invalid, "Unknown permission %q.", p).
				WithFields(errs.FieldError{Location: fmt.Sprintf("body.permissions[%d]", i), Message: "unknown permission; GET .../permissions lists them", Value: p})
		}
	}
	return nil
}

// SaveRole creates or updates a custom role; grants apply from the next request.
func (s *Service) SaveRole(ctx context.Context, tenant uuid.UUID, r Role, create bool) (Role, error) {
	if err := authz.Require(ctx, PermRolesManage); err != nil {
		return Role{}, err
	}
	if _, builtin := s.builtIn[r.Key]; builtin {
		return Role{}, errs.E(errs.Conflict, "%s is a built-in role and cannot be changed; create a custom role instead.", r.Key).
			WithFields(errs.FieldError{Location: "path.key", Message: "built-in role"})
	}
	if err := s.validPerms(r.Permissions); err != nil {
		return Role{}, err
	}
	sort.Strings(r.Permissions)
	if r.Scope == "" {
		r.Scope = authz.ScopeOwn
	}
	actor := authz.ActorFrom(ctx)
	if err := mayEditRole(actor, r.Key); err != nil {
		return Role{}, err
	}
	if err := mayGrant(actor, r, false); err != nil {
		return Role{}, err
	}
	err := s.accessTx(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		var before *Role
		if !create {
			var old Role
			err := tx.NewRaw("SELECT key, name, permissions, scope FROM roles WHERE tenant_id = ? AND key = ? FOR UPDATE", tenant, r.Key).Scan(ctx, &old.Key, &old.Name, pgdialect.Array(&old.Permissions), &old.Scope)
			if err != nil {
				return err
			}
			// Its holders' rights change too: only someone who could grant them may.
			if err := mayGrant(actor, old, false); err != nil {
				return errs.E(errs.Forbidden, "The role %s holds more than yours; ask an owner or admin to change it.", r.Key)
			}
			before = &old
			if r.Name == "" {
				r.Name = old.Name
			}
			_, err = tx.ExecContext(ctx, "UPDATE roles SET name = ?, permissions = ?, scope = ?, updated_at = now() WHERE tenant_id = ? AND key = ?",
				r.Name, pgdialect.Array(r.Permissions), r.Scope, tenant, r.Key)
			if err != nil {
				return err
			}
		} else {
			_, err := tx.ExecContext(ctx, "INSERT INTO roles (tenant_id, key, name, permissions, scope) VALUES (?, ?, ?, ?, ?)",
				tenant, r.Key, r.Name, pgdialect.Array(r.Permissions), r.Scope)
			if db.IsUniqueViolation(err, "") {
				return errs.E(errs.Conflict, "A role %q exists already.", r.Key).WithFields(errs.FieldError{Location: "body.key", Message: "already exists"})
			}
			if err != nil {
				return err
			}
		}
		entry := audit.Entry{Action: "role.save", Entity: "role", EntityID: r.Key, After: r}
		if before != nil {
			entry.Before = before
		}
		return audit.Record(ctx, tx, entry)
	})
	return r, classify(err, "role")
}

// DeleteRole removes a custom role nobody holds.
func (s *Service) DeleteRole(ctx context.Context, tenant uuid.UUID, key string) error {
	if err := authz.Require(ctx, PermRolesManage); err != nil {
		return err
	}
	if _, builtin := s.builtIn[key]; builtin {
		return errs.E(errs.Conflict, "%s is a built-in role and cannot be deleted.", key)
	}
	err := s.accessTx(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		var holders int
		if err := tx.NewRaw("SELECT (SELECT count(*) FROM memberships WHERE tenant_id = ? AND role = ?) + (SELECT count(*) FROM api_keys WHERE tenant_id = ? AND role = ? AND revoked_at IS NULL)",
			tenant, key, tenant, key).Scan(ctx, &holders); err != nil {
			return err
		}
		if holders > 0 {
			return errs.E(errs.Conflict, "%d members or API keys still hold the role %s; give them another role first.", holders, key)
		}
		if err := db.ExecOne(ctx, tx, "DELETE FROM roles WHERE tenant_id = ? AND key = ?", tenant, key); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "role.delete", Entity: "role", EntityID: key})
	})
	return classify(err, "role")
}

// Team is a group of members, for team-scoped visibility.
type Team struct {
	ID      uuid.UUID   `json:"id" bun:"id"`
	Name    string      `json:"name" bun:"name"`
	Members []uuid.UUID `json:"members" bun:"members,array"`
}

// Teams lists the tenant's teams with their members.
func (s *Service) Teams(ctx context.Context, tenant uuid.UUID) ([]Team, error) {
	out := []Team{}
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT t.id, t.name, coalesce(array_agg(tm.identity_id) FILTER (WHERE tm.identity_id IS NOT NULL), '{}') AS members
			FROM teams t LEFT JOIN team_members tm ON tm.tenant_id = t.tenant_id AND tm.team_id = t.id
			WHERE t.tenant_id = ? GROUP BY t.id, t.name ORDER BY t.name`, tenant).Scan(ctx, &out)
	})
	return out, classify(err, "team")
}

// SaveTeam creates a team, or renames it and replaces its members.
func (s *Service) SaveTeam(ctx context.Context, tenant uuid.UUID, id *uuid.UUID, name string, members []uuid.UUID) (Team, error) {
	if err := authz.Require(ctx, PermRolesManage); err != nil {
		return Team{}, err
	}
	if err := mayChangeTeams(authz.ActorFrom(ctx)); err != nil {
		return Team{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 80 {
		return Team{}, errs.Field("body.name", "give the team a name of 1 to 80 characters")
	}
	t := Team{Name: name, Members: members}
	err := s.accessTx(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		if id == nil {
			t.ID = uuid.New()
			if _, err := tx.ExecContext(ctx, "INSERT INTO teams (tenant_id, id, name) VALUES (?, ?, ?)", tenant, t.ID, name); err != nil {
				if db.IsUniqueViolation(err, "teams_name_key") {
					return errs.E(errs.Conflict, "A team named %q exists already.", name).WithFields(errs.FieldError{Location: "body.name", Message: "already exists"})
				}
				return err
			}
		} else {
			t.ID = *id
			if err := db.ExecOne(ctx, tx, "UPDATE teams SET name = ? WHERE tenant_id = ? AND id = ?", name, tenant, t.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM team_members WHERE tenant_id = ? AND team_id = ?", tenant, t.ID); err != nil {
				return err
			}
		}
		for i, m := range members {
			if _, err := tx.ExecContext(ctx, "INSERT INTO team_members (tenant_id, team_id, identity_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", tenant, t.ID, m); err != nil {
				if db.PgCode(err) == "23503" {
					return errs.Field(fmt.Sprintf("body.members[%d]", i), "not a member of this company")
				}
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "team.save", Entity: "team", EntityID: t.ID.String(), After: t})
	})
	if t.Members == nil {
		t.Members = []uuid.UUID{}
	}
	return t, classify(err, "team")
}

// DeleteTeam removes a team.
func (s *Service) DeleteTeam(ctx context.Context, tenant, id uuid.UUID) error {
	if err := authz.Require(ctx, PermRolesManage); err != nil {
		return err
	}
	err := s.accessTx(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		if err := db.ExecOne(ctx, tx, "DELETE FROM teams WHERE tenant_id = ? AND id = ?", tenant, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "team.delete", Entity: "team", EntityID: id.String()})
	})
	return classify(err, "team")
}

// APIKey is a key as lists show it: never the secret.
type APIKey struct {
	ID         uuid.UUID  `json:"id" bun:"id"`
	Name       string     `json:"name" bun:"name"`
	Role       string     `json:"role" bun:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles"`
	Prefix     string     `json:"prefix" bun:"prefix" doc:"the start of the key's text (ck_ and the beginning of its own id), distinct within the company and no part of the secret"`
	CreatedAt  time.Time  `json:"created_at" bun:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty" bun:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty" bun:"revoked_at"`
}

// CreateAPIKey makes a key and returns it in full, the only time it is shown.
func (s *Service) CreateAPIKey(ctx context.Context, tenant uuid.UUID, name, role string) (APIKey, string, error) {
	if err := authz.Require(ctx, PermAPIKeysManage); err != nil {
		return APIKey{}, "", err
	}
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 80 {
		return APIKey{}, "", errs.Field("body.name", "give the key a name of 1 to 80 characters, e.g. \"ERP sync\"")
	}
	if role == RoleOwner {
		return APIKey{}, "", errs.Field("body.role", "an API key cannot be an owner; use admin at most")
	}
	id, full, prefix, hash := newKey(tenant)
	k := APIKey{ID: id, Name: name, Role: role, Prefix: prefix}
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.role(ctx, tx, tenant, role)
		if err != nil {
			return err
		}
		actor := authz.ActorFrom(ctx)
		if err := mayGrant(actor, r, true); err != nil {
			return err
		}
		var by *uuid.UUID
		if actor.Kind == authz.ActorUser {
			by = &actor.ID
		}
		if err := tx.NewRaw(`INSERT INTO api_keys (tenant_id, id, name, role, prefix, secret_hash, created_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING created_at`,
			tenant, id, name, role, prefix, hash, by).Scan(ctx, &k.CreatedAt); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "api_key.create", Entity: "api_key", EntityID: id.String(),
			After: map[string]any{"name": name, "role": role, "prefix": prefix}})
	})
	if err != nil {
		return APIKey{}, "", classify(err, "API key")
	}
	return k, full, nil
}

// ListAPIKeys lists keys, revoked ones last.
func (s *Service) ListAPIKeys(ctx context.Context, tenant uuid.UUID) ([]APIKey, error) {
	if err := authz.Require(ctx, PermAPIKeysManage); err != nil {
		return nil, err
	}
	out := []APIKey{}
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT id, name, role, prefix, created_at, last_used_at, revoked_at FROM api_keys WHERE tenant_id = ?
			ORDER BY revoked_at IS NOT NULL, created_at DESC`, tenant).Scan(ctx, &out)
	})
	return out, classify(err, "API key")
}

// RevokeAPIKey stops a key at once: the revocation drops the company's cached
// keys on every replica (accessTx), so the next request reads the row again.
func (s *Service) RevokeAPIKey(ctx context.Context, tenant, id uuid.UUID) error {
	if err := authz.Require(ctx, PermAPIKeysManage); err != nil {
		return err
	}
	err := s.accessTx(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
		if err := db.ExecOne(ctx, tx, "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL", tenant, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "api_key.revoke", Entity: "api_key", EntityID: id.String()})
	})
	return classify(err, "API key")
}

// Settings are the tenant's preferences.
type Settings struct {
	Name     string          `json:"name"`
	Slug     string          `json:"slug"`
	TimeZone string          `json:"time_zone"`
	Locale   string          `json:"locale" enum:"en,zh-CN"`
	Currency string          `json:"currency"`
	Modules  map[string]bool `json:"modules"`
}

// SettingsUpdate changes some settings.
type SettingsUpdate struct {
	Name     *string         `json:"name,omitempty" minLength:"1" maxLength:"100"`
	TimeZone *string         `json:"time_zone,omitempty" maxLength:"64" doc:"IANA time zone, e.g. Asia/Shanghai"`
	Locale   *string         `json:"locale,omitempty" enum:"en,zh-CN"`
	Currency *string         `json:"currency,omitempty" doc:"ISO 4217 code, e.g. CNY"`
	Modules  map[string]bool `json:"modules,omitempty" doc:"module name -> on/off"`
}

// GetSettings reads the settings.
func (s *Service) GetSettings(ctx context.Context, t tenancy.Tenant) (Settings, error) {
	var st Settings
	err := db.InTenant(ctx, s.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT name, slug, time_zone, locale, currency FROM tenants WHERE id = ?", t.ID).Scan(ctx, &st.Name, &st.Slug, &st.TimeZone, &st.Locale, &st.Currency)
	})
	if err != nil {
		return st, classify(err, "company")
	}
	st.Currency = strings.TrimSpace(st.Currency)
	st.Modules, err = s.d.Enablement.States(ctx, t.ID)
	delete(st.Modules, s.Name())
	return st, err
}

// UpdateSettings validates and applies changes.
func (s *Service) UpdateSettings(ctx context.Context, t tenancy.Tenant, u SettingsUpdate) (Settings, error) {
	if err := authz.Require(ctx, PermSettingsManage); err != nil {
		return Settings{}, err
	}
	fields := s.checkSettings(&u)
	if len(fields) > 0 {
		return Settings{}, errs.E(errs.Invalid, "Some settings are invalid: %s.", fields[0].Message).WithFields(fields...)
	}
	before, err := s.GetSettings(ctx, t)
	if err != nil {
		return Settings{}, err
	}
	err = db.InTenant(ctx, s.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		// Only the columns sent are written, so a concurrent change of
		// another setting is kept; after follows what is written.
		after := before
		q := tx.NewUpdate().Table("tenants").Where("id = ?", t.ID).Set("updated_at = now()")
		for _, c := range []struct {
			column string
			to     *string
			sent   *string
		}{
			{"name", &after.Name, u.Name}, {"time_zone", &after.TimeZone, u.TimeZone},
			{"locale", &after.Locale, u.Locale}, {"currency", &after.Currency, u.Currency},
		} {
			if c.sent != nil {
				q = q.Set("? = ?", bun.Ident(c.column), *c.sent)
				*c.to = *c.sent
			}
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		for name, on := range u.Modules {
			if err := s.d.Enablement.SetEnabled(ctx, t.ID, name, on); err != nil {
				return err
			}
		}
		mods := map[string]bool{}
		for k, v := range before.Modules {
			mods[k] = v
		}
		for k, v := range u.Modules {
			mods[k] = v
		}
		after.Modules = mods
		db.AfterCommit(ctx, func(context.Context) { s.me.clear() })
		return audit.Record(ctx, tx, audit.Entry{Action: "settings.update", Entity: "tenant", EntityID: t.ID.String(), Before: before, After: after})
	})
	if err != nil {
		return Settings{}, classify(err, "company")
	}
	s.d.Tenants.Forget(t.Slug)
	return s.GetSettings(ctx, t)
}

// checkSettings normalises the sent settings (a trimmed name, an upper-case
// currency) and lists the problems of those that are invalid.
func (s *Service) checkSettings(u *SettingsUpdate) []errs.FieldError {
	var fields []errs.FieldError
	if u.TimeZone != nil {
		if _, err := time.LoadLocation(*u.TimeZone); err != nil || *u.TimeZone == "" || *u.TimeZone == "Local" {
			fields = append(fields, errs.FieldError{Location: "body.time_zone", Message: "not an IANA time zone such as Asia/Shanghai or Europe/Berlin", Value: *u.TimeZone})
		}
	}
	if u.Currency != nil {
		*u.Currency = strings.ToUpper(strings.TrimSpace(*u.Currency))
		if _, err := currency.ParseISO(*u.Currency); err != nil || len(*u.Currency) != 3 {
			fields = append(fields, errs.FieldError{Location: "body.currency", Message: "not an ISO 4217 currency code such as CNY, USD or EUR", Value: *u.Currency})
		}
	}
	if u.Name != nil {
		*u.Name = strings.TrimSpace(*u.Name)
		if *u.Name == "" {
			fields = append(fields, errs.FieldError{Location: "body.name", Message: "cannot be empty"})
		} else if !errs.OneLine(*u.Name) {
			fields = append(fields, errs.FieldError{Location: "body.name", Message: errs.OneLineMessage})
		}
	}
	for name := range u.Modules {
		m, ok := s.d.Modules.Find(name)
		if !ok || m.Name() == s.Name() {
			fields = append(fields, errs.FieldError{Location: "body.modules." + name, Message: fmt.Sprintf("unknown module; known: %v", s.d.Modules.Names()), Value: name})
		} else if _, optional := m.(module.Optional); !optional {
			fields = append(fields, errs.FieldError{Location: "body.modules." + name, Message: "this module is part of the core and cannot be turned off"})
		}
	}
	return fields
}

// IsMember implements authz.Directory for modules (owners, assignees, user fields).
func (s *Service) IsMember(ctx context.Context, tenant, id uuid.UUID) (bool, error) {
	var n int
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM memberships WHERE tenant_id = ? AND identity_id = ?", tenant, id).Scan(ctx, &n)
	})
	return n > 0, err
}

// Admins lists the members who run the company (owners and admins), by id,
// for modules that must tell them something (a webhook switched off).
func (s *Service) Admins(ctx context.Context, tenant uuid.UUID) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT identity_id FROM memberships WHERE tenant_id = ? AND role IN ('owner', 'admin') ORDER BY identity_id", tenant).Scan(ctx, &ids)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return ids, err
}

// IsTeam implements authz.Teams for modules (a ticket's team).
func (s *Service) IsTeam(ctx context.Context, tenant, id uuid.UUID) (bool, error) {
	var n int
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT count(*) FROM teams WHERE tenant_id = ? AND id = ?", tenant, id).Scan(ctx, &n)
	})
	return n > 0, err
}

// TeamMembers implements authz.Teams: the members of a team, by id.
func (s *Service) TeamMembers(ctx context.Context, tenant, team uuid.UUID) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT identity_id FROM team_members WHERE tenant_id = ? AND team_id = ? ORDER BY identity_id", tenant, team).Scan(ctx, &ids)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return ids, err
}

// MemberActor is a member's rights as they are now, for work done later on
// their behalf (a scheduled report); NotFound when id is not a member.
func (s *Service) MemberActor(ctx context.Context, tenant, id uuid.UUID) (authz.Actor, error) {
	return s.memberActor(ctx, tenant, id)
}

// MembersWithRole lists the members holding a role, by id.
func (s *Service) MembersWithRole(ctx context.Context, tenant uuid.UUID, role string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT identity_id FROM memberships WHERE tenant_id = ? AND role = ? ORDER BY identity_id", tenant, role).Scan(ctx, &ids)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return ids, err
}

// MemberEmail is a member's address in this tenant; NotFound for someone
// who is not a member.
func (s *Service) MemberEmail(ctx context.Context, tenant, member uuid.UUID) (string, error) {
	var email string
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT email FROM memberships WHERE tenant_id = ? AND identity_id = ?", tenant, member).Scan(ctx, &email)
	})
	if err != nil {
		return "", classify(err, "member")
	}
	return email, nil
}

// MailMember sends a member mail at their address in this tenant.
func (s *Service) MailMember(ctx context.Context, tenant, member uuid.UUID, subject, text string) error {
	if s.d.Mailer == nil {
		return nil
	}
	var email string
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT email FROM memberships WHERE tenant_id = ? AND identity_id = ?", tenant, member).Scan(ctx, &email)
	})
	if err != nil {
		return classify(err, "member")
	}
	return s.d.Mailer.Send(ctx, Mail{To: email, Subject: subject, Text: text})
}
