package bi

import (
	"context"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

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
