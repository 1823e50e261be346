// Package changes is the changes feed: for the entities integrations mirror
// (customers, deals, tickets), every change of a record, deletions included,
// in commit order, kept 30 days, read as "what changed since my cursor". A
// system then mirrors Clientele without scanning whole lists.
//
// Rows are written by an events recorder, in the transaction of the change,
// with one statement queued for its commit (db.Collect, db.Defer). They are
// ordered by the writing transaction's id; a reader sees only transactions
// older than the oldest one still running in this database (the horizon), so
// a slow transaction can never commit behind a cursor that has moved past it.
package changes

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/page"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// horizon is the feed's edge: the oldest transaction id still running as of
// the statement's snapshot, leaving out those known to run in another
// database of the server (a change is written in the database of its
// company, so they cannot hold one); with none, the snapshot's xmax. A
// transaction is left out only when pg_stat_activity names its database:
// one that ended since the snapshot, or whose session the app role may not
// see, still holds the edge back, which only delays a read. Without this, any
// long transaction anywhere on the server (another application's, another
// test database's) held every feed back.
const horizon = `SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot()))
	FROM pg_snapshot_xip(pg_current_snapshot()) AS x
	WHERE xid(x) NOT IN (SELECT backend_xid FROM pg_stat_activity
		WHERE backend_xid IS NOT NULL AND datname IS NOT NULL AND datname <> current_database())`

// Keep is how long changes are kept; an older cursor has expired.
const Keep = 30 * 24 * time.Hour

// Entity is one entity the feed covers.
type Entity struct {
	Name     string // "customers"
	Topic    string // its events' prefix: "customer"
	ReadPerm string // the permission that reads its records
	// Get returns a record as the API does, with the reader's rights; an
	// errs.NotFound error for one that is gone or hidden.
	Get func(ctx context.Context, tenant, id uuid.UUID) (any, error)
}

// Feed records and serves changes.
type Feed struct {
	db       *bun.DB
	entities map[string]Entity // by name
	byTopic  map[string]string // topic prefix -> entity name
}

// New builds the feed and starts recording the bus's events for entities.
func New(d *bun.DB, bus *events.Bus, entities ...Entity) *Feed {
	f := &Feed{db: d, entities: map[string]Entity{}, byTopic: map[string]string{}}
	for _, e := range entities {
		f.entities[e.Name] = e
		f.byTopic[e.Topic] = e.Name
	}
	if bus != nil {
		bus.Record("changes-feed", f.record)
	}
	return f
}

type change struct {
	entity, record, op, event string
}

// opOf maps an event to the feed's operation: a deletion, an import (a
// marker: the records came in bulk, re-read them), or an upsert.
func (f *Feed) opOf(topic string) (entity, op string, ok bool) {
	head, verb, found := strings.Cut(topic, ".")
	if !found {
		return "", "", false
	}
	if name, known := f.byTopic[head]; known {
		switch verb {
		case "deleted", "erased":
			return name, "delete", true
		}
		return name, "upsert", true
	}
	if _, known := f.entities[head]; known && (verb == "imported" || verb == "import_reverted") {
		return head, "import", true
	}
	return "", "", false
}

func (f *Feed) record(ctx context.Context, e events.Event) error {
	entity, op, ok := f.opOf(e.Topic)
	if !ok || e.TenantID == uuid.Nil || e.EntityID == "" {
		return nil
	}
	return db.InTenant(ctx, f.db, e.TenantID, func(ctx context.Context, tx bun.Tx) error {
		// A merge keeps one record and takes the others away: those are
		// deletions for a mirror.
		for _, gone := range events.MergedAway(e.Payload) {
			if err := db.Collect(ctx, collectKey{}, change{entity: entity, record: gone, op: "delete", event: e.Topic}, f.flush); err != nil {
				return err
			}
		}
		return db.Collect(ctx, collectKey{}, change{entity: entity, record: e.EntityID, op: op, event: e.Topic}, f.flush)
	})
}

type collectKey struct{}

