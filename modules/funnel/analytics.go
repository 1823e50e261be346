package funnel

import (
	"context"
	"math/big"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/errs"
)

// The analytics and the forecast are computed from the stage history, for
// one pipeline, optionally one owner, over a period of days in the company's
// time zone, under the actor's scope. They are exported as plain functions
// and types so another module (BI) can call them through an interface the
// platform declares, without importing the funnel's routes.
//
// Definitions, which the brute-force test follows too:
//   - A deal counts when it is live (not deleted), in the actor's scope and,
//     with an owner given, owned by them now. Its stays in the pipeline's
//     current stages are what is counted.
//   - The period is [From 00:00, To+1 00:00) in the company's time zone.
//   - Entered(S): deals with a stay in S that began in the period.
//     Advanced(S): of those, the deals that after that entry entered a
//     stage placed after S that is not a lost one. Conversion = Advanced /
//     Entered.
//   - Stage time: the stays in S that ended in the period, their mean length.
//   - Won and Lost: entries into won and lost stages in the period; win rate
//     = Won / (Won + Lost).
//   - Sales cycle: for each win, the time from the deal's creation to the
//     win; its mean.
//   - Amounts are in the company's currency: an amount converts with the
//     rate in force on its deal's expected close date (today, in the
//     company's time zone, when it has none). A win's amount is the amount
//     the deal had when it entered the won stage.

// AnalyticsQuery selects what the analytics cover.
type AnalyticsQuery struct {
	Pipeline uuid.UUID
	Owner    *uuid.UUID // nil: every owner the actor sees
	From, To Date       // inclusive days in the company's time zone; empty: the 12 months to the current one
}

// Analytics are a pipeline's figures over a period.
type Analytics struct {
	PipelineID uuid.UUID        `json:"pipeline_id"`
	OwnerID    *uuid.UUID       `json:"owner_id,omitempty"`
	From       Date             `json:"from"`
	To         Date             `json:"to"`
	TimeZone   string           `json:"time_zone" doc:"the company's time zone, in which the period's days begin and end"`
	Currency   string           `json:"currency" doc:"the company's currency, which every amount is in"`
	Stages     []StageAnalytics `json:"stages" doc:"the pipeline's stages in order"`
	Won        int              `json:"won" doc:"entries into a won stage in the period"`
	Lost       int              `json:"lost" doc:"entries into a lost stage in the period"`
	WinRate    float64          `json:"win_rate" doc:"won / (won + lost); 0 when nothing closed"`
	CycleDays  float64          `json:"cycle_days" doc:"mean days from a deal's creation to its win, over the period's wins"`
	WonAmount  string           `json:"won_amount" doc:"the sum of the period's wins"`
	AverageWon string           `json:"average_won" doc:"the mean deal size of the period's wins"`
	Rates      []RateUsed       `json:"rates" doc:"the exchange rates the amounts converted with"`
	Rebuilding bool             `json:"rebuilding" doc:"the pipeline's daily figures are being rebuilt (after a change of its stages or of the time zone): a pipeline of up to 20,000 deals has them computed from the history meanwhile (the same figures, more slowly); a bigger one gets them as they stood before the change, with every change since, until the rebuild ends"`
}

// StageAnalytics are one stage's figures over the period.
type StageAnalytics struct {
	StageID     uuid.UUID `json:"stage_id"`
	Entered     int       `json:"entered" doc:"deals that entered the stage in the period"`
	Advanced    int       `json:"advanced" doc:"of those, deals that went on to a later stage that is not a lost one"`
	Conversion  float64   `json:"conversion" doc:"advanced / entered; 0 when none entered"`
	Exits       int       `json:"exits" doc:"stays in the stage that ended in the period"`
	AverageDays float64   `json:"average_days" doc:"their mean length in days"`
}

