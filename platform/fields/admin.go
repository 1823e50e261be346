package fields

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/patch"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// PermManage lets a role define custom fields.
const PermManage = "fields.manage"

func problems(p []FieldProblem) error {
	if len(p) == 0 {
		return nil
	}
	fe := make([]errs.FieldError, len(p))
	for i, x := range p {
		fe[i] = errs.FieldError{Location: "body." + x.Field, Message: x.Message}
	}
	return errs.E(errs.Invalid, "The field definition is invalid.").WithFields(fe...)
}

func (s *Service) checkEntity(entity string) error {
	if !s.knownEntity(entity) {
		return errs.E(errs.NotFound, "There are no custom fields for %q.", entity)
	}
	return nil
}

func (s *Service) get(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity, key string) (*row, error) {
	r := new(row)
	err := tx.NewSelect().Model(r).Where("tenant_id = ? AND entity = ? AND key = ?", tenant, entity, key).For("UPDATE").Scan(ctx)
	if err != nil {
		return nil, db.Classify(err, "field")
	}
	return r, nil
}

// find is get for a request: an entity that has no custom fields is NotFound
// before any row is read.
func (s *Service) find(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity, key string) (*row, error) {
	if err := s.checkEntity(entity); err != nil {
		return nil, err
	}
	return s.get(ctx, tx, tenant, entity, key)
}

// Create adds a definition (audited).
func (s *Service) Create(ctx context.Context, tx bun.IDB, tenant uuid.UUID, d Definition) (Definition, error) {
	if err := s.checkEntity(d.Entity); err != nil {
		return Definition{}, err
	}
	if err := problems(d.Validate()); err != nil {
		return Definition{}, err
	}
	r := toRow(tenant, d)
	if _, err := tx.NewInsert().Model(r).Returning("created_at, updated_at").Exec(ctx); err != nil {
		if db.IsUniqueViolation(err, "") {
			return Definition{}, errs.Wrap(errs.Conflict, err, "A field %q already exists on %s (perhaps archived: restore it).", d.Key, d.Entity).
				WithFields(errs.FieldError{Location: "body.key", Message: "is taken"})
		}
		return Definition{}, db.Classify(err, "field")
	}
	out := r.def()
	if err := audit.Record(ctx, tx, audit.Entry{Action: "field.create", Entity: "field", EntityID: d.Entity + "." + d.Key, After: out}); err != nil {
		return Definition{}, err
	}
	s.changed(ctx, tenant, d.Entity)
	return out, nil
}

func (s *Service) changed(ctx context.Context, tenant uuid.UUID, entity string) {
	s.invalidate(tenant, entity)
	db.AfterCommit(ctx, func(context.Context) { s.invalidate(tenant, entity) })
}

// Patch is a partial update of a definition; nil leaves an attribute as it is.
type Patch struct {
	LabelEN    *string          `json:"label_en,omitempty"`
	LabelZH    *string          `json:"label_zh,omitempty"`
	Type       *Type            `json:"type,omitempty"`
	Options    *[]Option        `json:"options,omitempty"`
	Max        *int             `json:"max,omitempty"`
	Required   *bool            `json:"required,omitempty"`
	Unique     *bool            `json:"unique,omitempty"`
	Default    *json.RawMessage `json:"default,omitempty"`
	Filterable *bool            `json:"filterable,omitempty"`
	Sortable   *bool            `json:"sortable,omitempty"`
	Sensitive  *bool            `json:"sensitive,omitempty"`
	Position   *int             `json:"position,omitempty"`
	HelpEN     *string          `json:"help_en,omitempty"`
	HelpZH     *string          `json:"help_zh,omitempty"`
}

