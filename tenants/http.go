package tenants

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/page"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

type sessionKey struct{}

func sessionFrom(ctx context.Context) (Session, error) {
	s, ok := ctx.Value(sessionKey{}).(Session)
	if !ok {
		return Session{}, unauthenticated()
	}
	return s, nil
}

// signIn is the middleware of the operations outside any tenant: it identifies
// the person from their session and puts the session and the person as the
// actor in the context; without a valid session it answers 401.
func (s *Service) signIn(srv *httpx.Server) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		r := httpx.RequestFrom(hctx.Context())
		sess, err := s.Identify(hctx.Context(), CredentialsFrom(httpx.HeaderOf(hctx), r.Method, r.ClientIP))
		if err != nil {
			srv.WriteError(hctx, err)
			return
		}
		for _, c := range sess.SetCookies {
			hctx.AppendHeader("Set-Cookie", c)
		}
		ctx := context.WithValue(hctx.Context(), sessionKey{}, sess)
		ctx = authz.WithActor(ctx, authz.Actor{ID: sess.IdentityID, Kind: authz.ActorUser})
		next(huma.WithContext(hctx, ctx))
	}
}

// signedIn adapts h, which works for the signed-in person, into the handler
// of an operation outside any tenant: h gets the session signIn found.
func signedIn[I, O any](h func(ctx context.Context, sess Session, in *I) (*O, error)) func(context.Context, *I) (*O, error) {
	return func(ctx context.Context, in *I) (*O, error) {
		sess, err := sessionFrom(ctx)
		if err != nil {
			return nil, err
		}
		return h(ctx, sess, in)
	}
}

// PublicRoutes registers the operations outside any tenant: signup, the current
// identity, logout and accepting an invitation. Each needs a signed-in person.
func (s *Service) PublicRoutes(srv *httpx.Server) {
	g := srv.AccountGroup()
	g.UseMiddleware(s.signIn(srv))

	type createIn struct {
		Body struct {
			Name string `json:"name" minLength:"1" maxLength:"100" doc:"the company's name" example:"Acme Trading 顶点贸易"`
			Slug string `json:"slug" minLength:"1" maxLength:"40" pattern:"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$" doc:"its address in URLs: lowercase letters, digits and inner hyphens (the same pattern as the {tenant} path parameter)" example:"acme"`
		} `nameHint:"TenantSignup"`
	}
	type membershipOut struct{ Body Membership }
	huma.Register(g, huma.Operation{OperationID: "create-tenant", Method: http.MethodPost, Path: "/tenants", DefaultStatus: 201,
		Summary: "Sign a company up", Description: "Creates the company and makes the caller its owner.",
		Responses: httpx.Refusals(map[int]string{409: "A company already has this slug; choose another."}),
	},
		signedIn(func(ctx context.Context, sess Session, in *createIn) (*membershipOut, error) {
			m, err := s.CreateTenant(ctx, sess, in.Body.Name, in.Body.Slug)
			if err != nil {
				return nil, err
			}
			return &membershipOut{Body: m}, nil
		}))

	type meOut struct {
		Body struct {
			Identity meIdentity `json:"identity"`
			MyCompanies
		} `nameHint:"Me"`
	}
	huma.Register(g, huma.Operation{OperationID: "get-me", Method: http.MethodGet, Path: "/me", Summary: "Who am I, and in which companies",
		Description: "The signed-in person, the companies they belong to with their role in each, the companies they own that are being closed (until their data is deleted an owner may reopen them), and the invitations waiting for them. Takes a session, not an API key."},
		signedIn(func(ctx context.Context, sess Session, _ *struct{}) (out *meOut, err error) {
			out = &meOut{}
			out.Body.Identity.ID, out.Body.Identity.Email, out.Body.Identity.Name = sess.IdentityID, sess.Email, sess.Name
			out.Body.MyCompanies, err = s.MyTenants(ctx, sess.IdentityID)
			return out, err
		}))

	type logoutIn struct {
		SessionToken string `header:"X-Session-Token"`
		Cookie       string `header:"Cookie"`
	}
	huma.Register(g, huma.Operation{OperationID: "logout", Method: http.MethodPost, Path: "/logout", DefaultStatus: 204, Summary: "End this session",
		Description: "Ends the session at the identity service and forgets the server's cached copy; the token or cookie stops working at once."},
		func(ctx context.Context, in *logoutIn) (*struct{}, error) {
			tok := in.SessionToken
			return nil, s.d.Identities.Logout(ctx, tok, in.Cookie)
		})

	type acceptIn struct {
		ID   uuid.UUID `path:"id"`
		Body struct {
			Tenant string `json:"tenant" doc:"the slug of the company that invited you"`
		} `nameHint:"InvitationAcceptance"`
	}
	huma.Register(g, huma.Operation{OperationID: "accept-invitation", Method: http.MethodPost, Path: "/invitations/{id}/accept", Summary: "Accept an invitation",
		Description: "Makes the caller a member of the inviting company with the invitation's role. The invitation must be addressed to the caller (another person's answers 404) and still pending; an accepted, revoked or expired one answers 409.",
		Responses:   httpx.Refusals(map[int]string{404: "No such company, or no invitation with this id addressed to the caller.", 409: "The invitation was accepted, revoked or has expired; ask for a new one."}),
	},
		signedIn(func(ctx context.Context, sess Session, in *acceptIn) (*membershipOut, error) {
			m, err := s.AcceptInvitation(ctx, sess, in.Body.Tenant, in.ID)
			if err != nil {
				return nil, err
			}
			return &membershipOut{Body: m}, nil
		}))
	s.reopenRoute(g)
}

