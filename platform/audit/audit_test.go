package audit_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func TestDiffKeepsOnlyChangesAndMasksSensitive(t *testing.T) {
	before := map[string]any{"name": "Ann", "phone": "123", "custom": map[string]any{"ssn": "111", "size": 3}}
	after := map[string]any{"name": "Ann", "phone": "456", "custom": map[string]any{"ssn": "222", "size": 3}}
	d, err := audit.Diff(before, after, []string{"custom.ssn"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d["name"]; ok {
		t.Error("unchanged field in diff")
	}
	if d["phone"].From != "123" || d["phone"].To != "456" {
		t.Errorf("phone: %+v", d["phone"])
	}
	if d["custom.ssn"].From != audit.Mask || d["custom.ssn"].To != audit.Mask {
		t.Errorf("sensitive value not masked: %+v", d["custom.ssn"])
	}
	if len(d) != 2 {
		t.Errorf("diff has %d keys, want 2: %v", len(d), d)
	}
}

func TestRecordWritesActorAndStaysInTenant(t *testing.T) {
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	actor := uuid.New()
	ctx := authz.WithActor(context.Background(), authz.Actor{ID: actor, Kind: authz.ActorUser})
	err := db.InTenant(ctx, env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{Action: "customer.create", Entity: "customer", EntityID: "c1", After: map[string]any{"name": "Li Lei"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	var rows []audit.Row
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&rows).Where("tenant_id = ?", a.ID).Scan(ctx)
	})
	if len(rows) != 1 || rows[0].ActorID == nil || *rows[0].ActorID != actor || rows[0].ActorKind != "user" || rows[0].Diff["name"].To != "Li Lei" {
		t.Fatalf("rows: %+v", rows)
	}
	env.InTenant(t, b.ID, func(ctx context.Context, tx bun.Tx) error {
		n, err := tx.NewSelect().Model((*audit.Row)(nil)).Count(ctx)
		if err != nil {
			return err
		}
		if n != 0 {
			t.Fatalf("tenant B sees %d of A's audit rows", n)
		}
		return nil
	})
	// Outside a tenant transaction the writer refuses rather than writing nowhere.
	if err := audit.Record(context.Background(), env.App, audit.Entry{Action: "x.y", Entity: "x", EntityID: "1"}); err == nil {
		t.Fatal("record outside a tenant transaction must fail")
	}
}

func TestAuditRollsBackWithTheMutation(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	_ = db.InTenant(context.Background(), env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := audit.Record(ctx, tx, audit.Entry{Action: "customer.delete", Entity: "customer", EntityID: "c9", Before: map[string]any{"name": "x"}}); err != nil {
			return err
		}
		return context.Canceled // the mutation failed
	})
	var n int
	if err := env.Owner.NewSelect().Table("audit_log").ColumnExpr("count(*)").Where("tenant_id = ?", a.ID).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("audit row survived a rollback")
	}
}

// A change with no actor is refused, and the mutation it describes rolls back
// with it: nobody may change anything, and every change names who made it.
func TestRecordRefusesAChangeByNobody(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	err := db.InTenant(context.Background(), env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{Action: "customer.create", Entity: "customer", EntityID: "c1"})
	})
	if err == nil {
		t.Fatal("an audit row was written for nobody")
	}
	err = db.InTenant(authz.AsSystem(context.Background()), env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return audit.Record(ctx, tx, audit.Entry{Action: "customer.create", Entity: "customer", EntityID: "c2"})
	})
	var kinds []string
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model((*audit.Row)(nil)).Column("actor_kind").Where("tenant_id = ?", a.ID).Scan(ctx, &kinds)
	})
	if err != nil || len(kinds) != 1 || kinds[0] != "system" {
		t.Fatalf("the system's change: %v, rows %v", err, kinds)
	}
}
