package profiles

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// MaxBatch is how many records one upsert call takes.
const MaxBatch = 1000

// BatchRecord is one customer of an upsert: the fields to set. A record that
// matches a customer changes only the fields it carries; one that matches
// none creates a customer and needs a name.
type BatchRecord struct {
	Kind      string          `json:"kind,omitempty" enum:"person,company"`
	Name      string          `json:"name,omitempty" maxLength:"300"`
	CompanyID *uuid.UUID      `json:"company_id,omitempty"`
	Emails    []string        `json:"emails,omitempty" maxItems:"20"`
	Phones    []string        `json:"phones,omitempty" maxItems:"20"`
	Address   json.RawMessage `json:"address,omitempty"`
	OwnerID   *uuid.UUID      `json:"owner_id,omitempty"`
	Tags      []string        `json:"tags,omitempty" maxItems:"50"`
	Lifecycle string          `json:"lifecycle,omitempty" enum:"lead,prospect,customer,at_risk,churned"`
	Source    string          `json:"source,omitempty" maxLength:"100"`
	Custom    map[string]any  `json:"custom,omitempty"`
}

// BatchInput is an upsert of up to MaxBatch customers.
type BatchInput struct {
	MatchBy string        `json:"match_by,omitempty" maxLength:"80" doc:"how records find their customer: email (the record's first email, the default), phone (its first phone), or custom.<key> of a unique custom field (the record's value of it)"`
	Records []BatchRecord `json:"records" minItems:"1" maxItems:"1000"`
}

// BatchResult is what became of one record.
type BatchResult struct {
	Index  int         `json:"index" doc:"the record's position in records"`
	Status string      `json:"status" enum:"created,updated,failed"`
	ID     *uuid.UUID  `json:"id,omitempty" doc:"the customer created or updated"`
	Error  *errs.Error `json:"error,omitempty" doc:"why the record failed: a problem whose errors name the record's fields (records[3].emails[0])"`
}

// BatchOutput sums up an upsert.
type BatchOutput struct {
	Created int           `json:"created"`
	Updated int           `json:"updated"`
	Failed  int           `json:"failed"`
	Results []BatchResult `json:"results"`
}

