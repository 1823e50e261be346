package profiles

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
)

// The loading path of an import batch. Customers that the batch creates, with
// their search terms, tags, contact keys and custom index rows, are sent with COPY
// into temporary staging tables, then moved with INSERT ... SELECT inside the
// tenant transaction. PostgreSQL refuses COPY into a table under row-level
// security; the staging tables are private to the session, and the statements
// that move the rows are checked by RLS like any insert. Everything is dropped at
// commit, so a killed worker leaves nothing behind.
const importStageDDL = `
CREATE TEMP TABLE IF NOT EXISTS import_stage_customers (
	id uuid, kind text, name text, emails text[], phones text[], address jsonb, owner_id uuid,
	tags text[], lifecycle text, source text, custom jsonb, created_at timestamptz, row_no bigint) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_terms (customer_id uuid, term text) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_tags (customer_id uuid, tag text) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_contacts (customer_id uuid, key text) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_index (
	record_id uuid, field_key text, ord int, v_text text, v_num text, v_time timestamptz, v_bool boolean) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_unique (record_id uuid, field_key text, v_norm text) ON COMMIT DROP`

// importStageMove runs after the COPYs; ? are tenant, entity, import id.
const importStageMove = `
INSERT INTO customers (tenant_id, id, kind, name, emails, phones, address, owner_id, tags, lifecycle, source, custom, created_at, updated_at)
	SELECT ?0, id, kind, name, emails, phones, address, owner_id, tags, lifecycle, source, custom, created_at, created_at FROM import_stage_customers;
INSERT INTO customer_terms (tenant_id, term, customer_id, created_at)
	SELECT ?0, s.term, s.customer_id, c.created_at FROM import_stage_terms s JOIN import_stage_customers c ON c.id = s.customer_id ON CONFLICT DO NOTHING;
INSERT INTO customer_tags (tenant_id, tag, customer_id, created_at)
	SELECT ?0, s.tag, s.customer_id, c.created_at FROM import_stage_tags s JOIN import_stage_customers c ON c.id = s.customer_id ON CONFLICT DO NOTHING;
INSERT INTO customer_contacts (tenant_id, key, customer_id)
	SELECT ?0, key, customer_id FROM import_stage_contacts ON CONFLICT DO NOTHING;
INSERT INTO customer_lifecycle_history (tenant_id, customer_id, to_stage, changed_at)
	SELECT ?0, id, lifecycle, created_at FROM import_stage_customers;
INSERT INTO field_index (tenant_id, entity, field_key, record_id, ord, v_text, v_num, v_time, v_bool)
	SELECT ?0, ?1, field_key, record_id, ord, v_text, v_num::numeric, v_time, v_bool FROM import_stage_index;
INSERT INTO field_unique (tenant_id, entity, field_key, v_norm, record_id)
	SELECT ?0, ?1, field_key, v_norm, record_id FROM import_stage_unique;
INSERT INTO import_journal (tenant_id, import_id, customer_id, action, row_no)
	SELECT ?0, ?2, id, 'created', row_no FROM import_stage_customers`

// loadCreated writes the customers an import batch creates (rowNos[i] is the
// file row of cs[i]) through the staging tables. It must run in a transaction
// opened by db.InTenantBulk.
func (m *Module) loadCreated(ctx context.Context, tx bun.Tx, tenant, importID uuid.UUID, cs []*Customer, rowNos []int64) error {
	if len(cs) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, importStageDDL); err != nil {
		return fmt.Errorf("import: staging tables: %w", err)
	}
	var defs []fields.Definition
	if m.d.Fields != nil {
		var err error
		if defs, err = m.d.Fields.AllDefinitions(ctx, tx, tenant, EntityCustomers); err != nil {
			return err
		}
	}
	customers := make([][]any, 0, len(cs))
	var terms, tags, contacts, index, unique [][]any
	for i, c := range cs {
		var address any
		if len(c.Address) > 0 && string(c.Address) != "null" {
			address = string(c.Address)
		} else {
			address = "{}"
		}
		custom := c.Custom
		if custom == nil {
			custom = map[string]any{}
		}
		customJSON, err := json.Marshal(custom)
		if err != nil {
			return err
		}
		var owner any
		if c.OwnerID != nil {
			owner = *c.OwnerID
		}
		kind := c.Kind
		if kind == "" {
			kind = "person"
		}
		lifecycle := c.Lifecycle
		if lifecycle == "" {
			lifecycle = "lead"
		}
		customers = append(customers, []any{c.ID, kind, c.Name, nonNil(c.Emails), nonNil(c.Phones), address, owner,
			nonNil(c.Tags), lifecycle, c.Source, string(customJSON), c.CreatedAt, rowNos[i]})
		for _, t := range termsOf(c) {
			terms = append(terms, []any{c.ID, t})
		}
		seen := map[string]bool{}
		for _, t := range c.Tags {
			if l := strings.ToLower(t); !seen[l] {
				seen[l] = true
				tags = append(tags, []any{c.ID, l})
			}
		}
		for _, k := range contactKeys(c) {
			contacts = append(contacts, []any{c.ID, k})
		}
		for _, d := range defs {
			v, ok := c.Custom[d.Key]
			if !ok || v == nil || d.Sensitive || d.Pending != nil || !(d.Filterable || d.Sortable || d.Unique) {
				continue
			}
			_, iv, err := d.Normalize(jsonishValue(v))
			if err != nil {
				return errs.Field(fields.Loc(d.Key), err.Error())
			}
			if d.Filterable || d.Sortable {
				for ord, e := range iv.Entries {
					index = append(index, []any{c.ID, d.Key, ord, e.Text, e.Num, e.Time, e.Bool})
				}
			}
			if d.Unique && iv.Norm != "" {
				unique = append(unique, []any{c.ID, d.Key, iv.Norm})
			}
		}
	}
	for _, s := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"import_stage_customers", []string{"id", "kind", "name", "emails", "phones", "address", "owner_id", "tags", "lifecycle", "source", "custom", "created_at", "row_no"}, customers},
		{"import_stage_terms", []string{"customer_id", "term"}, terms},
		{"import_stage_tags", []string{"customer_id", "tag"}, tags},
		{"import_stage_contacts", []string{"customer_id", "key"}, contacts},
		{"import_stage_index", []string{"record_id", "field_key", "ord", "v_text", "v_num", "v_time", "v_bool"}, index},
		{"import_stage_unique", []string{"record_id", "field_key", "v_norm"}, unique},
	} {
		if len(s.rows) == 0 {
			continue
		}
		if _, err := db.CopyFrom(ctx, s.table, s.cols, pgx.CopyFromRows(s.rows)); err != nil {
			return fmt.Errorf("import: COPY into %s: %w", s.table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, importStageMove, tenant, EntityCustomers, importID); err != nil {
		return db.Classify(err, "customer")
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
