package fields

import (
	"context"
	"reflect"
	"testing"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/testkit"
)

// The plan reads the company's counts: the same filters get a different plan
// when the company's data differs.
func TestChooseReadsTheCounts(t *testing.T) {
	lim := Limits{Narrow: 5000, Walk: 2000}
	k := func(n int64) Estimate { return Estimate{N: n, Known: true} }
	cases := []struct {
		name     string
		est      []Estimate
		total    int64
		walkable []bool
		want     []Step
	}{
		{"a narrow set drives", []Estimate{k(120_000), k(900)}, 1_000_000, []bool{true, false},
			[]Step{{Narrow, 1}, {Intersect, 1}}},
		{"two broad, dense enough: walk the walkable one, then intersect", []Estimate{k(226_000), k(118_000)}, 1_000_000, []bool{false, true},
			[]Step{{Walk, 1}, {Intersect, 1}}},
		{"two broad, too sparse to walk: intersect", []Estimate{k(30_000), k(20_000)}, 1_000_000, []bool{true, true},
			[]Step{{Intersect, 1}}},
		{"no walkable set: walk every record", []Estimate{k(600_000), k(500_000)}, 1_000_000, []bool{false, false},
			[]Step{{Walk, -1}, {Intersect, 1}}},
		{"unknown broad sizes count as half", []Estimate{{N: 5001}, {N: 5001}}, 0, []bool{false, false},
			[]Step{{Walk, -1}, {Intersect, 0}}},
	}
	for _, c := range cases {
		if got := Choose(c.est, c.total, c.walkable, 51, lim); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// A lone set is counted only as far as the choice needs: for every size of
// the set, in companies large enough to plan (more than Narrow records) and
// in one never counted, Choose takes the same first step from the capped
// count as from the exact one. And a search every customer of a company of 3,000 matches (the
// soak's) counts a few hundred entries, not 3,000.
func TestALoneSetIsCountedOnlyAsFarAsTheChoiceNeeds(t *testing.T) {
	lim := DefaultLimits
	const want = 21
	for _, total := range []int64{0, 5_001, 8_000, 20_000, 100_000, 1_000_000} {
		for _, walkable := range []bool{false, true} {
			a := aloneSet{want: want, walkable: walkable}
			capAt := int64(a.countCap(total, lim))
			for n := int64(0); n <= max(total, 1_000_000); n = max(n+1, n*11/10) {
				exact := Estimate{N: min(n, int64(lim.Narrow)+1), Known: n <= int64(lim.Narrow)}
				capped := Estimate{N: min(n, capAt+1), Known: n <= capAt}
				got := Choose([]Estimate{capped}, total, []bool{walkable}, want, lim)[0]
				if w := Choose([]Estimate{exact}, total, []bool{walkable}, want, lim)[0]; got != w {
					t.Fatalf("total %d, walkable %v, a set of %d counted to %d: %v, the exact count gives %v", total, walkable, n, capAt, got, w)
				}
			}
		}
	}
	a := aloneSet{want: want}
	if c := a.countCap(3_000, lim); c < want || c > 400 {
		t.Errorf("a company of 3,000: counted to %d, want a few hundred", c)
	}
	if c := (aloneSet{want: want, walkable: true}).countCap(1_000_000, lim); c != want {
		t.Errorf("a walkable set: counted to %d, want the page (%d)", c, want)
	}
	if c := a.countCap(0, lim); c > 100 {
		t.Errorf("a company never counted: counted to %d, want under 100", c)
	}
}

// A planned list's settings are put back as the session had them, whatever
// the database's own defaults are, so the rest of the transaction plans as
// usual.
func TestRestorePlanSettingsPutsTheSessionsValuesBack(t *testing.T) {
	env := testkit.Get(t)
	tn := env.NewTenant(t)
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		names := []string{"enable_hashjoin", "enable_mergejoin", "work_mem", "max_parallel_workers_per_gather", "enable_sort"}
		before := map[string]string{}
		for _, n := range names {
			var v string
			if err := tx.NewRaw("SELECT current_setting(?)", n).Scan(ctx, &v); err != nil {
				return err
			}
			before[n] = v
		}
		if _, err := tx.ExecContext(ctx, "SELECT "+planSettings+", set_config('enable_sort', 'off', true)"); err != nil {
			return err
		}
		var changed int
		if err := tx.NewRaw("SELECT count(*) FROM pg_settings WHERE name IN (?) AND setting <> reset_val", bun.In(names)).Scan(ctx, &changed); err != nil {
			return err
		}
		if changed < 4 {
			t.Fatalf("the plan's settings changed only %d of %v", changed, names)
		}
		if _, err := tx.ExecContext(ctx, restorePlanSettings); err != nil {
			return err
		}
		for _, n := range names {
			var v string
			if err := tx.NewRaw("SELECT current_setting(?)", n).Scan(ctx, &v); err != nil {
				return err
			}
			if v != before[n] {
				t.Errorf("%s after the restore: %q, want %q", n, v, before[n])
			}
		}
		return nil
	})
}
