package fields

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func newSvc(t *testing.T) (*testkit.Env, *Service) {
	env := testkit.Get(t)
	s, err := New(Deps{DB: env.App, Entities: []string{"customers"}, CacheTTL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return env, s
}

// fiveFields are the acceptance fields: select, number, date, sensitive text, multi_select.
func fiveFields() []Definition {
	return []Definition{
		{Entity: "customers", Key: "tier", LabelEN: "Tier", Type: Select, Options: []Option{{Value: "gold"}, {Value: "silver"}, {Value: "bronze"}}, Filterable: true, Sortable: true},
		{Entity: "customers", Key: "score", LabelEN: "Score", Type: Number, Filterable: true, Sortable: true, Required: true},
		{Entity: "customers", Key: "since", LabelEN: "Since", Type: Date, Filterable: true, Sortable: true},
		{Entity: "customers", Key: "national_id", LabelEN: "National ID", Type: Text, Sensitive: true},
		{Entity: "customers", Key: "channels", LabelEN: "Channels", Type: MultiSelect, Options: []Option{{Value: "wechat"}, {Value: "email"}, {Value: "phone"}, {Value: "visit"}}, Filterable: true},
	}
}

func define(t *testing.T, env *testkit.Env, s *Service, tenant uuid.UUID, defs []Definition) {
	t.Helper()
	env.InTenant(t, tenant, func(ctx context.Context, tx bun.Tx) error {
		for _, d := range defs {
			if _, err := s.Create(ctx, tx, tenant, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestDefinitionsCRUDAndValueErrors(t *testing.T) {
	env, s := newSvc(t)
	tn := env.NewTenant(t)
	define(t, env, s, tn.ID, fiveFields())
	ctx := authz.AsSystem(context.Background()) // the test's own changes are nobody's request

	err := db.InTenant(ctx, env.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := s.ValidateValues(ctx, tx, tn.ID, "customers", map[string]any{
			"tier": "platinum", "since": "22/11/2026", "channels": []any{"fax"}, "nope": 1,
		}, false)
		return err
	})
	var e *errs.Error
	if !errorsAs(err, &e) || e.Status != 422 {
		t.Fatalf("want one 422, got %v", err)
	}
	got := map[string]string{}
	for _, f := range e.Errors {
		got[f.Location] = f.Message
	}
	for _, k := range []string{"tier", "since", "channels", "nope", "score"} {
		if got["body.custom."+k] == "" {
			t.Errorf("no error for body.custom.%s in %v", k, e.Errors)
		}
	}
	if len(e.Errors) != 5 {
		t.Errorf("want 5 field errors, got %v", e.Errors)
	}

	// Partial updates check only given keys; a valid set is clean.
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		clean, err := s.ValidateValues(ctx, tx, tn.ID, "customers", map[string]any{"score": "12.50", "tier": "gold"}, true)
		if err != nil {
			return err
		}
		if fmt.Sprint(clean["score"]) != "12.5" || clean["tier"] != "gold" {
			t.Errorf("clean = %v", clean)
		}
		return nil
	})

	// Each refused change in its own transaction (a failed statement aborts it).
	try := func(fn func(ctx context.Context, tx bun.Tx) error) error {
		return db.InTenant(ctx, env.App, tn.ID, fn)
	}
	if err := try(func(ctx context.Context, tx bun.Tx) error {
		_, err := s.Create(ctx, tx, tn.ID, fiveFields()[0])
		return err
	}); !errs.Is(err, errs.Conflict) {
		t.Errorf("duplicate key: %v", err)
	}
	if err := try(func(ctx context.Context, tx bun.Tx) error {
		_, err := s.Create(ctx, tx, tn.ID, Definition{Entity: "customers", Key: "X", Type: "bogus"})
		return err
	}); !errs.Is(err, errs.Invalid) {
		t.Errorf("bad definition: %v", err)
	}
	if err := try(func(ctx context.Context, tx bun.Tx) error {
		_, err := s.Create(ctx, tx, tn.ID, Definition{Entity: "invoices", Key: "x", LabelEN: "X", Type: Text})
		return err
	}); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown entity: %v", err)
	}
	ty := Number
	if err := try(func(ctx context.Context, tx bun.Tx) error {
		_, err := s.Update(ctx, tx, tn.ID, "customers", "tier", Patch{Type: &ty})
		return err
	}); !errs.Is(err, errs.Conflict) {
		t.Errorf("type change: %v", err)
	}
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.SetArchived(ctx, tx, tn.ID, "customers", "tier", true); err != nil {
			return err
		}
		defs, err := s.Definitions(ctx, tx, tn.ID, "customers")
		if err != nil {
			return err
		}
		for _, d := range defs {
			if d.Key == "tier" {
				t.Errorf("archived field still active")
			}
		}
		if _, err := s.ValidateValues(ctx, tx, tn.ID, "customers", map[string]any{"tier": "gold"}, true); !errs.Is(err, errs.Invalid) {
			t.Errorf("archived field accepted a value: %v", err)
		}
		if _, err := s.SetArchived(ctx, tx, tn.ID, "customers", "tier", false); err != nil {
			return err
		}
		lbl := "Customer tier"
		d, err := s.Update(ctx, tx, tn.ID, "customers", "tier", Patch{LabelEN: &lbl})
		if err != nil || d.LabelEN != lbl || len(d.Options) != 3 {
			t.Errorf("update: %+v %v", d, err)
		}
		return nil
	})
	// Audit rows travel with COMMIT (db.Defer): count them once committed.
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM audit_log WHERE entity = 'field'").Scan(&n); err != nil {
			return err
		}
		if n != 5+3 {
			t.Errorf("audit rows = %d, want 8", n)
		}
		return nil
	})

	// Writes need fields.manage.
	m := NewModule(s)
	vctx := tenancy.With(authz.WithActor(ctx, authz.Actor{Kind: authz.ActorUser, ID: uuid.New(), Permissions: map[string]bool{}}), tenancy.Tenant{ID: tn.ID, Slug: tn.Slug})
	err = tenancy.Tx(vctx, m.svc.deps.DB, PermManage, func(context.Context, bun.Tx, tenancy.Tenant) error { return nil })
	if !errs.Is(err, errs.Forbidden) {
		t.Fatalf("without fields.manage: %v", err)
	}
}

