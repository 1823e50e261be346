package tenants

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/breaker"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/logx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Credentials are what a request presents.
type Credentials struct {
	APIKey       string // from Authorization: Bearer ck_...
	SessionToken string // X-Session-Token
	Cookie       string // the Cookie header, for browser sessions
	ClientIP     string
	Method       string
	Origin       string // Origin, or the origin of Referer
	FetchSite    string // Sec-Fetch-Site
	CSRFHeader   string // X-Clientele-CSRF
}

// CredentialsFrom reads credentials through a header getter (Fiber or Huma).
func CredentialsFrom(header func(string) string, method, clientIP string) Credentials {
	c := Credentials{
		SessionToken: strings.TrimSpace(header("X-Session-Token")),
		Cookie:       header("Cookie"),
		ClientIP:     clientIP,
		Method:       method,
		Origin:       header("Origin"),
		FetchSite:    header("Sec-Fetch-Site"),
		CSRFHeader:   header("X-Clientele-CSRF"),
	}
	if c.Origin == "" {
		if u, err := url.Parse(header("Referer")); err == nil && u.Host != "" {
			c.Origin = u.Scheme + "://" + u.Host
		}
	}
	if auth := header("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		tok := strings.TrimSpace(auth[7:])
		if strings.HasPrefix(tok, keyPrefix) {
			c.APIKey = tok
		} else if c.SessionToken == "" {
			c.SessionToken = tok
		}
	}
	if !strings.Contains(c.Cookie, "ory_kratos_session") {
		c.Cookie = "" // other cookies are not a session
	}
	return c
}

func (c Credentials) none() bool { return c.APIKey == "" && c.SessionToken == "" && c.Cookie == "" }

func unauthenticated() error {
	return errs.E(errs.Unauthenticated, "Sign in first: send a session (cookie or X-Session-Token) or an API key (Authorization: Bearer ck_...).")
}

// sessionOnly refuses an API key on a route that acts for a person.
func sessionOnly() error {
	e := errs.E(errs.Unauthenticated, "This route acts for a person and takes a session (X-Session-Token, or the web app's session cookie), not an API key. API keys work inside their company only, under /api/v1/t/{tenant}/...")
	e.Challenge = httpx.DefaultChallenge + `, error="invalid_token", error_description="this route takes a session token, not an API key"`
	return e
}

// Identify verifies a person's session (not an API key) for routes outside a tenant.
func (s *Service) Identify(ctx context.Context, c Credentials) (Session, error) {
	if c.SessionToken == "" && c.Cookie == "" {
		if c.APIKey != "" {
			return Session{}, sessionOnly()
		}
		return Session{}, errs.E(errs.Unauthenticated, "Sign in first: this route takes a session (X-Session-Token, or the web app's session cookie).")
	}
	if err := s.checkCSRF(c); err != nil {
		return Session{}, err
	}
	return s.d.Identities.Verify(ctx, c.SessionToken, c.Cookie)
}

// checkCSRF refuses state-changing requests carried by a browser cookie unless
// they come from our own origin and carry the custom header a cross-site form or
// simple request cannot send.
func (s *Service) checkCSRF(c Credentials) error {
	if c.Cookie == "" || c.SessionToken != "" {
		return nil
	}
	switch c.Method {
	case "GET", "HEAD", "OPTIONS":
		return nil
	}
	sameOrigin := c.FetchSite == "same-origin" || (c.Origin != "" && s.d.Limits.PublicOrigin != "" && strings.EqualFold(strings.TrimRight(c.Origin, "/"), strings.TrimRight(s.d.Limits.PublicOrigin, "/")))
	if c.FetchSite == "cross-site" || c.FetchSite == "same-site" {
		sameOrigin = false
	}
	if !sameOrigin || c.CSRFHeader == "" {
		return errs.E(errs.Forbidden, "This request was refused as a possible cross-site request forgery. The web app sends the X-Clientele-CSRF header from its own origin; scripts should use a session token or an API key instead of a cookie.")
	}
	return nil
}

