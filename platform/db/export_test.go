package db

import "context"

// BeginPending reports whether the tenant transaction in ctx has a BEGIN not
// sent yet: none was, or the last read committed with it (InTenantRead).
func BeginPending(ctx context.Context) bool {
	st, ok := ctx.Value(txKey{}).(*txState)
	return ok && st.dc != nil && st.dc.pending != ""
}
