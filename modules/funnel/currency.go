package funnel

import (
	"context"
	"database/sql"
	"errors"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
)

// ExchangeRate says that from ValidFrom on, one unit of Currency is worth
// Rate units of Base, the company's currency.
type ExchangeRate struct {
	bun.BaseModel `bun:"table:exchange_rates,alias:x"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-" xml:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	Base          string     `bun:"base" json:"base" doc:"the company's currency the rate converts into"`
	Currency      string     `bun:"currency" json:"currency"`
	ValidFrom     Date       `bun:"valid_from,type:date" json:"valid_from" doc:"YYYY-MM-DD; in force until the next rate of the currency"`
	Rate          string     `bun:"rate" json:"rate" doc:"units of base one unit of currency is worth, an exact decimal"`
	CreatedBy     *uuid.UUID `bun:"created_by,type:uuid" json:"created_by,omitempty"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at" json:"updated_at"`
}

// RateInput sets the rate of a currency from a day on; a rate of the same
// currency and day is replaced.
type RateInput struct {
	Currency  string `json:"currency" minLength:"1" maxLength:"3" doc:"ISO 4217 code, not the company's own currency"`
	ValidFrom Date   `json:"valid_from" maxLength:"10" doc:"YYYY-MM-DD: the first day the rate is in force"`
	Rate      string `json:"rate" maxLength:"30" doc:"units of the company's currency one unit of currency is worth, an exact decimal as a string, e.g. 7.1234"`
}

// RateUsed is a rate a total converted with: the rate of Currency in force
// from ValidFrom.
type RateUsed struct {
	Currency  string `json:"currency"`
	ValidFrom Date   `json:"valid_from"`
	Rate      string `json:"rate"`
}

// maxRates bounds the rates a company keeps (and a total loads).
const maxRates = 5000

var ratePattern = regexp.MustCompile(`^[0-9]{1,10}(\.[0-9]{1,10})?$`)

// ListRates returns the company's base currency and the rates into it, by
// currency, newest first.
func (m *Module) ListRates(ctx context.Context, tenant uuid.UUID) (string, []ExchangeRate, error) {
	var base string
	out := []ExchangeRate{}
	err := m.inTx(ctx, tenant, PermRead, "exchange rate", func(ctx context.Context, tx bun.Tx) error {
		var err error
		if base, _, err = tenantMoney(ctx, tx, tenant); err != nil {
			return err
		}
		return tx.NewSelect().Model(&out).Where("x.tenant_id = ? AND x.base = ?", tenant, base).OrderExpr("x.currency, x.valid_from DESC").Scan(ctx)
	})
	return base, out, err
}

