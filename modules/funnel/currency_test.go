package funnel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/google/uuid"
)

// setMoney gives a test company its currency and time zone.
func setMoney(t *testing.T, tenant uuid.UUID, currency, zone string) {
	t.Helper()
	if _, err := testkit.Get(t).Owner.ExecContext(context.Background(), "UPDATE tenants SET currency = ?, time_zone = ? WHERE id = ?", currency, zone, tenant); err != nil {
		t.Fatal(err)
	}
}

// The board converts every column into the company's currency, each deal
// with the rate in force on its expected close date (today without one), and
// says which rates it used; without a rate it refuses, naming the currency,
// and never counts 1:1.
func TestBoardConvertsWithDatedRates(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	setMoney(t, c.id, "CNY", "Asia/Shanghai")
	lead := c.stage("Lead")
	mk := func(amount, cur string, close funnel.Date) {
		in := funnel.DealInput{Title: amount + cur, CustomerID: c.customer, Amount: amount, Currency: cur, StageID: &lead}
		if close != "" {
			in.ExpectedClose = &close
		}
		if _, err := m.CreateDeal(seller, c.id, in); err != nil {
			t.Fatal(err)
		}
	}
	mk("1000", "", "")
	mk("100", "USD", "2027-01-15")
	mk("200", "USD", "2027-03-01")
	mk("50", "EUR", "")
	_, err := m.LoadBoard(seller, c.id, c.pipeline.ID, funnel.Filter{}, 50)
	var e *errs.Error
	if !errs.Is(err, errs.Conflict) || !errors.As(err, &e) || len(e.Errors) != 1 || e.Errors[0].Location != "currency" || (e.Errors[0].Value != "EUR" && e.Errors[0].Value != "USD") {
		t.Fatalf("a board without rates: %v", err)
	}
	for _, r := range []funnel.RateInput{
		{Currency: "usd", ValidFrom: "2027-01-01", Rate: "6.5"},
		{Currency: "USD", ValidFrom: "2027-01-01", Rate: "7"}, // replaces the 6.5 of that day
		{Currency: "USD", ValidFrom: "2027-03-01", Rate: "7.2"},
		{Currency: "USD", ValidFrom: "2026-06-01", Rate: "9"}, // before both closes: unused
		{Currency: "USD", ValidFrom: "2027-04-01", Rate: "1"}, // after both: unused
	} {
		if _, err := m.SetRate(admin, c.id, r); err != nil {
			t.Fatal(err)
		}
	}
	// EUR has a rate only from a later day than today: still missing.
	if _, err := m.SetRate(admin, c.id, funnel.RateInput{Currency: "EUR", ValidFrom: "2999-01-01", Rate: "8"}); err != nil {
		t.Fatal(err)
	}
	_, err = m.LoadBoard(seller, c.id, c.pipeline.ID, funnel.Filter{}, 50)
	if !errs.Is(err, errs.Conflict) || !errors.As(err, &e) || e.Errors[0].Value != "EUR" {
		t.Fatalf("EUR without a rate in force today: %v", err)
	}
	if _, err := m.SetRate(admin, c.id, funnel.RateInput{Currency: "EUR", ValidFrom: "2020-01-01", Rate: "8"}); err != nil {
		t.Fatal(err)
	}
	b, err := m.LoadBoard(seller, c.id, c.pipeline.ID, funnel.Filter{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	l := b.Columns[0]
	// 1000 + 100*7 + 200*7.2 + 50*8 = 3540, weighted at Lead's 10%.
	if b.Currency != "CNY" || l.Count != 4 || l.Amount != "3540.0000" || l.Weighted != "354.0000" || len(l.Totals) != 3 {
		t.Fatalf("lead column %+v", l)
	}
	want := []funnel.RateUsed{{Currency: "EUR", ValidFrom: "2020-01-01", Rate: "8.0000000000"},
		{Currency: "USD", ValidFrom: "2027-01-01", Rate: "7.0000000000"}, {Currency: "USD", ValidFrom: "2027-03-01", Rate: "7.2000000000"}}
	if len(b.Rates) != len(want) {
		t.Fatalf("rates used %+v", b.Rates)
	}
	for i := range want {
		if b.Rates[i] != want[i] {
			t.Errorf("rate %d: %+v, want %+v", i, b.Rates[i], want[i])
		}
	}
	base, rates, err := m.ListRates(seller, c.id)
	if err != nil || base != "CNY" || len(rates) != 6 {
		t.Fatalf("rates %s %+v, %v", base, rates, err)
	}
	// A change of the company's currency leaves the old rates behind: the
	// board asks for rates into the new one.
	setMoney(t, c.id, "EUR", "Asia/Shanghai")
	if _, err := m.LoadBoard(seller, c.id, c.pipeline.ID, funnel.Filter{}, 50); !errs.Is(err, errs.Conflict) {
		t.Fatalf("rates into the old currency were used: %v", err)
	}
	if _, rates, _ := m.ListRates(seller, c.id); len(rates) != 0 {
		t.Fatalf("rates into the old currency listed: %+v", rates)
	}
	setMoney(t, c.id, "CNY", "Asia/Shanghai")

	// Bad rates name their field; sellers may not set rates; another
	// company's rate is not found.
	for _, x := range []struct {
		in  funnel.RateInput
		loc string
	}{
		{funnel.RateInput{Currency: "XYZ", ValidFrom: "2027-01-01", Rate: "1"}, "body.currency"},
		{funnel.RateInput{Currency: "CNY", ValidFrom: "2027-01-01", Rate: "1"}, "body.currency"},
		{funnel.RateInput{Currency: "USD", ValidFrom: "2027-02-30", Rate: "1"}, "body.valid_from"},
		{funnel.RateInput{Currency: "USD", ValidFrom: "2027-01-01", Rate: "-1"}, "body.rate"},
		{funnel.RateInput{Currency: "USD", ValidFrom: "2027-01-01", Rate: "0"}, "body.rate"},
		{funnel.RateInput{Currency: "USD", ValidFrom: "2027-01-01", Rate: "seven"}, "body.rate"},
	} {
		_, err := m.SetRate(admin, c.id, x.in)
		invalidAt(t, x.in.Currency+" "+x.in.Rate, err, x.loc)
	}
	if _, err := m.SetRate(seller, c.id, funnel.RateInput{Currency: "USD", ValidFrom: "2027-01-01", Rate: "1"}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a seller set a rate: %v", err)
	}
	c2 := newCompany(t, m)
	if err := m.DeleteRate(admin, c2.id, rates0(t, m, c.id)); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another company deleted a rate: %v", err)
	}
	if err := m.DeleteRate(admin, c.id, rates0(t, m, c.id)); err != nil {
		t.Fatal(err)
	}
}

func rates0(t *testing.T, m *funnel.Module, tenant uuid.UUID) uuid.UUID {
	t.Helper()
	_, rs, err := m.ListRates(seller, tenant)
	if err != nil || len(rs) == 0 {
		t.Fatalf("rates %+v, %v", rs, err)
	}
	return rs[0].ID
}
