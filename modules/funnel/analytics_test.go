package funnel_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// genStay and genDeal are generated history, inserted as is and computed
// from again by brute force.
type genStay struct {
	pipeline, stage uuid.UUID
	in              time.Time
	out             *time.Time
	amount          string
}

type genDeal struct {
	id       uuid.UUID
	owner    *uuid.UUID
	currency string
	close    *string
	deleted  bool
	stays    []genStay
}

func (d genDeal) amount() string { return d.stays[len(d.stays)-1].amount }

// The analytics and the forecast equal a brute-force computation over
// generated history: a company in Asia/Shanghai (UTC+8) whose stays begin
// and end on both sides of its month boundaries (which fall at 16:00 UTC),
// in three currencies converted by dated rates, with deleted deals, stays in
// another pipeline and in a deleted stage, and deals nobody owns.
func TestAnalyticsEqualABruteForceComputation(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	setMoney(t, c.id, "CNY", "Asia/Shanghai")
	loc, _ := time.LoadLocation("Asia/Shanghai")
	for _, r := range []funnel.RateInput{{Currency: "USD", ValidFrom: "2026-01-01", Rate: "7.1"}, {Currency: "USD", ValidFrom: "2026-11-01", Rate: "7.3"},
		{Currency: "EUR", ValidFrom: "2026-01-01", Rate: "7.9"}, {Currency: "EUR", ValidFrom: "2026-10-31", Rate: "7.75"}} {
		if _, err := m.SetRate(admin, c.id, r); err != nil {
			t.Fatal(err)
		}
	}
	_, rateList, _ := m.ListRates(seller, c.id)
	rates := funnel.NewRates("CNY", rateList)
	other, err := m.CreatePipeline(admin, c.id, funnel.PipelineInput{Names: funnel.Names{NameEN: "Partners"}})
	if err != nil {
		t.Fatal(err)
	}
	stages := c.pipeline.Stages // Lead, Qualified, Proposal, Negotiation (open), Won, Lost
	stageOf := map[uuid.UUID]funnel.Stage{}
	for _, s := range stages {
		stageOf[s.ID] = s
	}
	gone := uuid.New() // a stage deleted since: its stays count nowhere
	owners := []*uuid.UUID{ptr(uuid.New()), ptr(uuid.New()), ptr(uuid.New()), nil}
	now := time.Now()
	limit := now.Add(-time.Hour)
	// Month boundaries in Shanghai, where transitions are drawn to.
	edges := []time.Time{time.Date(2026, 10, 1, 0, 0, 0, 0, loc), time.Date(2026, 11, 1, 0, 0, 0, 0, loc), time.Date(2026, 12, 1, 0, 0, 0, 0, loc)}
	rng := rand.New(rand.NewSource(16))
	when := func(after time.Time) time.Time {
		if rng.Intn(4) == 0 {
			for _, e := range edges {
				if e.After(after) {
					x := e.Add(time.Duration(rng.Intn(7200)-3600) * time.Second)
					if x.After(after) {
						return x.Truncate(time.Microsecond)
					}
				}
			}
		}
		return after.Add(time.Duration(1+rng.Intn(20*24*3600)) * time.Second).Add(time.Duration(rng.Intn(1e6)) * time.Microsecond)
	}
	amount := func() string { return fmt.Sprintf("%d.%02d", rng.Intn(100000), rng.Intn(100)) }
	var deals []genDeal
	for i := 0; i < 120; i++ {
		d := genDeal{id: uuid.New(), owner: owners[rng.Intn(len(owners))], currency: []string{"CNY", "USD", "EUR"}[rng.Intn(3)], deleted: rng.Intn(15) == 0}
		if rng.Intn(8) != 0 {
			day := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.Intn(240)).Format("2006-01-02")
			d.close = &day
		}
		at := time.Date(2026, 8, 15, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int63n(int64(100 * 24 * time.Hour)))).Truncate(time.Microsecond)
		amt := amount()
		if rng.Intn(8) == 0 { // began in the other pipeline
			d.stays = append(d.stays, genStay{pipeline: other.ID, stage: other.Stages[0].ID, in: at, amount: amt})
		}
		if rng.Intn(12) == 0 { // passed a stage deleted since
			d.stays = append(d.stays, genStay{pipeline: c.pipeline.ID, stage: gone, in: at, amount: amt})
		}
		pos := rng.Intn(2)
		for step := 0; ; step++ {
			switch {
			case step == 0 && len(d.stays) > 0:
				at = at.Add(time.Minute) // its first stay in this pipeline
			case step > 0:
				if at = when(at); at.After(limit) {
					break
				}
			}
			if at.After(limit) {
				break
			}
			if rng.Intn(5) == 0 {
				amt = amount()
			}
			d.stays = append(d.stays, genStay{pipeline: c.pipeline.ID, stage: stages[pos].ID, in: at, amount: amt})
			if step > 6 || rng.Intn(6) == 0 {
				break
			}
			switch k := stages[pos].Kind; {
			case k == "lost" || k == "won":
				pos = rng.Intn(4) // reopened
			default:
				switch r := rng.Intn(10); {
				case r < 5:
					pos = min(pos+1+rng.Intn(2), 3)
				case r < 7:
					pos = 4
				case r < 9:
					pos = 5
				default:
					pos = max(pos-1, 0)
				}
			}
		}
		for j := 0; j+1 < len(d.stays); j++ {
			out := d.stays[j+1].in
			d.stays[j].out = &out
		}
		deals = append(deals, d)
	}
	testkit.Get(t).InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
		for i, d := range deals {
			last := d.stays[len(d.stays)-1]
			pipe, stage := last.pipeline, last.stage
			var deleted *time.Time
			if d.deleted {
				deleted = &now
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO deals (tenant_id, id, title, customer_id, amount, currency, expected_close, owner_id, pipeline_id, stage_id, position, stage_entered_at, created_at, deleted_at)
				VALUES (?, ?, ?, ?, ?, ?, ?::date, ?, ?, ?, ?, ?, ?, ?)`, c.id, d.id, fmt.Sprint("g", i), c.customer, d.amount(), d.currency, d.close, d.owner,
				pipe, stage, i+1, last.in, d.stays[0].in, deleted); err != nil {
				return err
			}
			for _, s := range d.stays {
				if _, err := tx.ExecContext(ctx, `INSERT INTO deal_stage_history (tenant_id, deal_id, pipeline_id, stage_id, entered_at, entry_amount, exited_at, exit_amount, currency)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.id, d.id, s.pipeline, s.stage, s.in, s.amount, s.out, s.amount, d.currency); err != nil {
					return err
				}
			}
		}
		return nil
	})
	current := func(d genDeal) (uuid.UUID, uuid.UUID) {
		last := d.stays[len(d.stays)-1]
		return last.pipeline, last.stage
	}

	today := funnel.Date(time.Now().In(loc).Format("2006-01-02"))
	rateOf := func(cur string, day funnel.Date) *big.Rat {
		f, err := rates.At(cur, day)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	rat := func(s string) *big.Rat { r, _ := new(big.Rat).SetString(s); return r }
	dayOf := func(d genDeal) funnel.Date {
		if d.close != nil {
			return funnel.Date(*d.close)
		}
		return today
	}
	type query struct {
		from, to string
		owner    *uuid.UUID
	}
	for _, q := range []query{{"2026-09-01", "2027-01-31", nil}, {"2026-10-15", "2026-11-20", owners[1]}, {"2026-11-01", "2026-11-30", owners[3]}} {
		t.Run(q.from+"_"+q.to, func(t *testing.T) {
			start, _ := time.ParseInLocation("2006-01-02", q.from, loc)
			end, _ := time.ParseInLocation("2006-01-02", q.to, loc)
			end = end.AddDate(0, 0, 1)
			in := func(x time.Time) bool { return !x.Before(start) && x.Before(end) }
			var live []genDeal
			for _, d := range deals {
				if d.deleted || (q.owner != nil && (d.owner == nil || *d.owner != *q.owner)) {
					continue
				}
				live = append(live, d)
			}
			// The pipeline's stays of a deal, in its current stages.
			staysOf := func(d genDeal) []genStay {
				var out []genStay
				for _, s := range d.stays {
					if _, ok := stageOf[s.stage]; ok && s.pipeline == c.pipeline.ID {
						out = append(out, s)
					}
				}
				return out
			}
			aq := funnel.AnalyticsQuery{Pipeline: c.pipeline.ID, Owner: q.owner, From: funnel.Date(q.from), To: funnel.Date(q.to)}
			got, err := m.Analytics(seller, c.id, aq)
			if err != nil {
				t.Fatal(err)
			}
			if got.TimeZone != "Asia/Shanghai" || got.Currency != "CNY" || len(got.Stages) != len(stages) {
				t.Fatalf("analytics %+v", got)
			}
			for i, st := range stages {
				entered, advanced, exits := 0, 0, 0
				var secs float64
				for _, d := range live {
					ss := staysOf(d)
					e, a := false, false
					for j, s := range ss {
						if s.stage == st.ID && in(s.in) {
							e = true
							for _, n := range ss[j+1:] {
								if ns := stageOf[n.stage]; n.in.After(s.in) && ns.Position > st.Position && ns.Kind != "lost" {
									a = true
								}
							}
						}
						if s.stage == st.ID && s.out != nil && in(*s.out) {
							exits++
							secs += s.out.Sub(s.in).Seconds()
						}
					}
					if e {
						entered++
					}
					if a {
						advanced++
					}
				}
				g := got.Stages[i]
				conv, avg := 0.0, 0.0
				if entered > 0 {
					conv = float64(advanced) / float64(entered)
				}
				if exits > 0 {
					avg = secs / float64(exits) / 86400
				}
				if g.StageID != st.ID || g.Entered != entered || g.Advanced != advanced || g.Conversion != conv || g.Exits != exits || math.Abs(g.AverageDays-avg) > 1e-9 {
					t.Errorf("stage %s: %+v, want entered %d advanced %d conversion %v exits %d days %v", st.NameEN, g, entered, advanced, conv, exits, avg)
				}
			}
			won, lost := 0, 0
			var cycle float64
			wonAmt := new(big.Rat)
			for _, d := range live {
				first := d.stays[0].in // the deal's creation (created_at)
				for _, s := range staysOf(d) {
					if !in(s.in) {
						continue
					}
					switch stageOf[s.stage].Kind {
					case "won":
						won++
						cycle += s.in.Sub(first).Seconds()
						wonAmt.Add(wonAmt, new(big.Rat).Mul(rat(s.amount), rateOf(d.currency, dayOf(d))))
					case "lost":
						lost++
					}
				}
			}
			rate, avgCycle, avgWon := 0.0, 0.0, "0.0000"
			if won+lost > 0 {
				rate = float64(won) / float64(won+lost)
			}
			if won > 0 {
				avgCycle = cycle / float64(won) / 86400
				avgWon = new(big.Rat).Quo(wonAmt, big.NewRat(int64(won), 1)).FloatString(4)
			}
			if got.Won != won || got.Lost != lost || got.WinRate != rate || math.Abs(got.CycleDays-avgCycle) > 1e-9 || got.WonAmount != wonAmt.FloatString(4) || got.AverageWon != avgWon {
				t.Errorf("closed: won %d lost %d rate %v cycle %v amount %s average %s; want %d %d %v %v %s %s", got.Won, got.Lost, got.WinRate, got.CycleDays, got.WonAmount, got.AverageWon,
					won, lost, rate, avgCycle, wonAmt.FloatString(4), avgWon)
			}
			if won == 0 || lost == 0 {
				t.Errorf("the generated history has %d wins and %d losses in the period; it should have both", won, lost)
			}

			// The forecast, by expected-close month and by owner.
			fc, err := m.Forecast(seller, c.id, aq)
			if err != nil {
				t.Fatal(err)
			}
			type fig struct {
				open                             int
				weighted, openAmt, commit, wonAt *big.Rat
			}
			newFig := func() *fig {
				return &fig{weighted: new(big.Rat), openAmt: new(big.Rat), commit: new(big.Rat), wonAt: new(big.Rat)}
			}
			months, byOwner := map[string]*fig{}, map[string]*fig{}
			ownerKey := func(o *uuid.UUID) string {
				if o == nil {
					return ""
				}
				return o.String()
			}
			undated := 0
			for _, d := range live {
				pipe, stage := current(d)
				st, ok := stageOf[stage]
				if pipe != c.pipeline.ID || !ok || st.Kind != "open" {
					continue
				}
				if d.close == nil {
					undated++
					continue
				}
				if *d.close < q.from || *d.close > q.to {
					continue
				}
				f := new(big.Rat).Mul(rat(d.amount()), rateOf(d.currency, funnel.Date(*d.close)))
				for _, k := range []string{"m" + (*d.close)[:7], "o" + ownerKey(d.owner)} {
					set := months
					if k[0] == 'o' {
						set = byOwner
					}
					x := set[k[1:]]
					if x == nil {
						x = newFig()
						set[k[1:]] = x
					}
					x.open++
					x.openAmt.Add(x.openAmt, f)
					x.weighted.Add(x.weighted, new(big.Rat).Mul(f, big.NewRat(int64(st.Probability), 100)))
					if st.Probability >= funnel.CommitProbability {
						x.commit.Add(x.commit, f)
					}
				}
			}
			for _, d := range live {
				for _, s := range staysOf(d) {
					if stageOf[s.stage].Kind != "won" || !in(s.in) {
						continue
					}
					f := new(big.Rat).Mul(rat(s.amount), rateOf(d.currency, dayOf(d)))
					for _, k := range []string{"m" + s.in.In(loc).Format("2006-01"), "o" + ownerKey(d.owner)} {
						set := months
						if k[0] == 'o' {
							set = byOwner
						}
						x := set[k[1:]]
						if x == nil {
							x = newFig()
							set[k[1:]] = x
						}
						x.wonAt.Add(x.wonAt, f)
					}
				}
			}
			str := func(x *fig) funnel.ForecastFigures {
				if x == nil {
					x = newFig()
				}
				return funnel.ForecastFigures{Open: x.open, Weighted: x.weighted.FloatString(4), BestCase: new(big.Rat).Add(x.wonAt, x.openAmt).FloatString(4),
					Committed: new(big.Rat).Add(x.wonAt, x.commit).FloatString(4), Won: x.wonAt.FloatString(4)}
			}
			if fc.Undated != undated || fc.Currency != "CNY" || fc.CommitProbability != funnel.CommitProbability {
				t.Errorf("forecast undated %d, want %d", fc.Undated, undated)
			}
			var wantMonths []string
			for mo := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, loc); mo.Before(end); mo = mo.AddDate(0, 1, 0) {
				wantMonths = append(wantMonths, mo.Format("2006-01"))
			}
			if len(fc.Months) != len(wantMonths) {
				t.Fatalf("months %+v, want %v", fc.Months, wantMonths)
			}
			past := 0
			for i, label := range wantMonths {
				g := fc.Months[i]
				if g.Month != label || g.ForecastFigures != str(months[label]) {
					t.Errorf("month %s: %+v, want %+v", label, g.ForecastFigures, str(months[label]))
				}
				mStart, _ := time.ParseInLocation("2006-01", label, loc)
				mEnd := mStart.AddDate(0, 1, 0)
				if isPast := !mEnd.After(now); g.Past != isPast || (g.ForecastAtStart != nil) != isPast {
					t.Errorf("month %s: past %v, at start %v", label, g.Past, g.ForecastAtStart)
					continue
				} else if !isPast {
					continue
				}
				past++
				first, last := mStart.Format("2006-01-02"), mEnd.AddDate(0, 0, -1).Format("2006-01-02")
				want := new(big.Rat)
				for _, d := range live {
					if d.close == nil || *d.close < first || *d.close > last {
						continue
					}
					for _, s := range staysOf(d) {
						st := stageOf[s.stage]
						if st.Kind == "open" && s.in.Before(mStart) && (s.out == nil || !s.out.Before(mStart)) {
							f := new(big.Rat).Mul(rat(s.amount), rateOf(d.currency, funnel.Date(*d.close)))
							want.Add(want, f.Mul(f, big.NewRat(int64(st.Probability), 100)))
						}
					}
				}
				if *g.ForecastAtStart != want.FloatString(4) {
					t.Errorf("month %s: forecast at start %s, want %s", label, *g.ForecastAtStart, want.FloatString(4))
				}
			}
			if q.from == "2026-09-01" && past < 2 {
				t.Errorf("only %d past months checked", past)
			}
			var keys []string
			for k := range byOwner {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if len(fc.Owners) != len(keys) {
				t.Fatalf("owners %+v, want %v", fc.Owners, keys)
			}
			for i, k := range keys {
				if g := fc.Owners[i]; ownerKey(g.OwnerID) != k || g.ForecastFigures != str(byOwner[k]) {
					t.Errorf("owner %q: %+v, want %+v", k, g, str(byOwner[k]))
				}
			}
		})
	}

	// A win in a currency without a rate makes the figures refuse, naming it.
	gbp, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "gbp", CustomerID: c.customer, Amount: "10", Currency: "GBP"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.MoveDeal(seller, c.id, gbp.ID, funnel.MoveInput{StageID: c.stage("Won"), Version: 1}); err != nil {
		t.Fatal(err)
	}
	var e *errs.Error
	for name, call := range map[string]func() error{
		"analytics": func() error {
			_, err := m.Analytics(seller, c.id, funnel.AnalyticsQuery{Pipeline: c.pipeline.ID})
			return err
		},
		"forecast": func() error {
			_, err := m.Forecast(seller, c.id, funnel.AnalyticsQuery{Pipeline: c.pipeline.ID})
			return err
		},
	} {
		if err := call(); !errs.Is(err, errs.Conflict) || !errors.As(err, &e) || e.Errors[0].Value != "GBP" {
			t.Errorf("%s with a GBP win and no GBP rate: %v", name, err)
		}
	}
}
