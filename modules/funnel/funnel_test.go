package funnel_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func actor(scope authz.Scope, perms ...string) context.Context {
	p := map[string]bool{}
	for _, k := range perms {
		p[k] = true
	}
	return authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Permissions: p, Scope: scope})
}

var (
	admin  = actor(authz.ScopeAll, funnel.PermRead, funnel.PermWrite, funnel.PermManage)
	seller = actor(authz.ScopeAll, funnel.PermRead, funnel.PermWrite)
)

// company is a test tenant with the funnel's defaults and a customer.
type company struct {
	id       uuid.UUID
	customer uuid.UUID
	pipeline funnel.Pipeline
}

func (c company) stage(en string) uuid.UUID {
	for _, s := range c.pipeline.Stages {
		if s.NameEN == en {
			return s.ID
		}
	}
	panic("no stage " + en)
}

func newModule(t *testing.T) *funnel.Module {
	return funnel.New(funnel.Deps{DB: testkit.Get(t).App, Records: records.NewRegistry(), Log: testkit.Quiet})
}

func newCompany(t *testing.T, m *funnel.Module) company {
	t.Helper()
	env := testkit.Get(t)
	tn := env.NewTenant(t)
	c := company{id: tn.ID, customer: newCustomer(t, tn.ID, "Acme 甲")}
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error { return m.Provision(ctx, tx, tn.ID) })
	ps, err := m.ListPipelines(admin, tn.ID)
	if err != nil || len(ps) != 1 {
		t.Fatalf("pipelines %v, %v", ps, err)
	}
	c.pipeline = ps[0]
	return c
}

func newCustomer(t *testing.T, tenant uuid.UUID, name string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	testkit.Get(t).InTenant(t, tenant, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO customers (tenant_id, id, kind, name) VALUES (?, ?, 'company', ?)", tenant, id, name)
		return err
	})
	return id
}

// invalidAt fails unless err is an invalid-input error naming loc first.
func invalidAt(t *testing.T, what string, err error, loc string) {
	t.Helper()
	var e *errs.Error
	if !errs.Is(err, errs.Invalid) || !errors.As(err, &e) || len(e.Errors) == 0 || e.Errors[0].Location != loc {
		t.Errorf("%s: %v, want invalid at %s", what, err, loc)
	}
}

