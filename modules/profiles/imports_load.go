package profiles

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// The loading path of a customer import batch, and of a revert. Customers the
// batch creates or changes, with their search terms, tags, contact keys and
// custom index rows, are staged with transfer.CopyStaged, then applied with a
// few set-based statements (INSERT ... SELECT, UPDATE ... FROM) inside the
// tenant transaction.
const importStageDDL = `
CREATE TEMP TABLE IF NOT EXISTS import_stage_customers (
	op text, id uuid, kind text, name text, company_id uuid, emails text[], phones text[], address jsonb, owner_id uuid,
	tags text[], lifecycle text, source text, custom jsonb, created_at timestamptz, updated_at timestamptz,
	deleted_at timestamptz, row_no bigint, before jsonb, prev_lifecycle text) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_terms (customer_id uuid, term text) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_tags (customer_id uuid, tag text) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_contacts (customer_id uuid, key text) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_index (
	record_id uuid, field_key text, ord int, v_text text, v_num text, v_time timestamptz, v_bool boolean) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_stage_unique (record_id uuid, field_key text, v_norm text) ON COMMIT DROP`

// After the COPYs: arguments are ?0 tenant, ?1 entity, ?2 import id, ?3 the
// custom fields being converted (their index rows belong to the conversion job),
// ?4 the acting user, ?5 the ids of the customers updated. Every statement on a
// real table is anchored on the tenant and, for updates, on the id array, so the
// plan is an index probe per customer whatever the planner thinks of the
// (never analysed) staging tables.
var importStageUpdate = []string{
	`DELETE FROM customer_terms WHERE tenant_id = ?0 AND customer_id = ANY (?5::uuid[])`,
	`DELETE FROM customer_tags WHERE tenant_id = ?0 AND customer_id = ANY (?5::uuid[])`,
	`DELETE FROM customer_contacts WHERE tenant_id = ?0 AND customer_id = ANY (?5::uuid[])`,
	`DELETE FROM field_index WHERE tenant_id = ?0 AND entity = ?1 AND record_id = ANY (?5::uuid[]) AND field_key <> ALL (?3::text[])`,
	`DELETE FROM field_unique WHERE tenant_id = ?0 AND entity = ?1 AND record_id = ANY (?5::uuid[]) AND field_key <> ALL (?3::text[])`,
	`UPDATE customers c SET kind = s.kind, name = s.name, company_id = s.company_id, emails = s.emails, phones = s.phones,
		address = s.address, owner_id = s.owner_id, tags = s.tags, lifecycle = s.lifecycle, source = s.source,
		custom = s.custom, updated_at = s.updated_at, deleted_at = s.deleted_at
	FROM import_stage_customers s WHERE c.tenant_id = ?0 AND c.id = ANY (?5::uuid[]) AND s.op = 'update' AND s.id = c.id`,
	`INSERT INTO customer_lifecycle_history (tenant_id, customer_id, from_stage, to_stage, changed_by)
	SELECT ?0, id, prev_lifecycle, lifecycle, ?4 FROM import_stage_customers
	WHERE op = 'update' AND prev_lifecycle IS NOT NULL AND prev_lifecycle <> lifecycle`,
	`INSERT INTO import_journal (tenant_id, import_id, entity, record_id, action, before, row_no)
	SELECT ?0, ?2, ?1, id, 'updated', before, row_no FROM import_stage_customers
	WHERE op = 'update' AND before IS NOT NULL ON CONFLICT DO NOTHING`,
}

var importStageCreate = []string{
	`INSERT INTO customers (tenant_id, id, kind, name, company_id, emails, phones, address, owner_id, tags, lifecycle, source, custom, created_at, updated_at)
	SELECT ?0, id, kind, name, company_id, emails, phones, address, owner_id, tags, lifecycle, source, custom, created_at, updated_at
	FROM import_stage_customers WHERE op = 'create'`,
	`INSERT INTO customer_lifecycle_history (tenant_id, customer_id, to_stage, changed_at)
	SELECT ?0, id, lifecycle, created_at FROM import_stage_customers WHERE op = 'create'`,
	`INSERT INTO import_journal (tenant_id, import_id, entity, record_id, action, row_no)
	SELECT ?0, ?2, ?1, id, 'created', row_no FROM import_stage_customers WHERE op = 'create' AND row_no IS NOT NULL`,
}

// Side rows of every staged customer, created or updated (after the deletes).
// New customers have no side rows yet and updated ones just lost theirs, so the
// inserts need no ON CONFLICT (its speculative insertion costs an extra index
// descent per row); DISTINCT keeps a customer's own repeats out. Rows go in
// index order, so consecutive inserts land on the same btree pages.
var importStageSide = []string{
	`INSERT INTO customer_terms (tenant_id, term, customer_id, created_at)
	SELECT DISTINCT ?0::uuid, s.term, s.customer_id, c.created_at FROM import_stage_terms s JOIN import_stage_customers c ON c.id = s.customer_id
	ORDER BY 2, 4, 3`,
	`INSERT INTO customer_tags (tenant_id, tag, customer_id, created_at)
	SELECT DISTINCT ?0::uuid, s.tag, s.customer_id, c.created_at FROM import_stage_tags s JOIN import_stage_customers c ON c.id = s.customer_id`,
	`INSERT INTO customer_contacts (tenant_id, key, customer_id) SELECT DISTINCT ?0::uuid, key, customer_id FROM import_stage_contacts`,
	`INSERT INTO field_index (tenant_id, entity, field_key, record_id, ord, v_text, v_num, v_time, v_bool)
	SELECT ?0, ?1, field_key, record_id, ord, v_text, v_num::numeric, v_time, v_bool FROM import_stage_index ORDER BY field_key, record_id, ord`,
	`INSERT INTO field_unique (tenant_id, entity, field_key, v_norm, record_id) SELECT ?0, ?1, field_key, v_norm, record_id FROM import_stage_unique`,
}

