package profiles

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
)

// writeSideRows replaces a customer's tag, search-term and contact rows.
func writeSideRows(ctx context.Context, tx bun.Tx, c *Customer) error {
	for _, table := range []string{"customer_tags", "customer_terms", "customer_contacts"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE tenant_id = ? AND customer_id = ?", c.TenantID, c.ID); err != nil {
			return err
		}
	}
	if c.DeletedAt != nil {
		return nil // a deleted customer is neither searchable nor a duplicate
	}
	return insertSideRows(ctx, tx, c, execNow)
}

// writeNewSideRows writes the side rows of a customer created in this
// transaction: there is nothing to replace, and nothing later in the
// transaction reads them, so they travel with COMMIT (db.Defer).
func writeNewSideRows(ctx context.Context, tx bun.Tx, c *Customer) error {
	return insertSideRows(ctx, tx, c, db.Defer)
}

type execFn func(ctx context.Context, tx bun.IDB, query string, args ...any) error

func execNow(ctx context.Context, tx bun.IDB, query string, args ...any) error {
	_, err := tx.ExecContext(ctx, query, args...)
	return err
}

// insertSideRows inserts a customer's tag, search-term and contact rows with
// exec, one statement per table that has rows.
func insertSideRows(ctx context.Context, tx bun.Tx, c *Customer, exec execFn) error {
	ins := func(table, col string, values []string) error {
		if len(values) == 0 {
			return nil
		}
		return exec(ctx, tx, fmt.Sprintf(`INSERT INTO %s (tenant_id, %s, customer_id)
			SELECT ?, v, ? FROM unnest(?::text[]) AS v ON CONFLICT DO NOTHING`, table, col), c.TenantID, c.ID, pgdialect.Array(values))
	}
	tags := make([]string, len(c.Tags))
	for i, t := range c.Tags {
		tags[i] = strings.ToLower(t)
	}
	if len(tags) > 0 {
		// The tag row carries the customer's created_at: tag-filtered lists walk it in order.
		if err := exec(ctx, tx, `INSERT INTO customer_tags (tenant_id, tag, customer_id, created_at)
			SELECT ?, v, ?, ? FROM unnest(?::text[]) AS v ON CONFLICT DO NOTHING`, c.TenantID, c.ID, c.CreatedAt, pgdialect.Array(tags)); err != nil {
			return err
		}
	}
	if terms := termsOf(c); len(terms) > 0 {
		// Term rows carry the customer's created_at: searches walk them newest first.
		if err := exec(ctx, tx, `INSERT INTO customer_terms (tenant_id, term, customer_id, created_at)
			SELECT ?, v, ?, ? FROM unnest(?::text[]) AS v ON CONFLICT DO NOTHING`, c.TenantID, c.ID, c.CreatedAt, pgdialect.Array(terms)); err != nil {
			return err
		}
	}
	return ins("customer_contacts", "key", contactKeys(c))
}

// deleteSearchRows removes the term and tag rows of customers about to be
// deleted for good. Those tables are a derived index with no foreign key to
// customers (a trigger per row made imports slow), so every hard delete of
// customers calls this in the same transaction.
func deleteSearchRows(ctx context.Context, tx bun.Tx, tenant uuid.UUID, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	for _, table := range []string{"customer_terms", "customer_tags"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE tenant_id = ? AND customer_id IN (?)", tenant, bun.In(ids)); err != nil {
			return err
		}
	}
	return nil
}

// contactClash is a contact key that another customer holds.
type contactClash struct {
	Key        string     `bun:"key"`
	CustomerID uuid.UUID  `bun:"customer_id"`
	Owner      *uuid.UUID `bun:"owner_id"`
}

// findDuplicates returns the contact keys that live customers other than self
// hold and that the actor may see, with who holds them, and how many more
// customers the actor may not see share one. The hidden ones are counted, never
// named: their ids (and so their emails, through the duplicates list) belong to
// members the actor cannot see.
func findDuplicates(ctx context.Context, tx bun.Tx, tenant uuid.UUID, keys []string, self uuid.UUID) (seen []contactClash, hidden int, err error) {
	if len(keys) == 0 {
		return nil, 0, nil
	}
	var rows []contactClash
	err = tx.NewRaw(`SELECT DISTINCT cc.key, c.id AS customer_id, c.owner_id FROM customer_contacts cc
		JOIN customers c ON c.tenant_id = cc.tenant_id AND c.id = cc.customer_id
		WHERE cc.tenant_id = ? AND cc.key IN (?) AND cc.customer_id <> ? AND c.deleted_at IS NULL
		ORDER BY 1, 2 LIMIT 20`, tenant, bun.In(keys), self).Scan(ctx, &rows)
	a := authz.ActorFrom(ctx)
	hiddenIDs := map[uuid.UUID]bool{}
	for _, r := range rows {
		if a.SeesOwner(r.Owner) {
			seen = append(seen, r)
		} else {
			hiddenIDs[r.CustomerID] = true
		}
	}
	return seen, len(hiddenIDs), err
}

// writeNewSideRowsAll is writeNewSideRows for many customers created in this
// transaction: one deferred statement per side table for all of them.
func writeNewSideRowsAll(ctx context.Context, tx bun.Tx, cs []*Customer) error {
	if len(cs) == 0 {
		return nil
	}
	type rows struct{ vals, ids, times []string }
	var tags, terms, contacts rows
	add := func(r *rows, c *Customer, values []string) {
		at := c.CreatedAt.UTC().Format(time.RFC3339Nano)
		for _, v := range values {
			r.vals = append(r.vals, v)
			r.ids = append(r.ids, c.ID.String())
			r.times = append(r.times, at)
		}
	}
	for _, c := range cs {
		lower := make([]string, len(c.Tags))
		for i, t := range c.Tags {
			lower[i] = strings.ToLower(t)
		}
		add(&tags, c, lower)
		add(&terms, c, termsOf(c))
		add(&contacts, c, contactKeys(c))
	}
	tenant := cs[0].TenantID
	// Tag and term rows carry the customer's created_at: lists and searches
	// walk them newest first.
	for _, t := range []struct {
		table, col string
		r          rows
		dated      bool
	}{{"customer_tags", "tag", tags, true}, {"customer_terms", "term", terms, true}, {"customer_contacts", "key", contacts, false}} {
		if len(t.r.vals) == 0 {
			continue
		}
		var err error
		if t.dated {
			err = db.Defer(ctx, tx, fmt.Sprintf(`INSERT INTO %s (tenant_id, %s, customer_id, created_at)
				SELECT ?, v, id, at FROM unnest(?::text[], ?::uuid[], ?::timestamptz[]) AS r(v, id, at) ON CONFLICT DO NOTHING`, t.table, t.col),
				tenant, pgdialect.Array(t.r.vals), pgdialect.Array(t.r.ids), pgdialect.Array(t.r.times))
		} else {
			err = db.Defer(ctx, tx, fmt.Sprintf(`INSERT INTO %s (tenant_id, %s, customer_id)
				SELECT ?, v, id FROM unnest(?::text[], ?::uuid[]) AS r(v, id) ON CONFLICT DO NOTHING`, t.table, t.col),
				tenant, pgdialect.Array(t.r.vals), pgdialect.Array(t.r.ids))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