// SetRate stores the rate of a currency into the company's currency from a
// day on, replacing one of the same day.
func (m *Module) SetRate(ctx context.Context, tenant uuid.UUID, in RateInput) (*ExchangeRate, error) {
	cur, err := checkCurrency(in.Currency, "body.currency")
	if err != nil {
		return nil, err
	}
	if err := checkDate(string(in.ValidFrom), "body.valid_from"); err != nil {
		return nil, err
	}
	rate := strings.TrimSpace(in.Rate)
	if !ratePattern.MatchString(rate) {
		if strings.HasPrefix(rate, "-") {
			return nil, errs.Field("body.rate", "must be positive")
		}
		return nil, errs.Field("body.rate", "must be a decimal number such as 7.1234 (up to 10 decimals), sent as a string")
	}
	if r, _ := new(big.Rat).SetString(rate); r == nil || r.Sign() <= 0 {
		return nil, errs.Field("body.rate", "must be positive")
	}
	x := &ExchangeRate{TenantID: tenant, ID: uuid.New(), Currency: cur, ValidFrom: in.ValidFrom, Rate: rate, CreatedBy: authz.RequesterID(ctx)}
	err = m.inTx(ctx, tenant, PermManage, "exchange rate", func(ctx context.Context, tx bun.Tx) error {
		var err error
		if x.Base, _, err = tenantMoney(ctx, tx, tenant); err != nil {
			return err
		}
		if x.Base == cur {
			return errs.Field("body.currency", "is the company's own currency, whose rate is always 1; set rates of the other currencies")
		}
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM exchange_rates WHERE tenant_id = ?", tenant).Scan(ctx, &n); err != nil {
			return err
		}
		if n >= maxRates {
			return errs.E(errs.Conflict, "A company keeps at most %d exchange rates; delete old ones first.", maxRates)
		}
		var before []ExchangeRate
		if err := tx.NewSelect().Model(&before).Where("x.tenant_id = ? AND x.base = ? AND x.currency = ? AND x.valid_from = ?", tenant, x.Base, cur, x.ValidFrom).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		// The time goes through EXCLUDED: Citus refuses now() in DO UPDATE SET.
		if _, err := tx.NewInsert().Model(x).ExcludeColumn("created_at").Value("updated_at", "now()").
			On("CONFLICT (tenant_id, base, currency, valid_from) DO UPDATE SET rate = EXCLUDED.rate, created_by = EXCLUDED.created_by, updated_at = EXCLUDED.updated_at").
			Returning("id, rate, created_at, updated_at").Exec(ctx); err != nil {
			return err
		}
		e := audit.Entry{Action: "exchange_rate.set", Entity: "exchange_rate", EntityID: x.ID.String(), After: x}
		if len(before) == 1 {
			e.Before = before[0]
		}
		return audit.Record(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// DeleteRate removes a rate; totals that needed it use the one before, or
// say that none is in force.
func (m *Module) DeleteRate(ctx context.Context, tenant, id uuid.UUID) error {
	return m.inTx(ctx, tenant, PermManage, "exchange rate", func(ctx context.Context, tx bun.Tx) error {
		x := &ExchangeRate{}
		if err := tx.NewSelect().Model(x).Where("x.tenant_id = ? AND x.id = ?", tenant, id).For("UPDATE").Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return errs.E(errs.NotFound, "exchange rate not found")
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM exchange_rates WHERE tenant_id = ? AND id = ?", tenant, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "exchange_rate.delete", Entity: "exchange_rate", EntityID: id.String(), Before: x})
	})
}

// tenantMoney is the company's currency and time zone (UTC when its zone is
// unknown to this system).
func tenantMoney(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (string, *time.Location, error) {
	var cur, zone string
	if err := tx.NewRaw("SELECT currency, time_zone FROM tenants WHERE id = ?", tenant).Scan(ctx, &cur, &zone); err != nil {
		return "", nil, err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	return strings.TrimSpace(cur), loc, nil
}

// Rates is a company's rates into its currency, to convert amounts by the
// day: the rate of a currency on a day is its latest one from that day or
// before. It is what every total of the funnel converts with, and it lists
// the rates it used.
type Rates struct {
	Base string
	by   map[string][]ExchangeRate // ascending valid_from
	rat  map[uuid.UUID]*big.Rat
	used map[uuid.UUID]bool
}

// loadMoney reads, in one round trip, the company's currency, its time zone
// (UTC when unknown to this system) and its rates into that currency. The
// rates are filtered on the tenant parameter, not on the tenants row: Citus
// routes the statement to the one shard that holds them, and refuses a
// lateral join that reaches a distributed table through a reference table's
// column.
func loadMoney(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (*Rates, *time.Location, error) {
	var rows []struct {
		Base string `bun:"base_currency"`
		Zone string `bun:"time_zone"`
		ExchangeRate
	}
	err := tx.NewRaw(`SELECT t.currency AS base_currency, t.time_zone, x.id, x.base, x.currency, x.valid_from, x.rate::text AS rate
		FROM tenants t LEFT JOIN LATERAL (SELECT * FROM exchange_rates r WHERE r.tenant_id = ? AND r.base = t.currency ORDER BY r.currency, r.valid_from LIMIT ?) x ON true
		WHERE t.id = ?`, tenant, maxRates, tenant).Scan(ctx, &rows)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, nil, errs.E(errs.NotFound, "company not found")
	}
	base := strings.TrimSpace(rows[0].Base)
	loc, err := time.LoadLocation(rows[0].Zone)
	if err != nil {
		loc = time.UTC
	}
	rates := make([]ExchangeRate, 0, len(rows))
	for _, r := range rows {
		if r.ID != uuid.Nil {
			rates = append(rates, r.ExchangeRate)
		}
	}
	return NewRates(base, rates), loc, nil
}

// NewRates builds a rate book of base from rates (of any order).
func NewRates(base string, rates []ExchangeRate) *Rates {
	r := &Rates{Base: base, by: map[string][]ExchangeRate{}, rat: map[uuid.UUID]*big.Rat{}, used: map[uuid.UUID]bool{}}
	for _, x := range rates {
		if x.Base != "" && x.Base != base {
			continue
		}
		q, ok := new(big.Rat).SetString(x.Rate)
		if !ok {
			continue
		}
		r.by[x.Currency] = append(r.by[x.Currency], x)
		r.rat[x.ID] = q
	}
	for c := range r.by {
		s := r.by[c]
		sort.Slice(s, func(i, j int) bool { return s[i].ValidFrom < s[j].ValidFrom })
	}
	return r
}

// At is the factor converting currency into the base on day (YYYY-MM-DD).
// The base converts at 1; a currency with no rate in force that day is a
// 409 naming the currency and the day, never a silent 1:1.
func (r *Rates) At(currency string, day Date) (*big.Rat, error) {
	if currency == r.Base {
		return big.NewRat(1, 1), nil
	}
	s := r.by[currency]
	i := sort.Search(len(s), func(i int) bool { return s[i].ValidFrom > day }) - 1
	if i < 0 {
		return nil, MissingRate(currency, r.Base, day)
	}
	x := s[i]
	r.used[x.ID] = true
	return r.rat[x.ID], nil
}

// Used lists the rates At handed out, by currency and day.
func (r *Rates) Used() []RateUsed {
	out := []RateUsed{}
	for _, c := range r.by {
		for _, x := range c {
			if r.used[x.ID] {
				out = append(out, RateUsed{Currency: x.Currency, ValidFrom: x.ValidFrom, Rate: x.Rate})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Currency != out[j].Currency {
			return out[i].Currency < out[j].Currency
		}
		return out[i].ValidFrom < out[j].ValidFrom
	})
	return out
}

// MissingRate is the error of a total that needs a rate nobody set: a 409
// naming the currency and the day, which tells an admin what to add.
func MissingRate(currency, base string, day Date) error {
	return errs.E(errs.Conflict, "No exchange rate from %s into %s is in force on %s; an admin adds one (exchange rates, valid from that day or earlier), then the totals convert.", currency, base, day).
		WithFields(errs.FieldError{Location: "currency", Message: "no exchange rate in force on " + string(day), Value: currency})
}

// money sums exact amounts.
type money struct{ v big.Rat }

func (s *money) add(amount string, factor *big.Rat) {
	a, ok := new(big.Rat).SetString(amount)
	if !ok {
		return
	}
	s.v.Add(&s.v, a.Mul(a, factor))
}

// String is the sum with 4 decimals, rounded half away from zero.
func (s *money) String() string { return s.v.FloatString(4) }
