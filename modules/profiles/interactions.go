package profiles

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/text/currency"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/page"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Interaction is one entry of a customer's timeline.
type Interaction struct {
	bun.BaseModel `bun:"table:interactions,alias:i"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	OccurredAt    time.Time  `bun:"occurred_at,pk" json:"occurred_at"`
	CustomerID    uuid.UUID  `bun:"customer_id,type:uuid" json:"customer_id"`
	Kind          string     `bun:"kind" json:"kind" enum:"call,email,meeting,visit,note,social,purchase,feedback,deal" doc:"deal: an entry another module keeps (a deal created, moved, won or lost), not an interaction"`
	Channel       string     `bun:"channel" json:"channel"`
	Summary       string     `bun:"summary" json:"summary"`
	Body          string     `bun:"body" json:"body"`
	ActorID       *uuid.UUID `bun:"actor_id,type:uuid" json:"actor_id,omitempty"`
	Amount        *string    `bun:"amount" json:"amount,omitempty" doc:"exact decimal, purchases only"`
	Currency      *string    `bun:"currency" json:"currency,omitempty" doc:"ISO 4217, purchases only"`
	OrderNo       *string    `bun:"order_no" json:"order_no,omitempty" doc:"purchases: the order number, unique in the company (imports use it to add each order once)"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	// Link is where an entry kept by another module lives in the web app.
	Link string `bun:"-" json:"link,omitempty" doc:"entries kept by another module (kind deal): the record in the web app"`
}

// InteractionInput is a new timeline entry.
type InteractionInput struct {
	Kind       string     `json:"kind" enum:"call,email,meeting,visit,note,social,purchase,feedback"`
	OccurredAt *time.Time `json:"occurred_at,omitempty" doc:"default now; at most a day ahead"`
	Channel    string     `json:"channel,omitempty" maxLength:"50"`
	Summary    string     `json:"summary" minLength:"1" maxLength:"500"`
	Body       string     `json:"body,omitempty" maxLength:"20000"`
	Amount     string     `json:"amount,omitempty" doc:"purchases: an exact decimal such as 1999.00"`
	Currency   string     `json:"currency,omitempty" doc:"purchases: ISO 4217 such as CNY"`
}

var decimalPattern = regexp.MustCompile(`^-?\d{1,14}(\.\d{1,4})?$`)

// AddInteraction appends to a customer's timeline.
func (m *Module) AddInteraction(ctx context.Context, tenant, customer uuid.UUID, in InteractionInput) (*Interaction, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	it := &Interaction{TenantID: tenant, ID: uuid.New(), CustomerID: customer, Kind: in.Kind, Channel: strings.TrimSpace(in.Channel),
		Summary: strings.TrimSpace(in.Summary), Body: in.Body, ActorID: authz.RequesterID(ctx), OccurredAt: time.Now().UTC()}
	var fe []errs.FieldError
	if in.OccurredAt != nil {
		if in.OccurredAt.After(time.Now().Add(24 * time.Hour)) {
			fe = append(fe, errs.FieldError{Location: "body.occurred_at", Message: "cannot be more than a day ahead; plan future contact as a follow-up task"})
		}
		it.OccurredAt = in.OccurredAt.UTC()
	}
	if it.Summary == "" {
		fe = append(fe, errs.FieldError{Location: "body.summary", Message: "is required"})
	}
	if in.Kind == "purchase" {
		if !decimalPattern.MatchString(in.Amount) {
			fe = append(fe, errs.FieldError{Location: "body.amount", Message: "a purchase needs an exact decimal amount such as 1999.00", Value: in.Amount})
		}
		cur := strings.ToUpper(strings.TrimSpace(in.Currency))
		if _, err := currency.ParseISO(cur); err != nil || len(cur) != 3 {
			fe = append(fe, errs.FieldError{Location: "body.currency", Message: "a purchase needs an ISO 4217 currency such as CNY", Value: in.Currency})
		}
		it.Amount, it.Currency = &in.Amount, &cur
	} else if in.Amount != "" || in.Currency != "" {
		fe = append(fe, errs.FieldError{Location: "body.amount", Message: "only purchases carry an amount"})
	}
	if len(fe) > 0 {
		return nil, errs.E(errs.Invalid, "The interaction could not be saved: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := m.lockVisible(ctx, tx, tenant, customer); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(it).ExcludeColumn("created_at").Returning("created_at").Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "interaction.create", Entity: "customer", EntityID: customer.String(),
			After: map[string]any{"interaction": it.ID, "kind": it.Kind}})
	})
	if err != nil {
		return nil, db.Classify(err, "customer")
	}
	m.publish(ctx, "interaction.created", customer)
	return it, nil
}

// lockVisible checks that the customer exists, is live and visible to the actor.
func (m *Module) lockVisible(ctx context.Context, tx bun.Tx, tenant, customer uuid.UUID) (*Customer, error) {
	return scopedCustomer(ctx, tx, tenant, customer, liveOnly, false)
}

// InteractionFilter narrows a timeline.
type InteractionFilter struct {
	Kinds  []string
	From   time.Time
	To     time.Time
	Cursor string
	Limit  int
}

