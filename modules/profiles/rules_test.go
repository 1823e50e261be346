package profiles_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

var classifier = actor(profiles.PermRead, profiles.PermWrite, profiles.PermClassify)

// scoredCompany makes a company of 200 customers, owned in turn by two
// members, with purchases that spread them over the segments, and scores it.
func scoredCompany(t *testing.T, m *profiles.Module, owners ...uuid.UUID) (testkit.Tenant, []uuid.UUID) {
	t.Helper()
	env := testkit.Get(t)
	a := env.NewTenant(t)
	asOf := time.Now().UTC().Truncate(time.Second)
	ids := insertCustomers(t, a.ID, 200, asOf.AddDate(-2, 0, 0), owners...)
	var currency string
	_ = env.Owner.NewRaw("SELECT currency FROM tenants WHERE id = ?", a.ID).Scan(context.Background(), &currency)
	var ps []sale
	for i, id := range ids {
		for k := 0; k <= i%6; k++ {
			ps = append(ps, sale{id, asOf.AddDate(0, 0, -((i*37)%600)-k), int64(100 * (i % 9)), currency})
		}
	}
	insertPurchases(t, a.ID, ps)
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := m.ScoreCustomers(ctx, tx, a.ID, asOf)
		return err
	})
	return a, ids
}

func TestRuleDryRunEqualsRunAndIsAudited(t *testing.T) {
	env := testkit.Get(t)
	m, _ := setupWith(t, func(d *profiles.Deps) { d.Records = records.NewRegistry() })
	a, _ := scoredCompany(t, m)

	// A condition that does not parse names the filter within body.condition.
	for cond, loc := range map[string]string{"nope[eq]=1": "body.condition.nope[eq]", "rfm.segment=kings": "body.condition.rfm.segment[eq]",
		"churn_risk[gte]=high": "body.condition.churn_risk[gte]", "custom.missing=1": "body.condition.custom.missing"} {
		_, err := m.CreateRule(classifier, a.ID, profiles.RuleInput{Name: "x", Condition: cond, Action: profiles.ActionAddTag, Value: "vip"})
		var e *errs.Error
		if !asErr(err, &e) || e.Status != 422 || len(e.Errors) == 0 || !strings.HasPrefix(e.Errors[0].Location, loc) {
			t.Errorf("%s: got %v", cond, err)
		}
	}
	if _, err := m.CreateRule(writer, a.ID, profiles.RuleInput{Name: "x", Condition: "rfm.segment=champions", Action: profiles.ActionAddTag, Value: "vip"}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a member without profiles.classify made a rule: %v", err)
	}

	// A custom role may hold profiles.classify with a narrower scope; a rule
	// runs over every customer, so it may neither write one nor try one.
	ownClassifier := authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser,
		Permissions: map[string]bool{profiles.PermRead: true, profiles.PermWrite: true, profiles.PermClassify: true}, Scope: authz.ScopeOwn})
	if _, err := m.CreateRule(ownClassifier, a.ID, profiles.RuleInput{Name: "x", Condition: "rfm.segment=champions", Action: profiles.ActionAddTag, Value: "vip"}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a member scoped to their own customers made a rule over all of them: %v", err)
	}

	vip, err := m.CreateRule(classifier, a.ID, profiles.RuleInput{Name: "Champions are VIP", Condition: "rfm.segment[in]=champions,loyal", Action: profiles.ActionAddTag, Value: "VIP"})
	if err != nil {
		t.Fatal(err)
	}
	dry, err := m.DryRunRule(classifier, a.ID, vip.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.DryRunRule(ownClassifier, a.ID, vip.ID); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a member scoped to their own customers counted a rule over all of them: %v", err)
	}
	var want int
	_ = env.Owner.NewRaw("SELECT count(*) FROM customer_scores WHERE tenant_id = ? AND segment IN ('champions', 'loyal')", a.ID).Scan(context.Background(), &want)
	if dry.Changed != want || want == 0 {
		t.Fatalf("dry run %d, want %d", dry.Changed, want)
	}
	// The dry run changed nothing.
	var tagged int
	_ = env.Owner.NewRaw("SELECT count(*) FROM customer_tags WHERE tenant_id = ? AND tag = 'vip'", a.ID).Scan(context.Background(), &tagged)
	if tagged != 0 {
		t.Fatalf("dry run tagged %d", tagged)
	}
	run, err := m.RunRule(classifier, a.ID, vip.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Changed != dry.Changed {
		t.Errorf("run changed %d, dry run said %d", run.Changed, dry.Changed)
	}
	// The tag is a real tag: the list filter by tag finds exactly them.
	list, _, err := m.ListCustomers(writer, a.ID, profiles.Filter{Tags: []string{"vip"}, Limit: 200})
	if err != nil || len(list) != want {
		t.Errorf("tag=vip lists %d (%v), want %d", len(list), err, want)
	}
	var audited int
	_ = env.Owner.NewRaw(`SELECT count(*) FROM audit_log WHERE tenant_id = ? AND action = 'customer.classify' AND actor_kind = 'system'
		AND diff -> 'rule' -> 'to' ->> 'id' = ? AND diff -> 'tags' -> 'to' ? 'VIP'`, a.ID, vip.ID.String()).Scan(context.Background(), &audited)
	if audited != want {
		t.Errorf("%d audit rows name the rule, want %d", audited, want)
	}
	if again, _ := m.DryRunRule(classifier, a.ID, vip.ID); again.Changed != 0 {
		t.Errorf("after the run the dry run still finds %d", again.Changed)
	}

	// Lifecycle: the history follows, and the nightly run (all enabled rules)
	// changes what the dry run counted.
	risky, err := m.CreateRule(classifier, a.ID, profiles.RuleInput{Name: "Risky", Condition: "churn_risk[gte]=20&lifecycle[ne]=churned", Action: profiles.ActionSetLifecycle, Value: "at_risk", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	dry, _ = m.DryRunRule(classifier, a.ID, risky.ID)
	if dry.Changed == 0 {
		t.Fatal("no customer at risk in the generated data")
	}
	var res *profiles.ScoreResult
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		res, err = m.ScoreAndClassify(ctx, tx, a.ID, time.Now())
		return err
	})
	if len(res.Rules) != 1 || res.Rules[0].Changed != dry.Changed {
		t.Errorf("nightly rules %+v, dry run %d", res.Rules, dry.Changed)
	}
	var hist int
	_ = env.Owner.NewRaw("SELECT count(*) FROM customer_lifecycle_history WHERE tenant_id = ? AND to_stage = 'at_risk'", a.ID).Scan(context.Background(), &hist)
	if hist != dry.Changed {
		t.Errorf("%d history rows, want %d", hist, dry.Changed)
	}

	// Another company's rule is not found through any action.
	b := env.NewTenant(t)
	for name, err := range map[string]error{
		"get": func() error { _, err := m.GetRule(classifier, b.ID, vip.ID); return err }(),
		"update": func() error {
			n := "x"
			_, err := m.UpdateRule(classifier, b.ID, vip.ID, profiles.RuleUpdate{Name: &n})
			return err
		}(),
		"dry-run": func() error { _, err := m.DryRunRule(classifier, b.ID, vip.ID); return err }(),
		"run":     func() error { _, err := m.RunRule(classifier, b.ID, vip.ID); return err }(),
		"delete":  m.DeleteRule(classifier, b.ID, vip.ID),
	} {
		if !errs.Is(err, errs.NotFound) {
			t.Errorf("%s from company b: %v", name, err)
		}
	}
	if rs, _ := m.ListRules(classifier, b.ID); len(rs) != 0 {
		t.Errorf("company b lists %d rules", len(rs))
	}
}