func (f *Feed) flush(ctx context.Context, tx bun.Tx, values []any) error {
	tenant, _ := db.TenantOf(ctx)
	n := len(values)
	ents, recs, ops, evs := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	for _, v := range values {
		c := v.(change)
		ents, recs, ops, evs = append(ents, c.entity), append(recs, c.record), append(ops, c.op), append(evs, c.event)
	}
	return db.Defer(ctx, tx, `INSERT INTO record_changes (tenant_id, entity, ord, record_id, op, event_type)
		SELECT ?, e, n, r, o, t FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS x (e, r, o, t, n)`,
		tenant, pgdialect.Array(ents), pgdialect.Array(recs), pgdialect.Array(ops), pgdialect.Array(evs))
}

// Change is one entry of the feed.
type Change struct {
	RecordID  uuid.UUID `json:"record_id"`
	Op        string    `json:"op" enum:"upsert,delete,import" doc:"upsert: created or changed, object is the record now; delete: gone (or merged away); import: records came in bulk (record_id is the import's), re-read what changed since changed_at"`
	EventType string    `json:"event_type" doc:"the event behind it: customer.updated, deal.won..."`
	ChangedAt time.Time `json:"changed_at"`
	Object    any       `json:"object,omitempty" doc:"for an upsert, the record as GET returns it now; absent when it is gone since"`
}

// ChangePage is a read of the feed.
type ChangePage struct {
	Items      []Change `json:"items"`
	NextCursor string   `json:"next_cursor" doc:"pass it as cursor to read on; it is returned even when nothing changed"`
	HasMore    bool     `json:"has_more" doc:"more changes wait: read again at once"`
}

type cursor struct {
	X string    `json:"x"` // txid, decimal
	O int       `json:"o"`
	T time.Time `json:"t"` // when it was issued
}