// Routes registers the tenant-scoped operations, one group a concern.
func (s *Service) Routes(api huma.API, r fiber.Router) {
	s.memberRoutes(api)
	s.invitationRoutes(api)
	s.roleRoutes(api)
	s.teamRoutes(api)
	s.apiKeyRoutes(api)
	s.accessRoutes(api)
	s.settingsRoutes(api)
	s.auditRoutes(api)
	s.closeRoutes(api)
	if r != nil {
		s.backupRoute(r)
	}
}

// uuidPath is the {id} of a route on one record.
type uuidPath struct {
	ID uuid.UUID `path:"id"`
}

// memberRoutes registers the routes of members: list, change role, remove.
func (s *Service) memberRoutes(api huma.API) {
	type membersOut struct {
		Body struct {
			Items []Member `json:"items"`
		} `nameHint:"MemberList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-members", Method: http.MethodGet, Path: "/members", Summary: "List members",
		Description: "The company's members with their roles, by name."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, _ *struct{}) (out *membersOut, err error) {
			out = &membersOut{}
			out.Body.Items, err = s.ListMembers(ctx, t.ID)
			return out, err
		}))
	type memberIn struct {
		ID   uuid.UUID `path:"identity_id"`
		Body struct {
			Role string `json:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles"`
		} `nameHint:"MemberRoleChange"`
	}
	type memberOut struct{ Body Member }
	huma.Register(api, huma.Operation{OperationID: "change-member-role", Method: http.MethodPatch, Path: "/members/{identity_id}", Summary: "Change a member's role",
		Description: "Gives the member another role, built-in or custom; it applies from their next request. The last owner cannot be demoted (409), and only an owner may make or unmake owners. Needs members.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The change would leave the company without an owner."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *memberIn) (*memberOut, error) {
			m, err := s.ChangeRole(ctx, t.ID, in.ID, in.Body.Role)
			if err != nil {
				return nil, err
			}
			return &memberOut{Body: m}, nil
		}))
	type idPath struct {
		ID uuid.UUID `path:"identity_id"`
	}
	huma.Register(api, huma.Operation{OperationID: "remove-member", Method: http.MethodDelete, Path: "/members/{identity_id}", DefaultStatus: 204, Summary: "Remove a member",
		Description: "Takes the person out of the company; their records stay. The last owner cannot be removed (409), and only an owner may remove an owner. Needs members.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The member is the company's last owner."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *idPath) (*struct{}, error) {
			return nil, s.RemoveMember(ctx, t.ID, in.ID)
		}))
}

