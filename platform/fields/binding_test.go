package fields

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// widget is a test-only entity, gizmos, kept in the table widgets: a table with tenant_id, id and custom, and
// nothing written for it in this package but the few lines below. Everything
// customers get from custom fields, it gets from its binding.
type widget struct {
	bun.BaseModel `bun:"table:widgets,alias:w"`
	TenantID      uuid.UUID      `bun:"tenant_id,pk,type:uuid"`
	ID            uuid.UUID      `bun:"id,pk,type:uuid"`
	Name          string         `bun:"name"`
	Custom        map[string]any `bun:"custom,type:jsonb"`
}

// widgetTable creates the widgets table as the schema lint would want it.
func widgetTable(t *testing.T, env *testkit.Env) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS widgets (tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE, id uuid NOT NULL,
			name text NOT NULL, custom jsonb NOT NULL DEFAULT '{}', PRIMARY KEY (tenant_id, id))`,
		`ALTER TABLE widgets ENABLE ROW LEVEL SECURITY`,
		`ALTER TABLE widgets FORCE ROW LEVEL SECURITY`,
		`DROP POLICY IF EXISTS tenant_isolation ON widgets`,
		`CREATE POLICY tenant_isolation ON widgets USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
			WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)`,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON widgets TO ` + env.Config.AppDBRole,
	} {
		if _, err := env.Owner.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if env.Citus {
		env.Distribute(t, "widgets")
	}
}

// The module code of a new entity: create, patch, read and list through the binding.
type widgets struct {
	db *bun.DB
	b  *Binding
}

func (w widgets) create(ctx context.Context, tenant uuid.UUID, name string, custom map[string]any) (*widget, error) {
	r := &widget{TenantID: tenant, ID: uuid.New(), Name: name}
	err := db.InTenant(ctx, w.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if r.Custom, err = w.b.Validate(ctx, tx, tenant, custom); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
			return err
		}
		if err := w.b.WriteIndex(ctx, tx, tenant, r.ID, r.Custom); err != nil {
			return err
		}
		return w.b.Reveal(ctx, tx, tenant, &r.Custom)
	})
	return r, err
}

func (w widgets) patch(ctx context.Context, tenant, id uuid.UUID, custom map[string]any) (*widget, error) {
	r := &widget{}
	err := db.InTenant(ctx, w.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(r).Where("w.tenant_id = ? AND w.id = ?", tenant, id).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		var err error
		if r.Custom, err = w.b.Patch(ctx, tx, tenant, r.Custom, custom); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(r).Column("custom").WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := w.b.WriteIndex(ctx, tx, tenant, id, r.Custom); err != nil {
			return err
		}
		return w.b.Reveal(ctx, tx, tenant, &r.Custom)
	})
	return r, err
}

// list filters on custom fields (key, op, value triples) and sorts by one.
func (w widgets) list(ctx context.Context, tenant uuid.UUID, filters [][3]string, sort string, desc bool, limit int, cursor string) ([]widget, string, error) {
	var out []widget
	var next string
	err := db.InTenant(ctx, w.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		after, err := DecodeCursor(cursor)
		if err != nil {
			return err
		}
		query := func(dest *[]widget, _ map[string]bool) (*bun.SelectQuery, error) {
			q := tx.NewSelect().Model(dest).Where("w.tenant_id = ?", tenant)
			for _, f := range filters {
				if q, err = w.b.Where(ctx, tx, tenant, q, "w.id", f[0], f[1], f[2]); err != nil {
					return nil, err
				}
			}
			return q, nil
		}
		if out, next, err = PageSorted(ctx, tx, w.b, tenant, SortedPage{Key: sort, Desc: desc, Limit: limit, After: after, Alias: "w"},
			query, func(r *widget) uuid.UUID { return r.ID }); err != nil {
			return err
		}
		vals := make([]*map[string]any, len(out))
		for i := range out {
			vals[i] = &out[i].Custom
		}
		return w.b.Reveal(ctx, tx, tenant, vals...)
	})
	return out, next, err
}