func errorsAs(err error, e **errs.Error) bool {
	if err == nil {
		return false
	}
	x, ok := err.(*errs.Error)
	if ok {
		*e = x
	}
	return ok
}

func TestUniqueUnderConcurrentWrites(t *testing.T) {
	env, s := newSvc(t)
	tn := env.NewTenant(t)
	define(t, env, s, tn.ID, []Definition{{Entity: "customers", Key: "tax_no", LabelEN: "Tax no", Type: Text, Unique: true}})
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			results[i] = db.InTenant(context.Background(), env.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
				clean, err := s.ValidateValues(ctx, tx, tn.ID, "customers", map[string]any{"tax_no": "ABC-1"}, false)
				if err != nil {
					return err
				}
				if err := s.WriteIndex(ctx, tx, tn.ID, "customers", uuid.New(), clean); err != nil {
					return err
				}
				time.Sleep(100 * time.Millisecond) // hold the row so the other writer waits on it
				return nil
			})
		}(i)
	}
	close(start)
	wg.Wait()
	ok, conflicts := 0, 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case errs.Is(err, errs.Conflict):
			conflicts++
			var e *errs.Error
			if !errorsAs(err, &e) || len(e.Errors) != 1 || e.Errors[0].Location != "body.custom.tax_no" {
				t.Errorf("conflict does not name the field: %v", err)
			}
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != 1 || conflicts != 1 {
		t.Fatalf("ok=%d conflicts=%d, want 1 and 1", ok, conflicts)
	}
	// Case-insensitive for text, and the same record may rewrite its own value.
	err := db.InTenant(context.Background(), env.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return s.WriteIndex(ctx, tx, tn.ID, "customers", uuid.New(), map[string]any{"tax_no": "abc-1"})
	})
	if !errs.Is(err, errs.Conflict) {
		t.Errorf("case variant: %v", err)
	}
	// Archiving keeps the values reserved: data is never lost, restore finds it whole.
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := s.SetArchived(ctx, tx, tn.ID, "customers", "tax_no", true)
		return err
	})
	err = db.InTenant(context.Background(), env.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return s.WriteIndex(ctx, tx, tn.ID, "customers", uuid.New(), map[string]any{"tax_no": "ABC-1"})
	})
	if !errs.Is(err, errs.Conflict) {
		t.Errorf("archived unique field released its value: %v", err)
	}
}

