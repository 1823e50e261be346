package events_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func TestPublishedOnlyAfterCommit(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	bus := events.New(nil)
	var got []events.Event
	bus.Subscribe("customer.merged", "test", func(ctx context.Context, e events.Event) error {
		if _, inTx := db.TenantOf(ctx); inTx {
			t.Error("subscriber ran inside the transaction")
		}
		got = append(got, e)
		return nil
	})
	bus.Subscribe("*", "panicky", func(context.Context, events.Event) error { panic("boom") })

	_ = db.InTenant(context.Background(), env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		bus.Publish(ctx, events.Event{Topic: "customer.merged", EntityID: "rolled-back"})
		return errors.New("fail")
	})
	if len(got) != 0 {
		t.Fatalf("event from a rolled-back transaction was delivered: %+v", got)
	}
	err := db.InTenant(context.Background(), env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		bus.Publish(ctx, events.Event{Topic: "customer.merged", EntityID: "c1"})
		if len(got) != 0 {
			t.Error("delivered before commit")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].TenantID != a.ID || got[0].EntityID != "c1" {
		t.Fatalf("got %+v", got)
	}
}

// A module built without a bus publishes through the same call, which does
// nothing, instead of checking for a bus each time.
func TestPublishOnNoBusDoesNothing(t *testing.T) {
	var b *events.Bus
	b.Publish(context.Background(), events.Event{Topic: "customer.created"})
}
