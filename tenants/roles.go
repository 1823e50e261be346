package tenants

import (
	"sort"
	"strings"

	"github.com/clientele-crm/clientele/platform/authz"
)

// The built-in roles.
const (
	RoleOwner   = "owner"
	RoleAdmin   = "admin"
	RoleManager = "manager"
	RoleAgent   = "agent"
	RoleViewer  = "viewer"
)

// Permissions declared by the tenants package itself.
const (
	PermMembersManage  = "members.manage"
	PermRolesManage    = "roles.manage"
	PermAPIKeysManage  = "api_keys.manage"
	PermSettingsManage = "settings.manage"
	PermAuditRead      = "audit.read"
	PermPIIRead        = "pii.read"
)

// OwnPermissions are the permissions of tenant administration.
func OwnPermissions() []authz.Permission {
	return []authz.Permission{
		{Key: PermMembersManage, Label: "Invite and manage members", LabelZH: "邀请和管理成员"},
		{Key: PermRolesManage, Label: "Manage roles and teams", LabelZH: "管理角色和团队"},
		{Key: PermAPIKeysManage, Label: "Manage API keys", LabelZH: "管理 API 密钥"},
		{Key: PermSettingsManage, Label: "Change company settings", LabelZH: "修改公司设置"},
		{Key: PermAuditRead, Label: "Read the audit log", LabelZH: "查看审计日志"},
		{Key: PermPIIRead, Label: "See sensitive fields unmasked", LabelZH: "查看未脱敏的敏感字段"},
	}
}

// adminOnly are never granted to manager, agent or viewer by default. Erasing a
// person for good is a data controller's decision, not a daily task.
var adminOnly = map[string]bool{
	PermMembersManage: true, PermRolesManage: true, PermAPIKeysManage: true, PermSettingsManage: true,
}

// Role is a built-in or custom role with its grants.
type Role struct {
	Key         string      `json:"key" pattern:"^[a-z][a-z0-9_]{1,39}$" doc:"owner, admin, manager, agent and viewer are built in; other keys are the company's own"`
	Name        string      `json:"name"`
	BuiltIn     bool        `json:"built_in"`
	Permissions []string    `json:"permissions"`
	Scope       authz.Scope `json:"scope" enum:"own,team,all"`
}

// builtInRoles derives the built-in roles from the permission catalogue, so a new
// module's permissions land in the right roles without editing this file:
// owner and admin hold everything; manager everything but administration (and
// erasure); agent
// what a manager has except audit and unmasked PII, on their own records; viewer
// only the plain read permissions.
func builtInRoles(catalogue []authz.Permission) map[string]Role {
	var all, manager, agent, viewer []string
	for _, p := range catalogue {
		all = append(all, p.Key)
		if adminOnly[p.Key] || p.AdminOnly {
			continue
		}
		manager = append(manager, p.Key)
		if p.Key != PermAuditRead && p.Key != PermPIIRead {
			agent = append(agent, p.Key)
			if strings.HasSuffix(p.Key, ".read") {
				viewer = append(viewer, p.Key)
			}
		}
	}
	for _, l := range [][]string{all, manager, agent, viewer} {
		sort.Strings(l)
	}
	return map[string]Role{
		RoleOwner:   {Key: RoleOwner, Name: "Owner", BuiltIn: true, Permissions: all, Scope: authz.ScopeAll},
		RoleAdmin:   {Key: RoleAdmin, Name: "Admin", BuiltIn: true, Permissions: all, Scope: authz.ScopeAll},
		RoleManager: {Key: RoleManager, Name: "Manager", BuiltIn: true, Permissions: manager, Scope: authz.ScopeTeam},
		RoleAgent:   {Key: RoleAgent, Name: "Agent", BuiltIn: true, Permissions: agent, Scope: authz.ScopeOwn},
		RoleViewer:  {Key: RoleViewer, Name: "Viewer", BuiltIn: true, Permissions: viewer, Scope: authz.ScopeAll},
	}
}

func permSet(keys []string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}
