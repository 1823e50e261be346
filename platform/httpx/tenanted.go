package httpx

import (
	"context"

	"github.com/clientele-crm/clientele/platform/tenancy"
)

// InTenant adapts h, which works in the request's tenant, into the handler of
// an operation registered on a TenantGroup: h gets that tenant, and a context
// without one (a route registered elsewhere by mistake) answers 500.
func InTenant[I, O any](h func(ctx context.Context, tn tenancy.Tenant, in *I) (*O, error)) func(context.Context, *I) (*O, error) {
	return func(ctx context.Context, in *I) (*O, error) {
		tn, err := tenancy.MustFrom(ctx)
		if err != nil {
			return nil, err
		}
		return h(ctx, tn, in)
	}
}