// UpsertCustomers creates or updates each record in one transaction, each in
// a savepoint of its own: a record that fails is reported, with the reason
// naming its fields, and changes nothing, while the others are kept. Records
// are matched to customers by email, phone or a unique custom field, across
// the whole company; a customer the actor's role may not change is a failed
// record. Two records of the call with the same key go to the same customer.
func (m *Module) UpsertCustomers(ctx context.Context, tenant uuid.UUID, in BatchInput) (*BatchOutput, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	if len(in.Records) > MaxBatch {
		return nil, errs.Field("body.records", fmt.Sprintf("has %d records; send at most %d per call", len(in.Records), MaxBatch))
	}
	match := strings.TrimSpace(in.MatchBy)
	if match == "" {
		match = "email"
	}
	customKey, isCustom := strings.CutPrefix(match, "custom.")
	if !isCustom {
		customKey = ""
	}
	if !isCustom && match != "email" && match != "phone" {
		return nil, errs.Field("body.match_by", "must be email, phone or custom.<key> of a unique custom field")
	}
	out := &BatchOutput{Results: make([]BatchResult, len(in.Records))}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if isCustom {
			// Refuse a key that is not a unique field once, for the whole call.
			if _, _, err := m.custom.FindUnique(ctx, tx, tenant, customKey, "", "body.match_by"); err != nil {
				return err
			}
		}
		// Contacts are matched once for the whole call, as the company stood
		// at its start, and kept current with what the call does: seen gives
		// each key's customer, taken says a create would duplicate someone (it
		// then goes the careful way, which names the other customer).
		seen, taken, mine := map[string]uuid.UUID{}, map[string]bool{}, map[string]uuid.UUID{}
		made := map[uuid.UUID]bool{} // customers this call created
		recKeys := make([][]string, len(in.Records))
		var all []string
		for i, r := range in.Records {
			recKeys[i] = contactKeys(&Customer{Emails: r.Emails, Phones: r.Phones})
			all = append(all, recKeys[i]...)
		}
		found, err := bulkMatchContacts(ctx, tx, tenant, all)
		if err != nil {
			return err
		}
		for k, id := range found {
			seen[k], taken[k] = id, true
		}
		// New customers that need no look at the others (their keys are
		// free, they name no company) wait in pending and are written
		// together, with one statement per table, when a record needs the
		// careful way or the call ends.
		var pending []pendingCreate
		members := map[uuid.UUID]error{}
		member := func(ctx context.Context, tenant uuid.UUID, id *uuid.UUID, loc string) error {
			if err, ok := members[*id]; ok {
				return err
			}
			err := m.checkMember(ctx, tenant, id, loc)
			if err == nil || errs.From(err).Status < 500 {
				members[*id] = err
			}
			return err
		}
		flush := func() error {
			batch := pending
			pending = nil
			return m.flushCreates(ctx, tx, tenant, batch, out)
		}
		for i, r := range in.Records {
			res := &out.Results[i]
			res.Index = i
			key := batchKey(r, match, customKey)
			id, found, err := m.batchMatch(ctx, tx, tenant, r, match, customKey, key, seen)
			if err != nil {
				if errs.From(err).Status >= 500 {
					return err
				}
				res.Status, res.Error = "failed", relocate(err, i)
				continue
			}
			if !found {
				// The call's own new customers have their contact rows queued
				// for the commit, where a duplicate check cannot see them.
				if fe := callClash(r, mine); fe != nil {
					err := errs.E(errs.Conflict, "Another record of this call created a customer with this email or phone: %v. Send the two as one record.", fe.Value).WithFields(*fe)
					res.Status, res.Error = "failed", relocate(err, i)
					continue
				}
			}
			free := true
			for _, k := range recKeys[i] {
				free = free && !taken[k]
			}
			created := func(id uuid.UUID) {
				made[id] = true
				for _, k := range recKeys[i] {
					taken[k] = true
					mine[k] = id
					if _, ok := seen[k]; !ok {
						seen[k] = id
					}
				}
				if key != "" {
					seen[key] = id
				}
			}
			if !found && free && r.CompanyID == nil {
				c, err := m.newCustomer(ctx, tenant, r.input(), member)
				if err == nil {
					c.Custom, err = m.validateCustom(ctx, tx, tenant, c.Custom, false)
				}
				if err != nil {
					if errs.From(err).Status >= 500 {
						return err
					}
					res.Status, res.Error = "failed", relocate(err, i)
					continue
				}
				pending = append(pending, pendingCreate{index: i, in: r.input(), c: c})
				created(c.ID)
				continue
			}
			if err := flush(); err != nil {
				return err
			}
			err = db.Savepoint(ctx, func(ctx context.Context) error {
				if found {
					if made[id] {
						// Its side rows are queued for the commit; the update
						// rewrites them, so they go first.
						if err := db.Flush(ctx); err != nil {
							return err
						}
					}
					c, err := m.UpdateCustomer(ctx, tenant, id, r.update())
					if err != nil {
						return err
					}
					res.Status, res.ID = "updated", &c.ID
					for _, k := range recKeys[i] {
						taken[k] = true
					}
					return nil
				}
				c, err := m.CreateCustomer(ctx, tenant, r.input(), free)
				if err != nil {
					return err
				}
				res.Status, res.ID = "created", &c.ID
				created(c.ID)
				return nil
			})
			if err == nil {
				continue
			}
			if errs.From(err).Status >= 500 {
				return err // the database, not the record: stop
			}
			res.Status, res.ID, res.Error = "failed", nil, relocate(err, i)
		}
		if err := flush(); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, db.Classify(err, "customer")
	}
	for _, r := range out.Results {
		switch r.Status {
		case "created":
			out.Created++
		case "updated":
			out.Updated++
		default:
			out.Failed++
		}
	}
	if out.Created >= batchStatsRows {
		// A company this call grew a lot may be one the planner's
		// statistics do not know yet.
		m.statsSoon(customerTables...)
	}
	return out, nil
}

// batchStatsRows is how many customers an upsert creates before it asks for
// the planner statistics to be refreshed (db.RefreshStatsSoon).
const batchStatsRows = 100

// pendingCreate is a new customer of an upsert waiting to be written with
// others: the record's position, what it sent, and the customer made of it.
type pendingCreate struct {
	index int
	in    CustomerInput
	c     *Customer
}

