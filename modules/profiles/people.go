package profiles

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/records"
)

var _ records.People = (*Module)(nil)

// MatchOrCreateLead implements records.People: the oldest live customer of the
// company holding the contact's email or phone, or else a new lead with them.
// Concurrent calls for the same contact take a transaction lock on its keys,
// so two tickets from one new address make one lead. The lead is created as
// CreateCustomer creates any customer (it needs profiles.write), with
// duplicates allowed, since the lookup just found none.
func (m *Module) MatchOrCreateLead(ctx context.Context, tenant uuid.UUID, c records.Contact) (uuid.UUID, bool, error) {
	probe, keys, err := contactProbe(c)
	if err != nil {
		return uuid.Nil, false, err
	}
	var id uuid.UUID
	created := false
	err = db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		err := lockAndMatch(ctx, tx, tenant, keys, &id)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		name := strings.TrimSpace(c.Name)
		if name == "" {
			name = strings.TrimSpace(c.Email)
		}
		if name == "" {
			name = strings.TrimSpace(c.Phone)
		}
		if len([]rune(name)) > 300 {
			name = string([]rune(name)[:300])
		}
		lead, err := m.CreateCustomer(ctx, tenant, CustomerInput{Name: name, Emails: probe.Emails, Phones: probe.Phones, Lifecycle: "lead", Source: c.Source}, true)
		var e *errs.Error
		if errors.As(err, &e) && e.Code == errs.Invalid {
			// A rule of the customers (a required custom field) refuses the
			// lead: the caller sent no customer fields, so name its contact.
			loc := c.EmailLocation
			if probe.Emails == nil {
				loc = c.PhoneLocation
			}
			return errs.E(errs.Invalid, "No customer has this email or phone, and a lead could not be created from it: %s Create the customer first and send its id.", e.Detail).
				WithFields(errs.FieldError{Location: loc, Message: "matches no customer, and a lead could not be created: create the customer first"})
		}
		if err != nil {
			return err
		}
		id, created = lead.ID, true
		return nil
	})
	if err != nil {
		return uuid.Nil, false, db.Classify(err, "customer")
	}
	return id, created, nil
}

// contactProbe checks a contact's email and phone, naming the caller's
// fields, and returns a customer holding them and their matching keys.
func contactProbe(c records.Contact) (*Customer, []string, error) {
	probe := &Customer{}
	var fe []errs.FieldError
	if e := strings.TrimSpace(c.Email); e != "" {
		if _, ok := normalizeEmail(e); !ok {
			fe = append(fe, errs.FieldError{Location: c.EmailLocation, Message: "not a valid email address, e.g. li.lei@example.com", Value: e})
		}
		probe.Emails = []string{e}
	}
	if p := strings.TrimSpace(c.Phone); p != "" {
		if _, ok := phoneDigits(p); !ok {
			fe = append(fe, errs.FieldError{Location: c.PhoneLocation, Message: "not a phone number: use 5 to 15 digits, optionally +country code, spaces and dashes", Value: p})
		}
		probe.Phones = []string{p}
	}
	if len(fe) > 0 {
		return nil, nil, errs.E(errs.Invalid, "The requester could not be read: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	keys := contactKeys(probe)
	if len(keys) == 0 {
		return nil, nil, errs.Field(c.EmailLocation, "give an email or a phone of the requester")
	}
	return probe, keys, nil
}

// lockAndMatch takes a transaction lock on each contact key, so concurrent
// callers for one contact queue, and sets id to the oldest live customer
// holding any of them (sql.ErrNoRows: none).
func lockAndMatch(ctx context.Context, tx bun.Tx, tenant uuid.UUID, keys []string, id *uuid.UUID) error {
	for _, k := range keys { // sorted, so two callers lock in the same order
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", "profiles:contact:"+tenant.String()+":"+k); err != nil {
			return err
		}
	}
	// The few customers holding the keys are found first, off the
	// contacts' key index, and only they are sorted. Left to choose, a
	// planner whose statistics have not yet seen this company's customers
	// walked every customer newest first and scanned the company's
	// contacts for each (seconds per call on a company of a few thousand).
	return tx.NewRaw(`WITH held AS MATERIALIZED (
		SELECT DISTINCT cc.customer_id FROM customer_contacts cc WHERE cc.tenant_id = ? AND cc.key IN (?))
		SELECT c.id FROM held JOIN customers c ON c.tenant_id = ? AND c.id = held.customer_id
		WHERE c.deleted_at IS NULL
		ORDER BY c.created_at, c.id LIMIT 1`, tenant, bun.In(keys), tenant).Scan(ctx, id)
}

// Address implements records.People: a live customer's name and first email.
func (m *Module) Address(ctx context.Context, tenant, id uuid.UUID) (string, string, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return "", "", err
	}
	var r struct {
		Name  string `bun:"name"`
		Email string `bun:"email"`
	}
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("SELECT name, coalesce(emails[1], '') AS email FROM customers WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL", tenant, id).Scan(ctx, &r)
	})
	if err != nil {
		return "", "", db.Classify(err, "customer")
	}
	return r.Name, r.Email, nil
}
