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

	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/jobsapi"
	"github.com/clientele-crm/clientele/platform/module"
	"github.com/clientele-crm/clientele/platform/tenancy"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func setup(t *testing.T) (*httpx.Server, *jobs.Client) {
	env := testkit.Get(t)
	o, _ := redis.ParseURL(env.Config.RedisURL)
	c := jobs.NewClient(asynq.RedisClientOpt{Addr: o.Addr, DB: o.DB}, env.App, nil)
	t.Cleanup(func() { _ = c.Close() })
	mods := module.Set{jobsapi.New(c)}
	s := httpx.New(httpx.Options{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Tenants: tenancy.NewResolver(env.App, time.Second),
		Enablement: module.NewEnablement(env.App, mods, time.Second), Modules: mods,
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
	j, err := c.Enqueue(context.Background(), a.ID, jobs.Spec{Type: "profiles:import", Queue: jobs.QueueBulk, RunAt: time.Now().Add(time.Hour)})
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
	j, err := c.Enqueue(context.Background(), a.ID, jobs.Spec{Type: "profiles:import", RunAt: time.Now().Add(time.Hour)})
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
