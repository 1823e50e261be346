package profiles_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
	"github.com/clientele-crm/clientele/platform/transfer"
)

// An import of data hostile to the company's old counts leaves its list
// counts equal to a brute-force count (the engine asks for one recount once
// the import is done) and its planner statistics refreshed, so the next list
// is planned from what the company now holds. Before the import the counts
// say vip is broad and gold absent (a set the import makes 200 records);
// after it, a list of both drives from vip, the selective set, at once.
func TestImportRefreshesListCountsAndStatistics(t *testing.T) {
	env := testkit.Get(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ropt := env.AsynqOpt(t)
	client := jobs.NewClient(ropt, env.App, quiet)
	t.Cleanup(func() { client.Close() })
	fs, err := fields.New(fields.Deps{DB: env.App, MasterKey: make([]byte, 32), Entities: []string{profiles.EntityCustomers}, Jobs: client, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	m := profiles.New(profiles.Deps{DB: env.App, Log: quiet, Fields: fs})
	fs.SetEntities(m.Entities())
	bucket, err := blob.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := transfer.Collect([]any{m})
	if err != nil {
		t.Fatal(err)
	}
	eng := transfer.New(transfer.Deps{DB: env.App, Jobs: client, Blobs: bucket, Adapters: reg, Counts: fs, Log: quiet})
	handlers := append(eng.Jobs(), fs.Jobs()...)
	client.Register(handlers...)
	jobstest.Worker(t, jobs.ServerOptions{Redis: ropt, DB: env.App, Concurrency: 2, Logger: quiet, Handlers: handlers,
		SweepInterval: 200 * time.Millisecond, NoScheduler: true, PollInterval: 50 * time.Millisecond, ShutdownTimeout: 2 * time.Second})

	tk := env.NewTenant(t)
	tn := tenancy.Tenant{ID: tk.ID, Slug: tk.Slug}
	ctx := importer()
	env.InTenant(t, tn.ID, func(c context.Context, tx bun.Tx) error {
		_, err := fs.Create(c, tx, tn.ID, fields.Definition{Entity: profiles.EntityCustomers, Key: "tier", LabelEN: "Tier", LabelZH: "等级",
			Type: fields.Select, Options: []fields.Option{{Value: "gold"}, {Value: "silver"}}, Filterable: true})
		return err
	})
	// Before the import: 40 customers, every one vip, none gold; counted.
	type rec struct {
		tags []string
		tier string
	}
	var all []rec
	for i := 0; i < 40; i++ {
		if _, err := m.CreateCustomer(ctx, tn.ID, profiles.CustomerInput{Name: fmt.Sprintf("Before %d", i), Tags: []string{"vip"}}, false); err != nil {
			t.Fatal(err)
		}
		all = append(all, rec{tags: []string{"vip"}})
	}
	if err := fs.Recount(context.Background(), tn.ID); err != nil {
		t.Fatal(err)
	}
	analyzed := func() map[string]int64 {
		out := map[string]int64{}
		var rows []struct {
			Name string `bun:"relname"`
			N    int64  `bun:"n"`
		}
		if err := env.App.NewRaw("SELECT relname, analyze_count + autoanalyze_count AS n FROM pg_stat_user_tables WHERE relname IN ('field_index', 'customer_tags', 'customers')").Scan(context.Background(), &rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[r.Name] = r.N
		}
		return out
	}
	before := analyzed()
	// The file: 300 customers, two in three gold, one in three silver, and vip
	// on 12 of them, the first rows of the file: the newest vip customers are
	// never gold (the oldest vip ones were never gold either).
	var file strings.Builder
	file.WriteString("name,tags,tier\n")
	for i := 0; i < 300; i++ {
		r := rec{tier: "gold", tags: []string{"imported"}}
		if i < 12 {
			r.tags = append(r.tags, "vip")
		}
		if i%3 == 0 {
			r.tier = "silver"
		}
		all = append(all, r)
		fmt.Fprintf(&file, "Imported %d,%s,%s\n", i, strings.Join(r.tags, ";"), r.tier)
	}
	up, err := eng.Upload(ctx, tn, "customers", "hostile.csv", int64(file.Len()), strings.NewReader(file.String()), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.StartImport(ctx, tn, up.ID, map[string]string{"name": "name", "tags": "tags", "tier": "custom.tier"}, "create", ""); err != nil {
		t.Fatal(err)
	}
	// The brute force: every value and tag held by at least CountFloor.
	want := map[string]int64{"*|": int64(len(all))}
	for _, r := range all {
		for _, tg := range r.tags {
			want["tag|"+tg]++
		}
		if r.tier != "" {
			want["custom.tier|"+r.tier]++
		}
	}
	for k, n := range want {
		if n < fields.CountFloor {
			delete(want, k)
		}
	}
	got := func() map[string]int64 {
		out := map[string]int64{}
		env.InTenant(t, tn.ID, func(c context.Context, tx bun.Tx) error {
			var rows []struct {
				Facet, Value string
				N            int64
			}
			if err := tx.NewRaw("SELECT facet, value, n FROM list_counts WHERE tenant_id = ? AND entity = ?", tn.ID, profiles.EntityCustomers).Scan(c, &rows); err != nil {
				return err
			}
			for _, r := range rows {
				out[r.Facet+"|"+r.Value] = r.N
			}
			return nil
		})
		return out
	}
	awaitCounts := func(when string, want map[string]int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for fmt.Sprint(got()) != fmt.Sprint(want) {
			if time.Now().After(deadline) {
				t.Fatalf("list counts %s: %v, brute force %v", when, got(), want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	awaitCounts("after the import", want)
	// The recount was asked for once: one job, not one per batch.
	env.InTenant(t, tn.ID, func(c context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM jobs WHERE tenant_id = ? AND task_type = ?", tn.ID, fields.TypeRecountCompany).Scan(c, &n); err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("%d recount jobs for one import, want 1", n)
		}
		return nil
	})
	after := analyzed()
	for _, tbl := range []string{"field_index", "customer_tags", "customers"} {
		if after[tbl] <= before[tbl] {
			t.Errorf("%s was not analysed after the import: %d analyses before, %d after", tbl, before[tbl], after[tbl])
		}
	}

	// The plan: vip is 52 of 340, gold 200: the intersection, driven by vip
	// (the list's set 0), is the first and only step.
	var steps []fields.Step
	profiles.SetPlan(m, fields.Limits{Narrow: 40, Walk: 60}, func(s fields.Step) { steps = append(steps, s) })
	flt := profiles.Filter{Tags: []string{"vip"}, Fields: mustFilters(t, "custom.tier=gold"), Limit: 50}
	items, _, err := m.ListCustomers(writer, tn.ID, flt)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(steps) != fmt.Sprint([]fields.Step{{Strategy: fields.Intersect, Set: 0}}) {
		t.Fatalf("steps %v: want one intersection driven by vip", steps)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Name)
	}
	sort.Strings(names)
	var wantNames []string
	for i := 0; i < 12; i++ {
		if i%3 != 0 {
			wantNames = append(wantNames, fmt.Sprintf("Imported %d", i))
		}
	}
	sort.Strings(wantNames)
	if fmt.Sprint(names) != fmt.Sprint(wantNames) {
		t.Fatalf("rows %v, brute force %v", names, wantNames)
	}

	// A revert is a bulk write too: the counts follow it back.
	if _, err := eng.RevertImport(ctx, tn, up.ID); err != nil {
		t.Fatal(err)
	}
	awaitCounts("after the revert", map[string]int64{"*|": 40, "tag|vip": 40})
}
