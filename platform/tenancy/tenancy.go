// Package tenancy resolves a tenant's slug to the tenant and carries the tenant of
// a request or a job in its context.
package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
)

// Tenant is what the kernel knows of a tenant; tenants/ owns the rest.
type Tenant struct {
	bun.BaseModel `bun:"table:tenants"`
	ID            uuid.UUID `bun:"id,pk,type:uuid" json:"id"`
	Slug          string    `bun:"slug" json:"slug"`
	Name          string    `bun:"name" json:"name"`
	Status        string    `bun:"status" json:"status"`
	TimeZone      string    `bun:"time_zone" json:"time_zone"`
	Locale        string    `bun:"locale" json:"locale"`
	Currency      string    `bun:"currency" json:"currency"`
}

type ctxKey struct{}

// With returns ctx carrying t.
func With(ctx context.Context, t Tenant) context.Context { return context.WithValue(ctx, ctxKey{}, t) }

// From returns the tenant in ctx.
func From(ctx context.Context) (Tenant, bool) {
	t, ok := ctx.Value(ctxKey{}).(Tenant)
	return t, ok
}

// MustFrom returns the tenant in ctx or an internal error when a tenant route was
// wired without the tenant middleware.
func MustFrom(ctx context.Context) (Tenant, error) {
	t, ok := From(ctx)
	if !ok {
		return Tenant{}, errs.E(errs.Internal, "no tenant in context")
	}
	return t, nil
}

// SlugPattern is the form of a tenant slug (also enforced by a CHECK constraint).
var SlugPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// Resolver maps slugs to active tenants with a short cache, so every request does
// not cost a query. Suspended and deleted tenants resolve to NotFound.
type Resolver struct {
	db  bun.IDB
	ttl time.Duration
	mu  sync.RWMutex
	hit map[string]entry
}

type entry struct {
	t   Tenant
	err error
	exp time.Time
}

// NewResolver caches answers for ttl; changes to a tenant call Forget.
func NewResolver(db bun.IDB, ttl time.Duration) *Resolver {
	return &Resolver{db: db, ttl: ttl, hit: map[string]entry{}}
}

// NotFound is the one answer for a company that does not exist, is not active,
// or does not have the caller as a member: the same words, field and status, so
// that slugs cannot be told apart. It does not repeat the slug.
func NotFound() error {
	return errs.E(errs.NotFound, "No company with this address exists, or you are not a member of it.").
		WithFields(errs.FieldError{Location: "path.tenant", Message: "unknown tenant"})
}

// Resolve returns the active tenant with that slug, or NotFound.
func (r *Resolver) Resolve(ctx context.Context, slug string) (Tenant, error) {
	if !SlugPattern.MatchString(slug) {
		return Tenant{}, NotFound()
	}
	r.mu.RLock()
	e, ok := r.hit[slug]
	r.mu.RUnlock()
	if ok && time.Now().Before(e.exp) {
		return e.t, e.err
	}
	var t Tenant
	err := r.db.NewSelect().Model(&t).Where("slug = ?", slug).Where("status = 'active'").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		err = NotFound()
	} else if err != nil {
		return Tenant{}, errs.From(err) // not cached: a database hiccup must not stick
	}
	r.mu.Lock()
	if len(r.hit) > 10000 {
		r.hit = map[string]entry{}
	}
	r.hit[slug] = entry{t: t, err: err, exp: time.Now().Add(r.ttl)}
	r.mu.Unlock()
	return t, err
}

// Forget drops a cached slug after the tenant changed.
func (r *Resolver) Forget(slug string) {
	r.mu.Lock()
	delete(r.hit, slug)
	r.mu.Unlock()
}