// stagedWrite is one customer a batch writes: created, or updated to c.
type stagedWrite struct {
	c      *Customer
	create bool
	row    int64     // the file row (0 for a revert)
	before *Customer // an import's update journals the state it replaces
	// keepUpdatedAt writes c.UpdatedAt as is (a revert restores it); otherwise
	// an update stamps the time of the batch.
	keepUpdatedAt bool
}

// loadStaged applies the writes through the staging tables. It must run in a
// transaction opened by db.InTenantBulk. importID names the journal the writes
// go to (a revert passes uuid.Nil and journals nothing).
func (m *Module) loadStaged(ctx context.Context, tx bun.Tx, tenant, importID uuid.UUID, ws []stagedWrite) error {
	if len(ws) == 0 {
		return nil
	}
	var defs []fields.Definition
	if m.d.Fields != nil {
		var err error
		if defs, err = m.d.Fields.AllDefinitions(ctx, tx, tenant, EntityCustomers); err != nil {
			return err
		}
	}
	converting := []string{}
	for _, d := range defs {
		if d.Pending != nil {
			converting = append(converting, d.Key)
		}
	}
	now := time.Now().UTC()
	customers := make([][]any, 0, len(ws))
	var updated []string
	var terms, tags, contacts, index, unique [][]any
	for _, w := range ws {
		c := w.c
		address := "{}"
		if len(c.Address) > 0 && string(c.Address) != "null" {
			address = string(c.Address)
		}
		custom := c.Custom
		if custom == nil {
			custom = map[string]any{}
		}
		customJSON, err := json.Marshal(custom)
		if err != nil {
			return err
		}
		kind, lifecycle := c.Kind, c.Lifecycle
		if kind == "" {
			kind = "person"
		}
		if lifecycle == "" {
			lifecycle = "lead"
		}
		op, updatedAt := "update", now
		if !w.create {
			updated = append(updated, c.ID.String())
		}
		if w.create {
			op, updatedAt = "create", c.CreatedAt
		} else if w.keepUpdatedAt {
			updatedAt = c.UpdatedAt
		}
		var before, prevLifecycle any
		if w.before != nil {
			b, err := json.Marshal(w.before)
			if err != nil {
				return err
			}
			before, prevLifecycle = string(b), w.before.Lifecycle
		}
		var row any
		if w.row > 0 {
			row = w.row
		}
		customers = append(customers, []any{op, c.ID, kind, c.Name, c.CompanyID, nonNil(c.Emails), nonNil(c.Phones), address, c.OwnerID,
			nonNil(c.Tags), lifecycle, c.Source, string(customJSON), c.CreatedAt, updatedAt, c.DeletedAt, row, before, prevLifecycle})
		if c.DeletedAt != nil {
			continue // a deleted customer is neither searchable nor a duplicate, nor indexed
		}
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
		idx, uniq, err := fields.IndexRows(defs, c.Custom)
		if err != nil {
			return err
		}
		for _, r := range idx {
			index = append(index, []any{c.ID, r.Key, r.Ord, r.Entry.Text, r.Entry.Num, r.Entry.Time, r.Entry.Bool})
		}
		for _, r := range uniq {
			unique = append(unique, []any{c.ID, r.Key, r.Norm})
		}
	}
	if err := transfer.CopyStaged(ctx, tx, importStageDDL,
		transfer.Staged{Table: "import_stage_customers", Cols: []string{"op", "id", "kind", "name", "company_id", "emails", "phones", "address", "owner_id", "tags", "lifecycle",
			"source", "custom", "created_at", "updated_at", "deleted_at", "row_no", "before", "prev_lifecycle"}, Rows: customers},
		transfer.Staged{Table: "import_stage_terms", Cols: []string{"customer_id", "term"}, Rows: terms},
		transfer.Staged{Table: "import_stage_tags", Cols: []string{"customer_id", "tag"}, Rows: tags},
		transfer.Staged{Table: "import_stage_contacts", Cols: []string{"customer_id", "key"}, Rows: contacts},
		transfer.Staged{Table: "import_stage_index", Cols: []string{"record_id", "field_key", "ord", "v_text", "v_num", "v_time", "v_bool"}, Rows: index},
		transfer.Staged{Table: "import_stage_unique", Cols: []string{"record_id", "field_key", "v_norm"}, Rows: unique},
	); err != nil {
		return err
	}
	var stmts []string
	if len(updated) > 0 {
		stmts = append(stmts, importStageUpdate...)
	}
	if len(updated) < len(ws) {
		stmts = append(stmts, importStageCreate...)
	}
	stmts = append(stmts, importStageSide...)
	args := []any{tenant, EntityCustomers, importID, pgdialect.Array(converting), authz.RequesterID(ctx), pgdialect.Array(updated)}
	for _, q := range stmts {
		if _, err := db.ExecStaged(ctx, tx, q, args...); err != nil {
			return db.Classify(err, "customer")
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
