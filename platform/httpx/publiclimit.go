package httpx

import (
	"context"

	"github.com/google/uuid"
)

// Limiter counts a request against a per-minute limit for a key and refuses
// it (errs.RateLimited) past max. Tenants' Redis limiter implements it; cmd
// passes it to modules with public routes (a survey link, a hosted form).
type Limiter interface {
	Limit(ctx context.Context, key string, max int) error
}

// LimitPublic counts a public request under prefix twice: by the client's
// address (perAddr a minute) and by the company (perCompany a minute), so
// one address cannot flood a form and many cannot flood one company. A nil
// limiter limits nothing (tests).
func LimitPublic(ctx context.Context, l Limiter, prefix string, tenant uuid.UUID, perAddr, perCompany int) error {
	if l == nil {
		return nil
	}
	addr := RequestFrom(ctx).ClientIP
	if addr == "" {
		addr = "unknown"
	}
	if err := l.Limit(ctx, prefix+":addr:"+addr, perAddr); err != nil {
		return err
	}
	return l.Limit(ctx, prefix+":tenant:"+tenant.String(), perCompany)
}
