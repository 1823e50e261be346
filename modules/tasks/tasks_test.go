package tasks_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/modules/tasks"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/jobs/jobstest"
	"github.com/clientele-crm/clientele/platform/records"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func actor(scope authz.Scope, perms ...string) context.Context {
	p := map[string]bool{}
	for _, k := range perms {
		p[k] = true
	}
	return authz.WithActor(context.Background(), authz.Actor{ID: uuid.New(), Kind: authz.ActorUser, Permissions: p, Scope: scope})
}

var writer = actor(authz.ScopeAll, tasks.PermRead, tasks.PermWrite)

// fakeKind is an entity whose visible records are a set, as a module would
// register it.
type fakeKind struct {
	mu      sync.Mutex
	visible map[uuid.UUID]bool
}

func (f *fakeKind) kind(entity string) records.Kind {
	return records.Kind{Entity: entity, Visible: func(_ context.Context, _ bun.Tx, _, id uuid.UUID) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.visible[id] {
			return errs.E(errs.NotFound, "not found")
		}
		return nil
	}}
}

func rig(t *testing.T) (*tasks.Module, *fakeKind, *records.Registry) {
	reg := records.NewRegistry()
	fk := &fakeKind{visible: map[uuid.UUID]bool{}}
	for _, e := range []string{"customers", "deals"} {
		if err := reg.Register(fk.kind(e)); err != nil {
			t.Fatal(err)
		}
	}
	m := tasks.New(tasks.Deps{DB: testkit.Get(t).App, Records: reg})
	reg.AddDependent(m)
	return m, fk, reg
}

// A task links to a record of any registered entity, by (entity, record_id) or
// the customer_id shorthand; a record that is missing or hidden, or an entity
// nobody registered, is refused naming the field.
func TestTasksLinkToAnyRecord(t *testing.T) {
	m, fk, _ := rig(t)
	a := testkit.Get(t).NewTenant(t)
	me := uuid.New()
	cust, deal, hidden := uuid.New(), uuid.New(), uuid.New()
	fk.visible[cust], fk.visible[deal] = true, true

	c, err := m.CreateTask(writer, a.ID, tasks.TaskInput{Title: "call", AssigneeID: &me, CustomerID: &cust})
	if err != nil || c.Entity == nil || *c.Entity != "customers" || *c.RecordID != cust || c.CustomerID == nil || *c.CustomerID != cust {
		t.Fatalf("customer task %+v, %v", c, err)
	}
	d, err := m.CreateTask(writer, a.ID, tasks.TaskInput{Title: "quote", AssigneeID: &me, Entity: "deals", RecordID: &deal})
	if err != nil || *d.Entity != "deals" || d.CustomerID != nil {
		t.Fatalf("deal task %+v, %v", d, err)
	}
	for name, tc := range map[string]struct {
		in  tasks.TaskInput
		loc string
	}{
		"hidden customer": {tasks.TaskInput{CustomerID: &hidden}, "body.customer_id"},
		"hidden deal":     {tasks.TaskInput{Entity: "deals", RecordID: &hidden}, "body.record_id"},
		"unknown entity":  {tasks.TaskInput{Entity: "planets", RecordID: &deal}, "body.entity"},
		"no record id":    {tasks.TaskInput{Entity: "deals"}, "body.record_id"},
		"no entity":       {tasks.TaskInput{RecordID: &deal}, "body.entity"},
		"two links":       {tasks.TaskInput{CustomerID: &cust, Entity: "deals", RecordID: &deal}, "body.customer_id"},
	} {
		tc.in.Title, tc.in.AssigneeID = "x", &me
		_, err := m.CreateTask(writer, a.ID, tc.in)
		var e *errs.Error
		if !errs.Is(err, errs.Invalid) || !errors.As(err, &e) || len(e.Errors) == 0 || e.Errors[0].Location != tc.loc {
			t.Errorf("%s: %v, want invalid %s", name, err, tc.loc)
		}
	}
	got, err := m.ListTasks(writer, a.ID, tasks.TaskFilter{Assignee: &me, Entity: "deals", RecordID: &deal})
	if err != nil || len(got) != 1 || got[0].ID != d.ID {
		t.Fatalf("tasks about the deal: %+v, %v", got, err)
	}
	got, err = m.ListTasks(writer, a.ID, tasks.TaskFilter{Assignee: &me, Entity: "customers", RecordID: &cust})
	if err != nil || len(got) != 1 || got[0].ID != c.ID {
		t.Fatalf("tasks about the customer: %+v, %v", got, err)
	}
}

