package profiles

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
)

// customerColumns are the columns a list reads, in the order scanCustomer
// takes them. A list never shows deleted customers, so deleted_at is not read.
const customerColumns = "c.id, c.kind, c.name, c.company_id, c.emails, c.phones, c.address, c.owner_id, c.tags, " +
	"c.lifecycle, c.source, c.custom, c.created_at, c.updated_at"

// readCustomers runs a list query that selects customerColumns and scans its
// rows by hand. Scanned through bun's reflection and database/sql's value
// conversion, a page of fifty customers cost more CPU than the rest of the
// request (see docs/benchmarks.md); read here, each column is one direct
// decode of PostgreSQL's text form.
func readCustomers(ctx context.Context, tenant uuid.UUID, q *bun.SelectQuery, capacity int) ([]Customer, error) {
	out := make([]Customer, 0, capacity)
	err := db.ReadRows(ctx, q, func(rows pgx.Rows) error {
		out = append(out, Customer{TenantID: tenant})
		return scanCustomer(rows, &out[len(out)-1])
	})
	return out, err
}

func scanCustomer(rows pgx.Rows, c *Customer) error {
	var custom []byte
	r := db.NewTextRow(rows)
	r.UUID(&c.ID)
	r.String(&c.Kind)
	r.String(&c.Name)
	r.NullUUID(&c.CompanyID)
	r.StringArray(&c.Emails)
	r.StringArray(&c.Phones)
	r.JSON((*[]byte)(&c.Address))
	r.NullUUID(&c.OwnerID)
	r.StringArray(&c.Tags)
	r.String(&c.Lifecycle)
	r.String(&c.Source)
	r.JSON(&custom)
	r.Time(&c.CreatedAt)
	r.Time(&c.UpdatedAt)
	if err := r.Err(); err != nil {
		return fmt.Errorf("profiles: scan customer: %w", err)
	}
	if custom != nil {
		if err := json.Unmarshal(custom, &c.Custom); err != nil {
			return fmt.Errorf("profiles: custom fields of customer %s: %w", c.ID, err)
		}
	}
	return nil
}