// invitationRoutes registers the routes of invitations: invite, list, revoke.
func (s *Service) invitationRoutes(api huma.API) {
	type inviteIn struct {
		Body struct {
			Email string `json:"email" maxLength:"254" doc:"the person's email address"`
			Role  string `json:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles"`
			Name  string `json:"name,omitempty" maxLength:"100"`
		} `nameHint:"NewInvitation"`
	}
	type invitationOut struct{ Body Invitation }
	huma.Register(api, huma.Operation{OperationID: "create-invitation", Method: http.MethodPost, Path: "/invitations", DefaultStatus: 201, Summary: "Invite a person",
		Description: "Invites a person by email with a role; they receive a link to set a password (or sign in) and then accept at POST /api/v1/invitations/{id}/accept. A new invitation replaces a pending one to the same address. Only an owner may invite an owner. Needs members.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The person is a member already."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *inviteIn) (*invitationOut, error) {
			inv, err := s.Invite(ctx, t, in.Body.Email, in.Body.Role, in.Body.Name)
			if err != nil {
				return nil, err
			}
			return &invitationOut{Body: inv}, nil
		}))
	type invitationsOut struct {
		Body struct {
			Items []Invitation `json:"items"`
		} `nameHint:"InvitationList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-invitations", Method: http.MethodGet, Path: "/invitations", Summary: "List invitations",
		Description: "Invitations of the company, pending, accepted and revoked. Needs members.manage."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, _ *struct{}) (out *invitationsOut, err error) {
			out = &invitationsOut{}
			out.Body.Items, err = s.ListInvitations(ctx, t.ID)
			return out, err
		}))
	huma.Register(api, huma.Operation{OperationID: "revoke-invitation", Method: http.MethodDelete, Path: "/invitations/{id}", DefaultStatus: 204, Summary: "Revoke an invitation",
		Description: "Withdraws a pending invitation; accepting it then answers 409. Needs members.manage."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *uuidPath) (*struct{}, error) {
			return nil, s.RevokeInvitation(ctx, t.ID, in.ID)
		}))
}

// roleRoutes registers the routes of roles: the built-in and custom roles and the permission catalogue.
func (s *Service) roleRoutes(api huma.API) {
	type rolesOut struct {
		Body struct {
			Items []Role `json:"items"`
		} `nameHint:"RoleList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-roles", Method: http.MethodGet, Path: "/roles", Summary: "List roles",
		Description: "The built-in roles (owner, admin, manager, agent, viewer) and the company's custom roles, with their permissions and record scope."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, _ *struct{}) (out *rolesOut, err error) {
			out = &rolesOut{}
			out.Body.Items, err = s.Roles(ctx, t.ID)
			return out, err
		}))
	type permsOut struct {
		Body struct {
			Items []permissionView `json:"items"`
		} `nameHint:"PermissionList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-permissions", Method: http.MethodGet, Path: "/permissions", Summary: "Every permission a role may hold",
		Description: "The catalogue of permissions a custom role may grant, with labels in English and Chinese."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, _ *struct{}) (*permsOut, error) {
			out := &permsOut{}
			for _, p := range s.Catalogue() {
				out.Body.Items = append(out.Body.Items, permissionView{Key: p.Key, Label: p.Label, LabelZH: p.LabelZH})
			}
			return out, nil
		}))
	type createRoleIn struct {
		Body struct {
			Key         string   `json:"key" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"lowercase identifier, e.g. support_lead"`
			Name        string   `json:"name" minLength:"1" maxLength:"80"`
			Permissions []string `json:"permissions" maxItems:"200"`
			Scope       string   `json:"scope,omitempty" enum:"own,team,all" default:"own"`
		} `nameHint:"NewRole"`
	}
	type roleOut struct{ Body Role }
	huma.Register(api, huma.Operation{OperationID: "create-role", Method: http.MethodPost, Path: "/roles", DefaultStatus: 201, Summary: "Create a custom role",
		Description: "A custom role with a key, a name, the permissions it grants and the records it sees (own, team or all). Members and API keys can then be given it. Needs roles.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "A role with this key exists already."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *createRoleIn) (*roleOut, error) {
			r, err := s.SaveRole(ctx, t.ID, Role{Key: in.Body.Key, Name: in.Body.Name, Permissions: in.Body.Permissions, Scope: authz.Scope(in.Body.Scope)}, true)
			if err != nil {
				return nil, err
			}
			return &roleOut{Body: r}, nil
		}))
	type updateRoleIn struct {
		Key  string `path:"key" maxLength:"40"`
		Body roleUpdate
	}
	huma.Register(api, huma.Operation{OperationID: "update-role", Method: http.MethodPut, Path: "/roles/{key}", Summary: "Change a custom role",
		Description: "Replaces a custom role's name, permissions and scope; members holding it get the new grants on their next request. Built-in roles answer 409. Needs roles.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "Built-in roles cannot be changed."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *updateRoleIn) (*roleOut, error) {
			r, err := s.SaveRole(ctx, t.ID, Role{Key: in.Key, Name: in.Body.Name, Permissions: in.Body.Permissions, Scope: authz.Scope(in.Body.Scope)}, false)
			if err != nil {
				return nil, err
			}
			return &roleOut{Body: r}, nil
		}))
	type keyPath struct {
		Key string `path:"key" maxLength:"40"`
	}
	huma.Register(api, huma.Operation{OperationID: "delete-role", Method: http.MethodDelete, Path: "/roles/{key}", DefaultStatus: 204, Summary: "Delete a custom role",
		Description: "Deletes a custom role that no member or active API key holds (409 otherwise); built-in roles cannot be deleted (409). Needs roles.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The role is built in, or members or active API keys still hold it."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *keyPath) (*struct{}, error) {
			return nil, s.DeleteRole(ctx, t.ID, in.Key)
		}))
}

// teamRoutes registers the routes of teams, which decide who sees whose records.
func (s *Service) teamRoutes(api huma.API) {
	type teamsOut struct {
		Body struct {
			Items []Team `json:"items"`
		} `nameHint:"TeamList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-teams", Method: http.MethodGet, Path: "/teams", Summary: "List teams",
		Description: "The company's teams and their members. A role whose scope is team sees the records of its teammates."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, _ *struct{}) (out *teamsOut, err error) {
			out = &teamsOut{}
			out.Body.Items, err = s.Teams(ctx, t.ID)
			return out, err
		}))
	type teamOut struct{ Body Team }
	huma.Register(api, huma.Operation{OperationID: "create-team", Method: http.MethodPost, Path: "/teams", DefaultStatus: 201, Summary: "Create a team",
		Description: "A team with a name and members (member identity ids). Needs roles.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "A team with this name exists already."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *struct{ Body teamInput }) (*teamOut, error) {
			tm, err := s.SaveTeam(ctx, t.ID, nil, in.Body.Name, in.Body.Members)
			if err != nil {
				return nil, err
			}
			return &teamOut{Body: tm}, nil
		}))
	type updateTeamIn struct {
		ID   uuid.UUID `path:"id"`
		Body teamInput
	}
	huma.Register(api, huma.Operation{OperationID: "update-team", Method: http.MethodPut, Path: "/teams/{id}", Summary: "Rename a team and set its members",
		Description: "Renames the team and replaces its member list. Needs roles.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "Another team has this name."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *updateTeamIn) (*teamOut, error) {
			tm, err := s.SaveTeam(ctx, t.ID, &in.ID, in.Body.Name, in.Body.Members)
			if err != nil {
				return nil, err
			}
			return &teamOut{Body: tm}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-team", Method: http.MethodDelete, Path: "/teams/{id}", DefaultStatus: 204, Summary: "Delete a team",
		Description: "Deletes the team; its members stay in the company. Needs roles.manage."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *uuidPath) (*struct{}, error) {
			return nil, s.DeleteTeam(ctx, t.ID, in.ID)
		}))
}

