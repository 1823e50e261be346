package profiles_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/measures/measurestest"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// drillPurchase is a purchase of the drill-down fixture.
type drillPurchase struct {
	at                        time.Time
	amount, currency, channel string
}

// drillMove is a change of lifecycle stage ("" from: the first).
type drillMove struct {
	at       time.Time
	from, to string
}

// drillCustomer is a customer of the fixture with its address (JSON, ""
// none), its creation time (zero: now), purchases, other interactions (not
// purchases) and lifecycle changes.
type drillCustomer struct {
	name      string
	address   string
	created   time.Time
	deleted   bool
	purchases []drillPurchase
	calls     []time.Time
	moves     []drillMove
	id        uuid.UUID
}

// place is the customer's province or city as the metrics' dimensions read
// it: "" for none, or an empty one.
func (c drillCustomer) place(key string) string {
	var a map[string]any
	if c.address == "" || json.Unmarshal([]byte(c.address), &a) != nil {
		return ""
	}
	s, _ := a[key].(string)
	return s
}

// placeCustomers creates the customers in tenant with their history.
func placeCustomers(t *testing.T, m *profiles.Module, tenant uuid.UUID, cs []drillCustomer) {
	t.Helper()
	env := testkit.Get(t)
	ctx := context.Background()
	for i := range cs {
		in := profiles.CustomerInput{Name: cs[i].name}
		if cs[i].address != "" {
			in.Address = json.RawMessage(cs[i].address)
		}
		c, err := m.CreateCustomer(writer, tenant, in, true)
		if err != nil {
			t.Fatal(err)
		}
		cs[i].id = c.ID
		if !cs[i].created.IsZero() {
			if _, err := env.Owner.ExecContext(ctx, "UPDATE customers SET created_at = ? WHERE tenant_id = ? AND id = ?", cs[i].created, tenant, c.ID); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range cs[i].purchases {
			when := p.at
			if _, err := m.AddInteraction(writer, tenant, c.ID, profiles.InteractionInput{Kind: "purchase", Summary: "order", Amount: p.amount,
				Currency: p.currency, Channel: p.channel, OccurredAt: &when}); err != nil {
				t.Fatal(err)
			}
		}
		for _, when := range cs[i].calls {
			when := when
			if _, err := m.AddInteraction(writer, tenant, c.ID, profiles.InteractionInput{Kind: "call", Summary: "call", Channel: "web", OccurredAt: &when}); err != nil {
				t.Fatal(err)
			}
		}
		for _, mv := range cs[i].moves {
			var from *string
			if mv.from != "" {
				from = &mv.from
			}
			if _, err := env.Owner.ExecContext(ctx, "INSERT INTO customer_lifecycle_history (tenant_id, customer_id, from_stage, to_stage, changed_at) VALUES (?, ?, ?, ?, ?)",
				tenant, c.ID, from, mv.to, mv.at); err != nil {
				t.Fatal(err)
			}
		}
		if cs[i].deleted {
			if _, err := m.DeleteCustomer(writer, tenant, c.ID, false); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// drillFixture is a company's customers around the ends of the first
// quarter's months in Shanghai, and a neighbour's customers whose purchases
// and churn fall in every month too. Their addresses: in Guangdong or
// Zhejiang, with an empty province (Dollars) or none (Twice, Around,
// Churned Apr), an empty city (Churned Mar) or none. They were created on
// either side of the months' ends in Shanghai (the last minute of January,
// the first of February, the last second of March, the first of April),
// before the range, or now (Churned Apr).
func drillFixture() (mine, neighbours []drillCustomer) {
	mine = []drillCustomer{
		// Bought on the last evening of January in Shanghai, and just after
		// midnight of February (still January in UTC).
		{name: "Jan evening", created: at("2025-11-01T04:00:00Z"), address: `{"province":"广东","city":"广州"}`, purchases: []drillPurchase{{at("2026-01-31T15:30:00Z"), "100", "CNY", "web"}}},
		{name: "Feb midnight", created: at("2026-01-31T15:59:00Z"), address: `{"province":"广东","city":"深圳"}`, purchases: []drillPurchase{{at("2026-01-31T16:30:00Z"), "200", "CNY", "store"}, {at("2026-03-10T04:00:00Z"), "20", "CNY", "store"}}},
		// In February only in dollars, in yuan in March without a channel:
		// February's revenue does not count them, though they bought in
		// February and bought in yuan.
		{name: "Dollars", created: at("2026-01-31T16:00:00Z"), address: `{"province":"","city":"深圳"}`, purchases: []drillPurchase{{at("2026-02-10T04:00:00Z"), "999", "USD", "web"}, {at("2026-03-05T04:00:00Z"), "30", "CNY", ""}}},
		// Twice in January (the first minutes of the year in Shanghai, 2025
		// in UTC), and on the first of April in Shanghai: outside.
		{name: "Twice", created: at("2025-12-31T16:00:00Z"), purchases: []drillPurchase{{at("2025-12-31T16:10:00Z"), "40", "CNY", "web"}, {at("2026-01-15T04:00:00Z"), "50", "CNY", "web"},
			{at("2026-03-31T16:00:00Z"), "60", "CNY", "web"}}},
		// Before the range and after it, and a call (not a purchase) inside.
		{name: "Around", created: at("2026-03-31T15:59:59Z"), address: `{"city":"上海","street":"1 Nanjing Rd"}`, purchases: []drillPurchase{{at("2025-12-31T15:50:00Z"), "70", "CNY", "web"}, {at("2026-04-02T04:00:00Z"), "80", "CNY", "web"}},
			calls: []time.Time{at("2026-02-03T04:00:00Z")}},
		// Removed: neither counted nor listed.
		{name: "Removed", created: at("2026-01-05T04:00:00Z"), address: `{"province":"广东","city":"广州"}`, deleted: true, purchases: []drillPurchase{{at("2026-02-12T04:00:00Z"), "90", "CNY", "web"}},
			moves: []drillMove{{at("2026-02-12T05:00:00Z"), "customer", "churned"}}},
		// Churned just after midnight of February in Shanghai.
		{name: "Churned Feb", created: at("2026-02-14T04:00:00Z"), address: `{"province":"浙江","city":"杭州"}`, moves: []drillMove{{at("2026-01-10T04:00:00Z"), "lead", "customer"}, {at("2026-01-31T16:05:00Z"), "customer", "churned"}}},
		// Created churned, churned again (no move), and moved on the last
		// minute of March in Shanghai.
		{name: "Churned Mar", created: at("2026-03-31T16:00:00Z"), address: `{"province":"广东","city":""}`, moves: []drillMove{{at("2026-02-01T04:00:00Z"), "", "churned"}, {at("2026-02-20T04:00:00Z"), "churned", "churned"},
			{at("2026-03-01T04:00:00Z"), "churned", "at_risk"}, {at("2026-03-31T15:59:00Z"), "at_risk", "churned"}}},
		// Churned on the last evening of 2025 in Shanghai, back, and twice
		// in February; and a purchase in February through the store.
		{name: "Churned twice", created: at("2025-06-01T04:00:00Z"), address: `{"province":"浙江"}`, purchases: []drillPurchase{{at("2026-02-14T04:00:00Z"), "10", "CNY", "store"}},
			moves: []drillMove{{at("2025-12-31T15:00:00Z"), "customer", "churned"}, {at("2026-01-05T04:00:00Z"), "churned", "customer"},
				{at("2026-02-02T04:00:00Z"), "customer", "churned"}, {at("2026-02-05T04:00:00Z"), "churned", "customer"}, {at("2026-02-25T04:00:00Z"), "customer", "churned"}}},
		// Churned on the first of April in Shanghai: outside.
		{name: "Churned Apr", moves: []drillMove{{at("2026-03-31T16:00:00Z"), "at_risk", "churned"}}},
	}
	neighbours = []drillCustomer{
		{name: "Next door", created: at("2026-01-10T04:00:00Z"), address: `{"province":"广东","city":"广州"}`, purchases: []drillPurchase{{at("2026-01-20T04:00:00Z"), "5", "CNY", "web"}, {at("2026-02-20T04:00:00Z"), "5", "CNY", ""},
			{at("2026-03-20T04:00:00Z"), "5", "CNY", "store"}},
			moves: []drillMove{{at("2026-01-20T04:00:00Z"), "customer", "churned"}, {at("2026-02-01T04:00:00Z"), "churned", "customer"},
				{at("2026-02-20T04:00:00Z"), "customer", "churned"}, {at("2026-03-01T04:00:00Z"), "churned", "customer"}, {at("2026-03-20T04:00:00Z"), "customer", "churned"}}},
	}
	return mine, neighbours
}

// drillQuery is the customer list's query of a metric's point (a month,
// perhaps a channel, a province or a city: by), as the dashboard's
// drill-down builds it.
func drillQuery(key string, money bool, lo, hi time.Time, by map[string]string) url.Values {
	q := url.Values{}
	for _, dim := range []string{"province", "city"} {
		if v, ok := by[dim]; ok && v == "" {
			q.Set(dim+"[empty]", "true")
		} else if ok {
			q.Set(dim, v)
		}
	}
	if key == "profiles.customers" {
		// A stock: the customers created before the bucket ends.
		q.Set("created_at[lt]", hi.UTC().Format(time.RFC3339))
		return q
	}
	if key == "profiles.churn_rate" {
		// The rate's churned: active at the start, created before it,
		// and a move to churned within the bucket.
		q.Set("active_at", lo.UTC().Format(time.RFC3339))
		q.Set("created_at[lt]", lo.UTC().Format(time.RFC3339))
		q.Set("churned_at[gte]", lo.UTC().Format(time.RFC3339))
		q.Set("churned_at[lt]", hi.UTC().Format(time.RFC3339))
		return q
	}
	if key == "profiles.active_customers" {
		// A stock of stays: the customers active when the bucket ends.
		q.Set("active_at", hi.UTC().Format(time.RFC3339))
		return q
	}
	if key == "profiles.churned_customers" {
		q.Set("churned_at[gte]", lo.UTC().Format(time.RFC3339))
		q.Set("churned_at[lt]", hi.UTC().Format(time.RFC3339))
		return q
	}
	q.Set("purchased_at[gte]", lo.UTC().Format(time.RFC3339))
	q.Set("purchased_at[lt]", hi.UTC().Format(time.RFC3339))
	if money {
		q.Set("purchase_currency", "CNY")
	}
	if channel, ok := by["channel"]; ok {
		if channel == "" {
			q.Set("purchase_channel[empty]", "true")
		} else {
			q.Set("purchase_channel", channel)
		}
	}
	return q
}

// listed is the customers tenant's list gives for q, as actor.
func listed(t *testing.T, m *profiles.Module, actor context.Context, tenant uuid.UUID, q url.Values) []string {
	t.Helper()
	ff, err := profiles.ParseFilters(q)
	if err != nil {
		t.Fatalf("%v: %v", q, err)
	}
	items, _, err := m.ListCustomers(actor, tenant, profiles.Filter{Fields: ff, Limit: 200})
	if err != nil {
		t.Fatalf("%v: %v", q, err)
	}
	out := make([]string, 0, len(items))
	for _, c := range items {
		out = append(out, c.ID.String())
	}
	sort.Strings(out)
	return out
}

// A point of a purchase metric, of churned customers or of customers (a
// month in Shanghai or the whole range, a channel, a province or a city)
// opens the customers it counts: the list filtered as the dashboard's
// drill-down filters it (by the purchase's time, the company's currency for
// money and the purchase's channel; by the time of the move to churned; for
// the customers at the end of the period, by creation before that end; by
// the address's province or city, none for an absent or empty one) gives
// exactly those customers, and the figures of churned customers and of
// customers are their number.
// activeAt is whether the customer's stage at the instant, by its last
// change before it, was customer or at risk.
func activeAt(c drillCustomer, at time.Time) bool {
	stage, last := "", time.Time{}
	for _, mv := range c.moves {
		if mv.at.Before(at) && !mv.at.Before(last) {
			stage, last = mv.to, mv.at
		}
	}
	return stage == "customer" || stage == "at_risk"
}

// createdAt is when the customer was created: now, unless the fixture says.
func (c drillCustomer) createdAt() time.Time {
	if c.created.IsZero() {
		return time.Now()
	}
	return c.created
}

// churnedIn is whether the customer moved from another stage to churned in
// [lo, hi).
func churnedIn(c drillCustomer, lo, hi time.Time) bool {
	for _, mv := range c.moves {
		if !mv.at.Before(lo) && mv.at.Before(hi) && mv.to == "churned" && mv.from != "" && mv.from != "churned" {
			return true
		}
	}
	return false
}

func TestDrilledCustomersAreThePointsCustomers(t *testing.T) {
	m, _ := setup(t)
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	const zone = "Asia/Shanghai"
	loc, _ := time.LoadLocation(zone)
	mine, neighbours := drillFixture()
	placeCustomers(t, m, a.ID, mine)
	placeCustomers(t, m, b.ID, neighbours)

	mx := measurestest.NewMetrics(t, measures.Tenant{ID: a.ID, TimeZone: zone, Currency: "CNY", WeekStart: 1}, "profiles", m.Measures(), "2026-01-01", "2026-03-31")
	metrics, run := mx.Metric, mx.Run
	// counted is the brute force: the customers a metric counts in a month
	// (and channel, province or city).
	counted := func(key string, lo, hi time.Time, by map[string]string, c drillCustomer) bool {
		if c.deleted {
			return false
		}
		for _, dim := range []string{"province", "city"} {
			if v, ok := by[dim]; ok && c.place(dim) != v {
				return false
			}
		}
		channel, byChannel := by["channel"]
		in := func(x time.Time) bool { return !x.Before(lo) && x.Before(hi) }
		if key == "profiles.customers" {
			created := c.created
			if created.IsZero() {
				created = time.Now()
			}
			return created.Before(hi)
		}
		if key == "profiles.active_customers" {
			return activeAt(c, hi)
		}
		if key == "profiles.churn_rate" {
			// The rate's churned: active at the start (created before it),
			// and a move to churned within the bucket.
			return activeAt(c, lo) && c.createdAt().Before(lo) && churnedIn(c, lo, hi)
		}
		if key == "profiles.churned_customers" {
			for _, mv := range c.moves {
				if in(mv.at) && mv.to == "churned" && mv.from != "" && mv.from != "churned" {
					return true
				}
			}
			return false
		}
		for _, p := range c.purchases {
			if in(p.at) && (metrics[key].Unit != measures.Money || p.currency == "CNY") && (!byChannel || p.channel == channel) {
				return true
			}
		}
		return false
	}
	checked, nonEmpty := 0, 0
	perKey := map[string]int{}
	places := map[string]bool{}
	for _, key := range []string{"purchases.revenue", "purchases.orders", "purchases.aov", "purchases.repeat_rate", "profiles.churned_customers", "profiles.customers", "profiles.active_customers", "profiles.churn_rate"} {
		if _, ok := metrics[key]; !ok {
			t.Fatalf("no metric %s", key)
		}
		shapes := [][]string{{"time"}, {"time", "province"}, {"time", "city"}}
		switch key {
		case "profiles.churned_customers":
		case "profiles.active_customers":
			// And at the end of the whole range (a KPI).
			shapes = append(shapes, []string{})
		case "profiles.churn_rate":
		case "profiles.customers":
			// And at the end of the whole range (a KPI, a pie by province).
			shapes = append(shapes, []string{}, []string{"province"})
		default:
			shapes = append(shapes, []string{"time", "channel"})
		}
		for _, dims := range shapes {
			rows := run(key, dims...).Rows
			if len(rows) == 0 {
				t.Fatalf("%s by %v: no points", key, dims)
			}
			for _, row := range rows {
				keys := row.Keys
				// The whole range, or the point's month.
				lo, hi := time.Date(2026, 1, 1, 0, 0, 0, 0, loc), time.Date(2026, 4, 1, 0, 0, 0, 0, loc)
				if len(dims) > 0 && dims[0] == "time" {
					day, _ := time.Parse("2006-01-02", keys[0])
					lo = time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, loc)
					hi = lo.AddDate(0, 1, 0)
					keys = keys[1:]
				}
				point := map[string]string{}
				if n := len(dims); n > 0 && dims[n-1] != "time" {
					second := dims[n-1]
					point[second] = keys[0]
					if second != "channel" {
						places[second+"="+keys[0]] = true
					}
				}
				q := drillQuery(key, metrics[key].Unit == measures.Money, lo, hi, point)
				got := listed(t, m, writer, a.ID, q)
				var want []string
				for _, c := range mine {
					if counted(key, lo, hi, point, c) {
						want = append(want, c.id.String())
					}
				}
				sort.Strings(want)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s %v: the list gives %v, the point counts %v", key, q, got, want)
					continue
				}
				if row.Value != nil && *row.Value != "0" && len(got) == 0 {
					t.Errorf("%s %v: the list is empty, the point says %s", key, q, *row.Value)
				}
				if key == "profiles.churned_customers" || key == "profiles.customers" || key == "profiles.active_customers" {
					if v := row.Value; v == nil || *v != fmt.Sprint(len(got)) {
						t.Errorf("%s %v: the list has %d customers, the point says %v", key, q, len(got), v)
					}
				}
				if key == "profiles.churn_rate" && row.Value != nil {
					// The list is the rate's numerator: over the customers
					// active at the start, it is the point's percentage.
					base := 0
					for _, c := range mine {
						if !c.deleted && activeAt(c, lo) && c.createdAt().Before(lo) && counted("profiles.customers", lo, hi, point, c) {
							base++
						}
					}
					v, _ := strconv.ParseFloat(*row.Value, 64)
					if base == 0 || math.Abs(v-100*float64(len(got))/float64(base)) > 0.01 {
						t.Errorf("%s %v: %d of %d customers listed, the point says %s%%", key, q, len(got), base, *row.Value)
					}
				}
				if len(got) > 0 {
					nonEmpty++
					perKey[key]++
				}
				checked++
			}
		}
	}
	if checked < 25 || nonEmpty < 15 {
		t.Fatalf("only %d points checked, %d with customers", checked, nonEmpty)
	}
	// Active customers at the end of January include one who churned five
	// minutes into February, Shanghai time (the end is exclusive).
	if perKey["profiles.active_customers"] < 2 || perKey["profiles.churn_rate"] < 2 {
		t.Errorf("points with customers: %d of active customers, %d of the churn rate; want at least 2 each", perKey["profiles.active_customers"], perKey["profiles.churn_rate"])
	}
	// The points by place include none (an absent or empty province or
	// city), and each place of the fixture.
	for _, p := range []string{"province=", "province=广东", "province=浙江", "city=", "city=广州", "city=深圳", "city=杭州"} {
		if !places[p] {
			t.Errorf("no point %s among %v", p, places)
		}
	}
}

// The moment filters refuse bad values naming the parameter, each given
// once, within the caps of every filter.
func TestBadMomentFiltersNameTheParameter(t *testing.T) {
	for q, loc := range map[string]string{
		"purchased_at[gte]=2026-02-30T00:00:00Z":                                        "query.purchased_at[gte]",
		"purchased_at[lt]=2026-01-01":                                                   "query.purchased_at[lt]",
		"purchased_at=2026-01-01T00:00:00Z":                                             "query.purchased_at",
		"purchased_at[lte]=2026-01-01T00:00:00Z":                                        "query.purchased_at[lte]",
		"purchased_at[gte]=2026-01-01T00:00:00Z&purchased_at[gte]=2026-02-01T00:00:00Z": "query.purchased_at[gte]",
		"purchase_currency=XYZ":                                                         "query.purchase_currency",
		"purchase_currency=CN":                                                          "query.purchase_currency",
		"purchase_currency=CNY&purchase_currency[eq]=USD":                               "query.purchase_currency[eq]",
		"purchase_currency[in]=CNY,USD":                                                 "query.purchase_currency[in]",
		"purchase_channel=":                                                             "query.purchase_channel",
		"purchase_channel[empty]=yes":                                                   "query.purchase_channel[empty]",
		"churned_at[gte]=soon":                                                          "query.churned_at[gte]",
		"churned_at[between]=2026-01-01T00:00:00Z,2026-02-01T00:00:00Z":                 "query.churned_at[between]",
		"churned_at[lt]=2026-01-01T00:00:00Z&churned_at[lt]=2026-03-01T00:00:00Z":       "query.churned_at[lt]",
		"active_at=2026-02-01":                                                          "query.active_at",
		"active_at[gte]=2026-02-01T00:00:00Z":                                           "query.active_at[gte]",
		"active_at=2026-02-01T00:00:00Z&active_at=2026-03-01T00:00:00Z":                 "query.active_at",
	} {
		v, _ := url.ParseQuery(q)
		_, err := profiles.ParseFilters(v)
		var e *errs.Error
		if !errs.Is(err, errs.Invalid) || !errors.As(err, &e) || len(e.Errors) == 0 || e.Errors[0].Location != loc {
			t.Errorf("%s: %v, want invalid at %s", q, err, loc)
		}
	}
	// Repeated beyond the cap: refused before anything is read.
	many := url.Values{}
	for i := 0; i < profiles.MaxFilterTerms+1; i++ {
		many.Add("purchased_at[gte]", time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.RFC3339))
	}
	if _, err := profiles.ParseFilters(many); !errs.Is(err, errs.Invalid) {
		t.Errorf("%d values of purchased_at[gte]: %v", profiles.MaxFilterTerms+1, err)
	}
	// The same value twice is one condition.
	twice, _ := url.ParseQuery("purchase_currency=CNY&purchase_currency=cny")
	if ff, err := profiles.ParseFilters(twice); err != nil || len(ff) != 1 {
		t.Errorf("the same currency twice: %v %v", ff, err)
	}
}

// The province and city filters refuse bad values naming the parameter,
// and an empty value (none is [empty]=true); a saved view naming one is
// refused when it is saved (filterFromQuery reads it as ParseFilters).
func TestBadAddressFiltersNameTheParameter(t *testing.T) {
	long := strings.Repeat("省", 201)
	for q, loc := range map[string]string{
		"province=":                      "query.province",
		"province[eq]=%20":               "query.province[eq]",
		"province=" + long:               "query.province",
		"city[in]=,%20,":                 "query.city[in]",
		"city[in]=广州," + long:            "query.city[in]",
		"province[empty]=yes":            "query.province[empty]",
		"city[empty]=":                   "query.city[empty]",
		"province[ne]=广东":                "query.province[ne]",
		"city[prefix]=广":                 "query.city[prefix]",
		"province=广东&province[empty]=no": "query.province[empty]",
	} {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		_, err = profiles.ParseFilters(v)
		var e *errs.Error
		if !errs.Is(err, errs.Invalid) || !errors.As(err, &e) || len(e.Errors) == 0 || e.Errors[0].Location != loc {
			t.Errorf("%s: %v, want invalid at %s", q, err, loc)
		}
	}
	// Beyond the caps of every filter: values of one list, and conditions.
	if _, err := profiles.ParseFilters(url.Values{"city[in]": {strings.Repeat("广州,", profiles.MaxTermValues+1)}}); !errs.Is(err, errs.Invalid) {
		t.Errorf("%d cities: %v", profiles.MaxTermValues+1, err)
	}
	many := url.Values{}
	for i := 0; i < profiles.MaxFilterTerms+1; i++ {
		many.Add("province", fmt.Sprint("省", i))
	}
	if _, err := profiles.ParseFilters(many); !errs.Is(err, errs.Invalid) {
		t.Errorf("%d provinces: %v", profiles.MaxFilterTerms+1, err)
	}
	// Good ones read as given.
	ok, _ := url.ParseQuery("province=广东&city[in]=广州,%20深圳&city[empty]=false")
	if ff, err := profiles.ParseFilters(ok); err != nil || len(ff) != 3 {
		t.Errorf("good address filters: %v %v", ff, err)
	}
}

// Through the moment filters a company sees its own customers only: another
// company's purchases and moves to churned, in the same ranges, never reach
// its list, and a member whose role shows only their own customers gets
// only those.
func TestMomentFiltersKeepTenantsApart(t *testing.T) {
	m, _ := setup(t)
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	mine, neighbours := drillFixture()
	placeCustomers(t, m, a.ID, mine)
	placeCustomers(t, m, b.ID, neighbours)
	ids := func(cs []drillCustomer, names ...string) string {
		var out []string
		for _, c := range cs {
			for _, n := range names {
				if c.name == n {
					out = append(out, c.id.String())
				}
			}
		}
		sort.Strings(out)
		return fmt.Sprint(out)
	}
	wide := func(q string) url.Values {
		v, _ := url.ParseQuery(q)
		return v
	}
	for q, want := range map[string]string{
		"purchased_at[gte]=2000-01-01T00:00:00Z&purchased_at[lt]=2100-01-01T00:00:00Z": ids(neighbours, "Next door"),
		"purchase_currency=CNY":                ids(neighbours, "Next door"),
		"purchase_channel=web":                 ids(neighbours, "Next door"),
		"purchase_channel[empty]=true":         ids(neighbours, "Next door"),
		"churned_at[gte]=2000-01-01T00:00:00Z": ids(neighbours, "Next door"),
		"churned_at[lt]=2100-01-01T00:00:00Z":  ids(neighbours, "Next door"),
		"active_at=2026-03-10T00:00:00Z":       ids(neighbours, "Next door"),
		"province=广东":                          ids(neighbours, "Next door"),
		"city[in]=广州,深圳":                       ids(neighbours, "Next door"),
		"city[empty]=false":                    ids(neighbours, "Next door"),
	} {
		if got := listed(t, m, writer, b.ID, wide(q)); fmt.Sprint(got) != want {
			t.Errorf("company B, %s: %v, want only its own %s", q, got, want)
		}
	}
	// A's customers through the same filters: A's own.
	if got := listed(t, m, writer, a.ID, wide("churned_at[gte]=2000-01-01T00:00:00Z")); fmt.Sprint(got) != ids(mine, "Churned Feb", "Churned Mar", "Churned twice", "Churned Apr") {
		t.Errorf("company A's churned: %v", got)
	}
	// A member who sees only their own customers: the filters narrow what
	// the role shows, never widen it.
	seller := uuid.New()
	if _, err := env.Owner.ExecContext(context.Background(), "UPDATE customers SET owner_id = ? WHERE tenant_id = ? AND id IN (?, ?)",
		seller, a.ID, mine[0].id, mine[6].id); err != nil {
		t.Fatal(err)
	}
	own := authz.WithActor(context.Background(), authz.Actor{ID: seller, Kind: authz.ActorUser, Scope: authz.ScopeOwn,
		Permissions: map[string]bool{profiles.PermRead: true}})
	if got := listed(t, m, own, a.ID, wide("purchased_at[gte]=2000-01-01T00:00:00Z")); fmt.Sprint(got) != ids(mine, "Jan evening") {
		t.Errorf("own scope, purchases: %v", got)
	}
	if got := listed(t, m, own, a.ID, wide("churned_at[lt]=2100-01-01T00:00:00Z")); fmt.Sprint(got) != ids(mine, "Churned Feb") {
		t.Errorf("own scope, churned: %v", got)
	}
	if got := listed(t, m, own, a.ID, wide("city[in]=广州,杭州")); fmt.Sprint(got) != ids(mine, "Jan evening", "Churned Feb") {
		t.Errorf("own scope, by city: %v", got)
	}
}