func TestScoreFiltersKeepScope(t *testing.T) {
	me, colleague := uuid.New(), uuid.New()
	m, _ := setupWith(t, func(d *profiles.Deps) { d.Records = records.NewRegistry() })
	a, _ := scoredCompany(t, m, me, colleague)
	own := authz.WithActor(context.Background(), authz.Actor{ID: me, Kind: authz.ActorUser, Permissions: map[string]bool{profiles.PermRead: true}, Scope: authz.ScopeOwn})
	for _, q := range []string{"rfm.segment=champions", "churn_risk[gte]=20", "rfm.recency[gte]=3&rfm.monetary[lte]=4", "revenue[gt]=500", "rfm.segment[empty]=false"} {
		vals, _ := url.ParseQuery(q)
		ff, err := profiles.ParseFilters(vals)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		all, _, err := m.ListCustomers(writer, a.ID, profiles.Filter{Fields: ff, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		mine, _, err := m.ListCustomers(own, a.ID, profiles.Filter{Fields: ff, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		wantMine := 0
		for _, c := range all {
			if c.OwnerID != nil && *c.OwnerID == me {
				wantMine++
			}
		}
		if len(all) == 0 || len(mine) != wantMine {
			t.Errorf("%s: all %d, mine %d, want %d of mine", q, len(all), len(mine), wantMine)
		}
		for _, c := range mine {
			if c.OwnerID == nil || *c.OwnerID != me {
				t.Errorf("%s: scope own sees %s of %v", q, c.ID, c.OwnerID)
			}
		}
		// The colleague's customers' scores are 404 to me.
		for _, c := range all {
			if c.OwnerID != nil && *c.OwnerID == colleague {
				if _, err := m.CustomerScore(own, a.ID, c.ID); !errs.Is(err, errs.NotFound) {
					t.Errorf("scope own read a colleague's customer's score: %v", err)
				}
				break
			}
		}
	}
}