// testRecords is a module-like table under RLS holding records with custom values.
func testRecords(t *testing.T, env *testkit.Env) {
	t.Helper()
	err := env.ExecEach(context.Background(), `
		CREATE TABLE IF NOT EXISTS fields_test_records (
			tenant_id uuid NOT NULL, id uuid NOT NULL, custom jsonb NOT NULL DEFAULT '{}', PRIMARY KEY (tenant_id, id));
		ALTER TABLE fields_test_records ENABLE ROW LEVEL SECURITY;
		ALTER TABLE fields_test_records FORCE ROW LEVEL SECURITY;
		DROP POLICY IF EXISTS tenant_isolation ON fields_test_records;
		CREATE POLICY tenant_isolation ON fields_test_records
			USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)
			WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);
		GRANT ALL ON fields_test_records TO `+env.Config.AppDBRole)
	if err != nil {
		t.Fatal(err)
	}
	env.Distribute(t, "fields_test_records")
}

func save(ctx context.Context, t *testing.T, s *Service, tx bun.Tx, tenant uuid.UUID, values map[string]any) (uuid.UUID, map[string]any) {
	t.Helper()
	clean, err := s.ValidateValues(ctx, tx, tenant, "customers", values, false)
	if err != nil {
		t.Fatalf("values %v: %v", values, err)
	}
	id := uuid.New()
	raw, _ := json.Marshal(clean)
	if _, err := tx.ExecContext(ctx, "INSERT INTO fields_test_records (tenant_id, id, custom) VALUES (?, ?, ?)", tenant, id, string(raw)); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteIndex(ctx, tx, tenant, "customers", id, clean); err != nil {
		t.Fatal(err)
	}
	return id, clean
}

type rec struct {
	id       uuid.UUID
	tier     string
	score    *float64
	since    string
	channels []string
}