// Tasks follow their record: removed with it, moved when it is merged, and
// only those of that entity.
func TestTasksFollowRemovalsAndMerges(t *testing.T) {
	m, fk, reg := rig(t)
	env := testkit.Get(t)
	a := env.NewTenant(t)
	me := uuid.New()
	x, y, z := uuid.New(), uuid.New(), uuid.New()
	fk.visible[x], fk.visible[y], fk.visible[z] = true, true, true
	for _, in := range []tasks.TaskInput{
		{Title: "x", CustomerID: &x}, {Title: "y", CustomerID: &y}, {Title: "z", CustomerID: &z}, {Title: "deal y", Entity: "deals", RecordID: &y},
	} {
		in.AssigneeID = &me
		if _, err := m.CreateTask(writer, a.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	env.InTenant(t, a.ID, func(ctx context.Context, tx bun.Tx) error {
		if err := reg.Removed(ctx, tx, a.ID, "customers", []uuid.UUID{x}); err != nil {
			t.Fatal(err)
		}
		return reg.Merged(ctx, tx, a.ID, "customers", []uuid.UUID{y}, z)
	})
	titles := func(entity string, id uuid.UUID) (out []string) {
		ts, err := m.ListTasks(writer, a.ID, tasks.TaskFilter{Assignee: &me, Entity: entity, RecordID: &id})
		if err != nil {
			t.Fatal(err)
		}
		for _, t := range ts {
			out = append(out, t.Title)
		}
		return out
	}
	if got := titles("customers", x); len(got) != 0 {
		t.Errorf("removed customer keeps tasks %v", got)
	}
	if got := titles("customers", z); len(got) != 2 {
		t.Errorf("merged customer has tasks %v, want y's and z's", got)
	}
	if got := titles("deals", y); len(got) != 1 {
		t.Errorf("the deal with the same id lost its task: %v", got)
	}
}

// Scope and permissions hold: an own-scope member neither lists nor changes
// another member's tasks; without tasks.write nothing is created.
func TestTasksKeepScopeAndPermissions(t *testing.T) {
	m, _, _ := rig(t)
	a := testkit.Get(t).NewTenant(t)
	other := uuid.New()
	task, err := m.CreateTask(writer, a.ID, tasks.TaskInput{Title: "theirs", AssigneeID: &other})
	if err != nil {
		t.Fatal(err)
	}
	own := actor(authz.ScopeOwn, tasks.PermRead, tasks.PermWrite)
	if _, err := m.ListTasks(own, a.ID, tasks.TaskFilter{Assignee: &other}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("own scope listed another's tasks: %v", err)
	}
	if _, err := m.ChangeTask(own, a.ID, task.ID, func(t *tasks.Task) error { t.Status = "done"; return nil }); !errs.Is(err, errs.NotFound) {
		t.Errorf("own scope changed another's task: %v", err)
	}
	if _, err := m.CreateTask(actor(authz.ScopeAll, tasks.PermRead), a.ID, tasks.TaskInput{Title: "x"}); !errs.Is(err, errs.Forbidden) {
		t.Errorf("created without tasks.write: %v", err)
	}
	b := testkit.Get(t).NewTenant(t)
	if _, err := m.ChangeTask(writer, b.ID, task.ID, func(t *tasks.Task) error { t.Status = "done"; return nil }); !errs.Is(err, errs.NotFound) {
		t.Errorf("tenant B changed tenant A's task: %v", err)
	}
}

// The job of a due second delivers every reminder of the company due then, so
// it runs as the system, whoever created the first task of that second; a
// member with own scope cannot lend it their narrower rights, nor borrow its.
func TestTheSharedReminderJobRunsAsTheSystem(t *testing.T) {
	env := testkit.Get(t)
	m := tasks.New(tasks.Deps{DB: env.App, Jobs: jobstest.Client(t, env.App), Records: records.NewRegistry()})
	a := env.NewTenant(t)
	own := actor(authz.ScopeOwn, tasks.PermRead, tasks.PermWrite)
	me := authz.ActorFrom(own).ID
	at := time.Now().Add(time.Hour).Truncate(time.Second).Add(500 * time.Millisecond)
	if _, err := m.CreateTask(own, a.ID, tasks.TaskInput{Title: "call back", AssigneeID: &me, RemindAt: &at}); err != nil {
		t.Fatal(err)
	}
	var kind string
	if err := env.Owner.NewRaw("SELECT actor->>'kind' FROM jobs WHERE tenant_id = ? AND dedupe_key LIKE 'remind-due:%'", a.ID).Scan(context.Background(), &kind); err != nil {
		t.Fatal(err)
	}
	if kind != string(authz.ActorSystem) {
		t.Fatalf("the shared reminder job runs as %q, want the system", kind)
	}
}