// Update changes a definition (audited). Changes that would need existing values
// rewritten or re-indexed (type, sensitive, unique, filterable, sortable, removing
// options) are refused with 409 for now: the owning module's value iterator and
// the bulk conversion job are not built yet.
func (s *Service) Update(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity, key string, p Patch) (Definition, error) {
	r, err := s.find(ctx, tx, tenant, entity, key)
	if err != nil {
		return Definition{}, err
	}
	if r.PendingJob != nil {
		return Definition{}, errs.E(errs.Conflict, "This field is being converted by job %s; change it again when that has finished.", *r.PendingJob)
	}
	before := r.def()
	d := before
	if p.Type != nil {
		d.Type = *p.Type
		// Options and a rating's max belong to their types; they do not follow a change.
		if d.Type != Select && d.Type != MultiSelect && p.Options == nil {
			d.Options = nil
		}
		if d.Type != Rating && p.Max == nil {
			d.Max = 0
		}
	}
	if p.Sensitive != nil {
		// Unmasking a field shows its values to every reader of the entity:
		// fields.manage alone must not be a way to read what pii.read guards.
		if before.Sensitive && !*p.Sensitive && !authz.ActorFrom(ctx).Can(PermPIIRead) {
			return Definition{}, errs.E(errs.Forbidden, "Turning sensitivity off shows this field's values to everyone who reads them; only someone who holds %s may do it.", PermPIIRead)
		}
		d.Sensitive = *p.Sensitive
	}
	patch.Set(&d.Unique, p.Unique)
	patch.Set(&d.Filterable, p.Filterable)
	patch.Set(&d.Sortable, p.Sortable)
	patch.Set(&d.Options, p.Options)
	patch.Set(&d.LabelEN, p.LabelEN)
	patch.Set(&d.LabelZH, p.LabelZH)
	patch.Set(&d.HelpEN, p.HelpEN)
	patch.Set(&d.HelpZH, p.HelpZH)
	patch.Set(&d.Max, p.Max)
	patch.Set(&d.Required, p.Required)
	patch.Set(&d.Default, p.Default)
	patch.Set(&d.Position, p.Position)
	if err := problems(d.Validate()); err != nil {
		return Definition{}, err
	}
	// Changes existing values must follow run as a bulk job; the field keeps its
	// old shape until every record is converted.
	if why := conversionNeeds(before, d); len(why) > 0 {
		return s.startConversion(ctx, tx, tenant, before, d, why)
	}
	nr := toRow(tenant, d)
	nr.UpdatedAt = time.Now().UTC()
	if _, err := tx.NewUpdate().Model(nr).Column("label_en", "label_zh", "options", "required", "default", "position", "help_en", "help_zh", "updated_at").
		WherePK().Returning("created_at, updated_at").Exec(ctx); err != nil {
		return Definition{}, db.Classify(err, "field")
	}
	after := nr.def()
	if err := audit.Record(ctx, tx, audit.Entry{Action: "field.update", Entity: "field", EntityID: entity + "." + key, Before: before, After: after}); err != nil {
		return Definition{}, err
	}
	s.changed(ctx, tenant, entity)
	return after, nil
}

// SetArchived archives (values stay in records and the index) or restores a field.
func (s *Service) SetArchived(ctx context.Context, tx bun.IDB, tenant uuid.UUID, entity, key string, archived bool) (Definition, error) {
	r, err := s.find(ctx, tx, tenant, entity, key)
	if err != nil {
		return Definition{}, err
	}
	before := r.def()
	var at *time.Time
	if archived {
		now := time.Now().UTC()
		at = &now
	}
	r.ArchivedAt = at
	r.UpdatedAt = time.Now().UTC()
	if _, err := tx.NewUpdate().Model(r).Column("archived_at", "updated_at").WherePK().Exec(ctx); err != nil {
		return Definition{}, db.Classify(err, "field")
	}
	action := "field.restore"
	if archived {
		action = "field.archive"
	}
	after := r.def()
	if err := audit.Record(ctx, tx, audit.Entry{Action: action, Entity: "field", EntityID: entity + "." + key, Before: before, After: after}); err != nil {
		return Definition{}, err
	}
	s.changed(ctx, tenant, entity)
	return after, nil
}

// Module serves the admin routes.
type Module struct{ svc *Service }

// NewModule returns the kernel module over the service.
func NewModule(s *Service) *Module { return &Module{svc: s} }

// Service is the engine behind the module, for other modules.
func (m *Module) Service() *Service { return m.svc }

// Name is the route prefix.
func (m *Module) Name() string { return "fields" }

// Jobs runs conversions after a field's type (or indexing) changes, the
// hourly rebuild of stale list counts, and a company's rebuild after a bulk
// write (RecountSoon).
func (m *Module) Jobs() []jobs.Handler { return m.svc.Jobs() }

// Jobs are the service's task handlers (Module.Jobs), for workers and tests
// that run the service without its routes.
func (s *Service) Jobs() []jobs.Handler {
	return []jobs.Handler{{Type: TypeConvert, Queue: jobs.QueueBulk, RunLong: s.runConvert}, s.recountHandler(), s.recountCompanyHandler()}
}

// Schedules rebuilds stale list counts every hour, at a fixed minute, so every
// scheduler replica enqueues the same task id; a second run finds nothing stale.
func (m *Module) Schedules() []jobs.Schedule {
	return []jobs.Schedule{{Name: "fields-recount-hourly", Cron: "41 * * * *", Type: TypeRecount}}
}

// Permissions declares what roles may be granted.
func (m *Module) Permissions() []authz.Permission {
	return []authz.Permission{
		{Key: PermManage, Label: "Define custom fields", LabelZH: "管理自定义字段", AdminOnly: true},
	}
}