// Guard is the tenant gate for httpx: it authenticates the caller and admits
// members (and the tenant's own API keys) only. Everyone else gets NotFound.
func (s *Service) Guard(ctx context.Context, header func(string) string, t tenancy.Tenant) (context.Context, error) {
	c := CredentialsFrom(header, methodOf(ctx), clientIPOf(ctx))
	if c.none() {
		return nil, unauthenticated()
	}
	var actor authz.Actor
	if c.APIKey != "" {
		a, err := s.authenticateKey(ctx, c, t)
		if err != nil {
			return nil, err
		}
		actor = a
	} else {
		sess, err := s.Identify(ctx, c)
		if err != nil {
			return nil, err
		}
		a, err := s.memberActor(ctx, t.ID, sess.IdentityID)
		if err != nil {
			return nil, err
		}
		actor = a
	}
	if err := s.limitBatched(ctx, "tenant:"+t.ID.String(), s.d.Limits.PerTenant); err != nil {
		return nil, err
	}
	ctx = authz.WithActor(ctx, actor)
	return logx.With(ctx, "actor_kind", string(actor.Kind)), nil
}

func notMember(tenancy.Tenant) error { return tenancy.NotFound() }

type memberRow struct {
	Role        string   `bun:"role"`
	Permissions []string `bun:"permissions,array"`
	Scope       string   `bun:"scope"`
	Teams       []string `bun:"teams,array"`
	Teammates   []string `bun:"teammates,array"`
}

// memberActor resolves a member's role and grants. It answers from memory while
// nothing in the tenant's access has changed (see actorCache); a change made on
// any replica reaches every replica's cache through the invalidation bus, so
// role changes and custom role grants take effect at once.
func (s *Service) memberActor(ctx context.Context, tenant, identity uuid.UUID) (authz.Actor, error) {
	a, tk, ok := s.actors.get(tenant, identity)
	if ok {
		return a, nil
	}
	a, err := s.loadMemberActor(ctx, tenant, identity)
	if err == nil {
		s.actors.put(tenant, identity, a, tk)
	}
	return a, err
}

