package httpx

import "github.com/danielgtaylor/huma/v2"

// The security schemes the API document declares, by name.
const (
	SchemeSessionToken  = "session_token"
	SchemeSessionCookie = "session_cookie"
	SchemeAPIKey        = "api_key"
)

// DefaultChallenge is the WWW-Authenticate value of a 401. Bearer carries both an
// API key (ck_...) and a session token; X-Session-Token and the session cookie
// are not HTTP authentication schemes, so they have no challenge of their own.
const DefaultChallenge = `Bearer realm="clientele"`

// AnyCredential is the security of tenant-scoped operations: a person's session
// (token or cookie) or one of the company's API keys.
var AnyCredential = []map[string][]string{
	{SchemeSessionToken: {}},
	{SchemeSessionCookie: {}},
	{SchemeAPIKey: {}},
}

// SessionOnly is the security of account operations (who am I, company signup,
// invitations, logout): they act for a person, so an API key is refused.
var SessionOnly = []map[string][]string{
	{SchemeSessionToken: {}},
	{SchemeSessionCookie: {}},
}

var securitySchemes = map[string]*huma.SecurityScheme{
	SchemeSessionToken: {
		Type: "apiKey", In: "header", Name: "X-Session-Token",
		Description: "A person's Ory Kratos session token, from the API login or registration flow " +
			"(GET /kratos/self-service/login/api, then POST the flow with the password; the answer's session_token).",
	},
	SchemeSessionCookie: {
		Type: "apiKey", In: "cookie", Name: "ory_kratos_session",
		Description: "The Kratos session cookie the web app gets from the browser flows under /kratos. " +
			"Requests that change something must also come from the app's own origin and carry the X-Clientele-CSRF header.",
	},
	SchemeAPIKey: {
		Type: "http", Scheme: "bearer", BearerFormat: "ck_<key id>_<secret>",
		Description: "A company's API key, sent as Authorization: Bearer ck_.... It acts only inside its own company " +
			"(/api/v1/t/{tenant}/...) with the role it was given; create one with POST /api/v1/t/{tenant}/api-keys.",
	},
}