func TestABindingGivesAnyEntityCustomFields(t *testing.T) {
	env := testkit.Get(t)
	widgetTable(t, env)
	s, client := serviceWithWorker(t, Deps{},
		[]module.Entity{{Name: "customers"}, {Name: "gizmos", Table: "widgets", LabelEN: "Gizmos", LabelZH: "小物件"}}, 1)

	tn, other := env.NewTenant(t), env.NewTenant(t)
	admin := authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Scope: authz.ScopeAll,
		Permissions: map[string]bool{PermManage: true, PermPIIRead: true}})
	reader := authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Scope: authz.ScopeAll})
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		ctx = authz.WithActor(ctx, authz.ActorFrom(admin))
		for _, d := range []Definition{
			{Entity: "gizmos", Key: "tier", LabelEN: "Tier", Type: Select, Options: []Option{{Value: "gold"}, {Value: "silver"}}, Filterable: true, Sortable: true},
			{Entity: "gizmos", Key: "score", LabelEN: "Score", Type: Number, Filterable: true, Sortable: true},
			{Entity: "gizmos", Key: "colour", LabelEN: "Colour", Type: Text, Default: json.RawMessage(`"grey"`)},
			{Entity: "gizmos", Key: "serial", LabelEN: "Serial", Type: Text, Unique: true, Required: true},
			{Entity: "gizmos", Key: "secret", LabelEN: "Secret", Type: Text, Sensitive: true},
			{Entity: "gizmos", Key: "size", LabelEN: "Size", Type: Text},
		} {
			if _, err := s.Create(ctx, tx, tn.ID, d); err != nil {
				return err
			}
		}
		return nil
	})
	w := widgets{db: env.App, b: s.Bind("gizmos")}

	// Validation: a required value, a bad choice and an unknown key in one 422.
	_, err := w.create(admin, tn.ID, "bad", map[string]any{"tier": "platinum", "nope": 1})
	var e *errs.Error
	if !errorsAs(err, &e) || e.Status != 422 || len(e.Errors) != 3 {
		t.Fatalf("bad widget: %v", err)
	}
	// Defaults fill the gaps; the sensitive value is sealed, masked for a reader.
	var made []*widget
	for i, c := range []map[string]any{
		{"serial": "A1", "tier": "gold", "score": 30, "secret": "s-1", "size": "3"},
		{"serial": "A2", "tier": "silver", "score": 10, "size": "big"},
		{"serial": "A3", "tier": "gold", "score": 20},
		{"serial": "A4", "score": 40, "size": "5"},
		{"serial": "A5"},
	} {
		r, err := w.create(admin, tn.ID, fmt.Sprint("W", i), c)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, r)
	}
	if made[0].Custom["colour"] != "grey" || made[0].Custom["secret"] != "s-1" {
		t.Fatalf("created %v", made[0].Custom)
	}
	var stored string
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT custom->>'secret' FROM widgets WHERE tenant_id = ? AND id = ?", tn.ID, made[0].ID).Scan(ctx, &stored)
	})
	if len(stored) < len(SealedPrefix) || stored[:len(SealedPrefix)] != SealedPrefix {
		t.Fatalf("the sensitive value is stored as %q", stored)
	}
	// Unique per tenant: a second A1 is a conflict; another tenant may have one.
	if _, err := w.create(admin, tn.ID, "dup", map[string]any{"serial": "A1"}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("duplicate serial: %v", err)
	}
	env.InTenant(t, other.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := s.Create(authz.WithActor(ctx, authz.ActorFrom(admin)), tx, other.ID, Definition{Entity: "gizmos", Key: "serial", LabelEN: "Serial", Type: Text, Unique: true, Filterable: true, Sortable: true})
		return err
	})
	if _, err := w.create(admin, other.ID, "theirs", map[string]any{"serial": "A1"}); err != nil {
		t.Fatalf("tenant B's A1: %v", err)
	}

	// Partial update: a null clears, the rest stays; the index follows.
	r, err := w.patch(admin, tn.ID, made[2].ID, map[string]any{"tier": nil, "score": 50})
	if err != nil {
		t.Fatal(err)
	}
	if _, has := r.Custom["tier"]; has || fmt.Sprint(r.Custom["score"]) != "50" || r.Custom["serial"] != "A3" {
		t.Fatalf("patched %v", r.Custom)
	}
	if _, err := w.patch(admin, tn.ID, made[1].ID, map[string]any{"score": "many"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bad patch: %v", err)
	}

	// Masking: a reader without pii.read sees the mask.
	rows, _, err := w.list(reader, tn.ID, [][3]string{{"tier", "eq", "gold"}}, "score", false, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ID != made[0].ID || rows[0].Custom["secret"] != MaskText {
		t.Fatalf("gold widgets for a reader: %+v", rows)
	}
	// Filters and a sort on custom fields, paged by keyset: by score
	// descending, widgets without a score last.
	// names pages through the list two at a time and names what it found, in order.
	names := func(filters [][3]string, sort string, desc bool) []string {
		var order []string
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := w.list(admin, tn.ID, filters, sort, desc, 2, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				order = append(order, p.Name)
			}
			if next == "" || pages > 5 {
				return order
			}
			cursor = next
		}
	}
	if order := names([][3]string{{"score", "gte", "10"}}, "score", true); !reflect.DeepEqual(order, []string{"W2", "W3", "W0", "W1"}) {
		t.Fatalf("by score descending: %v", order)
	}
	if order := names(nil, "tier", false); len(order) != 5 || order[0] != "W0" || order[1] != "W1" {
		t.Fatalf("by tier, those without one last: %v", order)
	}
	if _, _, err := w.list(admin, tn.ID, [][3]string{{"colour", "eq", "grey"}}, "score", false, 2, ""); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a filter on a field that is not filterable: %v", err)
	}
	if _, _, err := w.list(admin, tn.ID, nil, "nope", false, 2, ""); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a sort on an unknown field: %v", err)
	}

	// A conversion rewrites the widgets table: size becomes a number.
	var started Definition
	ty := Number
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		started, err = s.Update(authz.WithActor(ctx, authz.ActorFrom(admin)), tx, tn.ID, "gizmos", "size", Patch{Type: &ty})
		return err
	})
	if started.Pending == nil {
		t.Fatalf("no conversion started: %+v", started)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, _ := client.Get(context.Background(), tn.ID, started.Pending.JobID)
		if j != nil && j.Terminal() {
			if j.Status != jobs.StatusSucceeded {
				t.Fatalf("conversion %s: %s", j.Status, j.Error)
			}
			var res ConvertResult
			_ = json.Unmarshal(j.Result, &res)
			if res.Converted != 2 || res.Failed != 1 {
				t.Fatalf("conversion result %+v", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the conversion did not finish")
		}
		time.Sleep(100 * time.Millisecond)
	}
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		var kinds []string
		if err := tx.NewRaw("SELECT coalesce(jsonb_typeof(custom->'size'), 'none') FROM widgets WHERE tenant_id = ? ORDER BY name", tn.ID).Scan(ctx, &kinds); err != nil {
			return err
		}
		if !reflect.DeepEqual(kinds, []string{"number", "none", "none", "number", "none"}) {
			t.Fatalf("sizes after the conversion: %v", kinds)
		}
		return nil
	})
	// Tenant B sees none of tenant A's widgets through its binding.
	theirs, _, err := w.list(admin, other.ID, [][3]string{{"serial", "eq", "A1"}}, "serial", false, 10, "")
	if err != nil || len(theirs) != 1 || theirs[0].Name != "theirs" {
		t.Fatalf("tenant B lists %+v (%v)", theirs, err)
	}
}