// flushCreates writes the pending new customers together: one insert of the
// customers and one statement per side table, index, lifecycle history, audit
// and outbox, in a savepoint. If that is refused for a reason that lies in a
// record (a unique custom value taken, an owner who left), it is undone and
// the customers are written one by one, each in a savepoint of its own, so
// each record gets its own answer. Their ids stay as made: later records of
// the call may already point at them.
func (m *Module) flushCreates(ctx context.Context, tx bun.Tx, tenant uuid.UUID, batch []pendingCreate, out *BatchOutput) error {
	if len(batch) == 0 {
		return nil
	}
	err := db.Savepoint(ctx, func(ctx context.Context) error {
		return m.createAll(ctx, tx, tenant, batch)
	})
	if err == nil {
		for _, p := range batch {
			id := p.c.ID
			out.Results[p.index].Status, out.Results[p.index].ID = "created", &id
		}
		return nil
	}
	if errs.From(err).Status >= 500 {
		return err
	}
	for _, p := range batch {
		res := &out.Results[p.index]
		// The custom values are checked again from what was sent: checked
		// values of a sensitive field are sealed already.
		p.c.Custom = p.in.Custom
		err := db.Savepoint(ctx, func(ctx context.Context) error {
			c, err := m.createCustomer(ctx, tenant, p.in, p.c, true)
			if err != nil {
				return err
			}
			res.Status, res.ID = "created", &c.ID
			return nil
		})
		if err == nil {
			continue
		}
		if errs.From(err).Status >= 500 {
			return err
		}
		res.Status, res.ID, res.Error = "failed", nil, relocate(err, p.index)
	}
	return nil
}

// createAll stores customers whose fields and custom values are checked
// already, with one statement per table.
func (m *Module) createAll(ctx context.Context, tx bun.Tx, tenant uuid.UUID, batch []pendingCreate) error {
	cs := make([]*Customer, len(batch))
	ids := make([]uuid.UUID, len(batch))
	cleans := make([]map[string]any, len(batch))
	stages := make([]string, len(batch))
	for i, p := range batch {
		cs[i], ids[i], cleans[i], stages[i] = p.c, p.c.ID, p.c.Custom, p.c.Lifecycle
	}
	if _, err := tx.NewInsert().Model(&cs).ExcludeColumn("created_at", "updated_at", "deleted_at").Returning("created_at, updated_at").Exec(ctx); err != nil {
		return err
	}
	if err := writeNewSideRowsAll(ctx, tx, cs); err != nil {
		return err
	}
	if err := m.custom.WriteNewIndexAll(ctx, tx, tenant, ids, cleans); err != nil {
		return err
	}
	if err := db.Defer(ctx, tx, `INSERT INTO customer_lifecycle_history (tenant_id, customer_id, to_stage, changed_by)
		SELECT ?, id, st, ? FROM unnest(?::uuid[], ?::text[]) AS r(id, st)`,
		tenant, authz.RequesterID(ctx), pgdialect.Array(uuidStrings(ids)), pgdialect.Array(stages)); err != nil {
		return err
	}
	sensitive := m.sensitive(ctx, tx, tenant)
	entries := make([]audit.Entry, len(cs))
	for i, c := range cs {
		entries[i] = audit.Entry{Action: "customer.create", Entity: "customer", EntityID: c.ID.String(), After: c, Sensitive: sensitive}
	}
	if err := audit.RecordAll(ctx, tx, entries); err != nil {
		return err
	}
	for _, c := range cs {
		m.publish(ctx, "customer.created", c.ID)
	}
	return nil
}

func uuidStrings(ids []uuid.UUID) []string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return s
}

// batchKey is the record's matching key as the call's own records share it:
// the normalised first email or phone, or the raw custom value.
func batchKey(r BatchRecord, match, customKey string) string {
	switch {
	case match == "email" && len(r.Emails) > 0:
		if n, ok := normalizeEmail(r.Emails[0]); ok {
			return "e:" + n
		}
	case match == "phone" && len(r.Phones) > 0:
		if d, ok := phoneDigits(r.Phones[0]); ok {
			ts := phoneTerms(r.Phones[0], d)
			return ts[len(ts)-1]
		}
	case customKey != "":
		if v, ok := r.Custom[customKey]; ok && v != nil {
			return "c:" + strings.ToLower(strings.TrimSpace(fmt.Sprint(v)))
		}
	}
	return ""
}

// batchMatch finds the customer a record goes to: the one seen holds for its
// key (matched at the start of the call, or created by it), or for a custom
// key a live customer of the company holding it. A record with no key creates
// a customer.
func (m *Module) batchMatch(ctx context.Context, tx bun.Tx, tenant uuid.UUID, r BatchRecord, match, customKey, key string, seen map[string]uuid.UUID) (uuid.UUID, bool, error) {
	if key == "" {
		return uuid.Nil, false, nil
	}
	if id, ok := seen[key]; ok {
		return id, true, nil
	}
	if customKey != "" {
		id, ok, err := m.custom.FindUnique(ctx, tx, tenant, customKey, r.Custom[customKey], "body.match_by")
		if err != nil || !ok {
			return uuid.Nil, false, err
		}
		var live bool
		if err := tx.NewRaw("SELECT EXISTS (SELECT 1 FROM customers WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL)", tenant, id).Scan(ctx, &live); err != nil {
			return uuid.Nil, false, err
		}
		return id, live, nil
	}
	return uuid.Nil, false, nil
}