// apiKeyRoutes registers the routes of API keys.
func (s *Service) apiKeyRoutes(api huma.API) {
	type keysOut struct {
		Body struct {
			Items []APIKey `json:"items"`
		} `nameHint:"APIKeyList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-api-keys", Method: http.MethodGet, Path: "/api-keys", Summary: "List API keys",
		Description: "Every API key of the company, revoked ones last. Each key shows its prefix, the start of the key's own text: distinct within the company, so you can tell which key to revoke, and no part of the secret, which is never shown again after creation. Needs api_keys.manage."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, _ *struct{}) (out *keysOut, err error) {
			out = &keysOut{}
			out.Body.Items, err = s.ListAPIKeys(ctx, t.ID)
			return out, err
		}))
	type createKeyIn struct {
		Body struct {
			Name string `json:"name" minLength:"1" maxLength:"80"`
			Role string `json:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles"`
		} `nameHint:"NewAPIKey"`
	}
	type createKeyOut struct {
		Body struct {
			APIKey
			Key string `json:"key" doc:"the full key; shown only now, store it safely"`
		} `nameHint:"CreatedAPIKey"`
	}
	huma.Register(api, huma.Operation{OperationID: "create-api-key", Method: http.MethodPost, Path: "/api-keys", DefaultStatus: 201, Summary: "Create an API key",
		Description: "Creates a key that acts in this company with the given role (any role but owner). The answer carries the full key, the only time it is shown: send it as Authorization: Bearer ck_.... Needs api_keys.manage."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *createKeyIn) (*createKeyOut, error) {
			k, full, err := s.CreateAPIKey(ctx, t.ID, in.Body.Name, in.Body.Role)
			if err != nil {
				return nil, err
			}
			out := &createKeyOut{}
			out.Body.APIKey, out.Body.Key = k, full
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "revoke-api-key", Method: http.MethodDelete, Path: "/api-keys/{id}", DefaultStatus: 204, Summary: "Revoke an API key",
		Description: "Stops the key at once: the next request with it gets 401. Needs api_keys.manage."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *uuidPath) (*struct{}, error) {
			return nil, s.RevokeAPIKey(ctx, t.ID, in.ID)
		}))
}

