package tickets_test

import (
	"context"
	"fmt"
	"math/big"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/measures/measurestest"
)

// drillTicket is a ticket of the drill-down fixture and its moments.
type drillTicket struct {
	channel, kind     string
	created           time.Time
	responded, solved *time.Time
	rated             *time.Time
	rating            int
	due               *time.Time // resolution due
	merged            bool
	id                uuid.UUID
}

func instant(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func atp(s string) *time.Time { t := instant(s); return &t }

// A point of a tickets metric (a month in Shanghai, a channel) opens the
// tickets it counts: the list filtered by the metric's own time (created,
// first answered, solved, rated), merged shells left out, gives exactly
// those tickets and, for counts and CSAT, its figure.
func TestDrilledTicketsAreThePointsTickets(t *testing.T) {
	r := rig(t, false)
	const zone = "Asia/Shanghai"
	loc, _ := time.LoadLocation(zone)
	ts := []drillTicket{
		// Answered and solved on the last evening of January in Shanghai
		// and just after its midnight (still January in UTC).
		{channel: "email", kind: "question", created: instant("2026-01-20T01:00:00Z"), responded: atp("2026-01-31T15:30:00Z"), solved: atp("2026-01-31T16:30:00Z"),
			rated: atp("2026-01-31T16:40:00Z"), rating: 5, due: atp("2026-02-01T00:00:00Z")},
		{channel: "phone", kind: "complaint", created: instant("2026-01-31T16:05:00Z"), responded: atp("2026-02-01T02:00:00Z"), solved: atp("2026-02-20T00:00:00Z"),
			rated: atp("2026-02-21T00:00:00Z"), rating: 2, due: atp("2026-02-10T00:00:00Z")},
		{channel: "email", kind: "complaint", created: instant("2026-01-31T15:55:00Z"), responded: atp("2026-01-31T15:58:00Z"), solved: atp("2026-03-01T00:00:00Z")},
		{channel: "email", kind: "incident", created: instant("2026-02-03T00:00:00Z"), responded: atp("2026-02-03T05:00:00Z"), solved: atp("2026-02-04T00:00:00Z"),
			rated: atp("2026-02-05T00:00:00Z"), rating: 4, due: atp("2026-02-05T00:00:00Z")},
		{channel: "phone", kind: "question", created: instant("2026-03-10T00:00:00Z")},
		// Merged into another: counted nowhere, though it has every moment.
		{channel: "email", kind: "complaint", created: instant("2026-02-03T00:00:00Z"), responded: atp("2026-02-03T01:00:00Z"), solved: atp("2026-02-03T02:00:00Z"),
			due: atp("2026-02-04T00:00:00Z"), merged: true},
		// Solved on the first of April in Shanghai: outside the range.
		{channel: "email", kind: "question", created: instant("2026-03-20T00:00:00Z"), responded: atp("2026-03-31T16:10:00Z"), solved: atp("2026-03-31T16:20:00Z")},
	}
	for i := range ts {
		tk := r.ticket(t, lead, tickets.TicketInput{Subject: fmt.Sprint("drill ", i), Channel: ts[i].channel, Type: ts[i].kind})
		ts[i].id = tk.ID
	}
	for i, d := range ts {
		var rating *int
		if d.rated != nil {
			rating = &ts[i].rating
		}
		var into *uuid.UUID
		if d.merged {
			into = &ts[0].id
		}
		if _, err := r.env.Owner.ExecContext(context.Background(), `UPDATE tickets SET created_at = ?, first_responded_at = ?, solved_at = ?,
			csat_rated_at = ?, csat_rating = ?, resolution_due_at = ?, merged_into_id = ? WHERE tenant_id = ? AND id = ?`,
			d.created, d.responded, d.solved, d.rated, rating, d.due, into, r.a.ID, d.id); err != nil {
			t.Fatal(err)
		}
	}

	run := measurestest.NewMetrics(t, measures.Tenant{ID: r.a.ID, TimeZone: zone, Currency: "CNY", WeekStart: 1}, "tickets", r.m.Measures(), "2026-01-01", "2026-03-31").Run
	// field is the time each metric counts by, as the web's drill-down
	// names it.
	field := map[string]string{
		"tickets.tickets": "created_at", "tickets.complaints": "created_at",
		"tickets.first_response_p50": "first_responded_at", "tickets.first_response_p90": "first_responded_at",
		"tickets.resolution_p50": "solved_at", "tickets.resolution_p90": "solved_at", "tickets.sla_compliance": "solved_at",
		"tickets.csat": "csat_rated_at",
	}
	moment := func(key string, d drillTicket) *time.Time {
		switch field[key] {
		case "created_at":
			return &d.created
		case "first_responded_at":
			return d.responded
		case "solved_at":
			return d.solved
		}
		return d.rated
	}
	checked := 0
	for key := range field {
		for _, byChannel := range []bool{false, true} {
			dims := []string{"time"}
			if byChannel {
				dims = append(dims, "channel")
			}
			for _, row := range run(key, dims...).Rows {
				day, _ := time.Parse("2006-01-02", row.Keys[0])
				lo := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, loc)
				hi := lo.AddDate(0, 1, 0)
				q := url.Values{"merged": {"false"}}
				q.Set(field[key]+"[gte]", lo.Format(time.RFC3339))
				q.Set(field[key]+"[lt]", hi.Format(time.RFC3339))
				switch key {
				case "tickets.complaints":
					q.Set("type", "complaint")
				case "tickets.sla_compliance":
					q.Set("with_sla", "true")
				}
				channel := ""
				if byChannel {
					channel = row.Keys[1]
					q.Set("channel", channel)
				}
				f, err := tickets.FilterFrom(q)
				if err != nil {
					t.Fatalf("%s %v: %v", key, q, err)
				}
				f.Limit = 200
				list, _, err := r.m.ListTickets(lead, r.a.ID, f)
				if err != nil {
					t.Fatalf("%s %v: %v", key, q, err)
				}
				var got, want []string
				for _, tk := range list {
					got = append(got, tk.ID.String())
				}
				for _, d := range ts {
					x := moment(key, d)
					if d.merged || x == nil || x.Before(lo) || !x.Before(hi) || byChannel && d.channel != channel ||
						key == "tickets.complaints" && d.kind != "complaint" || key == "tickets.sla_compliance" && d.due == nil {
						continue
					}
					want = append(want, d.id.String())
				}
				sort.Strings(got)
				sort.Strings(want)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s %v: the list gives %v, the point counts %v", key, q, got, want)
					continue
				}
				if row.Value == nil {
					if len(list) != 0 {
						t.Errorf("%s %v: no value, %d tickets", key, q, len(list))
					}
					continue
				}
				value, _ := new(big.Rat).SetString(*row.Value)
				var figure *big.Rat
				switch key {
				case "tickets.tickets", "tickets.complaints":
					figure = big.NewRat(int64(len(list)), 1)
				case "tickets.csat":
					sum := 0
					for _, tk := range list {
						sum += *tk.CSATRating
					}
					figure = big.NewRat(int64(sum), int64(len(list)))
				}
				if figure != nil && figure.FloatString(2) != value.FloatString(2) {
					t.Errorf("%s %v: the list's figure %s, the point's %s", key, q, figure.FloatString(2), value.FloatString(2))
				}
				checked++
			}
		}
	}
	if checked < 30 {
		t.Fatalf("only %d points checked", checked)
	}
}

// The drill-down's filters refuse bad values naming the parameter, in a
// saved view as in the list.
func TestBadDrillFiltersNameTheParameter(t *testing.T) {
	r := rig(t, false)
	q := r.m.Entities()[0].Query
	for raw, loc := range map[string]string{
		"solved_at[gte]=someday":              "body.query.solved_at[gte]",
		"first_responded_at[lt]=2026-13-01":   "body.query.first_responded_at[lt]",
		"csat_rated_at[between]=2026-01-01":   "body.query.csat_rated_at[between]",
		"solved_at[in]=2026-01-01":            "body.query.solved_at[in]",
		"closed_at[gte]=2026-01-01T00:00:00Z": "body.query.closed_at[gte]",
		"merged=maybe":                        "body.query.merged",
		"with_sla=1":                          "body.query.with_sla",
	} {
		wantField(t, raw, q.CheckQuery(raw, "body.query"), errs.Invalid, loc)
	}
	if err := q.CheckQuery("solved_at[gte]=2026-01-31T16:00:00Z&solved_at[lt]=2026-02-28T16:00:00Z&merged=false&with_sla=true", "body.query"); err != nil {
		t.Fatal(err)
	}
}
