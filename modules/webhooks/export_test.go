package webhooks

import (
	"context"

	"github.com/google/uuid"
)

// ClaimAndAbandon claims up to n due deliveries of tenant as a dispatcher that
// dies at once would: they stay claimed until their lease ends.
func ClaimAndAbandon(ctx context.Context, m *Module, tenant uuid.UUID, n int) (int, error) {
	rows, _, err := m.claim(ctx, tenant, n)
	return len(rows), err
}
