package bi_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/bi"
	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/modules/tickets"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/measures"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func newBIModules(t *testing.T) module.Set {
	env := testkit.Get(t)
	return module.Set{
		profiles.New(profiles.Deps{DB: env.App, Log: testkit.Quiet}),
		funnel.New(funnel.Deps{DB: env.App, Records: records.NewRegistry(), Log: testkit.Quiet}),
		tickets.New(tickets.Deps{DB: env.App, Log: testkit.Quiet}),
	}
}

func newBI(t *testing.T) *bi.Module {
	return bi.New(bi.Deps{DB: testkit.Get(t).App, Modules: newBIModules(t), Log: testkit.Quiet})
}

var allPerms = []string{bi.PermRead, bi.PermManage, profiles.PermRead, funnel.PermRead, tickets.PermRead}

// as is a request of w's company by a member with the scope and permissions.
func (w *world) as(id uuid.UUID, scope authz.Scope, perms ...string) context.Context {
	p := map[string]bool{}
	for _, k := range perms {
		p[k] = true
	}
	ctx := authz.WithActor(context.Background(), authz.Actor{ID: id, Kind: authz.ActorUser, Permissions: p, Scope: scope})
	return tenancy.With(ctx, tenancy.Tenant{ID: w.tenant, Slug: w.slug, TimeZone: w.loc.String(), Currency: w.currency})
}

// got turns an answer into group key -> value, the key as expect makes it.
func got(t *testing.T, res *measures.Result, dims, bucketKeys []string, previous bool) map[string]*string {
	t.Helper()
	idx := map[string]int{}
	for i, k := range bucketKeys {
		idx[k] = i
	}
	out := map[string]*string{}
	for _, r := range res.Rows {
		i := 0
		var rest []string
		for j, d := range dims {
			if d == "time" {
				n, ok := idx[r.Keys[j]]
				if !ok {
					t.Fatalf("bucket %q is not one of %v", r.Keys[j], bucketKeys)
				}
				i = n
				continue
			}
			rest = append(rest, r.Keys[j])
		}
		g := fmt.Sprint(i, "|", strings.Join(rest, "|"))
		if _, dup := out[g]; dup {
			t.Fatalf("group %q twice", g)
		}
		if previous {
			out[g] = r.Previous
		} else {
			out[g] = r.Value
		}
	}
	return out
}

func same(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	x, err1 := strconv.ParseFloat(*a, 64)
	y, err2 := strconv.ParseFloat(*b, 64)
	return err1 == nil && err2 == nil && (x-y < 0.00051 && y-x < 0.00051)
}

func show(v *string) string {
	if v == nil {
		return "null"
	}
	return *v
}

// compare fails on any group whose value differs, and on groups only one
// side has. A missing group counts as 0 when absent is "0", as no value
// when it is "null" (a previous period), and is an error when "".
func compare(t *testing.T, what string, want, have map[string]*string, absent string) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	zero := "0"
	bad := 0
	for _, k := range keys {
		w, okw := want[k]
		h, okh := have[k]
		switch {
		case absent == "0":
			if !okw {
				w = &zero
			}
			if !okh {
				h = &zero
			}
		case absent == "null":
		case okw != okh:
			t.Errorf("%s: group %q: want %s (present %v), have %s (present %v)", what, k, show(w), okw, show(h), okh)
			bad++
			continue
		}
		if !same(w, h) {
			t.Errorf("%s: group %q: want %s, have %s", what, k, show(w), show(h))
			bad++
		}
		if bad > 5 {
			t.FailNow()
		}
	}
}

type span2 struct{ from, to, pfrom, pto string }