// Forecast is a pipeline's expected revenue by expected-close month and by
// owner, with what was won, and for past months the forecast as it stood
// when the month began.
type Forecast struct {
	PipelineID        uuid.UUID       `json:"pipeline_id"`
	OwnerID           *uuid.UUID      `json:"owner_id,omitempty"`
	From              Date            `json:"from"`
	To                Date            `json:"to"`
	TimeZone          string          `json:"time_zone"`
	Currency          string          `json:"currency"`
	CommitProbability int             `json:"commit_probability" doc:"open deals in stages of at least this probability count as committed"`
	Months            []ForecastMonth `json:"months"`
	Owners            []ForecastOwner `json:"owners"`
	Undated           int             `json:"undated" doc:"open deals without an expected close, left out of the months"`
	Rates             []RateUsed      `json:"rates"`
}

// ForecastFigures are the amounts of a month or an owner, in the company's
// currency. Open deals count by their expected close in the period; wins by
// the day they were won in it.
type ForecastFigures struct {
	Open      int    `json:"open" doc:"open deals expected to close"`
	Weighted  string `json:"weighted" doc:"open amounts weighted by their stage's probability"`
	BestCase  string `json:"best_case" doc:"won plus every open amount"`
	Committed string `json:"committed" doc:"won plus the open amounts in stages of at least commit_probability"`
	Won       string `json:"won" doc:"won in the period (by the day of the win)"`
}

// ForecastMonth is one calendar month of the period.
type ForecastMonth struct {
	Month string `json:"month" doc:"YYYY-MM"`
	ForecastFigures
	Past bool `json:"past" doc:"the month is over"`
	// ForecastAtStart is, for a past month, the weighted amount of the deals
	// that were open when it began and are expected to close in it, each with
	// the amount it had entered its stage with then.
	ForecastAtStart *string `json:"forecast_at_start,omitempty" doc:"past months: the weighted forecast as it stood when the month began, to hold won against"`
}

// ForecastOwner is one owner's figures over the whole period.
type ForecastOwner struct {
	OwnerID *uuid.UUID `json:"owner_id,omitempty" doc:"absent: deals nobody owns"`
	ForecastFigures
}

// CommitProbability is the stage probability from which open deals count as
// committed.
const CommitProbability = 75

// maxPeriodDays bounds a period: two years of days.
const maxPeriodDays = 731

// period is a query's days resolved in the company's time zone.
type period struct {
	from, to   Date
	start, end time.Time
	loc        *time.Location
	today      Date
	months     []month
}

type month struct {
	label      string
	start, end time.Time // the whole month
	first      Date
	last       Date
}

// resolvePeriod checks from and to (query.from, query.to) and computes the
// instants and months they span in loc.
func resolvePeriod(from, to Date, loc *time.Location, now time.Time) (*period, error) {
	n := now.In(loc)
	p := &period{loc: loc, today: Date(n.Format("2006-01-02"))}
	if from == "" {
		from = Date(time.Date(n.Year(), n.Month()-11, 1, 0, 0, 0, 0, loc).Format("2006-01-02"))
	}
	if to == "" {
		to = Date(time.Date(n.Year(), n.Month()+1, 0, 0, 0, 0, 0, loc).Format("2006-01-02"))
	}
	if err := checkDate(string(from), "query.from"); err != nil {
		return nil, err
	}
	if err := checkDate(string(to), "query.to"); err != nil {
		return nil, err
	}
	f, _ := time.ParseInLocation("2006-01-02", string(from), loc)
	t, _ := time.ParseInLocation("2006-01-02", string(to), loc)
	if t.Before(f) {
		return nil, errs.Field("query.to", "must be on or after from")
	}
	if t.Sub(f) > maxPeriodDays*24*time.Hour {
		return nil, errs.Field("query.to", "a period spans at most two years")
	}
	p.from, p.to = from, to
	p.start, p.end = f, time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	for m := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, loc); m.Before(p.end); m = time.Date(m.Year(), m.Month()+1, 1, 0, 0, 0, 0, loc) {
		next := time.Date(m.Year(), m.Month()+1, 1, 0, 0, 0, 0, loc)
		p.months = append(p.months, month{label: m.Format("2006-01"), start: m, end: next,
			first: Date(m.Format("2006-01-02")), last: Date(next.AddDate(0, 0, -1).Format("2006-01-02"))})
	}
	return p, nil
}