func TestFilterAndSortAgainstBruteForce(t *testing.T) {
	env, s := newSvc(t)
	testRecords(t, env)
	tn := env.NewTenant(t)
	other := env.NewTenant(t)
	define(t, env, s, tn.ID, fiveFields())
	define(t, env, s, other.ID, fiveFields())
	rng := rand.New(rand.NewSource(7))
	tiers := []string{"gold", "silver", "bronze"}
	chans := []string{"wechat", "email", "phone", "visit"}
	var recs []rec
	gen := func() map[string]any {
		v := map[string]any{"score": fmt.Sprintf("%d.%d", rng.Intn(200)-100, rng.Intn(10))}
		if rng.Intn(5) > 0 {
			v["tier"] = tiers[rng.Intn(3)]
		}
		if rng.Intn(4) > 0 {
			v["since"] = time.Date(2020+rng.Intn(6), time.Month(1+rng.Intn(12)), 1+rng.Intn(28), 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		}
		var cs []any
		for _, c := range chans {
			if rng.Intn(3) == 0 {
				cs = append(cs, c)
			}
		}
		if len(cs) > 0 {
			v["channels"] = cs
		}
		return v
	}
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		for i := 0; i < 300; i++ {
			id, clean := save(ctx, t, s, tx, tn.ID, gen())
			r := rec{id: id}
			r.tier, _ = clean["tier"].(string)
			r.since, _ = clean["since"].(string)
			if n, ok := clean["score"].(json.Number); ok {
				f, _ := n.Float64()
				r.score = &f
			}
			if cs, ok := clean["channels"].([]string); ok {
				r.channels = cs
			}
			recs = append(recs, r)
		}
		return nil
	})
	// Noise in another tenant that matches everything.
	env.InTenant(t, other.ID, func(ctx context.Context, tx bun.Tx) error {
		for i := 0; i < 50; i++ {
			save(ctx, t, s, tx, other.ID, gen())
		}
		return nil
	})
	var defs []Definition
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		defs, err = s.Definitions(ctx, tx, tn.ID, "customers")
		return err
	})
	def := func(k string) Definition {
		for _, d := range defs {
			if d.Key == k {
				return d
			}
		}
		t.Fatalf("no %s", k)
		return Definition{}
	}
	has := func(xs []string, x string) bool {
		for _, y := range xs {
			if y == x {
				return true
			}
		}
		return false
	}
	num := func(s string) float64 { var f float64; fmt.Sscan(s, &f); return f }
	type tc struct {
		key, op string
		vals    []string
		match   func(r rec) bool
	}
	cases := []tc{
		{"tier", "eq", []string{"gold"}, func(r rec) bool { return r.tier == "gold" }},
		{"tier", "ne", []string{"gold"}, func(r rec) bool { return r.tier != "gold" }},
		{"tier", "in", []string{"gold", "bronze"}, func(r rec) bool { return r.tier == "gold" || r.tier == "bronze" }},
		{"tier", "empty", []string{"true"}, func(r rec) bool { return r.tier == "" }},
		{"tier", "empty", []string{"false"}, func(r rec) bool { return r.tier != "" }},
		{"score", "gt", []string{"10.5"}, func(r rec) bool { return r.score != nil && *r.score > 10.5 }},
		{"score", "lte", []string{"-3"}, func(r rec) bool { return r.score != nil && *r.score <= -3 }},
		{"score", "between", []string{"-20", "20.5"}, func(r rec) bool { return r.score != nil && *r.score >= -20 && *r.score <= 20.5 }},
		{"score", "eq", []string{"5.50"}, func(r rec) bool { return r.score != nil && *r.score == 5.5 }},
		{"since", "gte", []string{"2023-06-01"}, func(r rec) bool { return r.since != "" && r.since >= "2023-06-01" }},
		{"since", "lt", []string{"2021-01-01"}, func(r rec) bool { return r.since != "" && r.since < "2021-01-01" }},
		{"since", "between", []string{"2022-01-01", "2022-12-31"}, func(r rec) bool { return r.since >= "2022-01-01" && r.since <= "2022-12-31" }},
		{"channels", "eq", []string{"wechat"}, func(r rec) bool { return has(r.channels, "wechat") }},
		{"channels", "in", []string{"phone", "visit"}, func(r rec) bool { return has(r.channels, "phone") || has(r.channels, "visit") }},
		{"channels", "ne", []string{"email"}, func(r rec) bool { return !has(r.channels, "email") }},
		{"channels", "empty", []string{"true"}, func(r rec) bool { return len(r.channels) == 0 }},
	}
	_ = num
	for _, c := range cases {
		frag, args, err := FilterSQL(def(c.key), "r.id", c.op, c.vals)
		if err != nil {
			t.Fatalf("%s %s: %v", c.key, c.op, err)
		}
		var got []uuid.UUID
		env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			// The tenant filter every module query carries: on Citus it routes the
			// query, and the field_index subquery joins within the tenant's shard.
			return tx.NewRaw("SELECT r.id FROM fields_test_records r WHERE r.tenant_id = ? AND "+frag, append([]any{tn.ID}, args...)...).Scan(ctx, &got)
		})
		want := map[uuid.UUID]bool{}
		for _, r := range recs {
			if c.match(r) {
				want[r.id] = true
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s[%s]=%v: got %d records, brute force %d", c.key, c.op, c.vals, len(got), len(want))
			continue
		}
		for _, id := range got {
			if !want[id] {
				t.Errorf("%s[%s]=%v: %s should not match", c.key, c.op, c.vals, id)
			}
		}
		if len(want) == 0 || len(want) == len(recs) {
			t.Logf("%s[%s]: degenerate case (%d)", c.key, c.op, len(want))
		}
	}
	// Sorts: tier, score, date both ways, nulls last, id as tie-break.
	for _, key := range []string{"tier", "score", "since"} {
		for _, desc := range []bool{false, true} {
			expr, args, err := SortSQL(def(key), "r.id", desc)
			if err != nil {
				t.Fatal(err)
			}
			var got []uuid.UUID
			env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewRaw("SELECT r.id FROM fields_test_records r WHERE r.tenant_id = ? ORDER BY "+expr+", r.id", append([]any{tn.ID}, args...)...).Scan(ctx, &got)
			})
			want := append([]rec(nil), recs...)
			sort.SliceStable(want, func(i, j int) bool {
				a, b := want[i], want[j]
				var an, bn bool
				var cmp int
				switch key {
				case "tier":
					an, bn = a.tier == "", b.tier == ""
					cmp = strings.Compare(a.tier, b.tier)
				case "since":
					an, bn = a.since == "", b.since == ""
					cmp = strings.Compare(a.since, b.since)
				case "score":
					an, bn = a.score == nil, b.score == nil
					if !an && !bn {
						switch {
						case *a.score < *b.score:
							cmp = -1
						case *a.score > *b.score:
							cmp = 1
						}
					}
				}
				if an != bn {
					return bn
				}
				if desc {
					cmp = -cmp
				}
				if cmp != 0 {
					return cmp < 0
				}
				return a.id.String() < b.id.String()
			})
			if len(got) != len(want) {
				t.Fatalf("sort %s: %d rows", key, len(got))
			}
			for i := range got {
				if got[i] != want[i].id {
					t.Errorf("sort %s desc=%v: row %d differs", key, desc, i)
					break
				}
			}
		}
	}
	// Errors: not filterable, bad value, unknown op.
	if _, _, err := FilterSQL(def("national_id"), "r.id", "eq", []string{"x"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("sensitive filter: %v", err)
	}
	if _, _, err := FilterSQL(def("score"), "r.id", "gt", []string{"abc"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("bad number: %v", err)
	}
	if _, _, err := FilterSQL(def("tier"), "r.id", "like", []string{"g"}); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown op: %v", err)
	}

	// EXPLAIN as the app role: an eq filter reaches the side table through its btree.
	frag, args, _ := FilterSQL(def("tier"), "r.id", "eq", []string{"gold"})
	if _, err := env.Owner.ExecContext(context.Background(), "ANALYZE field_index; ANALYZE fields_test_records"); err != nil {
		t.Fatal(err)
	}
	var plan []string
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw("EXPLAIN SELECT r.id FROM fields_test_records r WHERE r.tenant_id = ? AND "+frag, append([]any{tn.ID}, args...)...).Scan(ctx, &plan)
	})
	joined := strings.Join(plan, "\n")
	if !strings.Contains(joined, "field_index_text_idx") {
		t.Fatalf("no index scan on field_index:\n%s", joined)
	}
	t.Logf("plan:\n%s", joined)
}

