package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The soak's request kinds, reported apart so that a drift names its cause.
const (
	soakList = iota
	soakSearch
	soakRead
	soakCreate
	soakChange
	soakKinds
)

var soakKindNames = [soakKinds]string{"list", "search", "read", "create", "change"}

type soakLatency struct {
	d    time.Duration
	kind int
}

// loopbackPprof checks that addr is a loopback address, for -pprof.
func loopbackPprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("drill soak: -pprof %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("drill soak: -pprof %q: only a loopback address", addr)
	}
	return nil
}

// statementStats reads pg_stat_statements of the drill's database.
type statementStats struct{ conn *pgx.Conn }

type statementStat struct {
	calls int64
	total float64 // ms
	query string
}

func openStatementStats(ctx context.Context, url string) (*statementStats, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("drill soak: pg_stat_statements: %w", err)
	}
	return &statementStats{conn: conn}, nil
}

func (s *statementStats) close() { _ = s.conn.Close(context.Background()) }

// snapshot is the cumulative figures of every statement run in the database.
func (s *statementStats) snapshot(ctx context.Context) (map[int64]statementStat, error) {
	rows, err := s.conn.Query(ctx, `SELECT queryid, calls, total_exec_time, query FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]statementStat{}
	for rows.Next() {
		var id int64
		var st statementStat
		if err := rows.Scan(&id, &st.calls, &st.total, &st.query); err != nil {
			return nil, err
		}
		e := out[id]
		e.calls, e.total, e.query = e.calls+st.calls, e.total+st.total, st.query
		out[id] = e
	}
	return out, rows.Err()
}

// printStatementDrift prints the statements that took the most database time
// in the last judged minute (b0 to b1), beside the first (a0 to a1): calls and
// mean time in each, so a statement that slows as the data grows stands out.
func printStatementDrift(out io.Writer, a0, a1, b0, b1 map[int64]statementStat) {
	diff := func(x, y map[int64]statementStat, id int64) (int64, float64) {
		return y[id].calls - x[id].calls, y[id].total - x[id].total
	}
	type row struct {
		id             int64
		callsA, callsB int64
		totalA, totalB float64
	}
	var rows []row
	var sumA, sumB float64
	for id := range b1 {
		r := row{id: id}
		r.callsA, r.totalA = diff(a0, a1, id)
		r.callsB, r.totalB = diff(b0, b1, id)
		sumA, sumB = sumA+r.totalA, sumB+r.totalB
		if r.callsB > 0 {
			rows = append(rows, r)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].totalB > rows[j].totalB })
	fmt.Fprintf(out, "drill soak: database time, first block → last block: %.1f s → %.1f s; the statements that took the most in the last:\n", sumA/1000, sumB/1000)
	mean := func(t float64, c int64) float64 {
		if c == 0 {
			return 0
		}
		return t / float64(c)
	}
	for _, r := range rows[:min(12, len(rows))] {
		q := strings.Join(strings.Fields(b1[r.id].query), " ")
		if len(q) > 160 {
			q = q[:160] + "…"
		}
		fmt.Fprintf(out, "drill soak:   %6.1f s → %6.1f s, %6d → %6d calls, mean %7.2f → %7.2f ms: %s\n",
			r.totalA/1000, r.totalB/1000, r.callsA, r.callsB, mean(r.totalA, r.callsA), mean(r.totalB, r.callsB), q)
	}
}

// parseGoroutineGroups reads a goroutine profile in its text form (debug=1).
// The names are copied out of it: a name that kept pointing into the text
// would keep the whole profile alive with each window that holds it.
func parseGoroutineGroups(text string) map[string]int {
	out := map[string]int{}
	for _, rec := range strings.Split(text, "\n\n") {
		lines := strings.Split(strings.TrimSpace(rec), "\n")
		if strings.HasPrefix(lines[0], "goroutine profile:") {
			lines = lines[1:] // the header shares the first group's record
		}
		if len(lines) < 2 {
			continue
		}
		n, err := strconv.Atoi(strings.Fields(lines[0] + " x")[0])
		if err != nil {
			continue
		}
		last := strings.Fields(lines[len(lines)-1])
		if len(last) < 3 || last[0] != "#" {
			continue
		}
		fn := last[2]
		if i := strings.LastIndex(fn, "+0x"); i > 0 {
			fn = fn[:i]
		}
		out[strings.Clone(fn)] += n
	}
	return out
}

// soakProcFigures is a process's figures averaged over a block of windows.
type soakProcFigures struct {
	rss, heapInuse, heapKept, stacks float64
	goroutines, conns, own           float64 // own: goroutines serving neither a connection nor a transaction
	groups                           map[string]float64
}

// soakProcAverage averages process i's samples over the windows.
func soakProcAverage(ws []soakWindow, i int) soakProcFigures {
	f := soakProcFigures{groups: map[string]float64{}}
	n := 0
	for _, w := range ws {
		if i >= len(w.procs) {
			continue
		}
		p := w.procs[i]
		n++
		f.rss += float64(p.rss)
		f.heapInuse += float64(p.heapInuse)
		f.heapKept += float64(p.heapKept)
		f.stacks += float64(p.stacks)
		f.goroutines += float64(p.goroutines)
		f.conns += float64(p.conns)
		f.own += float64(p.goroutines - connectionGoroutines(p.groups))
		for g, c := range p.groups {
			f.groups[g] += float64(c)
		}
	}
	if n == 0 {
		return f
	}
	d := float64(n)
	f.rss, f.heapInuse, f.heapKept, f.stacks = f.rss/d, f.heapInuse/d, f.heapKept/d, f.stacks/d
	f.goroutines, f.conns, f.own = f.goroutines/d, f.conns/d, f.own/d
	for g := range f.groups {
		f.groups[g] /= d
	}
	return f
}

// printMemoryDrift prints process i's Go memory and the goroutine groups
// that changed most, first judged block against last (each averaged over
// its windows), so that an RSS or goroutine drift names where it is.
func printMemoryDrift(out io.Writer, name string, a, b []soakWindow, i int) {
	fa, fb := soakProcAverage(a, i), soakProcAverage(b, i)
	fmt.Fprintf(out, "drill soak:   %s's Go memory: heap in use %.1f → %.1f MB, heap kept unused %.1f → %.1f MB, stacks %.1f → %.1f MB\n",
		name, fa.heapInuse/1e6, fb.heapInuse/1e6, fa.heapKept/1e6, fb.heapKept/1e6, fa.stacks/1e6, fb.stacks/1e6)
	type change struct {
		fn   string
		a, b float64
	}
	var cs []change
	for g := range fa.groups {
		cs = append(cs, change{g, fa.groups[g], fb.groups[g]})
	}
	for g := range fb.groups {
		if _, ok := fa.groups[g]; !ok {
			cs = append(cs, change{g, 0, fb.groups[g]})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		di, dj := math.Abs(cs[i].b-cs[i].a), math.Abs(cs[j].b-cs[j].a)
		if di != dj {
			return di > dj
		}
		return cs[i].fn < cs[j].fn
	})
	for _, c := range cs[:min(6, len(cs))] {
		fmt.Fprintf(out, "drill soak:     %s's goroutines in %s: %.1f → %.1f\n", name, c.fn, c.a, c.b)
	}
}

// soakQuantiles is the p50 and p99 of a window's latencies.
func soakQuantiles(lat []soakLatency) (p50, p99 time.Duration) {
	d := make([]time.Duration, len(lat))
	for i, l := range lat {
		d[i] = l.d
	}
	return quantile(d, 0.5), quantile(d, 0.99)
}

// printSoakTimeline prints the run minute by minute: requests a second, the
// median of its windows' p50 and the highest of their p99, the most
// requests waiting or in flight, and serve's RSS, so a drift shows when it
// began and whether it came slowly or at once.
func printSoakTimeline(out io.Writer, ws []soakWindow, warmup time.Duration) {
	for from := 0; from < len(ws); from += 6 {
		m := ws[from:min(from+6, len(ws))]
		var p50s []time.Duration
		var p99 time.Duration
		var queued int64
		reqs := 0
		for _, w := range m {
			p50s = append(p50s, w.p50)
			p99 = max(p99, w.p99)
			queued = max(queued, w.queued)
			reqs += w.requests
		}
		rss := 0.0
		if len(m[len(m)-1].procs) > 0 {
			rss = float64(m[len(m)-1].procs[0].rss) / 1e6
		}
		mark := ""
		if m[0].at <= warmup {
			mark = " (warm-up)"
		}
		fmt.Fprintf(out, "drill soak:   minute %2d%s: %.0f/s, p50 %s, p99 %s, at most %d waiting or in flight, serve's RSS %.0f MB\n",
			from/6+1, mark, float64(reqs)/(10*float64(len(m))), ms(quantile(p50s, 0.5)), ms(p99), queued, rss)
	}
}