// historyQuery selects the pipeline's stays (h) in its current stages (s)
// of the live deals (d) the actor sees, of owner if given.
func historyQuery(ctx context.Context, tx bun.Tx, tenant, pipeline uuid.UUID, owner *uuid.UUID) *bun.SelectQuery {
	q := tx.NewSelect().TableExpr("deal_stage_history AS h").
		Join("JOIN pipeline_stages AS s ON s.tenant_id = h.tenant_id AND s.id = h.stage_id AND s.pipeline_id = h.pipeline_id").
		Join("JOIN deals AS d ON d.tenant_id = h.tenant_id AND d.id = h.deal_id").
		Where("h.tenant_id = ? AND h.pipeline_id = ? AND d.deleted_at IS NULL", tenant, pipeline)
	if owner != nil {
		q = q.Where("d.owner_id = ?", *owner)
	}
	return inScope(ctx, q, "d.owner_id")
}

// analysis is what Analytics and Forecast share: the pipeline, the period,
// the rates and the wins of the period.
type analysis struct {
	pipeline *Pipeline
	base     string
	zone     string
	p        *period
	rates    *Rates
	wins     []winRow
	// rebuilding: the pipeline's figures are being rebuilt. live: so they
	// are computed from the history (slower, as right), which a pipeline of
	// up to liveDeals deals affords; a bigger one reads its figures as they
	// stand (before the change, with every change since) until the swap.
	rebuilding, live bool
}

// liveDeals is the largest pipeline whose analytics are computed from the
// history while its figures are rebuilt: at 167,000 deals that takes longer
// than a request may.
const liveDeals = 20_000

type winRow struct {
	Currency string     `bun:"currency"`
	Day      Date       `bun:"on_day"`
	Month    string     `bun:"month"`
	Owner    *uuid.UUID `bun:"owner_id"`
	N        int        `bun:"n"`
	Amount   string     `bun:"amount"`
}

func (m *Module) analyse(ctx context.Context, tx bun.Tx, tenant uuid.UUID, q AnalyticsQuery) (*analysis, error) {
	pl, err := loadPipeline(ctx, tx, tenant, q.Pipeline, false)
	if err != nil {
		return nil, err
	}
	a := &analysis{pipeline: pl}
	var loc *time.Location
	if a.rates, loc, err = loadMoney(ctx, tx, tenant); err != nil {
		return nil, err
	}
	a.base = a.rates.Base
	a.zone = loc.String()
	if a.p, err = resolvePeriod(q.From, q.To, loc, time.Now()); err != nil {
		return nil, err
	}
	if err := rollupZone(ctx, tx, tenant, a.zone); err != nil {
		return nil, err
	}
	if a.rebuilding, err = rebuilding(ctx, tx, tenant, q.Pipeline); err != nil {
		return nil, err
	}
	if a.rebuilding {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM (SELECT 1 FROM deals WHERE tenant_id = ? AND pipeline_id = ? LIMIT ?) x", tenant, q.Pipeline, liveDeals+1).Scan(ctx, &n); err != nil {
			return nil, err
		}
		a.live = n <= liveDeals
	}
	err = a.daily(ctx, tx, tenant, q.Owner).
		ColumnExpr("r.currency, coalesce(r.close_day, ?::date) AS on_day, to_char(r.day, 'YYYY-MM') AS month, r.owner_id, sum(r.n) AS n, sum(r.amount)::text AS amount", a.p.today).
		Where("r.metric = 'won' AND r.day BETWEEN ?::date AND ?::date", a.p.from, a.p.to).
		GroupExpr("r.currency, on_day, month, r.owner_id").Having("sum(r.n) <> 0 OR sum(r.amount) <> 0").
		OrderExpr("month, r.owner_id, r.currency, on_day").Scan(ctx, &a.wins)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// daily selects the pipeline's rows of funnel_daily (r) in its current
