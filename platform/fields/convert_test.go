package fields

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A type change converts every record in a bulk job: values that fit become the
// new type (and are indexed as such), values that do not are taken out of their
// record and listed with the reason; writes to the field wait meanwhile. Making
// the field unique afterwards sets aside every value but the first of each.
// serviceWithWorker is a Service on the app pool whose bulk jobs run on a worker
// of the test's own with the given concurrency; entities, when given, replace
// those of d.
func serviceWithWorker(t *testing.T, d Deps, entities []module.Entity, concurrency int) (*Service, *jobs.Client) {
	t.Helper()
	env := testkit.Get(t)
	client := jobstest.Client(t, env.App)
	d.DB, d.CacheTTL, d.Jobs, d.Log = env.App, time.Millisecond, client, testkit.Quiet
	s, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	if entities != nil {
		s.SetEntities(entities)
	}
	m := NewModule(s)
	client.Register(m.Jobs()...)
	jobstest.Worker(t, jobs.ServerOptions{Concurrency: concurrency, Handlers: m.Jobs(),
		SweepInterval: -1, NoScheduler: true, PollInterval: 100 * time.Millisecond})
	return s, client
}

func TestTypeChangeConvertsInABulkJob(t *testing.T) {
	env := testkit.Get(t)
	ctx := authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Permissions: map[string]bool{PermManage: true}, Scope: authz.ScopeAll})
	s, client := serviceWithWorker(t, Deps{Entities: []string{"customers"}}, nil, 2)
	var err error

	tn, other := env.NewTenant(t), env.NewTenant(t)
	// 1,203 records: numbers written as text, a decimal, three that are not
	// numbers, and some without the field; tenant B has the same field untouched.
	want := map[uuid.UUID]string{}
	bad := map[uuid.UUID]bool{}
	for _, tenant := range []uuid.UUID{tn.ID, other.ID} {
		env.InTenant(t, tenant, func(ctx context.Context, tx bun.Tx) error {
			if _, err := s.Create(ctx, tx, tenant, Definition{Entity: "customers", Key: "size", LabelEN: "Size", Type: Text, Filterable: true}); err != nil {
				return err
			}
			for i := 0; i < 1203; i++ {
				id := uuid.New()
				custom := map[string]any{}
				switch {
				case i%100 == 7:
					custom["size"] = []string{"many", "a few", "n/a"}[i/400]
					bad[id] = tenant == tn.ID
				case i%50 == 3:
					// no value
				case i%10 == 1:
					custom["size"] = fmt.Sprintf("%d.5", i)
					want[id] = fmt.Sprintf("%d.5", i)
				default:
					custom["size"] = fmt.Sprint(i)
					want[id] = fmt.Sprint(i)
				}
				b, _ := json.Marshal(custom)
				if _, err := tx.ExecContext(ctx, "INSERT INTO customers (tenant_id, id, kind, name, custom) VALUES (?, ?, 'person', ?, ?::jsonb)", tenant, id, fmt.Sprint("C", i), string(b)); err != nil {
					return err
				}
				if err := s.WriteIndex(ctx, tx, tenant, "customers", id, custom); err != nil {
					return err
				}
			}
			return nil
		})
	}
	ty, yes := Number, true
	var started Definition
	analysed := func() (at time.Time) {
		var ts *time.Time
		if err := env.Owner.QueryRowContext(context.Background(), "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'field_index'").Scan(&ts); err != nil {
			t.Fatal(err)
		}
		if ts != nil {
			at = *ts
		}
		return at
	}
	statsBefore := analysed()
	env.InTenant(t, tn.ID, func(ctx2 context.Context, tx bun.Tx) error {
		var err error
		started, err = s.Update(authz.WithActor(ctx2, authz.ActorFrom(ctx)), tx, tn.ID, "customers", "size", Patch{Type: &ty, Sortable: &yes})
		return err
	})
	if started.Pending == nil || started.Type != Text || started.Pending.To.Type != Number || strings.Join(started.Pending.Reason, ",") != "type,sortable" {
		t.Fatalf("update answered %+v", started)
	}
	waitJob := func(id uuid.UUID) *jobs.Job {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if j, _ := client.Get(context.Background(), tn.ID, id); j != nil && j.Terminal() {
				if j.Status != jobs.StatusSucceeded {
					t.Fatalf("conversion %s: %s", j.Status, j.Error)
				}
				return j
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal("conversion did not finish")
		return nil
	}
	j := waitJob(started.Pending.JobID)
	// The conversion rewrote the field's index rows: their statistics follow.
	if at := analysed(); !at.After(statsBefore) {
		t.Errorf("field_index last analysed %v, not after the conversion began (%v)", at, statsBefore)
	}
	var res ConvertResult
	_ = json.Unmarshal(j.Result, &res)
	if res.Converted != int64(len(want)/2) || res.Failed != 12 {
		// want holds both tenants' ids; each tenant has the same mix.
		t.Fatalf("result %+v, want %d converted and 12 failed", res, len(want)/2)
	}
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		defs, err := s.AllDefinitions(ctx, tx, tn.ID, "customers")
		if err != nil {
			return err
		}
		if len(defs) != 1 || defs[0].Type != Number || !defs[0].Sortable || defs[0].Pending != nil {
			t.Fatalf("definition after conversion %+v", defs)
		}
		// Every converted value is a JSON number now, and indexed as one.
		var rows []struct {
			ID   uuid.UUID `bun:"id"`
			Size *string   `bun:"size"`
			Typ  *string   `bun:"typ"`
			Num  *string   `bun:"num"`
		}
		if err := tx.NewRaw(`SELECT c.id, c.custom->>'size' AS size, jsonb_typeof(c.custom->'size') AS typ, fi.v_num::text AS num
			FROM customers c LEFT JOIN field_index fi ON fi.tenant_id = c.tenant_id AND fi.entity = 'customers' AND fi.field_key = 'size' AND fi.record_id = c.id
			WHERE c.tenant_id = ?`, tn.ID).Scan(ctx, &rows); err != nil {
			return err
		}
		n := 0
		for _, r := range rows {
			w, ok := want[r.ID]
			switch {
			case ok:
				n++
				if r.Typ == nil || *r.Typ != "number" || *r.Size != w || r.Num == nil || num(*r.Num) != num(w) {
					t.Fatalf("record %s: size %v (%v), index %v; want %s", r.ID, deref(r.Size), deref(r.Typ), deref(r.Num), w)
				}
			case r.Size != nil:
				t.Fatalf("record %s kept %q, which cannot be a number", r.ID, *r.Size)
			}
		}
		if n != len(want)/2 {
			t.Fatalf("%d converted records, want %d", n, len(want)/2)
		}
		fails, err := s.ConversionFailures(ctx, tx, tn.ID, "customers", "size", 100)
		if err != nil {
			return err
		}
		if len(fails) != 12 {
			t.Fatalf("%d failures listed", len(fails))
		}
		for _, f := range fails {
			if !bad[f.RecordID] || f.Reason == "" || !strings.Contains(`"many" "a few" "n/a"`, f.Value) {
				t.Fatalf("failure %+v", f)
			}
		}
		return nil
	})
	// Tenant B's field and values were not touched.
	env.InTenant(t, other.ID, func(ctx context.Context, tx bun.Tx) error {
		defs, _ := s.AllDefinitions(ctx, tx, other.ID, "customers")
		var texts int
		_ = tx.NewRaw("SELECT count(*) FROM customers WHERE tenant_id = ? AND jsonb_typeof(custom->'size') = 'string'", other.ID).Scan(ctx, &texts)
		if defs[0].Type != Text || texts != 1179 {
			t.Fatalf("tenant B: type %s, %d text values", defs[0].Type, texts)
		}
		return nil
	})

	// While a conversion is pending, writes to the field are refused with a reason.
	env.InTenant(t, tn.ID, func(ctx2 context.Context, tx bun.Tx) error {
		started, err = s.Update(authz.WithActor(ctx2, authz.ActorFrom(ctx)), tx, tn.ID, "customers", "size", Patch{Unique: &yes})
		if err != nil {
			return err
		}
		_, err = s.Update(authz.WithActor(ctx2, authz.ActorFrom(ctx)), tx, tn.ID, "customers", "size", Patch{Sortable: new(bool)})
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("a second change during a conversion: %v", err)
		}
		_, err = s.ValidateValues(ctx2, tx, tn.ID, "customers", map[string]any{"size": 5}, true)
		e, ok := err.(*errs.Error)
		if !ok || len(e.Errors) != 1 || !strings.Contains(e.Errors[0].Message, "being converted") {
			t.Fatalf("write during conversion: %v", err)
		}
		return nil
	})
	waitJob(started.Pending.JobID)
	env.InTenant(t, tn.ID, func(ctx context.Context, tx bun.Tx) error {
		var uniq, dup int
		_ = tx.NewRaw("SELECT count(*) FROM field_unique WHERE tenant_id = ? AND field_key = 'size'", tn.ID).Scan(ctx, &uniq)
		_ = tx.NewRaw("SELECT count(*) FROM field_conversion_failures WHERE tenant_id = ? AND reason LIKE '%unique%'", tn.ID).Scan(ctx, &dup)
		if uniq != len(want)/2 || dup != 0 {
			t.Fatalf("unique: %d reserved values, %d duplicates set aside", uniq, dup)
		}
		return nil
	})
}

func num(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return f
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