type entityIn struct {
	Entity string `path:"entity" maxLength:"64" doc:"e.g. customers"`
	All    bool   `query:"archived" doc:"include archived fields"`
}

type keyIn struct {
	Entity string `path:"entity" maxLength:"64"`
	Key    string `path:"key" maxLength:"63"`
}

// DefinitionIn is a new field.
type DefinitionIn struct {
	Key        string          `json:"key" maxLength:"63"`
	LabelEN    string          `json:"label_en" maxLength:"200"`
	LabelZH    string          `json:"label_zh,omitempty" maxLength:"200"`
	Type       Type            `json:"type"`
	Options    []Option        `json:"options,omitempty" maxItems:"200"`
	Max        int             `json:"max,omitempty"`
	Required   bool            `json:"required,omitempty"`
	Unique     bool            `json:"unique,omitempty"`
	Default    json.RawMessage `json:"default,omitempty"`
	Filterable bool            `json:"filterable,omitempty"`
	Sortable   bool            `json:"sortable,omitempty"`
	Sensitive  bool            `json:"sensitive,omitempty"`
	Position   int             `json:"position,omitempty"`
	HelpEN     string          `json:"help_en,omitempty" maxLength:"1000"`
	HelpZH     string          `json:"help_zh,omitempty" maxLength:"1000"`
}

type createIn struct {
	Entity string `path:"entity" maxLength:"64"`
	Body   DefinitionIn
}

type patchIn struct {
	Entity string `path:"entity" maxLength:"64"`
	Key    string `path:"key" maxLength:"63"`
	Body   Patch
}

type listOut struct {
	Body struct {
		Items []Definition `json:"items"`
	} `nameHint:"FieldDefinitionList"`
}

type defOut struct{ Body Definition }

// EntityInfo is an entity that may carry custom fields, as admins pick it.
type EntityInfo struct {
	Name    string `json:"name" doc:"the entity in .../fields/{entity}, e.g. customers"`
	LabelEN string `json:"label_en"`
	LabelZH string `json:"label_zh"`
}

type entitiesOut struct {
	Body struct {
		Items []EntityInfo `json:"items"`
	} `nameHint:"FieldEntityList"`
}

// Routes registers the operations.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	huma.Register(api, huma.Operation{OperationID: "list-field-entities", Method: http.MethodGet, Path: "/fields", Summary: "List the entities that carry custom fields",
		Description: "The entities the company's modules declare (customers, and later deals or tickets), with their labels in English and Chinese: the {entity} of the other field routes."},
		httpx.InTenant(func(ctx context.Context, _ tenancy.Tenant, _ *struct{}) (*entitiesOut, error) {
			out := &entitiesOut{}
			out.Body.Items = []EntityInfo{}
			for _, e := range m.svc.EntitySpecs() {
				out.Body.Items = append(out.Body.Items, EntityInfo{Name: e.Name, LabelEN: e.LabelEN, LabelZH: e.LabelZH})
			}
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "list-fields", Method: http.MethodGet, Path: "/fields/{entity}", Summary: "List custom fields of an entity",
		Description: "The custom fields defined on an entity (customers), in form order; archived ones too with archived=true."},
		func(ctx context.Context, in *entityIn) (*listOut, error) {
			if err := m.svc.checkEntity(in.Entity); err != nil {
				return nil, err
			}
			out := &listOut{}
			err := tenancy.Tx(ctx, m.svc.deps.DB, "", func(ctx context.Context, tx bun.Tx, t tenancy.Tenant) error {
				var err error
				if in.All {
					out.Body.Items, err = m.svc.AllDefinitions(ctx, tx, t.ID, in.Entity)
				} else {
					out.Body.Items, err = m.svc.Definitions(ctx, tx, t.ID, in.Entity)
				}
				return err
			})
			if out.Body.Items == nil {
				out.Body.Items = []Definition{}
			}
			return out, err
		})
	huma.Register(api, huma.Operation{OperationID: "create-field", Method: http.MethodPost, Path: "/fields/{entity}", Summary: "Define a custom field",
		Description:   "Adds a custom field to an entity: a key, labels in English and Chinese, a type, options for select types, and flags (required, unique, filterable, sortable, sensitive). A key in use answers 409. Needs fields.manage.",
		DefaultStatus: http.StatusCreated,
		Responses:     httpx.Refusals(map[int]string{409: "A field with this key exists on the entity (perhaps archived: restore it)."}),
	},
		func(ctx context.Context, in *createIn) (*defOut, error) {
			b := in.Body
			d := Definition{Entity: in.Entity, Key: b.Key, LabelEN: b.LabelEN, LabelZH: b.LabelZH, Type: b.Type, Options: b.Options, Max: b.Max,
				Required: b.Required, Unique: b.Unique, Default: b.Default, Filterable: b.Filterable, Sortable: b.Sortable,
				Sensitive: b.Sensitive, Position: b.Position, HelpEN: b.HelpEN, HelpZH: b.HelpZH}
			out := &defOut{}
			err := tenancy.Tx(ctx, m.svc.deps.DB, PermManage, func(ctx context.Context, tx bun.Tx, t tenancy.Tenant) error {
				var err error
				out.Body, err = m.svc.Create(ctx, tx, t.ID, d)
				return err
			})
			return out, err
		})
	m.changeRoutes(api)
	m.archiveRoutes(api)
}

