package profiles

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/records"
)

var _ records.Leads = (*Module)(nil)

// CaptureLead implements records.Leads. A match gets the lead's custom values
// and the email or phone it lacked (its name and owner stay: the form's
// sender may not rename a customer); no match creates a lead as
// CreateCustomer creates any customer. Refusals name the lead's locations.
func (m *Module) CaptureLead(ctx context.Context, tenant uuid.UUID, l records.Lead) (records.Captured, error) {
	loc := func(k string) string {
		if v := l.Locations[k]; v != "" {
			return v
		}
		return "body." + k
	}
	probe, keys, err := contactProbe(records.Contact{Email: l.Email, Phone: l.Phone, EmailLocation: loc("email"), PhoneLocation: loc("phone")})
	if err != nil {
		return records.Captured{}, err
	}
	var out records.Captured
	err = db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var id uuid.UUID
		err := lockAndMatch(ctx, tx, tenant, keys, &id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil {
			var cur struct {
				Emails []string   `bun:"emails,array"`
				Phones []string   `bun:"phones,array"`
				Owner  *uuid.UUID `bun:"owner_id"`
			}
			if err := tx.NewRaw("SELECT emails, phones, owner_id FROM customers WHERE tenant_id = ? AND id = ?", tenant, id).Scan(ctx, &cur); err != nil {
				return err
			}
			u := CustomerUpdate{Custom: l.Custom}
			if add := missing(cur.Emails, probe.Emails, func(s string) (string, bool) { return normalizeEmail(s) }); add != nil {
				u.Emails = &add
			}
			if add := missing(cur.Phones, probe.Phones, phoneDigits); add != nil {
				u.Phones = &add
			}
			out = records.Captured{ID: id, Owner: cur.Owner}
			if len(u.Custom) == 0 && u.Emails == nil && u.Phones == nil {
				return nil
			}
			_, err := m.UpdateCustomer(ctx, tenant, id, u)
			return err
		}
		name := strings.TrimSpace(l.Name)
		for _, alt := range []string{l.Email, l.Phone} {
			if name == "" {
				name = strings.TrimSpace(alt)
			}
		}
		if r := []rune(name); len(r) > 300 {
			name = string(r[:300])
		}
		c, err := m.CreateCustomer(ctx, tenant, CustomerInput{Name: name, Emails: probe.Emails, Phones: probe.Phones, Lifecycle: "lead",
			Source: l.Source, OwnerID: l.Owner, Custom: l.Custom}, true)
		if err != nil {
			return err
		}
		out = records.Captured{ID: c.ID, Created: true, Owner: c.OwnerID}
		return nil
	})
	if err != nil {
		return records.Captured{}, relocateLead(db.Classify(err, "customer"), loc)
	}
	return out, nil
}

// missing is have with the values of add it lacks (compared normalised)
// appended, or nil when it lacks none or would pass the 20 a customer holds.
func missing(have, add []string, norm func(string) (string, bool)) []string {
	var seen []string
	for _, h := range have {
		if n, ok := norm(h); ok {
			seen = append(seen, n)
		}
	}
	out := slices.Clone(have)
	for _, a := range add {
		if n, ok := norm(a); ok && !slices.Contains(seen, n) {
			out = append(out, a)
		}
	}
	if len(out) == len(have) || len(out) > 20 {
		return nil
	}
	return out
}

// relocateLead names a refusal's fields as the lead's caller calls them.
func relocateLead(err error, loc func(string) string) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Errors) == 0 {
		return err
	}
	out := *e
	out.Errors = slices.Clone(e.Errors)
	for i, f := range out.Errors {
		switch l := f.Location; {
		case l == "body.name":
			out.Errors[i].Location = loc("name")
		case strings.HasPrefix(l, "body.emails"):
			out.Errors[i].Location = loc("email")
		case strings.HasPrefix(l, "body.phones"):
			out.Errors[i].Location = loc("phone")
		case strings.HasPrefix(l, "body.custom."):
			out.Errors[i].Location = loc("custom." + strings.TrimPrefix(l, "body.custom."))
		}
	}
	if len(out.Errors) > 0 {
		out.Detail = "The form could not be saved: " + out.Errors[0].Location + " " + out.Errors[0].Message + "."
	}
	return &out
}

// AddTimelineEntry implements records.Leads: a note on the customer's
// timeline, written as AddInteraction writes any.
func (m *Module) AddTimelineEntry(ctx context.Context, tenant, customer uuid.UUID, e records.LeadNote) error {
	summary := e.Summary
	if r := []rune(summary); len(r) > 500 {
		summary = string(r[:500])
	}
	_, err := m.AddInteraction(ctx, tenant, customer, InteractionInput{Kind: "note", Channel: e.Channel, Summary: summary, Body: e.Body})
	return err
}
