package profiles_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func actor(perms ...string) context.Context {
	p := map[string]bool{}
	for _, k := range perms {
		p[k] = true
	}
	return authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Permissions: p, Scope: authz.ScopeAll})
}

var writer = actor(profiles.PermRead, profiles.PermWrite)

func setup(t *testing.T) (*profiles.Module, *[]events.Event) { return setupWith(t, nil) }

// setupWith is setup with more dependencies.
func setupWith(t *testing.T, more func(*profiles.Deps)) (*profiles.Module, *[]events.Event) {
	bus := events.New(nil)
	var got []events.Event
	bus.Subscribe("*", "test", func(_ context.Context, e events.Event) error { got = append(got, e); return nil })
	d := profiles.Deps{DB: testkit.Get(t).App, Events: bus}
	if more != nil {
		more(&d)
	}
	return profiles.New(d), &got
}

// customerFields is a custom-fields service for customers on the app pool that
// logs to log.
func customerFields(t *testing.T, log *slog.Logger) *fields.Service {
	t.Helper()
	fs, err := fields.New(fields.Deps{DB: testkit.Get(t).App, MasterKey: make([]byte, 32), Entities: []string{profiles.EntityCustomers}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestCreateValidatesEveryField(t *testing.T) {
	m, _ := setup(t)
	a := testkit.Get(t).NewTenant(t)
	_, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: " ", Emails: []string{"nope"}, Phones: []string{"12"}, Lifecycle: "vip", Tags: []string{""}}, false)
	var e *errs.Error
	if !asErr(err, &e) || e.Status != 422 {
		t.Fatalf("got %v", err)
	}
	locs := map[string]bool{}
	for _, f := range e.Errors {
		locs[f.Location] = true
	}
	for _, want := range []string{"body.name", "body.emails[0]", "body.phones[0]", "body.lifecycle", "body.tags[0]"} {
		if !locs[want] {
			t.Errorf("missing %s in %v", want, e.Errors)
		}
	}
	if _, err := m.CreateCustomer(actor(profiles.PermRead), a.ID, profiles.CustomerInput{Name: "x"}, false); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("viewer create: %v", err)
	}
}

// An address is a bounded object of text parts: a province or city past the
// filters' 200 characters, a part past 500, too many parts, or a nested value
// is refused with a 422 naming the part, on create and on update, and what
// was stored stays as it was.
func TestAddressIsBounded(t *testing.T) {
	m, _ := setup(t)
	a := testkit.Get(t).NewTenant(t)
	many := map[string]string{}
	for i := range 17 {
		many[fmt.Sprintf("part%d", i)] = "x"
	}
	manyJSON, _ := json.Marshal(many)
	bad := []struct{ addr, loc string }{
		{`{"province":"` + strings.Repeat("广", 201) + `"}`, "body.address.province"},
		{`{"city":"` + strings.Repeat("c", 201) + `"}`, "body.address.city"},
		{`{"street":"` + strings.Repeat("s", 501) + `"}`, "body.address.street"},
		{`{"street":{"line":"1"}}`, "body.address.street"},
		{`{"tags":["a"]}`, "body.address.tags"},
		{`{"` + strings.Repeat("k", 41) + `":"x"}`, "body.address"},
		{string(manyJSON), "body.address"},
		{`["Shanghai"]`, "body.address"},
	}
	for _, b := range bad {
		_, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Ann", Address: json.RawMessage(b.addr)}, false)
		wantLocation(t, "create with "+b.addr[:min(len(b.addr), 40)], err, b.loc)
	}
	good := `{"street":"` + strings.Repeat("s", 500) + `","province":"` + strings.Repeat("广", 200) + `","postcode":200120,"country":null}`
	c, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Ann", Address: json.RawMessage(good)}, false)
	if err != nil {
		t.Fatalf("an address at its caps: %v", err)
	}
	for _, b := range bad {
		raw := json.RawMessage(b.addr)
		_, err := m.UpdateCustomer(writer, a.ID, c.ID, profiles.CustomerUpdate{Address: &raw})
		wantLocation(t, "update with "+b.addr[:min(len(b.addr), 40)], err, b.loc)
	}
	got, err := m.GetCustomer(writer, a.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := json.Unmarshal(got.Address, &stored); err != nil || stored["province"] != strings.Repeat("广", 200) || stored["postcode"] != float64(200120) {
		t.Fatalf("the stored address changed: %s (%v)", got.Address, err)
	}

	// An address stored before the caps (written here behind the API) does
	// not stop other edits of its customer, nor a merge that keeps it; a new
	// address past them is still refused.
	old, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Old line"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testkit.Get(t).Owner.ExecContext(context.Background(), "UPDATE customers SET address = jsonb_build_object('line', repeat('x', 600)) WHERE tenant_id = ? AND id = ?", a.ID, old.ID); err != nil {
		t.Fatal(err)
	}
	renamed := "Old line, renamed"
	if _, err := m.UpdateCustomer(writer, a.ID, old.ID, profiles.CustomerUpdate{Name: &renamed}); err != nil {
		t.Fatalf("renaming a customer with an old long address: %v", err)
	}
	longer := json.RawMessage(`{"line":"` + strings.Repeat("y", 600) + `"}`)
	_, err = m.UpdateCustomer(writer, a.ID, old.ID, profiles.CustomerUpdate{Address: &longer})
	wantLocation(t, "a new long address", err, "body.address.line")
	if _, err := m.Merge(writer, a.ID, c.ID, []uuid.UUID{old.ID}); err != nil {
		t.Fatalf("merging a customer with an old long address: %v", err)
	}
}