// loadMemberActor reads a member's role, grants, teams and teammates.
func (s *Service) loadMemberActor(ctx context.Context, tenant, identity uuid.UUID) (authz.Actor, error) {
	var m memberRow
	// One statement: the function sets the tenant for its own transaction and reads
	// under RLS as the app role.
	err := db.ScopedCall(ctx, s.d.DB, func(ctx context.Context, q bun.IDB) error {
		return q.NewRaw("SELECT role, permissions, scope, teams::text[] AS teams, teammates::text[] AS teammates FROM clientele_member_actor(?, ?)", tenant, identity).Scan(ctx, &m)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return authz.Actor{}, tenancy.NotFound()
	}
	if err != nil {
		return authz.Actor{}, errs.From(err)
	}
	a := authz.Actor{ID: identity, Kind: authz.ActorUser, Role: m.Role}
	s.grant(&a, m.Role, m.Permissions, m.Scope)
	for _, t := range m.Teams {
		if id, err := uuid.Parse(t); err == nil {
			a.TeamIDs = append(a.TeamIDs, id)
		}
	}
	a.Teammates = []uuid.UUID{identity}
	for _, t := range m.Teammates {
		if id, err := uuid.Parse(t); err == nil && id != identity {
			a.Teammates = append(a.Teammates, id)
		}
	}
	return a, nil
}

func (s *Service) grant(a *authz.Actor, role string, custom []string, scope string) {
	if r, ok := s.builtIn[role]; ok {
		a.Permissions = permSet(r.Permissions)
		a.Scope = r.Scope
		return
	}
	a.Permissions = permSet(custom)
	a.Scope = authz.Scope(scope)
	if a.Scope == "" {
		a.Scope = authz.ScopeOwn
	}
}

// API keys look like ck_<head>_<secret>. head carries the key's id and its
// company's, so the guard finds the key without a cross-tenant index; only a
// hash of the secret is stored. Keys put their own id first and end head with
// a version byte (44 characters), so what lists show of a key (ck_ and the
// start of head, see shownHead) differs from key to key. Keys made before put
// the company first (43 characters); they still work, and a migration set their
// shown prefix far enough in to reach their own id (legacyShownHead).
const (
	keyPrefix  = "ck_"
	keyVersion = 1
	// shownHead characters of head are 72 bits of the key's random id: distinct
	// within a company, and no part of the secret.
	shownHead = 12
	// legacyShownHead characters of an old head reach 52 bits into the key id,
	// after the 128 of the company's.
	legacyShownHead = 30
)

func newKey(tenant uuid.UUID) (id uuid.UUID, full, prefix string, hash []byte) {
	id = uuid.New()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	ids := make([]byte, 0, 33)
	ids = append(append(append(ids, id[:]...), tenant[:]...), keyVersion)
	head := base64.RawURLEncoding.EncodeToString(ids)
	full = keyPrefix + head + "_" + base64.RawURLEncoding.EncodeToString(secret)
	h := sha256.Sum256(secret)
	return id, full, keyPrefix + head[:shownHead], h[:]
}

func parseKey(k string) (tenant, id uuid.UUID, secretHash []byte, ok bool) {
	if !strings.HasPrefix(k, keyPrefix) {
		return tenant, id, nil, false
	}
	// Both parts are base64url, which may itself contain '_': split by length.
	rest := strings.TrimPrefix(k, keyPrefix)
	var head, sec string
	switch {
	case len(rest) == 44+1+43 && rest[44] == '_':
		head, sec = rest[:44], rest[45:]
	case len(rest) == 43+1+43 && rest[43] == '_':
		head, sec = rest[:43], rest[44:]
	default:
		return tenant, id, nil, false
	}
	ids, err1 := base64.RawURLEncoding.DecodeString(head)
	secret, err2 := base64.RawURLEncoding.DecodeString(sec)
	if err1 != nil || err2 != nil || len(secret) != 32 {
		return tenant, id, nil, false
	}
	switch {
	case len(ids) == 33 && ids[32] == keyVersion:
		copy(id[:], ids[:16])
		copy(tenant[:], ids[16:32])
	case len(ids) == 32:
		copy(tenant[:], ids[:16])
		copy(id[:], ids[16:])
	default:
		return tenant, id, nil, false
	}
	if tenant == uuid.Nil || id == uuid.Nil { // newKey never makes these
		return tenant, id, nil, false
	}
	h := sha256.Sum256(secret)
	return tenant, id, h[:], true
}

type keyRow struct {
	Role        string     `bun:"role"`
	Matches     bool       `bun:"matches"`
	RevokedAt   *time.Time `bun:"revoked_at"`
	LastUsedAt  *time.Time `bun:"last_used_at"`
	Permissions []string   `bun:"permissions,array"`
	Scope       string     `bun:"scope"`
}

// authenticateKey admits a valid key of this tenant. A valid key of another tenant
// gets NotFound, like any outsider; a wrong, malformed or revoked key gets
// Unauthenticated and counts against the client's address and against the
// tenant it claims, each with its own limit. The counters refuse bad keys only:
// a valid key is checked first and is never refused for them, so a flood of bad
// keys from an address (behind a proxy, everyone's) locks out no integration.
func (s *Service) authenticateKey(ctx context.Context, c Credentials, t tenancy.Tenant) (authz.Actor, error) {
	bad := func() error {
		errIP := s.limit(ctx, "badkey:"+limitAddr(c.ClientIP), s.d.Limits.BadKeyPerIP)
		errTenant := s.limit(ctx, "badkey-tenant:"+t.Slug, s.d.Limits.BadKeyPerTenant)
		if errIP != nil {
			return errIP
		}
		if errTenant != nil {
			return errTenant
		}
		return errs.E(errs.Unauthenticated, "This API key is not valid (wrong, malformed or revoked). Create a new one under Settings → API keys.")
	}
	keyTenant, id, hash, ok := parseKey(c.APIKey)
	if !ok {
		return authz.Actor{}, bad()
	}
	// A valid key is served from memory while nothing in its company's access
	// changed (see actorCache): revoking it, editing its role's grants or
	// closing the company drops it on every replica at once.
	e, tk, hit := s.actors.getKey(keyTenant, id)
	if hit && subtle.ConstantTimeCompare(e.hash, hash) != 1 {
		return authz.Actor{}, bad()
	}
	record := false
	if hit {
		record = s.actors.keyUseToRecord(keyTenant, id, time.Now())
	} else {
		var k keyRow
		err := db.InTenant(ctx, s.d.DB, keyTenant, func(ctx context.Context, tx bun.Tx) error {
			// A key of a tenant that is no longer active is no key at all.
			return tx.NewRaw(`SELECT k.role, k.secret_hash = ?::bytea AS matches, k.revoked_at, k.last_used_at, coalesce(r.permissions, '{}') AS permissions, coalesce(r.scope, '') AS scope
			FROM api_keys k JOIN tenants t ON t.id = k.tenant_id AND t.status = 'active'
			LEFT JOIN roles r ON r.tenant_id = k.tenant_id AND r.key = k.role
			WHERE k.tenant_id = ? AND k.id = ?`, hash, keyTenant, id).Scan(ctx, &k)
		})
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (k.RevokedAt != nil || !k.Matches)) {
			return authz.Actor{}, bad()
		}
		if err != nil {
			return authz.Actor{}, errs.From(err)
		}
		e = keyEntry{actor: authz.Actor{ID: id, Kind: authz.ActorAPIKey, Role: k.Role}, hash: hash, recorded: time.Now()}
		s.grant(&e.actor, k.Role, k.Permissions, k.Scope)
		record = k.LastUsedAt == nil || time.Since(*k.LastUsedAt) > time.Minute
		if !record && k.LastUsedAt != nil {
			e.recorded = *k.LastUsedAt
		}
		s.actors.putKey(keyTenant, id, e, tk)
	}
	if keyTenant != t.ID {
		return authz.Actor{}, notMember(t)
	}
	if err := s.limit(ctx, "key:"+id.String(), s.d.Limits.PerKey); err != nil {
		return authz.Actor{}, err
	}
	if record {
		// Recorded at most once a minute, off the request's path.
		go func() {
			bg, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = db.InTenant(bg, s.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE api_keys SET last_used_at = now() WHERE tenant_id = ? AND id = ?", t.ID, id)
				return err
			})
		}()
	}
	return e.actor, nil
}

