package profiles_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A newest-first list of one source's customers reads that source's entries,
// not the company's: 30 oldest customers of 3,000 come from "web", and the
// page handles about those 30 rows (before the source's index it walked all
// 3,000 newest first). The rows are the brute-force answer.
func TestARareSourceIsListedFromItsOwnIndex(t *testing.T) {
	env := testkit.Get(t)
	m, _ := setup(t)
	a := env.NewTenant(t)
	in := profiles.BatchInput{}
	for i := range 3000 {
		src := "import"
		if i < 30 {
			src = "web"
		}
		in.Records = append(in.Records, profiles.BatchRecord{Name: fmt.Sprintf("Source customer %d", i), Emails: []string{fmt.Sprintf("src%d@source.example", i)}, Source: src})
	}
	for from := 0; from < len(in.Records); from += 500 {
		if _, err := m.UpsertCustomers(writer, a.ID, profiles.BatchInput{Records: in.Records[from : from+500]}); err != nil {
			t.Fatal(err)
		}
	}
	db.RefreshStats(context.Background(), env.Owner, testkit.Quiet, "customers")
	fs, err := profiles.ParseFilters(url.Values{"source": {"web"}})
	if err != nil {
		t.Fatal(err)
	}
	f := profiles.Filter{Fields: fs, Limit: 20}
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		q, err := m.PlainListSQL(ctx, tx, a.ID, f)
		if err != nil {
			return err
		}
		p, err := testkit.Explain(ctx, tx, q)
		if err != nil {
			return err
		}
		rows, _ := p.Work()
		if rows > 300 {
			t.Errorf("a page of 20 of the 30 web customers among 3,000 handled %v rows (want at most 300):\n%s", rows, p)
		}
		return nil
	})
	got, next, err := m.ListCustomers(writer, a.ID, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 || next == "" {
		t.Fatalf("got %d customers (next %q), want a page of 20 and a cursor", len(got), next)
	}
	var want []uuid.UUID
	if err := env.Owner.NewRaw("SELECT id FROM customers WHERE tenant_id = ? AND deleted_at IS NULL AND source = 'web' ORDER BY created_at DESC, id DESC LIMIT 20", a.ID).
		Scan(context.Background(), &want); err != nil {
		t.Fatal(err)
	}
	for i, c := range got {
		if c.ID != want[i] || c.Source != "web" {
			t.Fatalf("row %d is %s from %q, brute force says %s", i, c.ID, c.Source, want[i])
		}
	}
}
