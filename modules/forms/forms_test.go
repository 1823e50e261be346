package forms_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/forms"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// leads stands in for the customers module: every lead is one customer. With
// a database, it writes a marker row in the caller's transaction (as the real
// one writes the customer), so a test sees whether a later failure undoes it.
type leads struct {
	id    uuid.UUID
	notes []records.LeadNote
	fail  error
	db    *bun.DB
}

func (l *leads) CaptureLead(ctx context.Context, tenant uuid.UUID, _ records.Lead) (records.Captured, error) {
	if l.db != nil {
		err := db.InTenant(ctx, l.db, tenant, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO lead_forms (tenant_id, id, name, token) VALUES (?, ?, 'marker', 'lf_marker')", tenant, uuid.New())
			return err
		})
		if err != nil {
			return records.Captured{}, err
		}
	}
	return records.Captured{ID: l.id, Created: true}, nil
}

func (l *leads) AddTimelineEntry(_ context.Context, _, _ uuid.UUID, e records.LeadNote) error {
	if l.fail != nil {
		return l.fail
	}
	l.notes = append(l.notes, e)
	return nil
}

func in(tn testkit.Tenant) context.Context {
	return tenancy.With(authz.AsSystem(context.Background()), tenancy.Tenant{ID: tn.ID, Slug: tn.Slug, Name: "Co", Locale: "en"})
}

// RLS alone confines the forms' tables: inside company B's transaction a
// query without a tenant filter sees none of company A's forms or
// submissions, and a row for company A cannot be written.
func TestRLSAloneKeepsFormTablesApart(t *testing.T) {
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	m := forms.New(forms.Deps{DB: env.App, Leads: &leads{id: uuid.New()}})
	f, err := m.CreateForm(in(a), a.ID, forms.FormInput{Name: "A", Fields: []forms.Field{{Key: "email", Required: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Submit(in(a), f.Token, forms.SubmissionInput{Fields: map[string]any{"email": "x@example.com"}}); err != nil {
		t.Fatal(err)
	}
	env.InTenant(t, b.ID, func(ctx context.Context, tx bun.Tx) error {
		for _, table := range []string{"lead_forms", "lead_form_submissions"} {
			var n int
			if err := tx.NewRaw("SELECT count(*) FROM "+table).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("company B sees %d rows of %s", n, table)
			}
		}
		return nil
	})
	err = db.InTenant(authz.AsSystem(context.Background()), env.App, b.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO lead_forms (tenant_id, id, name, token) VALUES (?, ?, 'x', 'lf_x')", a.ID, uuid.New())
		return err
	})
	if err == nil {
		t.Fatal("company B wrote a form of company A")
	}
	// A's token under B is no form at all.
	if _, err := m.Submit(in(b), f.Token, forms.SubmissionInput{Fields: map[string]any{"email": "x@example.com"}}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("A's token under B: %v", err)
	}
}

// A submission whose timeline entry fails leaves nothing: the customer written
// before it is undone, there is no submission, and the form's count is
// unchanged.
func TestFailedSubmissionWritesNothing(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	l := &leads{id: uuid.New(), db: env.App, fail: errs.E(errs.Invalid, "refused").WithFields(errs.FieldError{Location: "body.fields.name", Message: "no"})}
	m := forms.New(forms.Deps{DB: env.App, Leads: l})
	f, err := m.CreateForm(in(a), a.ID, forms.FormInput{Name: "A", Fields: []forms.Field{{Key: "email"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Submit(in(a), f.Token, forms.SubmissionInput{Fields: map[string]any{"email": "x@example.com"}})
	if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("the refusal: %v", err)
	}
	items, _, err := m.ListSubmissions(in(a), a.ID, f.ID, "", 0)
	if err != nil || len(items) != 0 {
		t.Fatalf("submissions after a refusal: %v %v", items, err)
	}
	if got, _ := m.GetForm(in(a), a.ID, f.ID); got.Submissions != 0 {
		t.Errorf("count after a refusal: %d", got.Submissions)
	}
	if all, _ := m.ListForms(in(a), a.ID); len(all) != 1 {
		t.Errorf("the lead written before the refusal was kept: %d forms", len(all))
	}
	// Without the failure the same steps keep everything.
	l.fail = nil
	if _, err := m.Submit(in(a), f.Token, forms.SubmissionInput{Fields: map[string]any{"email": "x@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if all, _ := m.ListForms(in(a), a.ID); len(all) != 2 || len(l.notes) != 1 {
		t.Errorf("after a good submission: %d forms, %d notes", len(all), len(l.notes))
	}
}
