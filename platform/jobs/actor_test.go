package jobs

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// A job acts with exactly the rights of whoever asked for it: the handler's
// actor is the requester's snapshot (kind, permissions, scope, teammates), work
// nobody asked for acts as the system because its code says so, and a context
// with no actor can neither enqueue nor, on an old row, do anything.
func TestJobsRunAsTheirRequester(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	c := newClient(t)
	typ, global := uniqueType("as"), uniqueType("asglobal")
	seen := make(chan authz.Actor, 4)
	s := newServer(t, []Handler{
		{Type: typ, Run: func(ctx context.Context, _ bun.Tx, _ *Job) error { seen <- authz.ActorFrom(ctx); return nil }},
		{Type: global, RunGlobal: func(ctx context.Context, _ json.RawMessage) error { seen <- authz.ActorFrom(ctx); return nil }},
	}, nil)

	if _, err := c.Enqueue(context.Background(), a.ID, Spec{Type: typ}); !errs.Is(err, errs.Internal) {
		t.Fatalf("enqueue with no actor: %v, want refused", err)
	}

	mate := uuid.New()
	agent := authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Role: "agent", Scope: authz.ScopeTeam,
		Permissions: map[string]bool{"profiles.read": true, "profiles.write": true}}
	agent.Teammates = []uuid.UUID{agent.ID, mate}
	asked, err := c.Enqueue(authz.WithActor(context.Background(), agent), a.ID, Spec{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	// A row recorded before snapshots (actor NULL) runs as nobody.
	old, err := c.Enqueue(asSystem, a.ID, Spec{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Owner.ExecContext(context.Background(), "UPDATE jobs SET actor = NULL WHERE id = ?", old.ID); err != nil {
		t.Fatal(err)
	}
	start(t, s)
	ac := asynq.NewClient(redisOpt(t))
	defer ac.Close()
	if _, err := ac.Enqueue(asynq.NewTask(global, nil)); err != nil {
		t.Fatal(err)
	}

	var got []authz.Actor
	for len(got) < 3 {
		select {
		case x := <-seen:
			got = append(got, x)
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 3 handlers ran", len(got))
		}
	}
	var user, nobody, system int
	for _, x := range got {
		switch x.Kind {
		case authz.ActorUser:
			user++
			if x.ID != agent.ID || x.Role != "agent" || x.Scope != authz.ScopeTeam || !slices.Equal(x.Teammates, agent.Teammates) ||
				!x.Can("profiles.read") || !x.Can("profiles.write") || x.Can("pii.read") || len(x.Permissions) != 2 {
				t.Errorf("the requester's job ran as %+v, want exactly %+v", x, agent)
			}
		case authz.ActorNone:
			nobody++
			if x.Can("profiles.read") || x.SeesOwner(&mate) {
				t.Errorf("a job with no recorded actor may act: %+v", x)
			}
		case authz.ActorSystem:
			system++
		}
	}
	if user != 1 || nobody != 1 || system != 1 {
		t.Fatalf("actors %+v: want one requester, one nobody (old row) and one system (global task)", got)
	}
	waitStatus(t, c, a.ID, asked.ID, StatusSucceeded, 5*time.Second)
}
