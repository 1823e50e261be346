package jobsapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobsapi"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func setup(t *testing.T) (*httpx.Server, *jobs.Client) { return setupWith(t, asSystem) }

// asSystem is a guard that makes every caller the system, which may do anything.
func asSystem(ctx context.Context, _ func(string) string, _ tenancy.Tenant) (context.Context, error) {
	return authz.AsSystem(ctx), nil
}

// asActor is a guard that makes the caller the actor its test headers name: an
// id and comma-separated permissions.
func asActor(ctx context.Context, header func(string) string, _ tenancy.Tenant) (context.Context, error) {
	id, err := uuid.Parse(header("X-Test-Actor"))
	if err != nil {
		return authz.AsSystem(ctx), nil // no header: the system, which may do anything
	}
	perms := map[string]bool{}
	for _, p := range strings.Split(header("X-Test-Perms"), ",") {
		perms[p] = true
	}
	return authz.WithActor(ctx, authz.Actor{ID: id, Kind: authz.ActorUser, Permissions: perms, Scope: authz.ScopeAll}), nil
}

func setupWith(t *testing.T, guard httpx.Guard) (*httpx.Server, *jobs.Client) {
	env := testkit.Get(t)
	o, _ := redis.ParseURL(env.Config.RedisURL)
	c := jobs.NewClient(asynq.RedisClientOpt{Addr: o.Addr, DB: o.DB}, env.App, nil)
	t.Cleanup(func() { _ = c.Close() })
	mods := module.Set{jobsapi.New(c)}
	s := httpx.New(httpx.Options{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Tenants: tenancy.NewResolver(env.App, time.Second),
		Enablement: module.NewEnablement(env.App, mods, time.Second), Modules: mods, Guard: guard,
	})
	s.Finish(nil)
	return s, c
}

func call(t *testing.T, s *httpx.Server, method, path string) (int, string) {
	return testkit.Call(t, s.App, method, path, "")
}

func TestJobRoutesKeepTenantsApart(t *testing.T) {
	env := testkit.Get(t)
	s, c := setup(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	j, err := c.Enqueue(authz.AsSystem(context.Background()), a.ID, jobs.Spec{Type: "profiles:import", Queue: jobs.QueueBulk, RunAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path string
		status             int
		want               string
	}{
		{"A lists its job", "GET", "/api/v1/t/" + a.Slug + "/jobs", 200, j.ID.String()},
		{"A reads its job", "GET", "/api/v1/t/" + a.Slug + "/jobs/" + j.ID.String(), 200, `"status":"queued"`},
		{"B's list does not show A's job", "GET", "/api/v1/t/" + b.Slug + "/jobs", 200, `"items":[]`},
		{"B reads A's job", "GET", "/api/v1/t/" + b.Slug + "/jobs/" + j.ID.String(), 404, "job not found"},
		{"B cancels A's job", "POST", "/api/v1/t/" + b.Slug + "/jobs/" + j.ID.String() + "/cancel", 404, "job not found"},
		{"bad id", "GET", "/api/v1/t/" + a.Slug + "/jobs/nope", 422, "path.id"},
		{"bad status filter", "GET", "/api/v1/t/" + a.Slug + "/jobs?status=lost", 422, "query.status"},
		{"limit over 200", "GET", "/api/v1/t/" + a.Slug + "/jobs?limit=500", 422, "query.limit"},
		{"bad cursor", "GET", "/api/v1/t/" + a.Slug + "/jobs?cursor=xyz", 422, "query.cursor"},
		{"A cancels its job", "POST", "/api/v1/t/" + a.Slug + "/jobs/" + j.ID.String() + "/cancel", 200, `"status":"canceled"`},
		{"cancel twice", "POST", "/api/v1/t/" + a.Slug + "/jobs/" + j.ID.String() + "/cancel", 409, "already canceled"},
		{"unknown job", "GET", "/api/v1/t/" + a.Slug + "/jobs/" + uuid.NewString(), 404, "job not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, s, tc.method, tc.path)
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s; want %d with %q", code, body, tc.status, tc.want)
			}
		})
	}
}

