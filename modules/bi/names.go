package bi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// ValueNamer is an optional capability of a module that contributes
// metrics: the names, in English and Chinese, of the values of its
// dimensions that are ids (the funnel's pipelines and stages), so that the
// pictures and spreadsheets rendered on the server show what the web app
// shows. It answers only the ids it knows; the rest stay as they are.
type ValueNamer interface {
	ValueNames(ctx context.Context, tx bun.IDB, tenant uuid.UUID, dimension string, ids []string) (map[string][2]string, error)
}

// dimNames maps a dimension to the names of its values.
type dimNames map[string]map[string]string

// of is the name of a dimension's value; a value without one reads as
// itself.
func (n dimNames) of(dim, v string) string {
	if x, ok := n[dim][v]; ok && x != "" {
		return x
	}
	return v
}

// nameValues asks the modules for the names of the result's dimension
// values, both languages in one (reports go to readers of either).
func (m *Module) nameValues(ctx context.Context, tx bun.IDB, tenant uuid.UUID, res *measures.Result) (dimNames, error) {
	out := dimNames{}
	if res == nil {
		return out, nil
	}
	for i, dim := range res.Dimensions {
		if dim == measures.DimTime {
			continue
		}
		seen := map[string]bool{}
		var ids []string
		for _, r := range res.Rows {
			if i < len(r.Keys) && r.Keys[i] != "" && !seen[r.Keys[i]] {
				seen[r.Keys[i]] = true
				ids = append(ids, r.Keys[i])
			}
		}
		if len(ids) == 0 {
			continue
		}
		if dim == measures.DimOwner || dim == measures.DimTeam {
			names, err := memberNames(ctx, tx, tenant, dim, ids)
			if err != nil {
				return nil, err
			}
			if len(names) > 0 {
				out[dim] = names
			}
			continue
		}
		for _, mod := range m.d.Modules {
			n, ok := mod.(ValueNamer)
			if !ok {
				continue
			}
			names, err := n.ValueNames(ctx, tx, tenant, dim, ids)
			if err != nil {
				return nil, err
			}
			for id, x := range names {
				if out[dim] == nil {
					out[dim] = map[string]string{}
				}
				if x[0] == "" {
					x[0] = x[1]
				}
				out[dim][id] = bothNames(x[0], x[1])
			}
		}
	}
	return out, nil
}

// nameWidgets gives each widget with numbers the names of its values, in
// one tenant transaction as the actor in ctx.
func (m *Module) nameWidgets(ctx context.Context, ws []widgetNumbers) error {
	return tenancy.Tx(ctx, m.d.DB, PermRead, func(ctx context.Context, tx bun.Tx, tn tenancy.Tenant) error {
		for i := range ws {
			if ws[i].Result == nil {
				continue
			}
			n, err := m.nameValues(ctx, tx, tn.ID, ws[i].Result)
			if err != nil {
				return err
			}
			ws[i].Names = n
		}
		return nil
	})
}

// memberNames names owners (a member's name, else their address in the
// company) and teams, which every module shares, from the company's own
// tables. Ids not the company's are left out.
func memberNames(ctx context.Context, tx bun.IDB, tenant uuid.UUID, dim string, ids []string) (map[string]string, error) {
	var keys []string
	for _, s := range ids {
		if _, err := uuid.Parse(s); err == nil {
			keys = append(keys, s)
		}
	}
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	q := "SELECT identity_id::text AS id, coalesce(nullif(name, ''), email) AS name FROM memberships WHERE tenant_id = ? AND identity_id = ANY(?::uuid[])"
	if dim == measures.DimTeam {
		q = "SELECT id::text AS id, name FROM teams WHERE tenant_id = ? AND id = ANY(?::uuid[])"
	}
	var rows []struct {
		ID   string `bun:"id"`
		Name string `bun:"name"`
	}
	if err := tx.NewRaw(q, tenant, pgdialect.Array(keys)).Scan(ctx, &rows); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("bi: names of %s: %w", dim, err)
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}
