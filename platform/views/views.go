// Package views keeps saved views of any entity's list: a named filter, sort
// and set of columns, private to the member who saved it or shared with the
// company. An entity gets them by declaring itself (module.Entity) with a
// ListQuery; the filter is the list's own query string, which the entity
// checks and counts.
package views

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/patch"
)

// Caps on one view, and on the views one member keeps of one list.
const (
	MaxColumns  = 50
	MaxQueryLen = 2000
	MaxPerOwner = 200
)

// View is a saved view of an entity's list.
type View struct {
	ID        uuid.UUID `json:"id" bun:"id"`
	Entity    string    `json:"entity" bun:"entity" doc:"the list it belongs to, e.g. customers"`
	Name      string    `json:"name" bun:"name"`
	OwnerID   uuid.UUID `json:"owner_id" bun:"owner_id"`
	Shared    bool      `json:"shared" bun:"shared" doc:"shared with the company; otherwise only its owner sees it"`
	Query     string    `json:"query" bun:"query" doc:"the list's query string, e.g. tag=vip&lifecycle=customer"`
	Sort      string    `json:"sort" bun:"sort" doc:"the list's sort, e.g. -created_at or custom.tier; empty is the list's default"`
	Columns   []string  `json:"columns" bun:"columns,array" doc:"the columns shown, in order; empty is the list's default"`
	Count     *int      `json:"count,omitempty" bun:"-" doc:"records matching now, within what the caller may see"`
	CreatedAt time.Time `json:"created_at" bun:"created_at"`
	UpdatedAt time.Time `json:"updated_at" bun:"updated_at"`
}

// NewView is a view to save.
type NewView struct {
	Entity  string   `json:"entity" maxLength:"64" doc:"the list, e.g. customers (GET .../views/entities lists them)"`
	Name    string   `json:"name" minLength:"1" maxLength:"100"`
	Shared  bool     `json:"shared,omitempty"`
	Query   string   `json:"query,omitempty" maxLength:"2000"`
	Sort    string   `json:"sort,omitempty" maxLength:"100"`
	Columns []string `json:"columns,omitempty" maxItems:"50"`
}

// Patch changes some of a view; absent fields stay.
type Patch struct {
	Name    *string   `json:"name,omitempty" minLength:"1" maxLength:"100"`
	Shared  *bool     `json:"shared,omitempty"`
	Query   *string   `json:"query,omitempty" maxLength:"2000"`
	Sort    *string   `json:"sort,omitempty" maxLength:"100"`
	Columns *[]string `json:"columns,omitempty" maxItems:"50"`
}

// Deps are what the service needs.
type Deps struct {
	DB  *bun.DB
	Log *slog.Logger
}

// Service keeps the saved views of every declared entity.
type Service struct {
	d        Deps
	mu       sync.RWMutex
	entities map[string]module.Entity
}

// New builds the service; SetEntities declares the entities.
func New(d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{d: d, entities: map[string]module.Entity{}}
}

// SetEntities declares the entities whose lists have saved views: those with
// a ListQuery.
func (s *Service) SetEntities(es []module.Entity) {
	m := map[string]module.Entity{}
	for _, e := range es {
		if e.Query != nil {
			m[e.Name] = e
		}
	}
	s.mu.Lock()
	s.entities = m
	s.mu.Unlock()
}