// check asks every metric on every dimension (time in each bucket size), with
// the previous period, and holds each answer to the brute force.
func (w *world) check(t *testing.T, m *bi.Module, ctx context.Context, actor *authz.Actor, ranges []span2, weekStart time.Weekday) int {
	t.Helper()
	brute := w.brute()
	infos, err := m.ListMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != len(brute) {
		t.Fatalf("%d metrics offered, the brute force knows %d", len(infos), len(brute))
	}
	asked := 0
	for _, info := range infos {
		bm, ok := brute[info.Key]
		if !ok {
			t.Fatalf("no brute force for %s", info.Key)
		}
		var dimsets [][]string
		var buckets []string
		dimsets = append(dimsets, nil)
		for _, d := range info.Dimensions {
			if d.Key == "time" {
				for _, b := range []string{"day", "week", "month", "quarter", "year"} {
					dimsets = append(dimsets, []string{"time"})
					buckets = append(buckets, b)
				}
				continue
			}
			dimsets = append(dimsets, []string{d.Key})
		}
		// Two dimensions at once, time first.
		dimsets = append(dimsets, []string{"time", info.Dimensions[1].Key})
		bi2 := 0
		for _, rg := range ranges {
			for _, dims := range dimsets {
				size := ""
				if len(dims) == 1 && dims[0] == "time" {
					size = buckets[bi2%len(buckets)]
					bi2++
				} else if len(dims) == 2 {
					size = "week"
				}
				if actor != nil && size == "day" {
					continue // keep the scoped pass short
				}
				req := measures.Request{Metric: info.Key, Dimensions: dims, Bucket: size, From: rg.from, To: rg.to, Compare: true}
				res, err := m.RunQuery(ctx, req, "body")
				if err != nil {
					t.Fatalf("%s %v %s: %v", info.Key, dims, size, err)
				}
				asked++
				if res.PreviousFrom != rg.pfrom || res.PreviousTo != rg.pto {
					t.Fatalf("%s: previous period %s..%s, want %s..%s", info.Key, res.PreviousFrom, res.PreviousTo, rg.pfrom, rg.pto)
				}
				what := fmt.Sprintf("%s %s %v by %q %s..%s", w.loc, info.Key, dims, size, rg.from, rg.to)
				want, keys := expect(bm, dims, size, rg.from, rg.to, w.loc, weekStart, actor)
				// A group worth 0 of a count or a sum may be left out.
				current := ""
				if strings.Contains("count distinct sum", bm.agg) {
					current = "0"
				}
				compare(t, what, want, got(t, res, dims, keys, false), current)
				// The previous period, bucket by bucket (aligned by position).
				pwant, _ := expect(bm, dims, size, rg.pfrom, rg.pto, w.loc, weekStart, actor)
				for k := range pwant {
					if _, ok := want[k]; !ok {
						delete(pwant, k) // groups absent now are not answered
					}
				}
				absent := "null"
				if strings.Contains("count distinct sum", bm.agg) {
					absent = "0"
				}
				compare(t, what+" (previous)", pwant, got(t, res, dims, keys, true), absent)
			}
		}
	}
	return asked
}

// Every built-in metric, on every dimension, with the previous period,
// equals the brute force: for a company in Asia/Shanghai and one in
// America/New_York whose ranges cross both daylight-saving changes.
func TestMetricsEqualBruteForce(t *testing.T) {
	m := newBI(t)
	lo := time.Date(2025, 9, 20, 0, 0, 0, 0, time.UTC)
	hi := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
	ranges := []span2{
		{"2026-02-01", "2026-04-30", "2025-11-01", "2026-01-31"}, // whole months: the previous three months (New York: DST ends 2025-11-02, starts 2026-03-08)
		{"2026-03-04", "2026-03-17", "2026-02-18", "2026-03-03"}, // fourteen days: the fourteen before
	}
	for i, tz := range []string{"Asia/Shanghai", "America/New_York"} {
		t.Run(tz, func(t *testing.T) {
			w := newWorld(t, tz, []string{"CNY", "USD"}[i], uint64(40+i), lo, hi)
			ws := time.Monday
			if tz == "America/New_York" {
				// The company's weeks start on Sunday.
				if _, err := m.SetSettings(w.as(w.members[0], authz.ScopeAll, allPerms...), bi.Settings{WeekStart: 7}); err != nil {
					t.Fatal(err)
				}
				ws = time.Sunday
			}
			n := w.check(t, m, w.as(uuid.New(), authz.ScopeAll, allPerms...), nil, ranges, ws)
			t.Logf("%s: %d questions, each with its previous period", tz, n)
		})
	}
}

// A member with scope own gets only the numbers of their own records (the
// tickets assigned to them or that they opened) from every metric, and one
// with scope team those of their teammates' records (and their teams'
// tickets).
func TestScopeOwnGetsOwnNumbers(t *testing.T) {
	m := newBI(t)
	lo := time.Date(2025, 9, 20, 0, 0, 0, 0, time.UTC)
	hi := time.Date(2026, 5, 10, 0, 0, 0, 0, time.UTC)
	w := newWorld(t, "America/New_York", "USD", 7, lo, hi)
	ranges := []span2{{"2026-01-01", "2026-04-30", "2025-09-01", "2025-12-31"}}
	perms := map[string]bool{}
	for _, p := range allPerms {
		perms[p] = true
	}
	for _, a := range []authz.Actor{
		{ID: w.members[1], Kind: authz.ActorUser, Scope: authz.ScopeOwn, Permissions: perms},
		{ID: w.members[0], Kind: authz.ActorUser, Scope: authz.ScopeTeam, Permissions: perms, Teammates: []uuid.UUID{w.members[0], w.members[1]}, TeamIDs: w.teamIDs[:1]},
	} {
		ctx := tenancy.With(authz.WithActor(context.Background(), a), tenancy.Tenant{ID: w.tenant, Slug: w.slug, TimeZone: w.loc.String(), Currency: w.currency})
		n := w.check(t, m, ctx, &a, ranges, time.Monday)
		t.Logf("%d questions as scope %s", n, a.Scope)
	}
}