// Timeline lists a customer's interactions, newest first.
func (m *Module) Timeline(ctx context.Context, tenant, customer uuid.UUID, f InteractionFilter) ([]Interaction, string, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, "", err
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	after, err := page.Start[page.After](f.Cursor)
	if err != nil {
		return nil, "", err
	}
	out := []Interaction{}
	err = db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		if _, err := m.lockVisible(ctx, tx, tenant, customer); err != nil {
			return err
		}
		q := tx.NewSelect().Model(&out).Where("i.tenant_id = ? AND i.customer_id = ?", tenant, customer)
		if len(f.Kinds) > 0 {
			q = q.Where("i.kind IN (?)", bun.In(f.Kinds))
		}
		if !f.From.IsZero() {
			q = q.Where("i.occurred_at >= ?", f.From)
		}
		if !f.To.IsZero() {
			q = q.Where("i.occurred_at < ?", f.To)
		}
		if after != nil {
			q = q.Where("(i.occurred_at, i.id) < (?, ?)", after.At, after.ID)
		}
		if err := q.OrderExpr("i.occurred_at DESC, i.id DESC").Limit(f.Limit + 1).Scan(ctx); err != nil {
			return err
		}
		out, err = m.otherEntries(ctx, tx, tenant, customer, f, after, out)
		return err
	})
	if err != nil {
		return nil, "", db.Classify(err, "customer")
	}
	out, next := page.Cut(out, f.Limit, func(last Interaction) any { return page.After{At: last.OccurredAt, ID: last.ID} })
	return out, next, nil
}

// otherEntries merges into a page of interactions (limit+1 of them, newest
// first) the entries other modules keep about the customer (deals), in the
// same order, keeping limit+1.
func (m *Module) otherEntries(ctx context.Context, tx bun.Tx, tenant, customer uuid.UUID, f InteractionFilter, after *page.After, out []Interaction) ([]Interaction, error) {
	want := len(f.Kinds) == 0
	for _, k := range f.Kinds {
		want = want || k == "deal"
	}
	sources := m.d.Records.Timelines()
	if !want || len(sources) == 0 {
		return out, nil
	}
	q := records.TimelineQuery{From: f.From, To: f.To, Limit: f.Limit + 1}
	if after != nil {
		q.BeforeAt, q.BeforeID = after.At, after.ID
	}
	for _, src := range sources {
		es, err := src.CustomerTimeline(ctx, tx, tenant, customer, q)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			out = append(out, Interaction{TenantID: tenant, ID: e.ID, OccurredAt: e.At.UTC(), CustomerID: customer, Kind: e.Kind,
				Summary: e.Summary, ActorID: e.ActorID, Amount: e.Amount, Currency: e.Currency, Link: e.Link, CreatedAt: e.At.UTC()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].OccurredAt.Equal(out[j].OccurredAt) {
			return out[i].OccurredAt.After(out[j].OccurredAt)
		}
		return bytes.Compare(out[i].ID[:], out[j].ID[:]) > 0
	})
	if len(out) > f.Limit+1 {
		out = out[:f.Limit+1]
	}
	return out, nil
}

func (m *Module) interactionRoutes(api huma.API) {
	type addIn struct {
		ID   uuid.UUID `path:"id"`
		Body InteractionInput
	}
	type interactionOut struct{ Body *Interaction }
	huma.Register(api, huma.Operation{OperationID: "add-interaction", Method: http.MethodPost, Path: "/customers/{id}/interactions", DefaultStatus: 201,
		Summary: "Add to a customer's timeline", Description: "The timeline is append-only."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *addIn) (*interactionOut, error) {
			it, err := m.AddInteraction(ctx, t.ID, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &interactionOut{Body: it}, nil
		}))
	type timelineIn struct {
		ID     uuid.UUID `path:"id"`
		Kind   []string  `query:"kind,explode" doc:"call, email, meeting, visit, note, social, purchase, feedback, or deal (the customer's deals created, moved, won and lost, which the sales funnel keeps)"`
		From   time.Time `query:"from" doc:"RFC 3339, inclusive"`
		To     time.Time `query:"to" doc:"RFC 3339, exclusive"`
		Cursor string    `query:"cursor" maxLength:"200"`
		Limit  int       `query:"limit" minimum:"1" maximum:"200" default:"50"`
	}
	type timelineOut struct {
		Body struct {
			Items      []Interaction `json:"items"`
			NextCursor string        `json:"next_cursor,omitempty"`
		} `nameHint:"InteractionPage"`
	}
	kinds := map[string]bool{"call": true, "email": true, "meeting": true, "visit": true, "note": true, "social": true, "purchase": true, "feedback": true, "deal": true}
	huma.Register(api, huma.Operation{OperationID: "list-interactions", Method: http.MethodGet, Path: "/customers/{id}/interactions", Summary: "A customer's timeline, newest first",
		Description: "The customer's calls, emails, meetings, visits, notes, social messages, purchases and feedback, and their deals created, moved, won and lost (kind deal, with a link, shown to those who may read deals), newest first, filtered by kind and time; keyset pages through next_cursor. Needs profiles.read."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *timelineIn) (*timelineOut, error) {
			ks := uniq(splitAll(in.Kind), false)
			for _, k := range ks {
				if !kinds[k] {
					return nil, errs.E(errs.Invalid, "Unknown interaction kind %q.", k).WithFields(errs.FieldError{Location: "query.kind", Message: "use call, email, meeting, visit, note, social, purchase, feedback or deal", Value: k})
				}
			}
			out := &timelineOut{}
			var err error
			out.Body.Items, out.Body.NextCursor, err = m.Timeline(ctx, t.ID, in.ID, InteractionFilter{Kinds: ks, From: in.From, To: in.To, Cursor: in.Cursor, Limit: in.Limit})
			return out, err
		}))
}
