package bi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/testkit"
)

// world is a company's generated records, kept in Go for the brute-force
// answers the metrics must equal.
type world struct {
	tenant   uuid.UUID
	slug     string
	loc      *time.Location
	currency string
	members  []uuid.UUID            // owners and assignees
	teams    map[uuid.UUID][]string // member -> teams
	teamIDs  []uuid.UUID
	stageP   map[uuid.UUID]int // stage -> probability
	stagePos map[uuid.UUID]int // stage -> position
	stageK   map[uuid.UUID]string
	stagePl  map[uuid.UUID]uuid.UUID
	pipes    []uuid.UUID
	stages   []uuid.UUID
	cust     []*gCustomer
	buys     []*gPurchase
	deals    []*gDeal
	tickets  []*gTicket
}

type gChange struct {
	from, to string
	at       time.Time
}

type gCustomer struct {
	id                   uuid.UUID
	owner                *uuid.UUID
	created              time.Time
	deleted              bool
	lifecycle, source    string
	tags                 []string
	province, city, tier string
	history              []gChange
}

type gPurchase struct {
	cust     *gCustomer
	at       time.Time
	amount   int64 // in 1/100
	currency string
	channel  string
}

type gDeal struct {
	id              uuid.UUID
	owner           *uuid.UUID
	pipeline, stage uuid.UUID
	amount          int64 // in 1/100
	currency        string
	created         time.Time
	won, lost       *time.Time
	deleted         bool
	source, region  string
	tags            []string
	stays           []gStay
}

// gStay is a deal's stay in a stage; it ends when the next begins.
type gStay struct {
	stage uuid.UUID
	at    time.Time
}

