package funnel_test

import (
	"context"
	"fmt"
	"math/big"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/measures/measurestest"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// drillDeal is a deal of the drill-down fixture and its moments.
type drillDeal struct {
	amount, currency, source string
	created                  time.Time
	won, lost                *time.Time
	id                       uuid.UUID
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func atp(s string) *time.Time { t := at(s); return &t }

// placeDeals creates the deals in tenant c and sets their moments.
func placeDeals(t *testing.T, m *funnel.Module, c company, ds []drillDeal) {
	t.Helper()
	for i := range ds {
		d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: fmt.Sprint("drill ", i), CustomerID: c.customer, Amount: ds[i].amount,
			Currency: ds[i].currency, Source: ds[i].source})
		if err != nil {
			t.Fatal(err)
		}
		ds[i].id = d.ID
		if _, err := testkit.Get(t).Owner.ExecContext(context.Background(), "UPDATE deals SET created_at = ?, won_at = ?, lost_at = ? WHERE tenant_id = ? AND id = ?",
			ds[i].created, ds[i].won, ds[i].lost, c.id, d.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// A point of a funnel metric (a month in Shanghai, a source) opens the
// deals it counts: the list filtered as the dashboard's drill-down filters
// it (by the metric's own time, the point's source and, for money, the
// company's currency) gives exactly those deals, and its figure.
func TestDrilledDealsAreThePointsDeals(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	other := newCompany(t, m)
	const zone = "Asia/Shanghai"
	loc, _ := time.LoadLocation(zone)
	ds := []drillDeal{
		// Won on the last evening of January in Shanghai, and just after
		// midnight of February (still January in UTC).
		{amount: "100", currency: "CNY", source: "web", created: at("2026-01-05T02:00:00Z"), won: atp("2026-01-31T15:30:00Z")},
		{amount: "200", currency: "CNY", source: "web", created: at("2026-01-06T02:00:00Z"), won: atp("2026-01-31T16:30:00Z")},
		{amount: "300", currency: "CNY", source: "fair", created: at("2026-01-31T16:10:00Z"), won: atp("2026-02-15T00:00:00Z")},
		// Won in another currency: counted by the cycle and the win rate,
		// not by the revenue.
		{amount: "999", currency: "USD", source: "web", created: at("2026-02-01T03:00:00Z"), won: atp("2026-02-20T00:00:00Z")},
		{amount: "50", currency: "CNY", source: "web", created: at("2026-01-20T03:00:00Z"), lost: atp("2026-02-10T00:00:00Z")},
		// Lost on the first minutes of January in Shanghai (2025 in UTC).
		{amount: "60", currency: "CNY", source: "fair", created: at("2025-12-01T03:00:00Z"), lost: atp("2025-12-31T16:10:00Z")},
		{amount: "70", currency: "CNY", source: "", created: at("2026-01-10T03:00:00Z")},
		{amount: "80", currency: "CNY", source: "web", created: at("2026-03-31T15:59:00Z")},
		// Won on the first of April in Shanghai: outside the range.
		{amount: "400", currency: "CNY", source: "web", created: at("2026-03-02T03:00:00Z"), won: atp("2026-03-31T16:00:00Z")},
	}
	placeDeals(t, m, c, ds)
	// The neighbour's deal falls in every bucket too.
	placeDeals(t, m, other, []drillDeal{{amount: "5", currency: "CNY", source: "web", created: at("2026-01-10T03:00:00Z"), won: atp("2026-02-02T00:00:00Z")}})

	tn := measures.Tenant{ID: c.id, TimeZone: zone, Currency: "CNY", WeekStart: 1}
	mx := measurestest.NewMetrics(t, tn, "funnel", m.Measures(), "2026-01-01", "2026-03-31")
	metrics, run := mx.Metric, mx.Run
	// drill is the list query of a month and source, as the web builds it.
	drill := func(key string, month time.Time, source string, hasSource bool) url.Values {
		lo, hi := month.Format(time.RFC3339), month.AddDate(0, 1, 0).Format(time.RFC3339)
		q := url.Values{}
		switch key {
		case "funnel.deals":
			q.Set("created_at[gte]", lo)
			q.Set("created_at[lt]", hi)
		case "funnel.won_revenue", "funnel.avg_deal_size", "funnel.cycle_length":
			q.Set("won_at[gte]", lo)
			q.Set("won_at[lt]", hi)
		case "funnel.win_rate":
			q.Set("closed_at[gte]", lo)
			q.Set("closed_at[lt]", hi)
		case "funnel.pipeline_value":
			q.Set("open_at", hi)
		}
		if metrics[key].Unit == measures.Money {
			q.Set("currency", "CNY")
		}
		if hasSource {
			if source == "" {
				q.Set("source[empty]", "true")
			} else {
				q.Set("source", source)
			}
		}
		return q
	}
	// counted is the brute force: the deals a metric counts in a month.
	counted := func(key string, month time.Time, d drillDeal) bool {
		lo, hi := month, month.AddDate(0, 1, 0)
		in := func(x *time.Time) bool { return x != nil && !x.Before(lo) && x.Before(hi) }
		switch key {
		case "funnel.deals":
			return in(&d.created)
		case "funnel.won_revenue", "funnel.avg_deal_size":
			return in(d.won) && d.currency == "CNY"
		case "funnel.cycle_length":
			return in(d.won)
		case "funnel.win_rate":
			closed := d.won
			if closed == nil {
				closed = d.lost
			}
			return in(closed)
		case "funnel.pipeline_value":
			return d.created.Before(hi) && (d.won == nil || !d.won.Before(hi)) && (d.lost == nil || !d.lost.Before(hi)) && d.currency == "CNY"
		}
		panic(key)
	}
	checked := 0
	for _, key := range []string{"funnel.deals", "funnel.won_revenue", "funnel.avg_deal_size", "funnel.cycle_length", "funnel.win_rate", "funnel.pipeline_value"} {
		for _, bySource := range []bool{false, true} {
			dims := []string{"time"}
			if bySource {
				dims = append(dims, "source")
			}
			for _, row := range run(key, dims...).Rows {
				if row.Value == nil {
					continue
				}
				day, _ := time.Parse("2006-01-02", row.Keys[0])
				month := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, loc)
				source := ""
				if bySource {
					source = row.Keys[1]
				}
				q := drill(key, month, source, bySource)
				f, err := funnel.FilterFrom(q)
				if err != nil {
					t.Fatalf("%s %v: %v", key, q, err)
				}
				f.Limit = 200
				list, _, err := m.ListDeals(seller, c.id, f)
				if err != nil {
					t.Fatalf("%s %v: %v", key, q, err)
				}
				var got, want []string
				won, sum := 0, new(big.Rat)
				for _, d := range list {
					got = append(got, d.ID.String())
					if d.WonAt != nil {
						won++
					}
					a, _ := new(big.Rat).SetString(d.Amount)
					sum.Add(sum, a)
				}
				for _, d := range ds {
					if counted(key, month, d) && (!bySource || d.source == source) {
						want = append(want, d.id.String())
					}
				}
				sort.Strings(got)
				sort.Strings(want)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s %v: the list gives %v, the point counts %v", key, q, got, want)
					continue
				}
				value, _ := new(big.Rat).SetString(*row.Value)
				var figure *big.Rat
				if len(list) == 0 {
					if value.Sign() != 0 {
						t.Errorf("%s %v: the list is empty, the point says %s", key, q, *row.Value)
					}
					continue
				}
				switch key {
				case "funnel.deals":
					figure = big.NewRat(int64(len(list)), 1)
				case "funnel.won_revenue", "funnel.pipeline_value":
					figure = sum
				case "funnel.avg_deal_size":
					figure = new(big.Rat).Quo(sum, big.NewRat(int64(len(list)), 1))
				case "funnel.win_rate":
					figure = big.NewRat(int64(won*100), int64(len(list)))
				}
				if figure != nil && figure.FloatString(2) != value.FloatString(2) {
					t.Errorf("%s %v: the list's figure %s, the point's %s", key, q, figure.FloatString(2), value.FloatString(2))
				}
				checked++
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d points checked", checked)
	}
}

// The new filters refuse bad values naming the parameter, in the list and
// in a saved view alike.
func TestBadDrillFiltersNameTheParameter(t *testing.T) {
	for q, loc := range map[string]string{
		"won_at[gte]=2026-02-30T00:00:00Z": "query.won_at[gte]",
		"created_at[lt]=yesterday":         "query.created_at[lt]",
		"lost_at[gte]=2026-01-01":          "query.lost_at[gte]",
		"closed_at[lt]=x&closed_at[lt]=y":  "query.closed_at[lt]",
		"won_at[lte]=2026-01-01T00:00:00Z": "query.won_at[lte]",
		"open_at=soon":                     "query.open_at",
		"currency=XYZ":                     "query.currency",
		"source[empty]=false":              "query.source[empty]",
		"tag[empty]=1":                     "query.tag[empty]",
		"owner=nobody":                     "query.owner",
		"owner[empty]=yes":                 "query.owner[empty]",
		"team=sales":                       "query.team",
		"team[empty]=no":                   "query.team[empty]",
	} {
		v, _ := url.ParseQuery(q)
		_, err := funnel.FilterFrom(v)
		invalidAt(t, q, err, loc)
	}
	many := url.Values{}
	for i := 0; i < 101; i++ {
		many.Add("source", fmt.Sprint("s", i))
	}
	_, err := funnel.FilterFrom(many)
	invalidAt(t, "101 sources", err, "query.source")
}

// A point of a funnel metric by team opens the deals whose owner is in that
// team (a member of two teams counts in both), and the point of no team the
// deals whose owner is in none, or that nobody owns.
func TestDrilledDealsByTeamAreThePointsDeals(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	other := newCompany(t, m)
	env := testkit.Get(t)
	ctx := context.Background()
	tf := env.NewTeams(t, c.id)
	ann, bo, cai, north, south := tf.Ann, tf.Bo, tf.Cai, tf.North, tf.South
	type teamDeal struct {
		owner   *uuid.UUID
		created time.Time
		id      uuid.UUID
	}
	ds := []teamDeal{
		{&ann, at("2026-01-05T02:00:00Z"), uuid.Nil},
		{&ann, at("2026-02-05T02:00:00Z"), uuid.Nil},
		{&bo, at("2026-01-31T16:30:00Z"), uuid.Nil}, // February in Shanghai
		{&bo, at("2026-01-20T02:00:00Z"), uuid.Nil},
		{&cai, at("2026-01-21T02:00:00Z"), uuid.Nil},
		{nil, at("2026-02-21T02:00:00Z"), uuid.Nil},
		{&ann, at("2026-04-21T02:00:00Z"), uuid.Nil}, // outside the range
	}
	for i := range ds {
		d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: fmt.Sprint("team ", i), CustomerID: c.customer, Amount: "10"})
		if err != nil {
			t.Fatal(err)
		}
		ds[i].id = d.ID
		if _, err := env.Owner.ExecContext(ctx, "UPDATE deals SET created_at = ?, owner_id = ? WHERE tenant_id = ? AND id = ?", ds[i].created, ds[i].owner, c.id, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A neighbour's deal owned by Ann's id: never in c's lists.
	if d, err := m.CreateDeal(seller, other.id, funnel.DealInput{Title: "neighbour", CustomerID: other.customer, Amount: "1"}); err != nil {
		t.Fatal(err)
	} else if _, err := env.Owner.ExecContext(ctx, "UPDATE deals SET created_at = ?, owner_id = ? WHERE tenant_id = ? AND id = ?", at("2026-01-05T02:00:00Z"), ann, other.id, d.ID); err != nil {
		t.Fatal(err)
	}
	inTeam := map[uuid.UUID][]uuid.UUID{ann: {north}, bo: {north, south}}
	var metric measures.Metric
	for _, mt := range m.Measures() {
		if mt.Key == "funnel.deals" {
			metric = mt
		}
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	tn := measures.Tenant{ID: c.id, TimeZone: "Asia/Shanghai", Currency: "CNY", WeekStart: 1}
	var res *measures.Result
	env.InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
		var err error
		res, err = measures.Run(ctx, tx, tn, measures.Entry{Module: "funnel", Metric: metric},
			measures.Request{Metric: "funnel.deals", Dimensions: []string{"time", "team"}, Bucket: "month", From: "2026-01-01", To: "2026-03-31"}, "body")
		return err
	})
	checked := map[string]bool{}
	for _, row := range res.Rows {
		if row.Value == nil || *row.Value == "0" {
			continue
		}
		day, _ := time.Parse("2006-01-02", row.Keys[0])
		month := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, loc)
		team := row.Keys[1]
		q := url.Values{}
		q.Set("created_at[gte]", month.Format(time.RFC3339))
		q.Set("created_at[lt]", month.AddDate(0, 1, 0).Format(time.RFC3339))
		if team == "" {
			q.Set("team[empty]", "true")
		} else {
			q.Set("team", team)
		}
		f, err := funnel.FilterFrom(q)
		if err != nil {
			t.Fatalf("%v: %v", q, err)
		}
		f.Limit = 200
		list, _, err := m.ListDeals(seller, c.id, f)
		if err != nil {
			t.Fatalf("%v: %v", q, err)
		}
		var got, want []string
		for _, d := range list {
			got = append(got, d.ID.String())
		}
		for _, d := range ds {
			if d.created.Before(month) || !d.created.Before(month.AddDate(0, 1, 0)) {
				continue
			}
			var teams []uuid.UUID
			if d.owner != nil {
				teams = inTeam[*d.owner]
			}
			match := team == "" && len(teams) == 0
			for _, x := range teams {
				match = match || x.String() == team
			}
			if match {
				want = append(want, d.id.String())
			}
		}
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%v: the list gives %v, the point counts %v", q, got, want)
		}
		if *row.Value != fmt.Sprint(len(list)) {
			t.Errorf("%v: the point says %s, the list has %d", q, *row.Value, len(list))
		}
		checked[team] = true
	}
	// North, South and no team each had a point.
	if len(checked) != 3 || !checked[north.String()] || !checked[south.String()] || !checked[""] {
		t.Fatalf("points checked by team: %v", checked)
	}
}