func TestProgressIsReported(t *testing.T) {
	env := testkit.Get(t)
	s, c := setup(t)
	a := env.NewTenant(t)
	j, err := c.Enqueue(authz.AsSystem(context.Background()), a.ID, jobs.Spec{Type: "profiles:import", RunAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Owner.ExecContext(context.Background(), "UPDATE jobs SET status = 'running', progress_done = 250, progress_total = 1000 WHERE id = ?", j.ID); err != nil {
		t.Fatal(err)
	}
	code, body := call(t, s, "GET", "/api/v1/t/"+a.Slug+"/jobs/"+j.ID.String())
	var v struct {
		Progress struct {
			Done     int64
			Total    int64
			Fraction float64
		}
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if v.Progress.Done != 250 || v.Progress.Total != 1000 || v.Progress.Fraction != 0.25 {
		t.Fatalf("progress %+v", v.Progress)
	}
}

// A job is its requester's: another member with jobs.read and jobs.cancel does
// not list it and gets 404 on it, as on another tenant's; a holder of
// jobs.manage sees and cancels everyone's.
func TestJobsAreTheirRequesters(t *testing.T) {
	env := testkit.Get(t)
	s, c := setupWith(t, asActor)
	a := env.NewTenant(t)
	alice, bob, boss := uuid.New(), uuid.New(), uuid.New()
	j, err := c.Enqueue(authz.AsSystem(context.Background()), a.ID, jobs.Spec{Type: "profiles:export", Queue: jobs.QueueBulk, RunAt: time.Now().Add(time.Hour), CreatedBy: &alice})
	if err != nil {
		t.Fatal(err)
	}
	as := func(id uuid.UUID, perms string) []string {
		return []string{"X-Test-Actor", id.String(), "X-Test-Perms", perms}
	}
	base := "/api/v1/t/" + a.Slug + "/jobs"
	cases := []struct {
		name, method, path string
		who                []string
		status             int
		want               string
	}{
		{"the requester lists it", "GET", base, as(alice, "jobs.read"), 200, j.ID.String()},
		{"another member does not", "GET", base, as(bob, "jobs.read,jobs.cancel"), 200, `"items":[]`},
		{"another member reads it", "GET", base + "/" + j.ID.String(), as(bob, "jobs.read,jobs.cancel"), 404, "job not found"},
		{"another member cancels it", "POST", base + "/" + j.ID.String() + "/cancel", as(bob, "jobs.read,jobs.cancel"), 404, "job not found"},
		{"a manager lists it", "GET", base, as(boss, "jobs.read,jobs.manage"), 200, j.ID.String()},
		{"a manager reads it", "GET", base + "/" + j.ID.String(), as(boss, "jobs.read,jobs.manage"), 200, `"status":"queued"`},
		{"the requester cancels it", "POST", base + "/" + j.ID.String() + "/cancel", as(alice, "jobs.cancel"), 200, `"status":"canceled"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := testkit.Call(t, s.App, tc.method, tc.path, "", tc.who...)
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s; want %d with %q", code, body, tc.status, tc.want)
			}
		})
	}
}

// A request that no guard gave an actor is nobody's, and nobody may do
// anything: every job route refuses it, even for a job that exists.
func TestNoActorIsRefused(t *testing.T) {
	env := testkit.Get(t)
	s, c := setupWith(t, nil)
	a := env.NewTenant(t)
	j, err := c.Enqueue(authz.AsSystem(context.Background()), a.ID, jobs.Spec{Type: "profiles:export", Queue: jobs.QueueBulk, RunAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/t/" + a.Slug + "/jobs"
	for _, r := range [][2]string{{"GET", base}, {"GET", base + "/" + j.ID.String()}, {"POST", base + "/" + j.ID.String() + "/cancel"}} {
		if code, body := call(t, s, r[0], r[1]); code != 403 || !strings.Contains(body, `"code":"forbidden"`) {
			t.Errorf("%s %s with no actor: %d %s, want 403", r[0], r[1], code, body)
		}
	}
	if got, _ := c.Get(context.Background(), a.ID, j.ID); got == nil || got.Status != jobs.StatusQueued {
		t.Fatalf("the job after refused calls: %+v", got)
	}
}