// Entities are the entities with saved views, by name.
func (s *Service) Entities() []module.Entity {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]module.Entity, 0, len(s.entities))
	for _, e := range s.entities {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// entity returns a declared entity the actor may read. One the actor may not
// read is Forbidden; an unknown one names loc.
func (s *Service) entity(ctx context.Context, name, loc string) (module.Entity, error) {
	s.mu.RLock()
	e, ok := s.entities[name]
	s.mu.RUnlock()
	if !ok {
		names := []string{}
		for _, e := range s.Entities() {
			names = append(names, e.Name)
		}
		return e, errs.Field(loc, fmt.Sprintf("no list %q has saved views; use one of: %s", name, strings.Join(names, ", ")))
	}
	if e.Read != "" {
		return e, authz.Require(ctx, e.Read)
	}
	return e, nil
}

func notFound() error { return errs.E(errs.NotFound, "saved view not found") }

var (
	customKey = regexp.MustCompile(`^custom\.[a-z][a-z0-9_]{0,62}$`)
)

// check validates a view's name, filter, sort and columns against its entity,
// collecting every problem.
func check(e module.Entity, v *View) error {
	var fe []errs.FieldError
	v.Name = strings.TrimSpace(v.Name)
	if n := len([]rune(v.Name)); n < 1 || n > 100 {
		fe = append(fe, errs.FieldError{Location: "body.name", Message: "is 1 to 100 characters"})
	}
	v.Query = strings.TrimPrefix(v.Query, "?")
	if len([]rune(v.Query)) > MaxQueryLen {
		fe = append(fe, errs.FieldError{Location: "body.query", Message: fmt.Sprintf("is at most %d characters", MaxQueryLen)})
	} else if err := e.Query.CheckQuery(v.Query, "body.query"); err != nil {
		var ee *errs.Error
		if !errors.As(err, &ee) {
			return err
		}
		if len(ee.Errors) == 0 {
			fe = append(fe, errs.FieldError{Location: "body.query", Message: ee.Detail})
		}
		fe = append(fe, ee.Errors...)
	}
	v.Sort = strings.TrimSpace(v.Sort)
	if key := strings.TrimPrefix(v.Sort, "-"); v.Sort != "" && !customKey.MatchString(key) && !contains(e.Sorts, key) {
		fe = append(fe, errs.FieldError{Location: "body.sort", Value: v.Sort,
			Message: fmt.Sprintf("sort by %s or custom.<key>, with - for descending", strings.Join(e.Sorts, ", "))})
	}
	known := map[string]bool{}
	for _, c := range e.Columns {
		known[c.Key] = true
	}
	seen := map[string]bool{}
	cols := []string{}
	if len(v.Columns) > MaxColumns {
		fe = append(fe, errs.FieldError{Location: "body.columns", Message: fmt.Sprintf("takes at most %d columns", MaxColumns)})
	}
	for i, c := range v.Columns {
		if !known[c] && !customKey.MatchString(c) {
			keys := make([]string, 0, len(e.Columns))
			for _, c := range e.Columns {
				keys = append(keys, c.Key)
			}
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.columns[%d]", i), Value: c,
				Message: "not a column of " + e.Name + "; use " + strings.Join(keys, ", ") + " or custom.<key>"})
			continue
		}
		if !seen[c] {
			seen[c] = true
			cols = append(cols, c)
		}
	}
	v.Columns = cols
	if len(fe) > 0 {
		return errs.E(errs.Invalid, "The view could not be saved: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

const columns = "id, entity, name, owner_id, shared, query, sort, columns, created_at, updated_at"

// List returns the views of entity the actor sees (their own and the shared
// ones), by name; with counts, each with the records it matches now. An empty
// entity lists the views of every entity the actor may read.
func (s *Service) List(ctx context.Context, tenant uuid.UUID, entity string, counts bool) ([]View, error) {
	var readable []string
	if entity != "" {
		if _, err := s.entity(ctx, entity, "query.entity"); err != nil {
			return nil, err
		}
		readable = []string{entity}
	} else {
		for _, e := range s.Entities() {
			if e.Read == "" || authz.ActorFrom(ctx).Can(e.Read) {
				readable = append(readable, e.Name)
			}
		}
	}
	out := []View{}
	if len(readable) == 0 {
		return out, nil
	}
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT `+columns+` FROM saved_views WHERE tenant_id = ? AND entity IN (?) AND (shared OR owner_id = ?)
			ORDER BY lower(name), id LIMIT 1000`, tenant, bun.In(readable), authz.ActorFrom(ctx).ID).Scan(ctx, &out)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, db.Classify(err, "saved view")
	}
	if counts {
		for i := range out {
			s.count(ctx, tenant, &out[i])
		}
	}
	return out, nil
}

// count sets v.Count; a view whose filter no longer holds (a field removed
// since) is shown without one.
func (s *Service) count(ctx context.Context, tenant uuid.UUID, v *View) {
	s.mu.RLock()
	e, ok := s.entities[v.Entity]
	s.mu.RUnlock()
	if !ok {
		return
	}
	if n, err := e.Query.CountQuery(ctx, tenant, v.Query); err == nil {
		v.Count = &n
	}
}

// Get returns a view the actor sees. entity, when not empty, is the list the
// caller expects: a view of another list is NotFound there.
func (s *Service) Get(ctx context.Context, tenant uuid.UUID, entity string, id uuid.UUID) (View, error) {
	var v View
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`SELECT `+columns+` FROM saved_views WHERE tenant_id = ? AND id = ? AND (shared OR owner_id = ?)`,
			tenant, id, authz.ActorFrom(ctx).ID).Scan(ctx, &v)
	})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && entity != "" && v.Entity != entity) {
		return View{}, notFound()
	}
	if err != nil {
		return View{}, db.Classify(err, "saved view")
	}
	// The entity's read permission comes after: whether the view exists is not
	// for a caller who cannot read its list either way.
	if _, err := s.entity(ctx, v.Entity, "path.id"); err != nil {
		if errs.Is(err, errs.Invalid) {
			return View{}, notFound()
		}
		return View{}, err
	}
	return v, nil
}

// Create saves a view owned by the actor, who must be a person.
func (s *Service) Create(ctx context.Context, tenant uuid.UUID, in NewView) (View, error) {
	e, err := s.entity(ctx, in.Entity, "body.entity")
	if err != nil {
		return View{}, err
	}
	a := authz.ActorFrom(ctx)
	v := View{ID: uuid.New(), Entity: e.Name, Name: in.Name, OwnerID: a.ID, Shared: in.Shared, Query: in.Query, Sort: in.Sort, Columns: in.Columns}
	if err := check(e, &v); err != nil {
		return View{}, err
	}
	if a.Kind != authz.ActorUser {
		return View{}, errs.E(errs.Forbidden, "Saved views belong to people; sign in to save one.")
	}
	err = db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM saved_views WHERE tenant_id = ? AND entity = ? AND owner_id = ?", tenant, v.Entity, v.OwnerID).Scan(ctx, &n); err != nil {
			return err
		}
		if n >= MaxPerOwner {
			return errs.E(errs.Conflict, "You have %d saved views of %s, the most one person keeps; delete some you no longer use, then save this one.", n, v.Entity)
		}
		if err := tx.NewRaw(`INSERT INTO saved_views (tenant_id, id, entity, name, owner_id, shared, query, sort, columns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING created_at, updated_at`,
			tenant, v.ID, v.Entity, v.Name, v.OwnerID, v.Shared, v.Query, v.Sort, pgdialect.Array(v.Columns)).Scan(ctx, &v.CreatedAt, &v.UpdatedAt); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "view.create", Entity: "view", EntityID: v.ID.String(), After: v})
	})
	if err != nil {
		return View{}, db.Classify(err, "saved view")
	}
	s.count(ctx, tenant, &v)
	return v, nil
}

// Update changes one of the actor's own views; a view of someone else,
// shared or not, is NotFound.
func (s *Service) Update(ctx context.Context, tenant, id uuid.UUID, p Patch) (View, error) {
	var v View
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewRaw(`SELECT `+columns+` FROM saved_views WHERE tenant_id = ? AND id = ? AND owner_id = ? FOR UPDATE`,
			tenant, id, authz.ActorFrom(ctx).ID).Scan(ctx, &v)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound()
		}
		if err != nil {
			return err
		}
		e, err := s.entity(ctx, v.Entity, "path.id")
		if err != nil {
			if errs.Is(err, errs.Invalid) {
				return notFound()
			}
			return err
		}
		before := v
		patch.Set(&v.Name, p.Name)
		patch.Set(&v.Shared, p.Shared)
		patch.Set(&v.Query, p.Query)
		patch.Set(&v.Sort, p.Sort)
		patch.Set(&v.Columns, p.Columns)
		if err := check(e, &v); err != nil {
			return err
		}
		if err := tx.NewRaw(`UPDATE saved_views SET name = ?, shared = ?, query = ?, sort = ?, columns = ?, updated_at = now()
			WHERE tenant_id = ? AND id = ? RETURNING updated_at`, v.Name, v.Shared, v.Query, v.Sort, pgdialect.Array(v.Columns), tenant, id).Scan(ctx, &v.UpdatedAt); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "view.update", Entity: "view", EntityID: id.String(), Before: before, After: v})
	})
	if err != nil {
		return View{}, db.Classify(err, "saved view")
	}
	s.count(ctx, tenant, &v)
	return v, nil
}

// Delete removes one of the actor's own views; a view of someone else,
// shared or not, is NotFound.
func (s *Service) Delete(ctx context.Context, tenant, id uuid.UUID) error {
	err := db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var entity string
		err := tx.NewRaw("DELETE FROM saved_views WHERE tenant_id = ? AND id = ? AND owner_id = ? RETURNING entity",
			tenant, id, authz.ActorFrom(ctx).ID).Scan(ctx, &entity)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound()
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "view.delete", Entity: "view", EntityID: id.String(), Before: map[string]any{"entity": entity}})
	})
	return db.Classify(err, "saved view")
}
