package profiles

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// The customers' export adapter: the customer list's filters or a saved
// segment choose the rows, which the transfer engine pages into the file.

// exportColumns are the standard columns, in file order.
var exportColumns = []string{"id", "kind", "name", "emails", "phones", "tags", "lifecycle", "owner_id", "company_id", "source", "created_at", "updated_at"}

// ExportQuery is the filter as the job keeps it: a segment's own query, or
// the filter sent, checked.
func (a customerAdapter) ExportQuery(ctx context.Context, tenant uuid.UUID, req transfer.ExportRequest) (string, error) {
	query := req.Filter
	loc := "body.filter"
	if req.SegmentID != "" {
		if query != "" {
			return "", errs.Field("body.segment_id", "send a filter or a segment_id, not both")
		}
		sid, err := uuid.Parse(req.SegmentID)
		if err != nil {
			return "", errs.Field("body.segment_id", "must be a segment id")
		}
		// The segment's own query, read in the tenant's transaction.
		if _, query, err = a.m.segmentQuery(ctx, tenant, sid); err != nil {
			return "", err
		}
		loc = "body.segment_id"
	}
	if _, err := filterAt(query, loc); err != nil {
		return "", err
	}
	return query, nil
}

// ExportColumns checks the requested columns.
func (a customerAdapter) ExportColumns(ctx context.Context, tenant uuid.UUID, want []string) ([]string, error) {
	return a.m.exportFields(ctx, tenant, want)
}

// ExportCount counts the customers the query selects for the actor.
func (a customerAdapter) ExportCount(ctx context.Context, tenant uuid.UUID, query string) (int64, error) {
	f, err := filterFromQuery(query)
	if err != nil {
		return 0, err
	}
	n, err := a.m.CountCustomers(ctx, tenant, f)
	return int64(n), err
}

// ExportPage lists the next thousand customers, oldest first.
func (a customerAdapter) ExportPage(ctx context.Context, tenant uuid.UUID, query string, cols []string, cursor string) ([][]string, string, error) {
	f, err := filterFromQuery(query)
	if err != nil {
		return nil, "", err
	}
	f.Limit, f.Sort, f.Cursor = 1000, "created_at", cursor
	items, next, err := a.m.ListCustomers(ctx, tenant, f)
	if err != nil {
		return nil, "", err
	}
	out := make([][]string, len(items))
	for i := range items {
		out[i] = exportRow(&items[i], cols)
	}
	return out, next, nil
}

// exportRow renders one customer; the engine masks and neutralises the cells.
func exportRow(c *Customer, cols []string) []string {
	out := make([]string, len(cols))
	for i, col := range cols {
		var v string
		switch col {
		case "id":
			v = c.ID.String()
		case "kind":
			v = c.Kind
		case "name":
			v = c.Name
		case "emails":
			v = strings.Join(c.Emails, "; ")
		case "phones":
			v = strings.Join(c.Phones, "; ")
		case "tags":
			v = strings.Join(c.Tags, "; ")
		case "lifecycle":
			v = c.Lifecycle
		case "owner_id":
			if c.OwnerID != nil {
				v = c.OwnerID.String()
			}
		case "company_id":
			if c.CompanyID != nil {
				v = c.CompanyID.String()
			}
		case "source":
			v = c.Source
		case "created_at":
			v = c.CreatedAt.UTC().Format(time.RFC3339)
		case "updated_at":
			v = c.UpdatedAt.UTC().Format(time.RFC3339)
		default:
			if k, ok := strings.CutPrefix(col, "custom."); ok {
				v = customCell(c.Custom[k])
			}
		}
		out[i] = v
	}
	return out
}

// customCell renders a custom value as a spreadsheet cell.
func customCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = customCell(p)
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		if amt, ok := x["amount"]; ok {
			return strings.TrimSpace(customCell(amt) + " " + customCell(x["currency"]))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// exportFields checks the requested columns against the standard ones and the
// tenant's custom fields; none means every standard column, then every live
// custom field in its position order.
func (m *Module) exportFields(ctx context.Context, tenant uuid.UUID, want []string) ([]string, error) {
	var defs []fields.Definition
	if m.d.Fields != nil {
		if err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			var err error
			defs, err = m.custom.Definitions(ctx, tx, tenant)
			return err
		}); err != nil {
			return nil, err
		}
	}
	custom := map[string]bool{}
	for _, d := range defs {
		custom[d.Key] = true
	}
	if len(want) == 0 {
		cols := append([]string{}, exportColumns...)
		for _, d := range defs {
			cols = append(cols, "custom."+d.Key)
		}
		return cols, nil
	}
	known := map[string]bool{}
	for _, c := range exportColumns {
		known[c] = true
	}
	for i, f := range want {
		if k, ok := strings.CutPrefix(f, "custom."); ok {
			if !custom[k] {
				return nil, errs.Field(fmt.Sprintf("body.fields[%d]", i), "no custom field "+k+" is defined for customers")
			}
			continue
		}
		if !known[f] {
			return nil, errs.Field(fmt.Sprintf("body.fields[%d]", i), "unknown column; use "+strings.Join(exportColumns, ", ")+" or custom.<key>")
		}
	}
	return want, nil
}