// stages, of owner if given, in the actor's scope.
func (a *analysis) daily(ctx context.Context, tx bun.Tx, tenant uuid.UUID, owner *uuid.UUID) *bun.SelectQuery {
	ids := make([]uuid.UUID, len(a.pipeline.Stages))
	for i, s := range a.pipeline.Stages {
		ids[i] = s.ID
	}
	q := tx.NewSelect().TableExpr("funnel_daily AS r").Where("r.tenant_id = ? AND r.pipeline_id = ?", tenant, a.pipeline.ID)
	if a.live {
		q = tx.NewSelect().TableExpr("funnel_daily_rows(?, NULL, ?) AS r", tenant, a.pipeline.ID)
	}
	if len(ids) > 0 {
		q = q.Where("r.stage_id IN (?)", bun.In(ids))
	}
	if owner != nil {
		q = q.Where("r.owner_id = ?", *owner)
	}
	return inScope(ctx, q, "r.owner_id")
}

// Analytics computes a pipeline's conversion, win rate, stage times, sales
// cycle and deal size over a period from its stage history.
func (m *Module) Analytics(ctx context.Context, tenant uuid.UUID, q AnalyticsQuery) (*Analytics, error) {
	var out *Analytics
	err := m.inTx(ctx, tenant, PermRead, "analytics", func(ctx context.Context, tx bun.Tx) error {
		a, err := m.analyse(ctx, tx, tenant, q)
		if err != nil {
			return err
		}
		p := a.p
		out = &Analytics{PipelineID: q.Pipeline, OwnerID: q.Owner, From: p.from, To: p.to, TimeZone: a.zone, Currency: a.base, Rebuilding: a.rebuilding}
		// Per stage and metric, over the period's days. A deal that entered
		// a stage twice in the period counts once: the pairs of its
		// consecutive entries with both days in the period come off.
		var sums []struct {
			StageID uuid.UUID `bun:"stage_id"`
			Metric  string    `bun:"metric"`
			N       int       `bun:"n"`
			Seconds string    `bun:"seconds"`
		}
		err = a.daily(ctx, tx, tenant, q.Owner).
			ColumnExpr("r.stage_id, r.metric, sum(r.n) AS n, sum(r.seconds)::text AS seconds").
			Where("r.day BETWEEN ?::date AND ?::date", p.from, p.to).
			Where("(r.metric NOT IN ('entry_pair', 'adv_pair') OR r.day2 >= ?::date)", p.from).
			GroupExpr("r.stage_id, r.metric").Scan(ctx, &sums)
		if err != nil {
			return err
		}
		type stageSums struct {
			entered, advanced, exits int
			exitSeconds              big.Rat
		}
		per := map[uuid.UUID]*stageSums{}
		for _, s := range a.pipeline.Stages {
			per[s.ID] = &stageSums{}
		}
		var cycle big.Rat
		for _, x := range sums {
			s := per[x.StageID]
			if s == nil {
				continue
			}
			secs := rat(x.Seconds)
			switch x.Metric {
			case "entry":
				s.entered += x.N
			case "entry_pair":
				s.entered -= x.N
			case "adv":
				s.advanced += x.N
			case "adv_pair":
				s.advanced -= x.N
			case "exit":
				s.exits += x.N
				s.exitSeconds.Add(&s.exitSeconds, secs)
			case "won":
				out.Won += x.N
				cycle.Add(&cycle, secs)
			case "lost":
				out.Lost += x.N
			}
		}
		for _, s := range a.pipeline.Stages {
			out.Stages = append(out.Stages, StageAnalytics{StageID: s.ID})
		}
		for i := range out.Stages {
			st := &out.Stages[i]
			x := per[st.StageID]
			st.Entered, st.Advanced = x.entered, x.advanced
			st.Conversion = ratio(float64(x.advanced), float64(x.entered))
			st.Exits = x.exits
			secs, _ := x.exitSeconds.Float64()
			st.AverageDays = ratio(secs, float64(x.exits)) / 86400
		}
		secs, _ := cycle.Float64()
		out.CycleDays = ratio(secs, float64(out.Won)) / 86400
		out.WinRate = ratio(float64(out.Won), float64(out.Won+out.Lost))
		var won money
		for _, w := range a.wins {
			f, err := a.rates.At(w.Currency, w.Day)
			if err != nil {
				return err
			}
			won.add(w.Amount, f)
		}
		out.WonAmount, out.AverageWon = won.String(), "0.0000"
		if out.Won > 0 {
			out.AverageWon = new(big.Rat).Quo(&won.v, big.NewRat(int64(out.Won), 1)).FloatString(4)
		}
		out.Rates = a.rates.Used()
		return nil
	})
	return out, err
}