type gTicket struct {
	id                                       uuid.UUID
	assignee, team, creator                  *uuid.UUID
	channel, typ, priority, status, category string
	created                                  time.Time
	responded, solved, respDue, resDue       *time.Time
	rating                                   int // 0: not rated
	rated                                    *time.Time
	merged                                   bool
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func maybe(r *rand.Rand, ids []uuid.UUID) *uuid.UUID {
	if r.IntN(5) == 0 {
		return nil
	}
	id := pick(r, ids)
	return &id
}

// at is a random instant in [lo, hi), a tenth of them exactly at a local
// midnight (the edge of a day, week or month bucket).
func at(r *rand.Rand, loc *time.Location, lo, hi time.Time) time.Time {
	t := lo.Add(time.Duration(r.Int64N(int64(hi.Sub(lo)))))
	if r.IntN(10) == 0 {
		l := t.In(loc)
		t = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	}
	return t.Truncate(time.Second).UTC()
}

// newWorld generates and stores a company's records between lo and hi.
func newWorld(t *testing.T, tz, currency string, seed uint64, lo, hi time.Time) *world {
	t.Helper()
	env := testkit.Get(t)
	ctx := context.Background()
	tn := env.NewTenant(t)
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Owner.ExecContext(ctx, "UPDATE tenants SET time_zone = ?, currency = ? WHERE id = ?", tz, currency, tn.ID); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, seed+1))
	w := &world{tenant: tn.ID, slug: tn.Slug, loc: loc, currency: currency, teams: map[uuid.UUID][]string{},
		stageP: map[uuid.UUID]int{}, stagePl: map[uuid.UUID]uuid.UUID{}, stagePos: map[uuid.UUID]int{}, stageK: map[uuid.UUID]string{}}
	for i := 0; i < 4; i++ {
		w.members = append(w.members, uuid.New())
	}
	w.teamIDs = []uuid.UUID{uuid.New(), uuid.New()}
	// Member 0 in team 0, member 1 in both, member 2 in team 1, member 3 in none.
	w.teams[w.members[0]] = []string{w.teamIDs[0].String()}
	w.teams[w.members[1]] = []string{w.teamIDs[0].String(), w.teamIDs[1].String()}
	w.teams[w.members[2]] = []string{w.teamIDs[1].String()}

	exec := func(ctx context.Context, tx bun.Tx, q string, args ...any) {
		t.Helper()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		for i, m := range w.members {
			exec(ctx, tx, "INSERT INTO memberships (tenant_id, identity_id, role, email) VALUES (?, ?, 'agent', ?)", tn.ID, m, fmt.Sprintf("m%d@example.com", i))
		}
		for i, id := range w.teamIDs {
			exec(ctx, tx, "INSERT INTO teams (tenant_id, id, name) VALUES (?, ?, ?)", tn.ID, id, fmt.Sprintf("team %d", i))
		}
		for m, ts := range w.teams {
			for _, team := range ts {
				exec(ctx, tx, "INSERT INTO team_members (tenant_id, team_id, identity_id) VALUES (?, ?, ?)", tn.ID, team, m)
			}
		}
		for _, e := range []string{"customers", "deals", "tickets"} {
			key := map[string]string{"customers": "tier", "deals": "region", "tickets": "category"}[e]
			exec(ctx, tx, "INSERT INTO field_definitions (tenant_id, entity, key, label_en, label_zh, type) VALUES (?, ?, ?, ?, ?, 'select')", tn.ID, e, key, key, "选项")
			exec(ctx, tx, "INSERT INTO field_definitions (tenant_id, entity, key, label_en, type) VALUES (?, ?, 'note', 'Note', 'text')", tn.ID, e)
		}

		// Customers and their lifecycle history.
		stages := []string{"lead", "prospect", "customer", "at_risk", "churned"}
		for i := 0; i < 80; i++ {
			c := &gCustomer{id: uuid.New(), owner: maybe(r, w.members), created: at(r, loc, lo, hi), deleted: r.IntN(15) == 0,
				source: pick(r, []string{"", "web", "ad", "referral"}), province: pick(r, []string{"", "广东", "浙江"}),
				city: pick(r, []string{"", "深圳", "杭州", "New York"}), tier: pick(r, []string{"", "gold", "silver"})}
			for _, tag := range []string{"vip", "cn", "new"} {
				if r.IntN(3) == 0 {
					c.tags = append(c.tags, tag)
				}
			}
			if c.tags == nil {
				c.tags = []string{}
			}
			cur, when := pick(r, stages[:3]), c.created
			c.history = append(c.history, gChange{to: cur, at: when})
			for n := r.IntN(5); n > 0 && when.Before(hi); n-- {
				when = when.Add(time.Duration(1+r.IntN(40*24)) * time.Hour).Add(time.Duration(r.IntN(3600)) * time.Second)
				next := pick(r, stages)
				if next == cur || !when.Before(hi) {
					continue
				}
				c.history = append(c.history, gChange{from: cur, to: next, at: when})
				cur = next
			}
			c.lifecycle = cur
			w.cust = append(w.cust, c)
			custom := map[string]any{}
			if c.tier != "" {
				custom["tier"] = c.tier
			}
			addr := map[string]any{}
			if c.province != "" {
				addr["province"] = c.province
			}
			if c.city != "" {
				addr["city"] = c.city
			}
			var del *time.Time
			if c.deleted {
				d := hi
				del = &d
			}
			exec(ctx, tx, `INSERT INTO customers (tenant_id, id, kind, name, owner_id, tags, lifecycle, source, custom, address, created_at, deleted_at)
				VALUES (?, ?, 'person', ?, ?, ?, ?, ?, ?, ?, ?, ?)`, tn.ID, c.id, fmt.Sprintf("c%d", i), c.owner, pgdialect.Array(c.tags), c.lifecycle, c.source,
				custom, addr, c.created, del)
			for _, h := range c.history {
				var from *string
				if h.from != "" {
					f := h.from
					from = &f
				}
				exec(ctx, tx, "INSERT INTO customer_lifecycle_history (tenant_id, customer_id, from_stage, to_stage, changed_at) VALUES (?, ?, ?, ?, ?)",
					tn.ID, c.id, from, h.to, h.at)
			}
		}
		// Purchases.
		for i := 0; i < 200; i++ {
			p := &gPurchase{cust: pick(r, w.cust), at: at(r, loc, lo, hi), amount: int64(100 + r.IntN(500000)),
				currency: pick(r, []string{currency, currency, currency, "EUR"}), channel: pick(r, []string{"", "online", "store"})}
			w.buys = append(w.buys, p)
			exec(ctx, tx, `INSERT INTO interactions (tenant_id, id, occurred_at, customer_id, kind, channel, summary, amount, currency)
				VALUES (?, ?, ?, ?, 'purchase', ?, 'order', ?, ?)`, tn.ID, uuid.New(), p.at, p.cust.id, p.channel, fmt.Sprintf("%d.%02d", p.amount/100, p.amount%100), p.currency)
		}
		// A non-purchase interaction counts nowhere.
		exec(ctx, tx, `INSERT INTO interactions (tenant_id, id, occurred_at, customer_id, kind, summary) VALUES (?, ?, ?, ?, 'call', 'hello')`,
			tn.ID, uuid.New(), lo.Add(time.Hour), w.cust[0].id)

		// Pipelines and deals.
		type stage struct {
			prob int
			kind string
		}
		for pi, sts := range [][]stage{{{20, "open"}, {60, "open"}, {100, "won"}, {0, "lost"}}, {{50, "open"}, {100, "won"}, {0, "lost"}}} {
			p := uuid.New()
			w.pipes = append(w.pipes, p)
			exec(ctx, tx, "INSERT INTO pipelines (tenant_id, id, name_en, is_default) VALUES (?, ?, ?, ?)", tn.ID, p, fmt.Sprintf("P%d", pi), pi == 0)
			for si, s := range sts {
				id := uuid.New()
				w.stages = append(w.stages, id)
				w.stageP[id], w.stagePl[id], w.stagePos[id], w.stageK[id] = s.prob, p, si, s.kind
				exec(ctx, tx, "INSERT INTO pipeline_stages (tenant_id, id, pipeline_id, name_en, position, probability, kind) VALUES (?, ?, ?, ?, ?, ?, ?)",
					tn.ID, id, p, fmt.Sprintf("S%d", si), si, s.prob, s.kind)
			}
		}
		kindOf := func(st uuid.UUID) string {
			switch w.stageP[st] {
			case 100:
				return "won"
			case 0:
				return "lost"
			}
			return "open"
		}
		for i := 0; i < 90; i++ {
			st := pick(r, w.stages)
			d := &gDeal{id: uuid.New(), owner: maybe(r, w.members), pipeline: w.stagePl[st], stage: st, amount: int64(r.IntN(10000000)),
				currency: pick(r, []string{currency, currency, "EUR"}), created: at(r, loc, lo, hi), deleted: r.IntN(15) == 0,
				source: pick(r, []string{"", "web", "fair"}), region: pick(r, []string{"", "north", "south"})}
			for _, tag := range []string{"big", "renewal"} {
				if r.IntN(3) == 0 {
					d.tags = append(d.tags, tag)
				}
			}
			if d.tags == nil {
				d.tags = []string{}
			}
			closed := d.created.Add(time.Duration(1+r.IntN(60*24*3600)) * time.Second)
			switch kindOf(st) {
			case "won":
				d.won = &closed
			case "lost":
				d.lost = &closed
			}
			// Its stays: up to three stages of its pipeline, the last its own,
			// begun when it closed when it did.
			var mine []uuid.UUID
			for _, x := range w.stages {
				if w.stagePl[x] == d.pipeline {
					mine = append(mine, x)
				}
			}
			when := d.created
			for n := r.IntN(3); n > 0; n-- {
				d.stays = append(d.stays, gStay{stage: pick(r, mine), at: when})
				when = when.Add(time.Duration(1+r.IntN(20*24*3600)) * time.Second)
			}
			if d.won != nil {
				when = *d.won
			} else if d.lost != nil {
				when = *d.lost
			}
			if len(d.stays) > 0 && !when.After(d.stays[len(d.stays)-1].at) {
				when = d.stays[len(d.stays)-1].at.Add(time.Second)
			}
			d.stays = append(d.stays, gStay{stage: d.stage, at: when})
			w.deals = append(w.deals, d)
			custom := map[string]any{}
			if d.region != "" {
				custom["region"] = d.region
			}
			var del *time.Time
			if d.deleted {
				x := hi
				del = &x
			}
			exec(ctx, tx, `INSERT INTO deals (tenant_id, id, title, customer_id, amount, currency, owner_id, pipeline_id, stage_id, position, source,
				won_at, lost_at, tags, custom, created_at, deleted_at) VALUES (?, ?, 'd', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				tn.ID, d.id, w.cust[i%len(w.cust)].id, fmt.Sprintf("%d.%02d", d.amount/100, d.amount%100), d.currency, d.owner, d.pipeline, d.stage, i,
				d.source, d.won, d.lost, pgdialect.Array(d.tags), custom, d.created, del)
			for j, st := range d.stays {
				var exit *time.Time
				if j+1 < len(d.stays) {
					exit = &d.stays[j+1].at
				}
				exec(ctx, tx, `INSERT INTO deal_stage_history (tenant_id, deal_id, pipeline_id, stage_id, entered_at, entry_amount, exited_at, currency)
					VALUES (?, ?, ?, ?, ?, 0, ?, ?)`, tn.ID, d.id, w.stagePl[st.stage], st.stage, st.at, exit, d.currency)
			}
		}

		// Tickets.
		later := func(from time.Time) *time.Time {
			if r.IntN(4) == 0 {
				return nil
			}
			x := from.Add(time.Duration(r.IntN(10*24*3600)) * time.Second)
			return &x
		}
		for i := 0; i < 90; i++ {
			k := &gTicket{id: uuid.New(), assignee: maybe(r, w.members), team: maybe(r, w.teamIDs), creator: maybe(r, w.members),
				channel: pick(r, []string{"email", "phone", "chat"}), typ: pick(r, []string{"question", "incident", "complaint"}),
				priority: pick(r, []string{"low", "normal", "urgent"}), status: pick(r, []string{"new", "open", "solved"}),
				category: pick(r, []string{"", "billing", "delivery"}), created: at(r, loc, lo, hi)}
			k.responded = later(k.created)
			if k.responded != nil {
				k.solved = later(*k.responded)
			}
			if r.IntN(2) == 0 {
				k.respDue = later(k.created)
				k.resDue = later(k.created)
			}
			if k.solved != nil {
				if k.rated = later(*k.solved); k.rated != nil {
					k.rating = 1 + r.IntN(5)
				}
			}
			w.tickets = append(w.tickets, k)
			custom := map[string]any{}
			if k.category != "" {
				custom["category"] = k.category
			}
			var rating *int
			if k.rating > 0 {
				rating = &k.rating
			}
			exec(ctx, tx, `INSERT INTO tickets (tenant_id, id, number, subject, requester_id, channel, type, priority, status, assignee_id, team_id,
				custom, first_responded_at, solved_at, first_response_due_at, resolution_due_at, created_by, created_at, csat_rating, csat_rated_at)
				VALUES (?, ?, ?, 's', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				tn.ID, k.id, 1001+i, w.cust[i%len(w.cust)].id, k.channel, k.typ, k.priority, k.status, k.assignee, k.team, custom,
				k.responded, k.solved, k.respDue, k.resDue, k.creator, k.created, rating, k.rated)
		}
		// Two tickets merged into the first: shells that count nowhere.
		for i := 1; i <= 2; i++ {
			w.tickets[i].merged = true
			exec(ctx, tx, "UPDATE tickets SET merged_into_id = ? WHERE tenant_id = ? AND id = ?", w.tickets[0].id, tn.ID, w.tickets[i].id)
		}
		return nil
	})
	return w
}
