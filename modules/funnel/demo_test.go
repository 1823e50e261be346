package funnel_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// The demo company gets two pipelines with DemoDealsPerStage deals in every
// stage, a year of history whose open stays are the deals' stages, wins and
// losses across the year, rotting deals, and a foreign currency with its
// rate, so the board and the analytics have figures; a second seed adds
// nothing.
func TestDemoSeedsTwoPipelinesWithAYearOfHistory(t *testing.T) {
	env := testkit.Get(t)
	m := newModule(t)
	tn := env.NewTenant(t)
	setMoney(t, tn.ID, "CNY", "Asia/Shanghai")
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error { return m.Provision(ctx, tx, tn.ID) })
	for i := 0; i < 30; i++ {
		newCustomer(t, tn.ID, "demo")
	}
	owner := uuid.New()
	start := time.Now()
	seeded, err := m.SeedDemo(context.Background(), module.Demo{Tenant: tn.ID, Owner: owner, Seed: 7})
	if err != nil || !seeded {
		t.Fatalf("seed: %v, %v", seeded, err)
	}
	t.Logf("seeded in %v", time.Since(start))
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the seed took %v", d)
	}
	if again, err := m.SeedDemo(context.Background(), module.Demo{Tenant: tn.ID, Owner: owner, Seed: 7}); err != nil || again {
		t.Fatalf("a second seed: %v, %v", again, err)
	}
	ps, err := m.ListPipelines(admin, tn.ID)
	if err != nil || len(ps) != 2 {
		t.Fatalf("pipelines %+v, %v", ps, err)
	}
	for _, p := range ps {
		for _, s := range p.Stages {
			if n := count(t, tn.ID, "SELECT count(*) FROM deals WHERE tenant_id = ? AND stage_id = ? AND deleted_at IS NULL AND owner_id IS NOT NULL", s.ID); n != funnel.DemoDealsPerStage {
				t.Errorf("%s/%s holds %d deals", p.NameEN, s.NameEN, n)
			}
		}
	}
	// Every deal's one open stay is in its stage, and its stays follow each other.
	if n := count(t, tn.ID, `SELECT count(*) FROM deals d WHERE d.tenant_id = ? AND NOT EXISTS (SELECT 1 FROM deal_stage_history h
		WHERE h.tenant_id = d.tenant_id AND h.deal_id = d.id AND h.exited_at IS NULL AND h.stage_id = d.stage_id AND h.entered_at = d.stage_entered_at)`); n != 0 {
		t.Errorf("%d deals whose open stay is not their stage", n)
	}
	if n := count(t, tn.ID, `SELECT count(*) FROM deal_stage_history h WHERE h.tenant_id = ? AND h.exited_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM deal_stage_history n
		WHERE n.tenant_id = h.tenant_id AND n.deal_id = h.deal_id AND n.entered_at = h.exited_at)`); n != 0 {
		t.Errorf("%d stays end without the next beginning", n)
	}
	if n := count(t, tn.ID, "SELECT count(*) FROM deals WHERE tenant_id = ? AND won_at < now() - interval '1 year'"); n != 0 {
		t.Errorf("%d wins older than a year", n)
	}
	for _, p := range ps {
		b, err := m.LoadBoard(seller, tn.ID, p.ID, funnel.Filter{}, 10)
		if err != nil {
			t.Fatalf("board of %s: %v", p.NameEN, err)
		}
		rotting := 0
		for _, c := range b.Columns {
			rotting += c.Rotting
		}
		if rotting == 0 || len(b.Rates) == 0 {
			t.Errorf("board of %s: %d rotting, rates %v", p.NameEN, rotting, b.Rates)
		}
		a, err := m.Analytics(seller, tn.ID, funnel.AnalyticsQuery{Pipeline: p.ID})
		if err != nil || a.Won == 0 || a.Lost == 0 || a.Stages[0].Entered == 0 || a.Stages[0].Advanced == 0 || a.CycleDays <= 0 {
			t.Fatalf("analytics of %s: %+v, %v", p.NameEN, a, err)
		}
		fc, err := m.Forecast(seller, tn.ID, funnel.AnalyticsQuery{Pipeline: p.ID, To: funnel.Date(time.Now().AddDate(0, 6, 0).Format("2006-01-02"))})
		if err != nil || len(fc.Owners) != 1 || fc.Owners[0].Open == 0 {
			t.Fatalf("forecast of %s: %+v, %v", p.NameEN, fc, err)
		}
	}
}