// accessRoutes registers the routes of the caller's own access.
func (s *Service) accessRoutes(api huma.API) {
	type accessOut struct {
		Body struct {
			Kind        string   `json:"kind" enum:"user,api_key" doc:"a signed-in person, or an API key"`
			Role        string   `json:"role" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"a role key: owner, admin, manager, agent, viewer, or the key of one of the company's custom roles"`
			Scope       string   `json:"scope" enum:"own,team,all" doc:"which records the caller sees"`
			Permissions []string `json:"permissions" doc:"every permission the caller holds in this company, sorted"`
		} `nameHint:"MyAccess"`
	}
	huma.Register(api, huma.Operation{OperationID: "get-my-access", Method: http.MethodGet, Path: "/me", Summary: "My role and permissions in this company",
		Description: "What the caller may do here, so a client can hide what it cannot do. The server checks every request regardless."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, _ *struct{}) (*accessOut, error) {
			a := authz.ActorFrom(ctx)
			out := &accessOut{}
			out.Body.Kind, out.Body.Role, out.Body.Scope = string(a.Kind), a.Role, string(a.Scope)
			out.Body.Permissions = make([]string, 0, len(a.Permissions))
			for p, ok := range a.Permissions {
				if ok {
					out.Body.Permissions = append(out.Body.Permissions, p)
				}
			}
			sort.Strings(out.Body.Permissions)
			return out, nil
		}))
}

// settingsRoutes registers the routes of company settings.
func (s *Service) settingsRoutes(api huma.API) {
	type settingsOut struct{ Body Settings }
	huma.Register(api, huma.Operation{OperationID: "get-settings", Method: http.MethodGet, Path: "/settings", Summary: "Company settings",
		Description: "The company's name, slug, time zone, locale, currency and which modules are on."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, _ *struct{}) (*settingsOut, error) {
			st, err := s.GetSettings(ctx, t)
			return &settingsOut{Body: st}, err
		}))
	huma.Register(api, huma.Operation{OperationID: "update-settings", Method: http.MethodPatch, Path: "/settings", Summary: "Change company settings",
		Description: "Changes the given settings and leaves the others. Turning a module off makes its routes answer 403 for everyone in the company. Needs settings.manage."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *struct{ Body SettingsUpdate }) (*settingsOut, error) {
			st, err := s.UpdateSettings(ctx, t, in.Body)
			if err != nil {
				return nil, err
			}
			return &settingsOut{Body: st}, nil
		}))
}

