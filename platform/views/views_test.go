package views_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/clientele-crm/clientele/platform/views"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// gadgets is a test-only list: its filter takes colour=<name>, and it counts
// a gadget per letter of the colour. It is all an entity writes to get views.
type gadgets struct{}

func (gadgets) CheckQuery(raw, loc string) error {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return errs.Field(loc, "is not a query string")
	}
	for k := range v {
		if k != "colour" {
			return errs.Field(loc+"."+k, "unknown filter; use colour")
		}
	}
	return nil
}

func (gadgets) CountQuery(_ context.Context, _ uuid.UUID, raw string) (int, error) {
	v, _ := url.ParseQuery(raw)
	return len(v.Get("colour")), nil
}

func person(perms ...string) context.Context {
	p := map[string]bool{}
	for _, x := range perms {
		p[x] = true
	}
	return authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Scope: authz.ScopeAll, Permissions: p})
}

func TestSavedViewsOfAnyList(t *testing.T) {
	env := testkit.Get(t)
	s := views.New(views.Deps{DB: env.App})
	s.SetEntities([]module.Entity{
		{Name: "gadgets", LabelEN: "Gadgets", Read: "gadgets.read", Query: gadgets{},
			Columns: []module.Column{{Key: "name"}, {Key: "colour"}}, Sorts: []string{"name", "created_at"}},
		{Name: "nolist"}, // no ListQuery: no views
	})
	tn, other := env.NewTenant(t), env.NewTenant(t)
	ann, bob := person("gadgets.read"), person("gadgets.read")
	nobody := person()

	mine, err := s.Create(ann, tn.ID, views.NewView{Entity: "gadgets", Name: " Red ones ", Query: "?colour=red", Sort: "-created_at",
		Columns: []string{"name", "custom.tier", "name"}})
	if err != nil {
		t.Fatal(err)
	}
	if mine.Name != "Red ones" || mine.Query != "colour=red" || strings.Join(mine.Columns, ",") != "name,custom.tier" || mine.Count == nil || *mine.Count != 3 {
		t.Fatalf("created %+v", mine)
	}
	shared, err := s.Create(ann, tn.ID, views.NewView{Entity: "gadgets", Name: "Blue", Shared: true, Query: "colour=blue"})
	if err != nil {
		t.Fatal(err)
	}

	// Every problem of a view at once, each named.
	_, err = s.Create(ann, tn.ID, views.NewView{Entity: "gadgets", Name: "Bad", Query: "size=9", Sort: "weight", Columns: []string{"price"}})
	e, ok := err.(*errs.Error)
	if !ok || e.Status != 422 {
		t.Fatalf("bad view: %v", err)
	}
	got := map[string]bool{}
	for _, f := range e.Errors {
		got[f.Location] = true
	}
	for _, loc := range []string{"body.query.size", "body.sort", "body.columns[0]"} {
		if !got[loc] {
			t.Errorf("no problem at %s in %+v", loc, e.Errors)
		}
	}
	if _, err := s.Create(ann, tn.ID, views.NewView{Entity: "nolist", Name: "x"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a view of a list without views: %v", err)
	}
	if _, err := s.Create(nobody, tn.ID, views.NewView{Entity: "gadgets", Name: "x"}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a view by someone who cannot read the list: %v", err)
	}
	key := authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorAPIKey, Scope: authz.ScopeAll, Permissions: map[string]bool{"gadgets.read": true}})
	if _, err := s.Create(key, tn.ID, views.NewView{Entity: "gadgets", Name: "x"}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a view by an API key: %v", err)
	}

	// Private views are their owner's; shared ones the company's.
	list := func(ctx context.Context, tenant uuid.UUID) []string {
		t.Helper()
		vs, err := s.List(ctx, tenant, "gadgets", true)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, v := range vs {
			names = append(names, v.Name)
		}
		return names
	}
	if got := strings.Join(list(ann, tn.ID), ","); got != "Blue,Red ones" {
		t.Fatalf("the owner lists %s", got)
	}
	if got := strings.Join(list(bob, tn.ID), ","); got != "Blue" {
		t.Fatalf("a colleague lists %s", got)
	}
	if _, err := s.Get(bob, tn.ID, "", mine.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a colleague opens a private view: %v", err)
	}
	if v, err := s.Get(bob, tn.ID, "gadgets", shared.ID); err != nil || v.Query != "colour=blue" {
		t.Fatalf("a colleague opens a shared view: %+v %v", v, err)
	}
	if _, err := s.Get(bob, tn.ID, "customers", shared.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a view opened as another list's: %v", err)
	}
	if _, err := s.List(nobody, tn.ID, "gadgets", false); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("views of a list the caller cannot read: %v", err)
	}
	if vs, err := s.List(nobody, tn.ID, "", false); err != nil || len(vs) != 0 {
		t.Fatalf("every list's views, for someone who reads none: %v %v", vs, err)
	}
	// Only the owner changes or deletes a view, shared or not.
	name := "Bleu"
	if _, err := s.Update(bob, tn.ID, shared.ID, views.Patch{Name: &name}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a colleague renames a shared view: %v", err)
	}
	if err := s.Delete(bob, tn.ID, shared.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a colleague deletes a shared view: %v", err)
	}
	no, sort, cols := false, "name", []string{"colour"}
	up, err := s.Update(ann, tn.ID, shared.ID, views.Patch{Name: &name, Shared: &no, Sort: &sort, Columns: &cols})
	if err != nil || up.Name != "Bleu" || up.Shared || up.Sort != "name" || up.Query != "colour=blue" || strings.Join(up.Columns, ",") != "colour" {
		t.Fatalf("updated %+v %v", up, err)
	}
	if got := strings.Join(list(bob, tn.ID), ","); got != "" {
		t.Fatalf("after unsharing, a colleague lists %q", got)
	}
	bad := "nope=1"
	if _, err := s.Update(ann, tn.ID, shared.ID, views.Patch{Query: &bad}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a bad filter on update: %v", err)
	}

	// Tenant B reaches none of tenant A's views, even with A's owner's id.
	annInB := authz.WithActor(context.Background(), authz.ActorFrom(ann))
	if got := list(annInB, other.ID); len(got) != 0 {
		t.Fatalf("tenant B lists %v", got)
	}
	if _, err := s.Get(annInB, other.ID, "", mine.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("tenant B opens A's view: %v", err)
	}
	if _, err := s.Update(annInB, other.ID, mine.ID, views.Patch{Name: &name}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("tenant B changes A's view: %v", err)
	}
	if err := s.Delete(annInB, other.ID, mine.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("tenant B deletes A's view: %v", err)
	}
	// One person keeps at most MaxPerOwner views of a list.
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := db.ExecStaged(ctx, tx, `INSERT INTO saved_views (tenant_id, id, entity, name, owner_id)
			SELECT ?, gen_random_uuid(), 'gadgets', 'v' || g, ? FROM generate_series(1, ?) g`, tn.ID, authz.ActorFrom(bob).ID, views.MaxPerOwner)
		return err
	})
	if _, err := s.Create(bob, tn.ID, views.NewView{Entity: "gadgets", Name: "one more"}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("a view beyond the cap: %v", err)
	}
	// Row security alone keeps them apart: with no tenant condition at all,
	// tenant B's transaction sees none of A's views.
	env.InTenant(t, other.ID, func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM saved_views").Scan(ctx, &n); err != nil {
			return err
		}
		if n != 0 {
			t.Fatalf("tenant B's transaction sees %d saved views", n)
		}
		return nil
	})
	if err := s.Delete(ann, tn.ID, mine.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ann, tn.ID, "", mine.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a deleted view: %v", err)
	}
}
