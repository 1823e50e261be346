// Package tenants is how companies and people get into Clientele: signup, the
// current identity, members, roles, teams, invitations, API keys, tenant settings,
// the audit log viewer, and the guard that authenticates every tenant request.
// Identity comes from Kratos (through IdentityProvider); what a person may do comes
// only from this package's tables.
package tenants

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/invalidate"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Session is a verified sign-in.
type Session struct {
	IdentityID uuid.UUID
	Email      string
	Name       string
	ExpiresAt  time.Time
	// SetCookies are cookies the identity service re-issued, to forward.
	SetCookies []string
}

// IdentityProvider is the identity service (Kratos in production).
type IdentityProvider interface {
	// Verify checks a session token or a Cookie header; errors carry errs codes
	// Unauthenticated (bad or expired) or Unavailable (service down).
	Verify(ctx context.Context, sessionToken, cookie string) (Session, error)
	// Logout ends the session at the identity service and forgets any cached copy.
	Logout(ctx context.Context, sessionToken, cookie string) error
	// Invite makes sure an identity exists for email and returns a link (and a code)
	// with which the person sets a password.
	Invite(ctx context.Context, email, name string, ttl time.Duration) (identityID uuid.UUID, link, code string, err error)
}

// Mail is one message.
type Mail struct{ To, Subject, Text string }

// Mailer sends mail.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Limits are the request budgets per API key and per tenant, per minute.
type Limits struct {
	PerKey      int // requests a minute per API key
	PerTenant   int // requests a minute per tenant, all callers together
	BadKeyPerIP int // failed API-key attempts a minute per client address
	// BadKeyPerTenant is failed API-key attempts a minute aimed at one tenant,
	// from anywhere. Neither limit ever refuses a valid key.
	BadKeyPerTenant int
	InviteTTL       time.Duration
	// CloseGrace is how long a closed company can be reopened before its
	// data is deleted; zero is DefaultCloseGrace.
	CloseGrace   time.Duration
	PublicOrigin string // the app's origin, for CSRF checks on cookie sessions
}

// Deps are what the package needs, built in cmd.
type Deps struct {
	DB         *bun.DB
	Redis      redis.UniversalClient
	Identities IdentityProvider
	Mailer     Mailer
	Tenants    *tenancy.Resolver
	Enablement *module.Enablement
	Modules    module.Set // every wired module, for the permission catalogue and provisioning
	Limits     Limits
	Log        *slog.Logger
	// Bus carries access changes to every replica's in-memory cache; nil
	// disables the cache (every request reads its access from the database).
	Bus *invalidate.Bus
	// Files is the blob store; a purged company's files are deleted from it.
	Files *blob.Bucket
	// Registry receives the cache's metrics; nil registers none.
	Registry prometheus.Registerer
}

// Service holds the package's state.
type Service struct {
	d         Deps
	catalogue []authz.Permission
	builtIn   map[string]Role
	me        meCache
	local     breaker.LocalCounts // rate limits while Redis is unavailable
	actors    *actorCache
	counts    sharedCounts // the tenant rate limit, counted here and in Redis in batches
}

// meCache keeps each identity's company list for a moment: the web app asks for
// /me on every page. Any membership change in this process clears it; other
// replicas see a change within meTTL.
type meCache struct {
	mu sync.Mutex
	m  map[uuid.UUID]meEntry
}

const meTTL = 2 * time.Second

type meEntry struct {
	my  MyCompanies
	exp time.Time
}

func (c *meCache) get(id uuid.UUID) (MyCompanies, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || time.Now().After(e.exp) {
		return MyCompanies{}, false
	}
	return e.my, true
}

func (c *meCache) put(id uuid.UUID, my MyCompanies) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[uuid.UUID]meEntry{}
	}
	c.m[id] = meEntry{my: my, exp: time.Now().Add(meTTL)}
}

// clear drops every entry; called after any membership or invitation change.
func (c *meCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// New builds the service. Modules must be complete: the permission catalogue and
// the built-in roles are derived from them.
func New(d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Limits.PerKey == 0 {
		d.Limits.PerKey = 1200
	}
	if d.Limits.PerTenant == 0 {
		d.Limits.PerTenant = 6000
	}
	if d.Limits.BadKeyPerIP == 0 {
		d.Limits.BadKeyPerIP = 30
	}
	if d.Limits.InviteTTL == 0 {
		d.Limits.InviteTTL = 7 * 24 * time.Hour
	}
	s := &Service{d: d}
	s.actors = newActorCache(d.Bus, d.Registry)
	s.catalogue = append(OwnPermissions(), d.Modules.AllPermissions()...)
	s.builtIn = builtInRoles(s.catalogue)
	return s
}

// Name is the module name: tenant administration is always on.
func (s *Service) Name() string { return "tenants" }

// Permissions declares tenant administration's permissions.
func (s *Service) Permissions() []authz.Permission { return OwnPermissions() }