// callClash names the first email or phone of r that a customer created
// earlier in the call holds.
func callClash(r BatchRecord, mine map[string]uuid.UUID) *errs.FieldError {
	for j, e := range r.Emails {
		if n, ok := normalizeEmail(e); ok {
			if id, hit := mine["e:"+n]; hit {
				return &errs.FieldError{Location: fmt.Sprintf("body.emails[%d]", j), Message: "already used by customer " + id.String() + ", created earlier in this call", Value: e}
			}
		}
	}
	for j, p := range r.Phones {
		if d, ok := phoneDigits(p); ok {
			ts := phoneTerms(p, d)
			if id, hit := mine[ts[len(ts)-1]]; hit {
				return &errs.FieldError{Location: fmt.Sprintf("body.phones[%d]", j), Message: "already used by customer " + id.String() + ", created earlier in this call", Value: p}
			}
		}
	}
	return nil
}

func (r BatchRecord) input() CustomerInput {
	return CustomerInput{Kind: r.Kind, Name: r.Name, CompanyID: r.CompanyID, Emails: r.Emails, Phones: r.Phones, Address: r.Address,
		OwnerID: r.OwnerID, Tags: r.Tags, Lifecycle: r.Lifecycle, Source: r.Source, Custom: r.Custom}
}

// update carries only the fields the record sets.
func (r BatchRecord) update() CustomerUpdate {
	u := CustomerUpdate{CompanyID: r.CompanyID, OwnerID: r.OwnerID, Custom: r.Custom}
	if r.Kind != "" {
		u.Kind = &r.Kind
	}
	if r.Name != "" {
		u.Name = &r.Name
	}
	if r.Emails != nil {
		u.Emails = &r.Emails
	}
	if r.Phones != nil {
		u.Phones = &r.Phones
	}
	if len(r.Address) > 0 {
		u.Address = &r.Address
	}
	if r.Tags != nil {
		u.Tags = &r.Tags
	}
	if r.Lifecycle != "" {
		u.Lifecycle = &r.Lifecycle
	}
	if r.Source != "" {
		u.Source = &r.Source
	}
	return u
}

// relocate turns a record's refusal into the batch's terms: "body.emails[0]"
// becomes "body.records[3].emails[0]", and a refusal that names no field
// names the record.
func relocate(err error, i int) *errs.Error {
	e := *errs.From(err)
	prefix := fmt.Sprintf("body.records[%d]", i)
	fields := make([]errs.FieldError, 0, len(e.Errors))
	for _, f := range e.Errors {
		loc, ok := strings.CutPrefix(f.Location, "body.")
		if ok {
			f.Location = prefix + "." + loc
		} else if f.Location == "" || f.Location == "body" {
			f.Location = prefix
		}
		fields = append(fields, f)
	}
	if len(fields) == 0 {
		fields = append(fields, errs.FieldError{Location: prefix, Message: e.Detail})
	}
	e.Errors = fields
	e.RequestID = ""
	return &e
}

// batchRoute registers POST /customers/batch.
func (m *Module) batchRoute(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "upsert-customers", Method: http.MethodPost, Path: "/customers/batch",
		Summary: "Create or update up to 1,000 customers",
		Description: "Each record finds its customer by match_by (its first email, its first phone, or a unique custom field) across the whole company, and updates the fields it carries; " +
			"a record that finds none creates a customer (it needs a name). Every record is answered: created, updated or failed with a problem naming its fields " +
			"(records[3].emails[0]). A failed record changes nothing; the others are kept. Integrations use it for nightly syncs; send an Idempotency-Key to retry safely. Needs customers.write.",
		Responses: httpx.Refusals(map[int]string{422: "match_by is not email, phone or a unique custom field, or records has more than 1,000 entries."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *struct{ Body BatchInput }) (*struct{ Body *BatchOutput }, error) {
			out, err := m.UpsertCustomers(ctx, t.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &struct{ Body *BatchOutput }{Body: out}, nil
		}))
}