func TestSensitiveSealedOpenedMasked(t *testing.T) {
	env, s := newSvc(t)
	testRecords(t, env)
	tn := env.NewTenant(t)
	define(t, env, s, tn.ID, fiveFields())
	const secret = "110101199003074514"
	var id uuid.UUID
	var clean map[string]any
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		id, clean = save(ctx, t, s, tx, tn.ID, map[string]any{"score": 1, "national_id": secret})
		return nil
	})
	var raw string
	if err := env.Owner.QueryRowContext(context.Background(), "SELECT custom::text FROM fields_test_records WHERE id = ?", id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, secret) || strings.Contains(raw, "0307") || !strings.Contains(raw, SealedPrefix) {
		t.Fatalf("raw jsonb holds the plaintext or no sealed value: %s", raw)
	}
	var n int
	_ = env.Owner.QueryRowContext(context.Background(), "SELECT count(*) FROM field_index WHERE record_id = ? AND field_key = 'national_id'", id).Scan(&n)
	if n != 0 {
		t.Fatalf("sensitive value indexed")
	}
	reader := authz.WithActor(context.Background(), authz.Actor{Kind: authz.ActorUser, ID: uuid.New(), Permissions: map[string]bool{"pii.read": true}})
	viewer := authz.WithActor(context.Background(), authz.Actor{Kind: authz.ActorUser, ID: uuid.New(), Permissions: map[string]bool{}})
	for _, c := range []struct {
		ctx  context.Context
		want any
	}{{reader, secret}, {viewer, MaskText}} {
		if err := db.InTenant(c.ctx, env.App, tn.ID, func(ctx context.Context, tx bun.Tx) error {
			defs, err := s.Definitions(ctx, tx, tn.ID, "customers")
			if err != nil {
				return err
			}
			out, err := s.Reveal(ctx, tx, tn.ID, defs, clean)
			if err != nil {
				return err
			}
			if out["national_id"] != c.want {
				t.Errorf("revealed %v, want %v", out["national_id"], c.want)
			}
			if fmt.Sprint(out["score"]) != "1" {
				t.Errorf("score = %v", out["score"])
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Another tenant cannot open the value (its own key, and the tenant id is bound in).
	other := env.NewTenant(t)
	err := db.InTenant(context.Background(), env.App, other.ID, func(ctx context.Context, tx bun.Tx) error {
		_, err := s.Open(ctx, tx, other.ID, clean["national_id"].(string))
		return err
	})
	if err == nil {
		t.Fatal("tenant B opened tenant A's sealed value")
	}
	// A fresh service (same master key lost: new process, new key) cannot read, but
	// with the same master key it can: the data key is wrapped in the database.
	s2, _ := New(Deps{DB: env.App, MasterKey: nil})
	_ = s2
	mk := make([]byte, 32)
	s3, _ := New(Deps{DB: env.App, MasterKey: mk})
	t3 := env.NewTenant(t)
	var sealed string
	env.InTenant(t, t3.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		sealed, err = s3.Seal(ctx, tx, t3.ID, "hello")
		return err
	})
	s4, _ := New(Deps{DB: env.App, MasterKey: mk})
	env.InTenant(t, t3.ID, func(ctx context.Context, tx bun.Tx) error {
		pt, err := s4.Open(ctx, tx, t3.ID, sealed)
		if err != nil || pt != "hello" {
			t.Errorf("open with the same master key: %q %v", pt, err)
		}
		return nil
	})
}

func TestTenantIsolation(t *testing.T) {
	env, s := newSvc(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	define(t, env, s, a.ID, fiveFields()[:1])
	ctx := context.Background()
	// Tenant B's calls, even naming A's tenant id in the explicit filter, see nothing:
	// RLS alone holds.
	err := db.InTenant(ctx, env.App, b.ID, func(ctx context.Context, tx bun.Tx) error {
		all, err := s.AllDefinitions(ctx, tx, a.ID, "customers")
		if err != nil {
			return err
		}
		if len(all) != 0 {
			t.Errorf("B sees A's definitions through RLS: %v", all)
		}
		lbl := "hijack"
		if _, err := s.Update(ctx, tx, a.ID, "customers", "tier", Patch{LabelEN: &lbl}); !errs.Is(err, errs.NotFound) {
			t.Errorf("B updating A's field: %v", err)
		}
		if _, err := s.SetArchived(ctx, tx, b.ID, "customers", "tier", true); !errs.Is(err, errs.NotFound) {
			t.Errorf("B archiving its own (absent) tier: %v", err)
		}
		if _, err := s.Create(ctx, tx, a.ID, Definition{Entity: "customers", Key: "x", LabelEN: "X", Type: Text}); err == nil {
			t.Errorf("B created a field in A")
		}
		return nil
	})
	if err != nil && !errs.Is(err, errs.NotFound) {
		t.Logf("tx ended with %v", err)
	}
	var labels []string
	env.Owner.NewRaw("SELECT label_en FROM field_definitions WHERE tenant_id = ?", a.ID).Scan(ctx, &labels)
	if len(labels) != 1 || labels[0] != "Tier" {
		t.Fatalf("A's definitions changed: %v", labels)
	}
}