func wantLocation(t *testing.T, what string, err error, loc string) {
	t.Helper()
	var e *errs.Error
	if !asErr(err, &e) || e.Status != 422 {
		t.Errorf("%s: %v, want 422", what, err)
		return
	}
	for _, f := range e.Errors {
		if f.Location == loc {
			return
		}
	}
	t.Errorf("%s: %v, want an error at %s", what, e.Errors, loc)
}

func asErr(err error, target **errs.Error) bool {
	e, ok := err.(*errs.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestDuplicatesAndLifecycleEventsAudit(t *testing.T) {
	m, got := setup(t)
	env := testkit.Get(t)
	a := env.NewTenant(t)
	c1, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "李雷", Emails: []string{"Li.Lei@Example.com"}, Phones: []string{"+86 138 0013 8000"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Lei Li", Emails: []string{"li.lei@example.com"}}, false)
	if !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), c1.ID.String()) {
		t.Fatalf("duplicate email: %v", err)
	}
	_, err = m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Phone Twin", Phones: []string{"138-0013-8000"}}, false)
	if !errs.Is(err, errs.Conflict) {
		t.Fatalf("duplicate phone (national form): %v", err)
	}
	if _, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Lei Li", Emails: []string{"li.lei@example.com"}}, true); err != nil {
		t.Fatalf("allow_duplicate: %v", err)
	}
	stage := "customer"
	if _, err := m.UpdateCustomer(writer, a.ID, c1.ID, profiles.CustomerUpdate{Lifecycle: &stage}); err != nil {
		t.Fatal(err)
	}
	var hist, auditRows int
	_ = env.Owner.NewRaw("SELECT count(*) FROM customer_lifecycle_history WHERE tenant_id = ? AND customer_id = ?", a.ID, c1.ID).Scan(context.Background(), &hist)
	_ = env.Owner.NewRaw("SELECT count(*) FROM audit_log WHERE tenant_id = ? AND entity_id = ?", a.ID, c1.ID.String()).Scan(context.Background(), &auditRows)
	if hist != 2 || auditRows != 2 {
		t.Fatalf("history %d audit %d, want 2 and 2", hist, auditRows)
	}
	topics := []string{}
	for _, e := range *got {
		topics = append(topics, e.Topic)
	}
	if strings.Join(topics, ",") != "customer.created,customer.created,customer.updated" {
		t.Fatalf("events %v", topics)
	}
	// Soft delete hides the customer and frees its email; restore brings it back.
	if _, err := m.DeleteCustomer(writer, a.ID, c1.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetCustomer(writer, a.ID, c1.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("deleted still visible: %v", err)
	}
	if _, err := m.DeleteCustomer(writer, a.ID, c1.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetCustomer(writer, a.ID, c1.ID); err != nil {
		t.Fatalf("restore: %v", err)
	}
}

func TestSearchCJKEmailPhoneAndIsolation(t *testing.T) {
	m, _ := setup(t)
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	mk := func(tn uuid.UUID, name, email, phone string) uuid.UUID {
		in := profiles.CustomerInput{Name: name}
		if email != "" {
			in.Emails = []string{email}
		}
		if phone != "" {
			in.Phones = []string{phone}
		}
		c, err := m.CreateCustomer(writer, tn, in, true)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	zs := mk(a.ID, "张三丰", "zsf@wudang.cn", "+86 139 1111 2222")
	zw := mk(a.ID, "张无忌", "", "")
	li := mk(a.ID, "Li Lei", "li.lei@example.com", "021-5555-0101")
	mk(b.ID, "张伯伦", "zhang@b.example", "") // another tenant's 张
	cases := []struct {
		q    string
		want []uuid.UUID
	}{
		{"张", []uuid.UUID{zs, zw}},
		{"三丰", []uuid.UUID{zs}},
		{"丰", []uuid.UUID{zs}},
		{"li.l", []uuid.UUID{li}},
		{"zsf@", []uuid.UUID{zs}},
		{"139", []uuid.UUID{zs}},
		{"+86 1391", []uuid.UUID{zs}},
		{"021", []uuid.UUID{li}},
		{"lei", []uuid.UUID{li}},
		{"zhang", nil},
	}
	for _, c := range cases {
		items, _, err := m.ListCustomers(writer, a.ID, profiles.Filter{Q: c.q})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(items), sorted(c.want); got != want {
			t.Errorf("q=%q: got %s want %s", c.q, got, want)
		}
	}
	// Tenant B's customer is invisible to A by id too.
	items, _, _ := m.ListCustomers(writer, b.ID, profiles.Filter{Q: "张"})
	if len(items) != 1 {
		t.Fatalf("tenant B sees %d", len(items))
	}
	if _, err := m.GetCustomer(writer, a.ID, items[0].ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("A reads B's customer: %v", err)
	}
	if _, err := m.UpdateCustomer(writer, a.ID, items[0].ID, profiles.CustomerUpdate{}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("A updates B's customer: %v", err)
	}
	// RLS alone: inside A's transaction, an unfiltered query sees only A's customers.
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		var tenants []uuid.UUID
		if err := tx.NewRaw("SELECT DISTINCT tenant_id FROM customers").Scan(ctx, &tenants); err != nil {
			return err
		}
		if len(tenants) != 1 || tenants[0] != a.ID {
			t.Fatalf("saw %v", tenants)
		}
		return nil
	})
}

func TestFiltersSortAndPagesMatchBruteForce(t *testing.T) {
	m, _ := setup(t)
	env := testkit.Get(t)
	a := env.NewTenant(t)
	stages := []string{"lead", "prospect", "customer", "at_risk", "churned"}
	type rec struct {
		id      uuid.UUID
		name    string
		stage   string
		tags    []string
		created time.Time
	}
	var all []rec
	for i := 0; i < 120; i++ {
		tags := []string{}
		if i%3 == 0 {
			tags = append(tags, "VIP")
		}
		if i%4 == 0 {
			tags = append(tags, "north")
		}
		name := fmt.Sprintf("Customer %03d 客户", (i*37)%120)
		c, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: name, Lifecycle: stages[i%5], Tags: tags}, true)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rec{c.ID, strings.ToLower(name), stages[i%5], tags, c.CreatedAt})
	}
	has := func(r rec, tag string) bool {
		for _, tg := range r.tags {
			if strings.EqualFold(tg, tag) {
				return true
			}
		}
		return false
	}
	// Each sort, with one tag (which drives a newest-first list) and with two,
	// walked 7 at a time, matches a brute-force order.
	// A search (which drives a newest-first list from its terms) narrows the same way.
	numIn := func(r rec, lo, hi int) bool {
		var n int
		fmt.Sscanf(r.name, "customer %d", &n)
		return n >= lo && n <= hi
	}
	for _, tc := range []struct {
		sort string
		tags []string
		q    string
		keep func(rec) bool
	}{{"-name", []string{"vip"}, "", nil}, {"-created_at", []string{"vip"}, "", nil}, {"created_at", []string{"vip"}, "", nil},
		{"-created_at", []string{"vip", "north"}, "", nil}, {"", []string{"north", "vip"}, "", nil},
		{"", []string{"vip"}, "客户", nil}, {"", nil, "customer 01", func(r rec) bool { return numIn(r, 10, 19) }},
		{"", []string{"north"}, "Custom 1", func(r rec) bool { return numIn(r, 100, 119) }},
	} {
		var want []rec
		for _, r := range all {
			keep := r.stage == "lead" || r.stage == "customer"
			for _, tg := range tc.tags {
				keep = keep && has(r, tg)
			}
			if tc.keep != nil {
				keep = keep && tc.keep(r)
			}
			if keep {
				want = append(want, r)
			}
		}
		sort.Slice(want, func(i, j int) bool {
			switch tc.sort {
			case "-name":
				if want[i].name != want[j].name {
					return want[i].name > want[j].name
				}
				return want[i].id.String() > want[j].id.String()
			case "created_at":
				return want[i].created.Before(want[j].created)
			default:
				return want[i].created.After(want[j].created)
			}
		})
		var got []uuid.UUID
		cursor := ""
		for page := 0; page < 50; page++ {
			items, next, err := m.ListCustomers(writer, a.ID, profiles.Filter{Q: tc.q, Tags: tc.tags, Lifecycle: []string{"lead", "customer"}, Sort: tc.sort, Limit: 7, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				got = append(got, it.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("sort %q tags %v q %q: got %d, want %d", tc.sort, tc.tags, tc.q, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i].id {
				t.Fatalf("sort %q tags %v: position %d: got %s want %s (%s)", tc.sort, tc.tags, i, got[i], want[i].id, want[i].name)
			}
		}
	}
	if _, _, err := m.ListCustomers(writer, a.ID, profiles.Filter{Sort: "colour"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bad sort: %v", err)
	}
}

func ids(cs []profiles.Customer) string {
	var out []uuid.UUID
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return sorted(out)
}

func sorted(in []uuid.UUID) string {
	s := make([]string, len(in))
	for i, id := range in {
		s[i] = id.String()
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func TestInteractionTimeline(t *testing.T) {
	m, _ := setup(t)
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	c, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "王芳"}, true)
	if err != nil {
		t.Fatal(err)
	}
	// Bad input: every problem named.
	_, err = m.AddInteraction(writer, a.ID, c.ID, profiles.InteractionInput{Kind: "purchase", Summary: " ", Amount: "12.34567", Currency: "XX"})
	var e *errs.Error
	if !asErr(err, &e) || len(e.Errors) != 3 {
		t.Fatalf("bad purchase: %v", err)
	}
	if _, err := m.AddInteraction(writer, a.ID, c.ID, profiles.InteractionInput{Kind: "call", Summary: "x", Amount: "5"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("amount on a call: %v", err)
	}
	future := time.Now().Add(72 * time.Hour)
	if _, err := m.AddInteraction(writer, a.ID, c.ID, profiles.InteractionInput{Kind: "meeting", Summary: "x", OccurredAt: &future}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("future interaction: %v", err)
	}
	old := time.Date(2019, 5, 1, 8, 0, 0, 0, time.UTC) // lands in the default partition
	steps := []profiles.InteractionInput{
		{Kind: "purchase", Summary: "首单", Amount: "1999.00", Currency: "cny", OccurredAt: &old},
		{Kind: "call", Summary: "Follow-up call"},
		{Kind: "note", Summary: "Prefers WeChat"},
	}
	for _, s := range steps {
		if _, err := m.AddInteraction(writer, a.ID, c.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	items, _, err := m.Timeline(writer, a.ID, c.ID, profiles.InteractionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[2].Kind != "purchase" || items[2].Amount == nil || *items[2].Amount != "1999.0000" || *items[2].Currency != "CNY" {
		t.Fatalf("timeline: %+v", items)
	}
	items, _, _ = m.Timeline(writer, a.ID, c.ID, profiles.InteractionFilter{Kinds: []string{"note", "call"}, Limit: 1})
	if len(items) != 1 || items[0].Kind != "note" {
		t.Fatalf("filtered page: %+v", items)
	}
	// Tenant B cannot read or write A's timeline.
	if _, err := m.AddInteraction(writer, b.ID, c.ID, profiles.InteractionInput{Kind: "note", Summary: "x"}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("B writes A's timeline: %v", err)
	}
	if _, _, err := m.Timeline(writer, b.ID, c.ID, profiles.InteractionFilter{}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("B reads A's timeline: %v", err)
	}
}

func TestDuplicatesAndMergeKeepEverything(t *testing.T) {
	// Tasks live in their own module; profiles tells the records registry, in
	// the merge's transaction, what was merged into what (cmd's
	// TestTasksFollowTheirCustomer checks the tasks themselves).
	reg := records.NewRegistry()
	dep := &recordedDependent{}
	reg.AddDependent(dep)
	m, got := setupWith(t, func(d *profiles.Deps) { d.Records = reg })
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	w, _ := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "赵敏", Emails: []string{"zhao@example.com"}, Tags: []string{"vip"}}, true)
	l1, _ := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Zhao Min", Emails: []string{"zhao@example.com"}, Phones: []string{"13900001111"}, Tags: []string{"north"}}, true)
	l2, _ := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Min Zhao", Phones: []string{"139 0000 1111"}}, true)
	groups, err := m.Duplicates(writer, a.ID, 50)
	if err != nil || len(groups) != 2 {
		t.Fatalf("duplicate groups %+v %v", groups, err)
	}
	for _, c := range []*profiles.Customer{w, l1, l2} {
		for i := 0; i < 3; i++ {
			if _, err := m.AddInteraction(writer, a.ID, c.ID, profiles.InteractionInput{Kind: "note", Summary: fmt.Sprintf("%s %d", c.Name, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := m.Merge(writer, b.ID, w.ID, []uuid.UUID{l1.ID}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("tenant B merged A's customers: %v", err)
	}
	if _, err := m.Merge(writer, a.ID, w.ID, []uuid.UUID{w.ID}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("winner as loser: %v", err)
	}
	merged, err := m.Merge(writer, a.ID, w.ID, []uuid.UUID{l1.ID, l2.ID})
	if err != nil {
		t.Fatal(err)
	}
	if merged.Name != "赵敏" || len(merged.Emails) != 1 || len(merged.Phones) != 2 || len(merged.Tags) != 2 {
		t.Fatalf("merged %+v", merged)
	}
	items, _, _ := m.Timeline(writer, a.ID, w.ID, profiles.InteractionFilter{Limit: 200})
	if len(items) != 9 {
		t.Fatalf("winner has %d interactions, want all 9", len(items))
	}
	if len(dep.merged) != 1 || dep.merged[0] != fmt.Sprintf("customers %v -> %s", []uuid.UUID{l1.ID, l2.ID}, w.ID) {
		t.Fatalf("dependents were told %v, want the two losers merged into the winner", dep.merged)
	}
	for _, l := range []uuid.UUID{l1.ID, l2.ID} {
		if _, err := m.GetCustomer(writer, a.ID, l); !errs.Is(err, errs.NotFound) {
			t.Fatalf("loser still live: %v", err)
		}
	}
	if g, _ := m.Duplicates(writer, a.ID, 50); len(g) != 0 {
		t.Fatalf("duplicates after merge: %+v", g)
	}
	var audits int
	_ = env.Owner.NewRaw("SELECT count(*) FROM audit_log WHERE tenant_id = ? AND action = 'customer.merge' AND entity_id = ?", a.ID, w.ID.String()).Scan(context.Background(), &audits)
	if audits != 1 {
		t.Fatalf("%d merge audit rows", audits)
	}
	last := (*got)[len(*got)-1]
	if last.Topic != "customer.merged" {
		t.Fatalf("last event %s", last.Topic)
	}
}

func TestEraseRemovesThePersonAndAnonymisesHistory(t *testing.T) {
	reg := records.NewRegistry()
	dep := &recordedDependent{}
	reg.AddDependent(dep)
	m, _ := setupWith(t, func(d *profiles.Deps) { d.Records = reg })
	env := testkit.Get(t)
	a := env.NewTenant(t)
	c, _ := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "周芷若", Emails: []string{"zhou.zhiruo@example.com"}, Tags: []string{"vip"}}, true)
	name := "周芷若 Zhou"
	if _, err := m.UpdateCustomer(writer, a.ID, c.ID, profiles.CustomerUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddInteraction(writer, a.ID, c.ID, profiles.InteractionInput{Kind: "note", Summary: "private note"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Erase(writer, a.ID, c.ID); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("erase without profiles.erase: %v", err)
	}
	eraser := actor(profiles.PermRead, profiles.PermWrite, profiles.PermErase)
	if err := m.Erase(eraser, a.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	var leftovers int
	_ = env.Owner.NewRaw(`SELECT (SELECT count(*) FROM customers WHERE id = ?) + (SELECT count(*) FROM interactions WHERE customer_id = ?)
		+ (SELECT count(*) FROM customer_terms WHERE customer_id = ?) + (SELECT count(*) FROM customer_tags WHERE customer_id = ?)`,
		c.ID, c.ID, c.ID, c.ID).Scan(context.Background(), &leftovers)
	if leftovers != 0 {
		t.Fatalf("%d rows of the person remain", leftovers)
	}
	if want := fmt.Sprintf("customers %v", []uuid.UUID{c.ID}); len(dep.removed) != 1 || dep.removed[0] != want {
		t.Fatalf("dependents (tasks) were told %v, want %s removed", dep.removed, want)
	}
	var history string
	_ = env.Owner.NewRaw("SELECT string_agg(diff::text, ' ') FROM audit_log WHERE tenant_id = ? AND entity_id = ?", a.ID, c.ID.String()).Scan(context.Background(), &history)
	for _, pii := range []string{"周芷若", "zhou.zhiruo", "Zhou"} {
		if strings.Contains(history, pii) {
			t.Fatalf("audit history still holds %q: %s", pii, history)
		}
	}
	if !strings.Contains(history, "[erased]") {
		t.Fatalf("history was not kept in shape: %s", history)
	}
}

func TestFieldFilters(t *testing.T) {
	m, _ := setup(t)
	env := testkit.Get(t)
	a := env.NewTenant(t)
	mk := func(name, src string, tags []string, email string) uuid.UUID {
		in := profiles.CustomerInput{Name: name, Source: src, Tags: tags}
		if email != "" {
			in.Emails = []string{email}
		}
		c, err := m.CreateCustomer(writer, a.ID, in, true)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	x := mk("Alpha", "web", []string{"vip"}, "alpha@example.com")
	y := mk("Beta", "fair", nil, "beta@corp.example")
	z := mk("Gamma", "", []string{"north"}, "")
	cases := []filterCase{
		{"source=web", []uuid.UUID{x}},
		{"source[ne]=web", []uuid.UUID{y, z}},
		{"source[in]=web,fair", []uuid.UUID{x, y}},
		{"source[empty]=true", []uuid.UUID{z}},
		{"name[prefix]=Be", []uuid.UUID{y}},
		{"tags[contains]=vip", []uuid.UUID{x}},
		{"tags[empty]=true", []uuid.UUID{y}},
		{"email[prefix]=beta@", []uuid.UUID{y}},
		{"email=alpha@example.com", []uuid.UUID{x}},
		{"created_at[gte]=2000-01-01", []uuid.UUID{x, y, z}},
		{"created_at[lt]=2000-01-01", nil},
	}
	checkFilters(t, m, a.ID, cases, "colour=red", "name[between]=a,b", "created_at[gte]=yesterday", "custom.size=3", "owner_id=nope")
}

// filterCase is a list query and the customers it must give.
type filterCase struct {
	query string
	want  []uuid.UUID
}

// checkFilters lists tenant's customers with each case's query and compares
// them with its want, then checks that each bad query is refused with 422.
func checkFilters(t *testing.T, m *profiles.Module, tenant uuid.UUID, cases []filterCase, bad ...string) {
	t.Helper()
	for _, c := range cases {
		vals, _ := url.ParseQuery(c.query)
		ff, err := profiles.ParseFilters(vals)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		items, _, err := m.ListCustomers(writer, tenant, profiles.Filter{Fields: ff})
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if got, want := ids(items), sorted(c.want); got != want {
			t.Errorf("%s: got %s want %s", c.query, got, want)
		}
	}
	for _, q := range bad {
		vals, _ := url.ParseQuery(q)
		ff, err := profiles.ParseFilters(vals)
		if err == nil {
			_, _, err = m.ListCustomers(writer, tenant, profiles.Filter{Fields: ff})
		}
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: got %v, want 422", q, err)
		}
	}
}

// owner_team keeps the customers whose owner is in the team (a member of
// two teams is in both), and owner_team[empty]=true those whose owner is in
// no team or who have none: the customers a metric's point by team counts.
func TestOwnerTeamFilter(t *testing.T) {
	m, _ := setup(t)
	env := testkit.Get(t)
	a := env.NewTenant(t)
	ctx := context.Background()
	tf := env.NewTeams(t, a.ID)
	ann, bo, cai, north, south := tf.Ann, tf.Bo, tf.Cai, tf.North, tf.South
	mk := func(name string, owner uuid.UUID) uuid.UUID {
		c, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: name}, true)
		if err != nil {
			t.Fatal(err)
		}
		var o *uuid.UUID
		if owner != uuid.Nil {
			o = &owner
		}
		if _, err := env.Owner.ExecContext(ctx, "UPDATE customers SET owner_id = ? WHERE tenant_id = ? AND id = ?", o, a.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	x, y, z, w := mk("Ann's", ann), mk("Bo's", bo), mk("Cai's", cai), mk("Nobody's", uuid.Nil)
	checkFilters(t, m, a.ID, []filterCase{
		{"owner_team=" + north.String(), []uuid.UUID{x, y}},
		{"owner_team[eq]=" + south.String(), []uuid.UUID{y}},
		{"owner_team=" + uuid.NewString(), nil},
		{"owner_team[empty]=true", []uuid.UUID{z, w}},
		{"owner_team[empty]=false", []uuid.UUID{x, y}},
	}, "owner_team=north", "owner_team[in]="+north.String())
}

// The 409 for a duplicate names what clashed: each error is the email or phone
// as sent, at its place in the body; the customer it clashes with is in the
// message, never in value.
func TestDuplicateConflictNamesTheContact(t *testing.T) {
	m, _ := setup(t)
	env := testkit.Get(t)
	a := env.NewTenant(t)
	c1, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Han Meimei", Emails: []string{"han@example.com"}, Phones: []string{"+86 139 0000 1111"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: "Meimei",
		Emails: []string{"new@example.com", "HAN@example.com"}, Phones: []string{"139-0000-1111"}}, false)
	var e *errs.Error
	if !asErr(err, &e) || e.Code != errs.Conflict {
		t.Fatalf("duplicate: %v", err)
	}
	got := map[string]any{}
	for _, f := range e.Errors {
		got[f.Location] = f.Value
		if !strings.Contains(f.Message, c1.ID.String()) {
			t.Errorf("%s: message %q does not name the customer", f.Location, f.Message)
		}
	}
	want := map[string]any{"body.emails[1]": "HAN@example.com", "body.phones[0]": "139-0000-1111"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("errors %v, want %v", got, want)
	}
}

// recordedDependent notes what profiles reports to the records registry.
type recordedDependent struct{ merged, removed []string }

func (d *recordedDependent) RecordsRemoved(_ context.Context, _ bun.Tx, _ uuid.UUID, entity string, ids []uuid.UUID) error {
	d.removed = append(d.removed, fmt.Sprintf("%s %v", entity, ids))
	return nil
}

func (d *recordedDependent) RecordsMerged(_ context.Context, _ bun.Tx, _ uuid.UUID, entity string, from []uuid.UUID, into uuid.UUID) error {
	d.merged = append(d.merged, fmt.Sprintf("%s %v -> %s", entity, from, into))
	return nil
}