func count(t *testing.T, tenant uuid.UUID, query string, args ...any) int {
	t.Helper()
	var n int
	if err := testkit.Get(t).Owner.NewRaw(query, append([]any{tenant}, args...)...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A new company gets the default pipeline in both languages, with the
// lost reasons; provisioning again adds nothing.
func TestNewCompaniesGetTheDefaultPipeline(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	p := c.pipeline
	if !p.IsDefault || p.NameEN != "Sales" || p.NameZH != "销售" {
		t.Fatalf("pipeline %+v", p)
	}
	want := []struct {
		en, zh, kind string
		prob         int
	}{{"Lead", "线索", "open", 10}, {"Qualified", "需求确认", "open", 25}, {"Proposal", "方案报价", "open", 50},
		{"Negotiation", "谈判", "open", 75}, {"Won", "赢单", "won", 100}, {"Lost", "输单", "lost", 0}}
	if len(p.Stages) != len(want) {
		t.Fatalf("stages %+v", p.Stages)
	}
	for i, w := range want {
		s := p.Stages[i]
		if s.NameEN != w.en || s.NameZH != w.zh || s.Kind != w.kind || s.Probability != w.prob || s.Position != i {
			t.Errorf("stage %d: %+v, want %+v", i, s, w)
		}
		if (s.Kind == "open") != (s.RottingDays != nil) {
			t.Errorf("stage %s rotting %v", s.NameEN, s.RottingDays)
		}
	}
	testkit.Get(t).InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error { return m.Provision(ctx, tx, c.id) })
	if n := count(t, c.id, "SELECT count(*) FROM pipeline_stages WHERE tenant_id = ?"); n != 6 {
		t.Fatalf("provisioning twice left %d stages", n)
	}
	rs, err := m.ListLostReasons(seller, c.id)
	if err != nil || len(rs) != 5 || rs[0].NameZH == "" || rs[0].NameEN == "" {
		t.Fatalf("lost reasons %+v, %v", rs, err)
	}
}

// A deal starts at the end of the default pipeline's first open stage, in the
// company's currency, owned by its creator; a change needs the current
// version, and a stale one gets 409 with the deal as it is.
func TestDealsKeepTheirVersion(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	close := funnel.Date("2027-03-31")
	d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: " ERP rollout ", CustomerID: c.customer, Amount: "125000.50", ExpectedClose: &close, Tags: []string{"VIP", "vip", " erp "}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "ERP rollout" || d.PipelineID != c.pipeline.ID || d.StageID != c.stage("Lead") || d.Currency != "USD" || d.Version != 1 ||
		d.OwnerID == nil || *d.OwnerID != authz.ActorFrom(seller).ID || len(d.Tags) != 2 || d.Position != "1" || d.Amount != "125000.5000" {
		t.Fatalf("deal %+v", d)
	}
	d2, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "second", CustomerID: c.customer, Currency: "cny"})
	if err != nil || d2.Position != "2" || d2.Currency != "CNY" || d2.Amount != "0.0000" {
		t.Fatalf("second deal %+v, %v", d2, err)
	}
	title, amount := "ERP phase 1", "99.9"
	u, err := m.UpdateDeal(seller, c.id, d.ID, funnel.DealUpdate{Version: 1, Title: &title, Amount: &amount})
	if err != nil || u.Version != 2 || u.Title != title || u.Amount != "99.9000" {
		t.Fatalf("update %+v, %v", u, err)
	}
	got, err := m.GetDeal(seller, c.id, d.ID)
	if err != nil || got.Amount != "99.9000" || got.Version != 2 || got.ExpectedClose == nil || *got.ExpectedClose != close {
		t.Fatalf("read back %+v, %v", got, err)
	}
	other := "stale"
	_, err = m.UpdateDeal(seller, c.id, d.ID, funnel.DealUpdate{Version: 1, Title: &other})
	var e *errs.Error
	if !errs.Is(err, errs.Conflict) || !errors.As(err, &e) || e.Current == nil || e.Current.(*funnel.Deal).Title != title {
		t.Fatalf("stale update: %v", err)
	}
	if _, err := m.MoveDeal(seller, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Qualified"), Version: 1}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("stale move: %v", err)
	}
	if err := m.DeleteDeal(seller, c.id, d.ID, &[]int{1}[0]); !errs.Is(err, errs.Conflict) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := m.DeleteDeal(seller, c.id, d.ID, &[]int{2}[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetDeal(seller, c.id, d.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("deleted deal read: %v", err)
	}
	if n := count(t, c.id, "SELECT count(*) FROM audit_log WHERE tenant_id = ? AND entity = 'deal'"); n != 4 {
		t.Errorf("%d audit rows for deals, want 4 (two creates, an update, a delete)", n)
	}
}

// Bad input is refused naming the field, and nothing is written.
func TestBadDealInputNamesTheField(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	b := newCompany(t, m)
	for name, tc := range map[string]struct {
		in  funnel.DealInput
		loc string
	}{
		"negative amount":        {funnel.DealInput{Amount: "-5"}, "body.amount"},
		"non-numeric amount":     {funnel.DealInput{Amount: "12,5"}, "body.amount"},
		"too many decimals":      {funnel.DealInput{Amount: "1.00001"}, "body.amount"},
		"unknown currency":       {funnel.DealInput{Currency: "XYZ"}, "body.currency"},
		"bad date":               {funnel.DealInput{ExpectedClose: ptr(funnel.Date("2027-02-30"))}, "body.expected_close"},
		"other tenant customer":  {funnel.DealInput{CustomerID: b.customer}, "body.customer_id"},
		"other tenant pipeline":  {funnel.DealInput{PipelineID: &b.pipeline.ID}, "body.pipeline_id"},
		"other tenant stage":     {funnel.DealInput{StageID: ptr(b.stage("Lead"))}, "body.stage_id"},
		"stage of another":       {funnel.DealInput{PipelineID: &c.pipeline.ID, StageID: ptr(uuid.New())}, "body.stage_id"},
		"starts lost":            {funnel.DealInput{StageID: ptr(c.stage("Lost"))}, "body.stage_id"},
		"blank title":            {funnel.DealInput{Title: "  "}, "body.title"},
		"custom without binding": {funnel.DealInput{Custom: map[string]any{"x": 1}}, "body.custom"},
	} {
		if tc.in.Title == "" {
			tc.in.Title = "deal"
		}
		if tc.in.CustomerID == uuid.Nil {
			tc.in.CustomerID = c.customer
		}
		_, err := m.CreateDeal(seller, c.id, tc.in)
		invalidAt(t, name, err, tc.loc)
	}
	if n := count(t, c.id, "SELECT count(*) FROM deals WHERE tenant_id = ?"); n != 0 {
		t.Fatalf("%d deals written by refused input", n)
	}
	if n := count(t, c.id, "SELECT count(*) FROM deal_stage_history WHERE tenant_id = ?"); n != 0 {
		t.Fatalf("%d history rows written by refused input", n)
	}
}

func ptr[T any](v T) *T { return &v }

// Moves place a deal before or after a neighbour or at the end, record every
// stage entry and exit, stamp won and lost times, ask for a lost reason, and
// refuse a stage of another pipeline unless the move says so.
func TestMovesFollowTheBoardRules(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	var ds []*funnel.Deal
	for _, title := range []string{"a", "b", "c"} {
		d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: title, CustomerID: c.customer, Amount: "100"})
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	lead, qual, won, lost := c.stage("Lead"), c.stage("Qualified"), c.stage("Won"), c.stage("Lost")
	// c before a, within Lead.
	mv, err := m.MoveDeal(seller, c.id, ds[2].ID, funnel.MoveInput{StageID: lead, BeforeID: &ds[0].ID, Version: 1})
	if err != nil || mv.Version != 2 || mv.StageID != lead {
		t.Fatalf("move within: %+v, %v", mv, err)
	}
	if got := column(t, m, c, lead); !equal(got, "c", "a", "b") {
		t.Fatalf("lead column %v", got)
	}
	// a to Qualified, then b after a.
	if _, err := m.MoveDeal(seller, c.id, ds[0].ID, funnel.MoveInput{StageID: qual, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.MoveDeal(seller, c.id, ds[1].ID, funnel.MoveInput{StageID: qual, AfterID: &ds[0].ID, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.MoveDeal(seller, c.id, ds[2].ID, funnel.MoveInput{StageID: qual, AfterID: &ds[0].ID, Version: 2}); err != nil {
		t.Fatal(err)
	}
	if got := column(t, m, c, qual); !equal(got, "a", "c", "b") {
		t.Fatalf("qualified column %v", got)
	}
	// Neighbours must be in the target stage, and not the deal itself.
	_, err = m.MoveDeal(seller, c.id, ds[0].ID, funnel.MoveInput{StageID: lead, BeforeID: &ds[1].ID, Version: 2})
	invalidAt(t, "neighbour elsewhere", err, "body.before_id")
	_, err = m.MoveDeal(seller, c.id, ds[0].ID, funnel.MoveInput{StageID: qual, AfterID: &ds[0].ID, Version: 2})
	invalidAt(t, "itself as neighbour", err, "body.after_id")
	// Lost needs a reason of this company.
	_, err = m.MoveDeal(seller, c.id, ds[0].ID, funnel.MoveInput{StageID: lost, Version: 2})
	invalidAt(t, "lost without reason", err, "body.lost_reason_id")
	_, err = m.MoveDeal(seller, c.id, ds[0].ID, funnel.MoveInput{StageID: lost, Version: 2, LostReasonID: ptr(uuid.New())})
	invalidAt(t, "unknown reason", err, "body.lost_reason_id")
	rs, _ := m.ListLostReasons(seller, c.id)
	l, err := m.MoveDeal(seller, c.id, ds[0].ID, funnel.MoveInput{StageID: lost, Version: 2, LostReasonID: &rs[0].ID, LostNote: "went elsewhere"})
	if err != nil || l.LostAt == nil || l.WonAt != nil || l.LostReasonID == nil || *l.LostReasonID != rs[0].ID {
		t.Fatalf("lost: %+v, %v", l, err)
	}
	// Reopened, then won: the lost stamp and reason go, the won time comes.
	if _, err := m.MoveDeal(seller, c.id, ds[0].ID, funnel.MoveInput{StageID: qual, Version: 3}); err != nil {
		t.Fatal(err)
	}
	w, err := m.MoveDeal(seller, c.id, ds[0].ID, funnel.MoveInput{StageID: won, Version: 4})
	if err != nil || w.WonAt == nil || w.LostAt != nil || w.LostReasonID != nil {
		t.Fatalf("won: %+v, %v", w, err)
	}
	// a went Lead -> Qualified -> Lost -> Qualified -> Won: five stays, one open.
	if n := count(t, c.id, "SELECT count(*) FROM deal_stage_history WHERE tenant_id = ? AND deal_id = ?", ds[0].ID); n != 5 {
		t.Errorf("a has %d history rows, want 5", n)
	}
	if n := count(t, c.id, "SELECT count(*) FROM deal_stage_history WHERE tenant_id = ? AND deal_id = ? AND exited_at IS NULL AND stage_id = ?", ds[0].ID, won); n != 1 {
		t.Errorf("a's open stay is not in Won")
	}
	// Another pipeline's stage needs its pipeline named.
	p2, err := m.CreatePipeline(admin, c.id, funnel.PipelineInput{Names: funnel.Names{NameEN: "Renewals"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.MoveDeal(seller, c.id, ds[1].ID, funnel.MoveInput{StageID: p2.Stages[0].ID, Version: 2})
	invalidAt(t, "other pipeline unnamed", err, "body.pipeline_id")
	_, err = m.MoveDeal(seller, c.id, ds[1].ID, funnel.MoveInput{StageID: p2.Stages[0].ID, PipelineID: &c.pipeline.ID, Version: 2})
	invalidAt(t, "wrong pipeline named", err, "body.pipeline_id")
	x, err := m.MoveDeal(seller, c.id, ds[1].ID, funnel.MoveInput{StageID: p2.Stages[0].ID, PipelineID: &p2.ID, Version: 2})
	if err != nil || x.PipelineID != p2.ID {
		t.Fatalf("move to another pipeline: %+v, %v", x, err)
	}
}

// column lists the titles of a stage's deals in board order.
func column(t *testing.T, m *funnel.Module, c company, stage uuid.UUID) []string {
	t.Helper()
	ds, _, err := m.ListDeals(admin, c.id, funnel.Filter{Stages: []uuid.UUID{stage}, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(ds, func(i, j int) bool { return funnel.LessPos(ds[i].Position, ds[j].Position) })
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Title
	}
	return out
}

func equal(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// 20 goroutines move deals within and between columns at once, each from the
// version it read. Afterwards every column's positions are strictly ordered
// with no duplicates and no deal lost; every write that lost a race got 409.
func TestConcurrentMovesKeepColumnsInOrder(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	stages := []uuid.UUID{c.stage("Lead"), c.stage("Qualified"), c.stage("Proposal")}
	const deals = 30
	ids := make([]uuid.UUID, deals)
	for i := range ids {
		d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "d", CustomerID: c.customer, StageID: &stages[i%3]})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = d.ID
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	moved, stale := 0, 0
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				id := ids[(g*7+i*3)%deals]
				d, err := m.GetDeal(seller, c.id, id)
				if err != nil {
					t.Error(err)
					return
				}
				in := funnel.MoveInput{StageID: stages[(g+i)%3], Version: d.Version}
				if i%2 == 0 {
					// Next to another deal of the target column, when it has one.
					col, _, err := m.ListDeals(seller, c.id, funnel.Filter{Stages: []uuid.UUID{in.StageID}, Limit: 1})
					if err == nil && len(col) == 1 && col[0].ID != id {
						in.BeforeID = &col[0].ID
					}
				}
				_, err = m.MoveDeal(seller, c.id, id, in)
				mu.Lock()
				switch {
				case err == nil:
					moved++
				case errs.Is(err, errs.Conflict):
					stale++
				case errs.Is(err, errs.Invalid):
					// The neighbour moved away meanwhile: refused, naming it.
				default:
					t.Errorf("move: %v", err)
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	if moved == 0 {
		t.Fatal("no move succeeded")
	}
	total := 0
	for _, s := range stages {
		var pos []string
		if err := testkit.Get(t).Owner.NewRaw("SELECT d.position::text AS pos FROM deals d WHERE d.tenant_id = ? AND d.stage_id = ? ORDER BY d.position", c.id, s).Scan(context.Background(), &pos); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(pos); i++ {
			if !funnel.LessPos(pos[i-1], pos[i]) {
				t.Fatalf("column %s: %s then %s", s, pos[i-1], pos[i])
			}
		}
		total += len(pos)
	}
	if total != deals {
		t.Fatalf("%d deals on the board, want %d", total, deals)
	}
	var versions int
	if err := testkit.Get(t).Owner.NewRaw("SELECT coalesce(sum(version - 1), 0) FROM deals WHERE tenant_id = ?", c.id).Scan(context.Background(), &versions); err != nil {
		t.Fatal(err)
	}
	if versions != moved {
		t.Fatalf("%d moves succeeded but versions rose by %d: a write was lost or doubled", moved, versions)
	}
	t.Logf("%d moves, %d refused as stale", moved, stale)
}

// Stages are added, renamed and reordered; a stage holding deals is deleted
// only by moving them to another stage of the pipeline, in the same step.
func TestStagesChangeAndDeleteWithTheirDeals(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	b := newCompany(t, m)
	p, err := m.AddStage(admin, c.id, c.pipeline.ID, funnel.StageInput{Names: funnel.Names{NameEN: "Demo", NameZH: "演示"}, Position: ptr(2)})
	if err != nil || len(p.Stages) != 7 || p.Stages[2].NameEN != "Demo" || p.Stages[3].NameEN != "Proposal" || p.Stages[2].Probability != 50 {
		t.Fatalf("added stage: %+v, %v", p, err)
	}
	demo := p.Stages[2].ID
	if _, err := m.AddStage(seller, c.id, c.pipeline.ID, funnel.StageInput{Names: funnel.Names{NameEN: "x"}}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a seller shaped the pipeline: %v", err)
	}
	_, err = m.AddStage(admin, c.id, c.pipeline.ID, funnel.StageInput{})
	invalidAt(t, "nameless stage", err, "body.name_en")
	p, err = m.UpdateStage(admin, c.id, c.pipeline.ID, demo, funnel.StageUpdate{NameEN: ptr("Demo call"), Probability: ptr(40)})
	if err != nil || p.Stages[2].NameEN != "Demo call" || p.Stages[2].NameZH != "演示" || p.Stages[2].Probability != 40 {
		t.Fatalf("renamed: %+v, %v", p.Stages[2], err)
	}
	order := []uuid.UUID{}
	for i := len(p.Stages) - 1; i >= 0; i-- {
		order = append(order, p.Stages[i].ID)
	}
	_, err = m.ReorderStages(admin, c.id, c.pipeline.ID, order[1:])
	invalidAt(t, "reorder missing one", err, "body.stage_ids")
	_, err = m.ReorderStages(admin, c.id, c.pipeline.ID, append(order[1:], b.stage("Lead")))
	invalidAt(t, "reorder with a stranger", err, "body.stage_ids[6]")
	p, err = m.ReorderStages(admin, c.id, c.pipeline.ID, order)
	if err != nil || p.Stages[0].NameEN != "Lost" || p.Stages[6].NameEN != "Lead" {
		t.Fatalf("reordered: %+v, %v", p, err)
	}
	// Two deals in Demo, one already in Proposal.
	for _, s := range []uuid.UUID{demo, demo, c.stage("Proposal")} {
		if _, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "d", CustomerID: c.customer, StageID: &s}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.DeleteStage(admin, c.id, c.pipeline.ID, demo, nil); !errs.Is(err, errs.Conflict) {
		t.Fatalf("delete a stage with deals and no target: %v", err)
	}
	_, err = m.DeleteStage(admin, c.id, c.pipeline.ID, demo, ptr(b.stage("Lead")))
	invalidAt(t, "target in another company", err, "query.target_stage_id")
	_, err = m.DeleteStage(admin, c.id, c.pipeline.ID, demo, &demo)
	invalidAt(t, "target itself", err, "query.target_stage_id")
	if n := count(t, c.id, "SELECT count(*) FROM deals WHERE tenant_id = ? AND stage_id = ?", demo); n != 2 {
		t.Fatalf("a refused delete moved deals: %d left", n)
	}
	p, err = m.DeleteStage(admin, c.id, c.pipeline.ID, demo, ptr(c.stage("Proposal")))
	if err != nil || len(p.Stages) != 6 {
		t.Fatalf("delete with target: %+v, %v", p, err)
	}
	for i, s := range p.Stages {
		if s.Position != i {
			t.Fatalf("positions after delete: %+v", p.Stages)
		}
	}
	if got := column(t, m, c, c.stage("Proposal")); len(got) != 3 {
		t.Fatalf("proposal holds %v", got)
	}
	if n := count(t, c.id, "SELECT count(*) FROM deal_stage_history WHERE tenant_id = ? AND stage_id = ? AND exited_at IS NOT NULL", demo); n != 2 {
		t.Fatalf("%d closed stays in the deleted stage, want 2", n)
	}
	// The last open stage and the default pipeline stay; a pipeline with deals too.
	p2, err := m.CreatePipeline(admin, c.id, funnel.PipelineInput{Names: funnel.Names{NameZH: "渠道"}, Stages: []funnel.StageInput{
		{Names: funnel.Names{NameEN: "Open"}}, {Names: funnel.Names{NameEN: "Done"}, Kind: "won"}}})
	if err != nil || p2.IsDefault || p2.Stages[1].Probability != 100 {
		t.Fatalf("second pipeline %+v, %v", p2, err)
	}
	if _, err := m.DeleteStage(admin, c.id, p2.ID, p2.Stages[0].ID, nil); !errs.Is(err, errs.Conflict) {
		t.Fatalf("deleted the last open stage: %v", err)
	}
	if err := m.DeletePipeline(admin, c.id, c.pipeline.ID); !errs.Is(err, errs.Conflict) {
		t.Fatalf("deleted the default pipeline: %v", err)
	}
	if _, err := m.UpdatePipeline(admin, c.id, p2.ID, funnel.PipelineUpdate{IsDefault: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if err := m.DeletePipeline(admin, c.id, c.pipeline.ID); !errs.Is(err, errs.Conflict) {
		t.Fatalf("deleted a pipeline with deals: %v", err)
	}
	if err := m.DeletePipeline(admin, c.id, b.pipeline.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("deleted another company's pipeline: %v", err)
	}
	if _, err := m.CreatePipeline(admin, c.id, funnel.PipelineInput{Names: funnel.Names{NameEN: "x"}, Stages: []funnel.StageInput{{Names: funnel.Names{NameEN: "w"}, Kind: "won"}}}); err == nil {
		t.Fatal("a pipeline without an open stage was created")
	}
}

// Lost reasons are the company's own list: added, renamed, and deleted only
// while no deal was lost for them.
func TestLostReasonsAreEditable(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	r, err := m.CreateLostReason(admin, c.id, funnel.Names{NameEN: "Went dark", NameZH: "失联"})
	if err != nil || r.Position != 5 {
		t.Fatalf("%+v, %v", r, err)
	}
	r, err = m.UpdateLostReason(admin, c.id, r.ID, funnel.NamesUpdate{NameEN: ptr("Ghosted")})
	if err != nil || r.NameEN != "Ghosted" || r.NameZH != "失联" {
		t.Fatalf("%+v, %v", r, err)
	}
	// A rename that would leave no name is refused, naming the field, and
	// stores nothing; a stage and a pipeline are renamed by the same step.
	if _, err := m.UpdateLostReason(admin, c.id, r.ID, funnel.NamesUpdate{NameEN: ptr(" "), NameZH: ptr("")}); !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), "name_en") {
		t.Fatalf("both names cleared: %v, want a 4xx naming name_en", err)
	}
	if _, err := m.UpdatePipeline(admin, c.id, c.pipeline.ID, funnel.PipelineUpdate{NameEN: ptr(""), NameZH: ptr("")}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("pipeline with both names cleared: %v, want a 4xx", err)
	}
	if again, err := m.UpdateLostReason(admin, c.id, r.ID, funnel.NamesUpdate{NameZH: ptr(" 失去联系 ")}); err != nil || again.NameEN != "Ghosted" || again.NameZH != "失去联系" {
		t.Fatalf("%+v, %v", again, err)
	}
	d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "d", CustomerID: c.customer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.MoveDeal(seller, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Lost"), Version: 1, LostReasonID: &r.ID}); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteLostReason(admin, c.id, r.ID); !errs.Is(err, errs.Conflict) {
		t.Fatalf("deleted a reason in use: %v", err)
	}
	rs, _ := m.ListLostReasons(seller, c.id)
	if err := m.DeleteLostReason(admin, c.id, rs[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CreateLostReason(seller, c.id, funnel.Names{NameEN: "x"}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a seller edited the list: %v", err)
	}
}

// Another company's records are not found through any action, and neither
// are a colleague's deals for a member whose role sees only their own.
func TestTenantsAndScopesKeepDealsApart(t *testing.T) {
	m := newModule(t)
	a := newCompany(t, m)
	b := newCompany(t, m)
	d, err := m.CreateDeal(seller, a.id, funnel.DealInput{Title: "A's", CustomerID: a.customer})
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := m.ListLostReasons(admin, a.id)
	notFound := func(who string, err error) {
		t.Helper()
		if !errs.Is(err, errs.NotFound) {
			t.Errorf("%s: %v, want not found", who, err)
		}
	}
	// Tenant B, with every right, reaches for A's records.
	notFound("get deal", second(m.GetDeal(admin, b.id, d.ID)))
	notFound("update deal", second(m.UpdateDeal(admin, b.id, d.ID, funnel.DealUpdate{Version: 1, Title: ptr("x")})))
	notFound("move deal", second(m.MoveDeal(admin, b.id, d.ID, funnel.MoveInput{StageID: b.stage("Qualified"), Version: 1})))
	notFound("delete deal", m.DeleteDeal(admin, b.id, d.ID, nil))
	notFound("get pipeline", second(m.GetPipeline(admin, b.id, a.pipeline.ID)))
	notFound("update pipeline", second(m.UpdatePipeline(admin, b.id, a.pipeline.ID, funnel.PipelineUpdate{NameEN: ptr("x")})))
	notFound("delete pipeline", m.DeletePipeline(admin, b.id, a.pipeline.ID))
	notFound("add stage", second(m.AddStage(admin, b.id, a.pipeline.ID, funnel.StageInput{Names: funnel.Names{NameEN: "x"}})))
	notFound("update stage", second(m.UpdateStage(admin, b.id, a.pipeline.ID, a.stage("Lead"), funnel.StageUpdate{NameEN: ptr("x")})))
	notFound("update stage via own pipeline", second(m.UpdateStage(admin, b.id, b.pipeline.ID, a.stage("Lead"), funnel.StageUpdate{NameEN: ptr("x")})))
	notFound("delete stage", second(m.DeleteStage(admin, b.id, a.pipeline.ID, a.stage("Lead"), nil)))
	notFound("reorder", second(m.ReorderStages(admin, b.id, a.pipeline.ID, nil)))
	notFound("update reason", second(m.UpdateLostReason(admin, b.id, rs[0].ID, funnel.NamesUpdate{NameEN: ptr("x")})))
	notFound("delete reason", m.DeleteLostReason(admin, b.id, rs[0].ID))
	if ds, _, err := m.ListDeals(admin, b.id, funnel.Filter{}); err != nil || len(ds) != 0 {
		t.Errorf("B lists %d deals, %v", len(ds), err)
	}
	// A's deal into B's stage, from A: the stage is not A's.
	_, err = m.MoveDeal(seller, a.id, d.ID, funnel.MoveInput{StageID: b.stage("Qualified"), Version: 1})
	invalidAt(t, "move into another company's stage", err, "body.stage_id")
	if got, err := m.GetDeal(seller, a.id, d.ID); err != nil || got.Title != "A's" || got.Version != 1 {
		t.Fatalf("A's deal changed: %+v, %v", got, err)
	}

	// Own scope: a colleague's deal is not found, through every action.
	own := actor(authz.ScopeOwn, funnel.PermRead, funnel.PermWrite)
	notFound("own: get", second(m.GetDeal(own, a.id, d.ID)))
	notFound("own: update", second(m.UpdateDeal(own, a.id, d.ID, funnel.DealUpdate{Version: 1, Title: ptr("x")})))
	notFound("own: move", second(m.MoveDeal(own, a.id, d.ID, funnel.MoveInput{StageID: a.stage("Qualified"), Version: 1})))
	notFound("own: delete", m.DeleteDeal(own, a.id, d.ID, nil))
	mine, err := m.CreateDeal(own, a.id, funnel.DealInput{Title: "mine", CustomerID: a.customer})
	if err != nil {
		t.Fatal(err)
	}
	ds, _, err := m.ListDeals(own, a.id, funnel.Filter{})
	if err != nil || len(ds) != 1 || ds[0].ID != mine.ID {
		t.Fatalf("own scope lists %+v, %v", ds, err)
	}
	if n, err := m.CountDeals(own, a.id, funnel.Filter{}); err != nil || n != 1 {
		t.Fatalf("own scope counts %d, %v", n, err)
	}
	// Team scope sees teammates' deals only.
	mate := authz.ActorFrom(own).ID
	team := authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Scope: authz.ScopeTeam,
		Permissions: map[string]bool{funnel.PermRead: true}, Teammates: []uuid.UUID{mate}})
	if ds, _, err := m.ListDeals(team, a.id, funnel.Filter{}); err != nil || len(ds) != 1 || ds[0].ID != mine.ID {
		t.Fatalf("team scope lists %+v, %v", ds, err)
	}
	// No deals.write, no change.
	if _, err := m.CreateDeal(actor(authz.ScopeAll, funnel.PermRead), a.id, funnel.DealInput{Title: "x", CustomerID: a.customer}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("created without deals.write: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// The list filters, sorts and pages with a cursor; bad parameters are
// refused naming them.
func TestDealListFiltersSortsAndPages(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	amounts := []string{"500", "20", "3000", "20", "75.5"}
	for i, a := range amounts {
		in := funnel.DealInput{Title: "d", CustomerID: c.customer, Amount: a}
		if i%2 == 0 {
			in.Tags = []string{"vip"}
		}
		if _, err := m.CreateDeal(seller, c.id, in); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		ds, next, err := m.ListDeals(seller, c.id, funnel.Filter{Sort: "-amount", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			got = append(got, d.Amount)
		}
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("cursor never ends")
		}
		cursor = next
	}
	if !equal(got, "3000.0000", "500.0000", "75.5000", "20.0000", "20.0000") {
		t.Fatalf("by amount, descending: %v", got)
	}
	vip, _, err := m.ListDeals(seller, c.id, funnel.Filter{Tags: []string{"vip"}})
	if err != nil || len(vip) != 3 {
		t.Fatalf("vip deals %d, %v", len(vip), err)
	}
	if _, err := m.MoveDeal(seller, c.id, vip[0].ID, funnel.MoveInput{StageID: c.stage("Won"), Version: vip[0].Version}); err != nil {
		t.Fatal(err)
	}
	for status, want := range map[string]int{"won": 1, "open": 4, "lost": 0} {
		if n, err := m.CountDeals(seller, c.id, funnel.Filter{Status: status}); err != nil || n != want {
			t.Errorf("status %s: %d deals, %v; want %d", status, n, err, want)
		}
	}
	// A query string as saved views keep it means what the list means.
	q := dealQueriesCount(t, m, c.id, "status=open&tag=vip")
	if q != 2 {
		t.Errorf("the saved filter status=open&tag=vip counts %d, want 2", q)
	}
	if _, _, err := m.ListDeals(seller, c.id, funnel.Filter{Sort: "colour"}); err == nil {
		t.Fatal("unknown sort accepted")
	} else {
		invalidAt(t, "unknown sort", err, "query.sort")
	}
	_, _, err = m.ListDeals(seller, c.id, funnel.Filter{Cursor: "garbage!"})
	invalidAt(t, "bad cursor", err, "query.cursor")
	_, _, err = m.ListDeals(seller, c.id, funnel.Filter{Sort: "custom.size"})
	invalidAt(t, "custom sort without fields", err, "query.sort")
}

// When customers are merged, their deals follow the one kept.
func TestDealsFollowMergedCustomers(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	loser := newCustomer(t, c.id, "Acme dup")
	d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "d", CustomerID: loser})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Get(t).InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
		return m.RecordsMerged(ctx, tx, c.id, "customers", []uuid.UUID{loser}, c.customer)
	})
	got, err := m.GetDeal(seller, c.id, d.ID)
	if err != nil || got.CustomerID != c.customer || got.Version != 2 {
		t.Fatalf("after merge %+v, %v", got, err)
	}
	if n := count(t, c.id, "SELECT count(*) FROM audit_log WHERE tenant_id = ? AND entity = 'deal' AND entity_id = ? AND action = 'deal.update'", d.ID.String()); n != 1 {
		t.Fatalf("%d audit rows of the merge's re-pointing, want 1", n)
	}
}

// The board gives every stage its count, rotting count and totals per
// currency over all the deals the filter and scope let through, and the first
// page of them in position order; the rest of a column comes through the
// list's position sort and the column's cursor.
func TestBoardColumnsCarryTheirFigures(t *testing.T) {
	m := newModule(t)
	c := newCompany(t, m)
	lead, prop := c.stage("Lead"), c.stage("Proposal")
	other := actor(authz.ScopeOwn, funnel.PermRead, funnel.PermWrite)
	mk := func(who context.Context, stage uuid.UUID, amount, cur string, tags ...string) *funnel.Deal {
		d, err := m.CreateDeal(who, c.id, funnel.DealInput{Title: amount, CustomerID: c.customer, Amount: amount, Currency: cur, StageID: &stage, Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	var leads []*funnel.Deal
	for _, a := range []string{"100", "200", "300"} {
		leads = append(leads, mk(seller, lead, a, "USD", "vip"))
	}
	mk(seller, lead, "1000", "CNY")
	mk(seller, prop, "80.5", "USD")
	mk(other, prop, "19.5", "USD")
	// The first lead has not changed for longer than Lead's 30 days.
	if _, err := testkit.Get(t).Owner.ExecContext(context.Background(), "UPDATE deals SET updated_at = now() - interval '31 days' WHERE tenant_id = ? AND id = ?", c.id, leads[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetRate(admin, c.id, funnel.RateInput{Currency: "CNY", ValidFrom: "2000-01-01", Rate: "0.14"}); err != nil {
		t.Fatal(err)
	}
	b, err := m.LoadBoard(seller, c.id, c.pipeline.ID, funnel.Filter{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Columns) != 6 || b.Pipeline.ID != c.pipeline.ID || b.Currency != "USD" || len(b.Rates) != 1 || b.Rates[0].Rate != "0.1400000000" {
		t.Fatalf("board %+v", b)
	}
	col := func(stage uuid.UUID) funnel.BoardColumn {
		for _, x := range b.Columns {
			if x.StageID == stage {
				return x
			}
		}
		t.Fatalf("no column %s", stage)
		return funnel.BoardColumn{}
	}
	l := col(lead)
	if l.Count != 4 || l.Rotting != 1 || len(l.Deals) != 2 || l.Deals[0].Title != "100" || l.Deals[1].Title != "200" || l.NextCursor == "" {
		t.Fatalf("lead column %+v", l)
	}
	totals := map[string]funnel.BoardTotal{}
	for _, x := range l.Totals {
		totals[x.Currency] = x
	}
	if totals["USD"].Amount != "600.0000" || totals["USD"].Weighted != "60.0000" || totals["CNY"].Amount != "1000.0000" || totals["CNY"].Weighted != "100.0000" {
		t.Fatalf("lead totals %+v", l.Totals)
	}
	if l.Amount != "740.0000" || l.Weighted != "74.0000" {
		t.Fatalf("lead in the company's currency: %s, weighted %s", l.Amount, l.Weighted)
	}
	rest, next, err := m.ListDeals(seller, c.id, funnel.Filter{Stages: []uuid.UUID{lead}, Sort: "position", Limit: 2, Cursor: l.NextCursor})
	if err != nil || len(rest) != 2 || rest[0].Title != "300" || rest[1].Title != "1000" || next != "" {
		t.Fatalf("the rest of the column: %+v, %q, %v", rest, next, err)
	}
	p := col(prop)
	if p.Count != 2 || p.Totals[0].Amount != "100.0000" || p.Totals[0].Weighted != "50.0000" || p.Rotting != 0 {
		t.Fatalf("proposal column %+v", p)
	}
	if w := col(c.stage("Won")); w.Count != 0 || len(w.Deals) != 0 || len(w.Totals) != 0 {
		t.Fatalf("won column %+v", w)
	}
	// Filters and scope narrow the figures, not only the pages.
	b, err = m.LoadBoard(seller, c.id, c.pipeline.ID, funnel.Filter{Tags: []string{"vip"}}, 50)
	if err != nil || b.Columns[0].Count != 3 || b.Columns[2].Count != 0 {
		t.Fatalf("vip board %+v, %v", b, err)
	}
	b, err = m.LoadBoard(other, c.id, c.pipeline.ID, funnel.Filter{}, 50)
	if err != nil || b.Columns[0].Count != 0 || b.Columns[2].Count != 1 || b.Columns[2].Totals[0].Amount != "19.5000" {
		t.Fatalf("own-scope board %+v, %v", b, err)
	}
	b2 := newCompany(t, m)
	if _, err := m.LoadBoard(seller, b2.id, c.pipeline.ID, funnel.Filter{}, 50); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another company's board: %v", err)
	}
}

func dealQueriesCount(t *testing.T, m *funnel.Module, tenant uuid.UUID, raw string) int {
	t.Helper()
	es := m.Entities()
	if len(es) != 1 || es[0].Name != "deals" || es[0].Query == nil {
		t.Fatalf("entities %+v", es)
	}
	if err := es[0].Query.CheckQuery(raw, "body.query"); err != nil {
		t.Fatal(err)
	}
	invalidAt(t, "a bad saved filter", es[0].Query.CheckQuery("colour=red", "body.query"), "body.query.colour")
	n, err := es[0].Query.CountQuery(seller, tenant, raw)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Every change publishes its event once the transaction commits, and a
// refused one publishes nothing: created, updated, moved, won, lost, deleted,
// and the moves of a deleted stage's deals too.
func TestDealEventsFollowCommittedChanges(t *testing.T) {
	bus := events.New(testkit.Quiet)
	var mu sync.Mutex
	var got []string
	bus.Subscribe("*", "test", func(_ context.Context, e events.Event) error {
		mu.Lock()
		got = append(got, e.Topic)
		mu.Unlock()
		return nil
	})
	m := funnel.New(funnel.Deps{DB: testkit.Get(t).App, Events: bus, Records: records.NewRegistry(), Log: testkit.Quiet})
	c := newCompany(t, m)
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
	d, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "d", CustomerID: c.customer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.UpdateDeal(seller, c.id, d.ID, funnel.DealUpdate{Version: 1, Amount: ptr("5")}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.MoveDeal(seller, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Won"), Version: 1}); err == nil {
		t.Fatal("a stale move went through")
	}
	if _, err := m.MoveDeal(seller, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Won"), Version: 2}); err != nil {
		t.Fatal(err)
	}
	rs, _ := m.ListLostReasons(seller, c.id)
	if _, err := m.MoveDeal(seller, c.id, d.ID, funnel.MoveInput{StageID: c.stage("Lost"), Version: 3, LostReasonID: &rs[0].ID}); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteDeal(seller, c.id, d.ID, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"deal.created", "deal.updated", "deal.moved", "deal.won", "deal.moved", "deal.lost", "deal.deleted"}
	if ev := take(); !equal(ev, want...) {
		t.Fatalf("events %v, want %v", ev, want)
	}
	// A deleted stage's deals moved into a lost stage: moved and lost each.
	p, err := m.AddStage(admin, c.id, c.pipeline.ID, funnel.StageInput{Names: funnel.Names{NameEN: "Parked"}})
	if err != nil {
		t.Fatal(err)
	}
	parked := p.Stages[len(p.Stages)-1].ID
	for i := 0; i < 2; i++ {
		if _, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "p", CustomerID: c.customer, StageID: &parked}); err != nil {
			t.Fatal(err)
		}
	}
	take()
	if _, err := m.DeleteStage(admin, c.id, c.pipeline.ID, parked, ptr(c.stage("Lost"))); err != nil {
		t.Fatal(err)
	}
	if ev := take(); !equal(ev, "deal.moved", "deal.lost", "deal.moved", "deal.lost") {
		t.Fatalf("events of the stage's delete: %v", ev)
	}
}

// removals records a registry's removals, as tasks would follow them.
type removals struct {
	mu  sync.Mutex
	got map[string][]uuid.UUID
}

func (r *removals) RecordsRemoved(_ context.Context, _ bun.Tx, _ uuid.UUID, entity string, ids []uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[entity] = append(r.got[entity], ids...)
	return nil
}

func (r *removals) RecordsMerged(context.Context, bun.Tx, uuid.UUID, string, []uuid.UUID, uuid.UUID) error {
	return nil
}

// A customer removed for good takes its deals (live and deleted) with it,
// once the owner announces the removal; the tasks about those deals are told.
// Without the announcement the customer's delete is refused by its key.
func TestRemovedCustomersTakeTheirDeals(t *testing.T) {
	reg := records.NewRegistry()
	seen := &removals{got: map[string][]uuid.UUID{}}
	m := funnel.New(funnel.Deps{DB: testkit.Get(t).App, Records: reg, Log: testkit.Quiet})
	reg.AddDependent(m)
	reg.AddDependent(seen)
	c := newCompany(t, m)
	gone := newCustomer(t, c.id, "Erased 注销")
	d1, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "live", CustomerID: gone})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "deleted", CustomerID: gone})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteDeal(seller, c.id, d2.ID, nil); err != nil {
		t.Fatal(err)
	}
	kept, err := m.CreateDeal(seller, c.id, funnel.DealInput{Title: "kept", CustomerID: c.customer})
	if err != nil {
		t.Fatal(err)
	}
	env := testkit.Get(t)
	ctx := authz.AsSystem(context.Background())
	if err := db.InTenant(ctx, env.App, c.id, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = ? AND id = ?", c.id, gone)
		return err
	}); err == nil {
		t.Fatal("a customer with deals was deleted without announcing it")
	}
	env.InTenant(t, c.id, func(ctx context.Context, tx bun.Tx) error {
		if err := reg.Removed(ctx, tx, c.id, "customers", []uuid.UUID{gone}); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE tenant_id = ? AND id = ?", c.id, gone)
		return err
	})
	if n := count(t, c.id, "SELECT count(*) FROM deals WHERE tenant_id = ? AND id IN (?, ?)", d1.ID, d2.ID); n != 0 {
		t.Fatalf("%d deals of the removed customer are left", n)
	}
	if n := count(t, c.id, "SELECT count(*) FROM deal_stage_history WHERE tenant_id = ? AND deal_id IN (?, ?)", d1.ID, d2.ID); n != 0 {
		t.Fatalf("%d history rows of removed deals are left", n)
	}
	if got := seen.got["deals"]; len(got) != 2 {
		t.Fatalf("dependents were told of %v removed deals, want both", got)
	}
	if _, err := m.GetDeal(seller, c.id, kept.ID); err != nil {
		t.Fatalf("another customer's deal went too: %v", err)
	}
}