// Read returns up to limit changes of entity after cur ("" is the start of
// what is kept; "now" the present, to begin a mirror after a full list).
func (f *Feed) Read(ctx context.Context, tenant uuid.UUID, entity, cur string, limit int) (*ChangePage, error) {
	ent, ok := f.entities[entity]
	if !ok {
		names := make([]string, 0, len(f.entities))
		for n := range f.entities {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, errs.Field("query.entity", "must be one of "+strings.Join(names, ", "))
	}
	if err := authz.Require(ctx, ent.ReadPerm); err != nil {
		return nil, err
	}
	if authz.ActorFrom(ctx).Visibility() != authz.ScopeAll {
		return nil, errs.E(errs.Forbidden, "The changes feed lists every record of the company, so it needs a role that sees all %s; give the integration's API key such a role.", entity)
	}
	if db.IsCitus(ctx, f.db) {
		return nil, errs.E(errs.NotImplemented, "The changes feed is not available on this deployment, which runs on a Citus cluster: its order of changes rests on one server's transaction ids. Mirror %s by reading the list sorted by sort=-updated_at from the time of your last read, or subscribe to webhooks.", entity)
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	after := cursor{X: "0", O: 0}
	switch cur {
	case "":
	case "now":
		after.X, after.O = "", -1
	default:
		c, err := page.Start[cursor](cur)
		if err != nil || c == nil {
			return nil, errs.Field("query.cursor", "is not a cursor this feed gave out; start again without it")
		}
		if time.Since(c.T) > Keep {
			return nil, errs.E(errs.Gone, "This cursor is more than 30 days old and the changes after it are no longer kept. Read the full list again, then follow the feed from cursor=now.").
				WithFields(errs.FieldError{Location: "query.cursor", Message: "has expired"})
		}
		if _, err := strconv.ParseUint(c.X, 10, 64); err != nil {
			return nil, errs.Field("query.cursor", "is not a cursor this feed gave out; start again without it")
		}
		after = *c
	}
	out := &ChangePage{Items: []Change{}}
	var rows []struct {
		RecordID  string    `bun:"record_id"`
		Op        string    `bun:"op"`
		Event     string    `bun:"event_type"`
		ChangedAt time.Time `bun:"changed_at"`
		Txid      string    `bun:"txid"`
		Ord       int       `bun:"ord"`
	}
	err := db.InTenant(ctx, f.db, tenant, func(ctx context.Context, tx bun.Tx) error {
		if after.X == "" {
			// "now": the oldest transaction still running; everything from it
			// on is still to come.
			if err := tx.NewRaw("SELECT ("+horizon+")::text").Scan(ctx, &after.X); err != nil {
				return err
			}
		}
		err := tx.NewRaw(`SELECT record_id, op, event_type, changed_at, txid::text AS txid, ord FROM record_changes
			WHERE tenant_id = ? AND entity = ? AND (txid, ord) > (?::xid8, ?)
			  AND txid < (`+horizon+`)
			ORDER BY txid, ord LIMIT ?`, tenant, entity, after.X, after.O, limit+1).Scan(ctx, &rows)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "change")
	}
	if len(rows) > limit {
		rows, out.HasMore = rows[:limit], true
	}
	next := after
	next.T = time.Now().UTC()
	// A record changed several times in the page is sent once, at its last
	// change, in that change's place.
	last := map[string]int{}
	for i, r := range rows {
		last[r.RecordID] = i
	}
	for i, r := range rows {
		next.X, next.O = r.Txid, r.Ord
		if last[r.RecordID] != i {
			continue
		}
		id, err := uuid.Parse(r.RecordID)
		if err != nil {
			continue // not a record of the API's (nothing writes one)
		}
		c := Change{RecordID: id, Op: r.Op, EventType: r.Event, ChangedAt: r.ChangedAt}
		if r.Op == "upsert" && ent.Get != nil {
			obj, err := ent.Get(ctx, tenant, id)
			switch {
			case err == nil:
				c.Object = obj
			case errs.Is(err, errs.NotFound):
			default:
				return nil, err
			}
		}
		out.Items = append(out.Items, c)
	}
	out.NextCursor = page.Encode(next)
	return out, nil
}

// Module serves the feed and its daily prune.
type Module struct{ f *Feed }

// NewModule wraps the feed as a kernel module.
func NewModule(f *Feed) *Module { return &Module{f: f} }

// Name is the job namespace.
func (m *Module) Name() string { return "changes" }

// TypePrune drops changes past their 30 days.
const TypePrune = "changes:prune"

// Jobs declares the prune.
func (m *Module) Jobs() []jobs.Handler {
	return []jobs.Handler{{Type: TypePrune, Queue: jobs.QueueBulk, Timeout: 30 * time.Minute,
		RunGlobal: func(ctx context.Context, _ json.RawMessage) error {
			_, err := m.f.db.ExecContext(ctx, "SELECT clientele_prune_record_changes()")
			return err
		}}}
}

// Schedules runs the prune daily.
func (m *Module) Schedules() []jobs.Schedule {
	return []jobs.Schedule{{Name: "changes-prune", Cron: "47 4 * * *", Type: TypePrune, Queue: jobs.QueueBulk}}
}

// APITags describes the tag.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{{Name: "changes", Description: "The changes feed (增量同步): what changed since a cursor, deletions included, kept 30 days."}}
}

// Routes registers GET /changes.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	huma.Register(api, huma.Operation{OperationID: "list-changes", Method: http.MethodGet, Path: "/changes", Summary: "What changed since a cursor",
		Description: "Every change of the entity's records after the cursor, in commit order, deletions included: an upsert carries the record as GET returns it now. " +
			"Mirror a company by listing it once, then reading from cursor=now, and keep next_cursor each time (read again at once while has_more). " +
			"Changes are kept 30 days: an older cursor answers 410, which means list again. Needs the entity's read permission with a role that sees every record.",
		Responses: httpx.Refusals(map[int]string{
			410: "The cursor is older than the 30 days changes are kept: list the records again and start from cursor=now.",
			501: "The deployment runs on a Citus cluster, where the feed is not available (docs/operations.md): read the list sorted by -updated_at, or use webhooks.",
		})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			Entity string `query:"entity" required:"true" maxLength:"40" doc:"customers, deals or tickets"`
			Cursor string `query:"cursor" maxLength:"400" doc:"next_cursor of the last read; absent: the oldest change kept; now: the present"`
			Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
		}) (*struct{ Body *ChangePage }, error) {
			p, err := m.f.Read(ctx, tn.ID, in.Entity, in.Cursor, in.Limit)
			if err != nil {
				return nil, err
			}
			return &struct{ Body *ChangePage }{Body: p}, nil
		}))
}