// changeRoutes registers the change of a field and the list of values a
// conversion could not take along.
func (m *Module) changeRoutes(api huma.API) {
	type patchOut struct {
		Status int
		Body   Definition
	}
	huma.Register(api, huma.Operation{OperationID: "update-field", Method: http.MethodPatch, Path: "/fields/{entity}/{key}", Summary: "Change a custom field",
		Description: "Labels, help, adding options, required, default and position apply at once (200). Changes existing values must follow " +
			"(type, removing options, a lower rating max, sensitive, unique, filterable, sortable) answer 202: a bulk job converts every record, " +
			"the field keeps its old shape until it has finished (see `pending`), and values that cannot follow are set aside and listed at " +
			"GET .../fields/{entity}/{key}/conversion-failures.",
		Responses: map[string]*huma.Response{
			"202": {Description: "Conversion started: the body is the field as it still is, with pending naming the job that converts the records (GET .../jobs/{job_id})."},
			"409": {Description: "The field is being converted already, or the change needs the background worker, which this installation does not run."},
		}},
		func(ctx context.Context, in *patchIn) (*patchOut, error) {
			out := &patchOut{Status: http.StatusOK}
			err := tenancy.Tx(ctx, m.svc.deps.DB, PermManage, func(ctx context.Context, tx bun.Tx, t tenancy.Tenant) error {
				var err error
				out.Body, err = m.svc.Update(ctx, tx, t.ID, in.Entity, in.Key, in.Body)
				return err
			})
			if out.Body.Pending != nil {
				out.Status = http.StatusAccepted
			}
			return out, err
		})
	type failuresIn struct {
		Entity string `path:"entity" maxLength:"64"`
		Key    string `path:"key" maxLength:"63"`
		Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"200"`
	}
	type failuresOut struct {
		Body struct {
			Items []ConversionFailure `json:"items"`
		} `nameHint:"FieldConversionFailureList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-field-conversion-failures", Method: http.MethodGet, Path: "/fields/{entity}/{key}/conversion-failures",
		Summary: "Values a type change could not convert", Description: "Each was taken out of its record and kept here with the reason, newest first."},
		func(ctx context.Context, in *failuresIn) (*failuresOut, error) {
			out := &failuresOut{}
			err := tenancy.Tx(ctx, m.svc.deps.DB, PermManage, func(ctx context.Context, tx bun.Tx, t tenancy.Tenant) error {
				if _, err := m.svc.find(ctx, tx, t.ID, in.Entity, in.Key); err != nil {
					return err
				}
				var err error
				out.Body.Items, err = m.svc.ConversionFailures(ctx, tx, t.ID, in.Entity, in.Key, in.Limit)
				return err
			})
			return out, err
		})
}

// archiveRoutes registers archiving a field and restoring it.
func (m *Module) archiveRoutes(api huma.API) {
	for _, a := range []struct {
		op       huma.Operation
		archived bool
	}{
		{huma.Operation{OperationID: "archive-field", Method: http.MethodDelete, Path: "/fields/{entity}/{key}", Summary: "Archive a custom field",
			Description: "The field disappears from forms and validation; its values stay in the records and come back on restore."}, true},
		{huma.Operation{OperationID: "restore-field", Method: http.MethodPost, Path: "/fields/{entity}/{key}/restore", Summary: "Restore an archived custom field",
			Description: "Brings an archived field back into forms and validation, with the values its records kept. Needs fields.manage."}, false},
	} {
		huma.Register(api, a.op, func(ctx context.Context, in *keyIn) (*defOut, error) {
			out := &defOut{}
			err := tenancy.Tx(ctx, m.svc.deps.DB, PermManage, func(ctx context.Context, tx bun.Tx, t tenancy.Tenant) error {
				var err error
				out.Body, err = m.svc.SetArchived(ctx, tx, t.ID, in.Entity, in.Key, a.archived)
				return err
			})
			return out, err
		})
	}
}