// auditRoutes registers the routes of the audit log.
func (s *Service) auditRoutes(api huma.API) {
	type auditOut struct {
		Body struct {
			Items      []audit.Row `json:"items"`
			NextCursor string      `json:"next_cursor,omitempty"`
		} `nameHint:"AuditPage"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-audit", Method: http.MethodGet, Path: "/audit", Summary: "The audit log, newest first",
		Description: "Every change in the company, newest first, with who made it and a before/after diff (sensitive values masked). Filter by entity, record, action, actor and time; keyset pages through next_cursor. Needs audit.read."},
		func(ctx context.Context, in *AuditFilter) (*auditOut, error) {
			out := &auditOut{}
			var err error
			out.Body.Items, out.Body.NextCursor, err = s.ListAudit(ctx, *in)
			return out, err
		})
}

// AuditFilter filters and pages the audit log; zero fields filter nothing.
type AuditFilter struct {
	Entity   string    `query:"entity" maxLength:"50"`
	EntityID string    `query:"entity_id" maxLength:"100"`
	Action   string    `query:"action" maxLength:"100"`
	Actor    string    `query:"actor" format:"uuid" doc:"actor id (a member or an API key)"`
	From     time.Time `query:"from" doc:"RFC 3339 time, inclusive"`
	To       time.Time `query:"to" doc:"RFC 3339 time, exclusive"`
	Cursor   string    `query:"cursor" maxLength:"200"`
	Limit    int       `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

// ListAudit is one page of the company's audit log, newest first, and the cursor
// of the next page ("" on the last). Needs audit.read.
func (s *Service) ListAudit(ctx context.Context, in AuditFilter) ([]audit.Row, string, error) {
	items := []audit.Row{}
	err := tenancy.Tx(ctx, s.d.DB, PermAuditRead, func(ctx context.Context, tx bun.Tx, t tenancy.Tenant) error {
		q, err := auditQuery(tx.NewSelect().Model(&items).Where("tenant_id = ?", t.ID), in)
		if err != nil {
			return err
		}
		return q.OrderExpr("occurred_at DESC, id DESC").Limit(in.Limit + 1).Scan(ctx)
	})
	if err != nil {
		return nil, "", classify(err, "audit entry")
	}
	items, next := page.Cut(items, in.Limit, func(last audit.Row) any { return page.After{At: last.OccurredAt, ID: last.ID} })
	return items, next, nil
}

// auditQuery narrows q to the filters and the page after the cursor of in.
func auditQuery(q *bun.SelectQuery, in AuditFilter) (*bun.SelectQuery, error) {
	if in.Cursor != "" {
		after := &page.After{}
		if err := page.Decode(in.Cursor, after); err != nil {
			return nil, err
		}
		q = q.Where("(occurred_at, id) < (?, ?)", after.At, after.ID)
	}
	if in.Actor != "" {
		id, err := uuid.Parse(in.Actor)
		if err != nil {
			return nil, errs.Field("query.actor", "must be a UUID")
		}
		q = q.Where("actor_id = ?", id)
	}
	for _, f := range [][2]string{{"entity", in.Entity}, {"entity_id", in.EntityID}, {"action", in.Action}} {
		if f[1] != "" {
			q = q.Where("? = ?", bun.Ident(f[0]), f[1])
		}
	}
	if !in.From.IsZero() {
		q = q.Where("occurred_at >= ?", in.From)
	}
	if !in.To.IsZero() {
		q = q.Where("occurred_at < ?", in.To)
	}
	return q, nil
}

// roleUpdate is a custom role's new name, grants and scope.
type roleUpdate struct {
	Name        string   `json:"name" minLength:"1" maxLength:"80"`
	Permissions []string `json:"permissions" maxItems:"200"`
	Scope       string   `json:"scope,omitempty" enum:"own,team,all" default:"own"`
}

// teamInput is a team's name and members.
type teamInput struct {
	Name    string      `json:"name" minLength:"1" maxLength:"80"`
	Members []uuid.UUID `json:"members,omitempty" maxItems:"1000"`
}

// meIdentity is the signed-in person.
type meIdentity struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
	Name  string    `json:"name"`
}

// SchemaName names meIdentity in the API document (httpx.SchemaNamer).
func (meIdentity) SchemaName() string { return "Identity" }

// SchemaName names permissionView in the API document (httpx.SchemaNamer).
func (permissionView) SchemaName() string { return "Permission" }

type permissionView struct {
	Key     string `json:"key"`
	Label   string `json:"label"`
	LabelZH string `json:"label_zh"`
}