// limit counts one request against a fixed one-minute window in Redis and refuses
// it with 429 and Retry-After past max.
func (s *Service) limit(ctx context.Context, key string, max int) error {
	if s.d.Redis == nil || max <= 0 {
		return nil
	}
	now := time.Now()
	window := now.Unix() / 60
	k := fmt.Sprintf("clientele:rl:%s:%d", key, window)
	pipe := s.d.Redis.TxPipeline()
	incr := pipe.Incr(ctx, k)
	pipe.Expire(ctx, k, 2*time.Minute)
	n := int64(0)
	if _, err := pipe.Exec(ctx); err != nil {
		// Redis is down or slow (its breaker answers at once once open): count
		// in this process instead, so the limit holds per replica meanwhile.
		if !isBreakerOpen(err) {
			s.d.Log.WarnContext(ctx, "tenants: Redis rate limiter unavailable; limiting in this process", "error", err.Error())
		}
		n, _ = s.local.Count(key, time.Minute, now)
	} else {
		n = incr.Val()
	}
	if n <= int64(max) {
		return nil
	}
	err := rateLimited(now)
	s.pause(ctx, time.Duration(err.RetryAfter)*time.Second)
	return err
}

// pause holds a refusal for Limits.RefusalDelay, at most retryAfter, or until
// the client goes away.
func (s *Service) pause(ctx context.Context, retryAfter time.Duration) {
	d := min(s.d.Limits.RefusalDelay, retryAfter)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Limit counts a request of a module's public route (a survey link, a hosted
// form) against a per-minute limit for key, as the API's own limits do.
func (s *Service) Limit(ctx context.Context, key string, max int) error {
	return s.limit(ctx, "pub:"+key, max)
}

// rateLimited is the refusal of a request over a per-minute limit, with the
// seconds until the minute turns.
func rateLimited(now time.Time) *errs.Error {
	e := errs.E(errs.RateLimited, "Too many requests. Wait a moment and try again; the limit resets every minute.")
	e.RetryAfter = int(60 - now.Unix()%60)
	return e
}

func isBreakerOpen(err error) bool {
	var oe *breaker.OpenError
	return errors.As(err, &oe)
}

// limitAddr is the address a limiter counts by: an IPv4 address, or an IPv6
// address's /64, which one client usually holds whole.
func limitAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func methodOf(ctx context.Context) string { return httpx.RequestFrom(ctx).Method }

func clientIPOf(ctx context.Context) string {
	if ip := net.ParseIP(httpx.RequestFrom(ctx).ClientIP); ip != nil {
		return ip.String()
	}
	return "unknown"
}