// instant writes a time for a timestamptz array.
func instant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// figures sums a month's or an owner's amounts.
type figures struct {
	open                         int
	weighted, open_, commit, won money
}

func (f *figures) out() ForecastFigures {
	best, committed := new(big.Rat).Add(&f.won.v, &f.open_.v), new(big.Rat).Add(&f.won.v, &f.commit.v)
	return ForecastFigures{Open: f.open, Weighted: f.weighted.String(), BestCase: best.FloatString(4), Committed: committed.FloatString(4), Won: f.won.String()}
}

// Forecast computes a pipeline's weighted, best-case and committed amounts by
// expected-close month and by owner over a period, with the wins, and for
// the months that are over the weighted forecast as it stood when each
// began.
func (m *Module) Forecast(ctx context.Context, tenant uuid.UUID, q AnalyticsQuery) (*Forecast, error) {
	var out *Forecast
	err := m.inTx(ctx, tenant, PermRead, "forecast", func(ctx context.Context, tx bun.Tx) error {
		a, err := m.analyse(ctx, tx, tenant, q)
		if err != nil {
			return err
		}
		p := a.p
		out = &Forecast{PipelineID: q.Pipeline, OwnerID: q.Owner, From: p.from, To: p.to, TimeZone: a.zone, Currency: a.base, CommitProbability: CommitProbability}
		var open []struct {
			Currency    string     `bun:"currency"`
			Close       *Date      `bun:"expected_close"`
			Owner       *uuid.UUID `bun:"owner_id"`
			Probability int        `bun:"probability"`
			N           int        `bun:"n"`
			Amount      string     `bun:"amount"`
		}
		oq := tx.NewSelect().TableExpr("deals AS d").
			Join("JOIN pipeline_stages AS s ON s.tenant_id = d.tenant_id AND s.id = d.stage_id").
			Where("d.tenant_id = ? AND d.pipeline_id = ? AND d.deleted_at IS NULL AND s.kind = ?", tenant, q.Pipeline, KindOpen).
			Where("(d.expected_close IS NULL OR d.expected_close BETWEEN ?::date AND ?::date)", p.from, p.to)
		if q.Owner != nil {
			oq = oq.Where("d.owner_id = ?", *q.Owner)
		}
		err = inScope(ctx, oq, "d.owner_id").
			ColumnExpr("d.currency, d.expected_close, d.owner_id, s.probability, count(*) AS n, sum(d.amount)::text AS amount").
			GroupExpr("d.currency, d.expected_close, d.owner_id, s.probability").OrderExpr("d.expected_close, d.owner_id, d.currency, s.probability").Scan(ctx, &open)
		if err != nil {
			return err
		}
		months := map[string]*figures{}
		owners := map[uuid.UUID]*figures{}
		var ownerIDs []*uuid.UUID
		ownerOf := func(id *uuid.UUID) *figures {
			k := uuid.Nil
			if id != nil {
				k = *id
			}
			f := owners[k]
			if f == nil {
				f = &figures{}
				owners[k] = f
				ownerIDs = append(ownerIDs, id)
			}
			return f
		}
		for _, mo := range p.months {
			months[mo.label] = &figures{}
		}
		prob := func(pr int) *big.Rat { return big.NewRat(int64(pr), 100) }
		for _, o := range open {
			if o.Close == nil {
				out.Undated += o.N
				continue
			}
			f, err := a.rates.At(o.Currency, *o.Close)
			if err != nil {
				return err
			}
			mo := months[string(*o.Close)[:7]]
			for _, fig := range []*figures{mo, ownerOf(o.Owner)} {
				if fig == nil {
					continue
				}
				fig.open += o.N
				fig.open_.add(o.Amount, f)
				fig.weighted.add(o.Amount, new(big.Rat).Mul(f, prob(o.Probability)))
				if o.Probability >= CommitProbability {
					fig.commit.add(o.Amount, f)
				}
			}
		}
		for _, w := range a.wins {
			f, err := a.rates.At(w.Currency, w.Day)
			if err != nil {
				return err
			}
			for _, fig := range []*figures{months[w.Month], ownerOf(w.Owner)} {
				if fig != nil {
					fig.won.add(w.Amount, f)
				}
			}
		}
		// The past months' forecast as it stood at each month's start.
		now := time.Now()
		var starts, firsts, lasts []string
		for _, mo := range p.months {
			if !mo.end.After(now) {
				starts, firsts, lasts = append(starts, instant(mo.start)), append(firsts, string(mo.first)), append(lasts, string(mo.last))
			}
		}
		atStart := map[string]*money{}
		if len(starts) > 0 {
			var rows []struct {
				Month       string `bun:"month"`
				Currency    string `bun:"currency"`
				Close       Date   `bun:"expected_close"`
				Probability int    `bun:"probability"`
				Amount      string `bun:"amount"`
			}
			err = historyQuery(ctx, tx, tenant, q.Pipeline, q.Owner).
				Join("JOIN (SELECT unnest(?::timestamptz[]) AS m_start, unnest(?::date[]) AS m_first, unnest(?::date[]) AS m_last) AS m ON h.entered_at < m.m_start AND (h.exited_at IS NULL OR h.exited_at >= m.m_start) AND d.expected_close BETWEEN m.m_first AND m.m_last",
					pgdialect.Array(starts), pgdialect.Array(firsts), pgdialect.Array(lasts)).
				ColumnExpr("to_char(m.m_first, 'YYYY-MM') AS month, h.currency, d.expected_close, s.probability, sum(h.entry_amount)::text AS amount").
				Where("s.kind = ?", KindOpen).
				GroupExpr("m.m_first, h.currency, d.expected_close, s.probability").Scan(ctx, &rows)
			if err != nil {
				return err
			}
			for _, x := range firsts {
				atStart[x[:7]] = &money{}
			}
			for _, r := range rows {
				f, err := a.rates.At(r.Currency, r.Close)
				if err != nil {
					return err
				}
				atStart[r.Month].add(r.Amount, new(big.Rat).Mul(f, prob(r.Probability)))
			}
		}
		for _, mo := range p.months {
			fm := ForecastMonth{Month: mo.label, ForecastFigures: months[mo.label].out()}
			if s, ok := atStart[mo.label]; ok {
				fm.Past = true
				v := s.String()
				fm.ForecastAtStart = &v
			}
			out.Months = append(out.Months, fm)
		}
		sort.Slice(ownerIDs, func(i, j int) bool {
			if ownerIDs[i] == nil || ownerIDs[j] == nil {
				return ownerIDs[i] == nil && ownerIDs[j] != nil
			}
			return ownerIDs[i].String() < ownerIDs[j].String()
		})
		out.Owners = []ForecastOwner{}
		for _, id := range ownerIDs {
			out.Owners = append(out.Owners, ForecastOwner{OwnerID: id, ForecastFigures: ownerOf(id).out()})
		}
		out.Rates = a.rates.Used()
		return nil
	})
	return out, err
}
