package tenants

import "github.com/danielgtaylor/huma/v2"

// APITags describes the tags of tenant administration's operations.
func (s *Service) APITags() []*huma.Tag {
	return []*huma.Tag{
		{Name: "account", Description: "The signed-in person: who they are, their companies and invitations, signing a company up, logging out. These operations take a session, never an API key."},
		{Name: "members", Description: "The people of a company and their roles."},
		{Name: "invitations", Description: "Inviting people into a company by email."},
		{Name: "roles", Description: "Built-in and custom roles: the permissions they grant and the records they see."},
		{Name: "permissions", Description: "The catalogue of permissions a role may grant."},
		{Name: "teams", Description: "Teams of members, for team-scoped visibility."},
		{Name: "api-keys", Description: "API keys for integrations: each acts in one company with a role."},
		{Name: "settings", Description: "The company's name, time zone, locale, currency and modules."},
		{Name: "audit", Description: "The audit log: every change, who made it, and a before/after diff."},
		{Name: "me", Description: "The caller's own role and permissions in a company."},
		{Name: "close", Description: "Closing the company: an owner closes it, it stops at once, and after a grace period in which an owner may reopen it, every record and file of it is deleted. " +
			"Before that, or at any time, an owner signed in may download the company's backup: GET /api/v1/t/{tenant}/backup streams a zip archive of every record, " +
			"custom field definition, file, member and setting, with a manifest (format and schema version, each table's row count) and a SHA-256 checksum per entry " +
			"(a raw route outside this document, as file downloads are; anyone else gets 403, a non-member 404). `clientele tenant import ARCHIVE --as NEWSLUG` restores it into a new company."},
	}
}
