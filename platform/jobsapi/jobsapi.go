// Package jobsapi is the kernel's own module: it lets a tenant's people follow and
// cancel their background jobs (imports, exports, reports) through
// /api/v1/t/{tenant}/jobs. Feature modules link to these records for progress.
package jobsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Permissions of the module. PermRead and PermCancel reach the holder's own jobs;
// PermManage reaches everyone's.
const (
	PermRead   = "jobs.read"
	PermCancel = "jobs.cancel"
	PermManage = jobs.PermManage
)

// Module serves the job records.
type Module struct{ jobs *jobs.Client }

// New returns the module.
func New(c *jobs.Client) *Module { return &Module{jobs: c} }

// Name is the route prefix.
func (m *Module) Name() string { return "jobs" }

// Permissions declares what roles may be granted.
func (m *Module) Permissions() []authz.Permission {
	return []authz.Permission{
		{Key: PermRead, Label: "See background jobs", LabelZH: "查看后台任务"},
		{Key: PermCancel, Label: "Cancel background jobs", LabelZH: "取消后台任务"},
		{Key: PermManage, Label: "See, download and cancel everyone's jobs, imports and exports", LabelZH: "查看、下载和取消所有人的后台任务、导入和导出", AdminOnly: true},
	}
}

// Progress is how far a job has come.
type Progress struct {
	Done     int64    `json:"done"`
	Total    *int64   `json:"total,omitempty"`
	Fraction *float64 `json:"fraction,omitempty" doc:"done/total between 0 and 1, when the total is known"`
}

// JobView is a job as clients see it; the payload stays internal.
type JobView struct {
	ID          uuid.UUID       `json:"id"`
	Type        string          `json:"type"`
	Queue       string          `json:"queue"`
	Status      string          `json:"status" enum:"queued,running,retrying,succeeded,failed,canceled"`
	Progress    Progress        `json:"progress"`
	Attempts    int             `json:"attempts"`
	MaxAttempts int             `json:"max_attempts"`
	Error       string          `json:"error,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	RunAt       time.Time       `json:"run_at"`
	StartedAt   *time.Time      `json:"started_at,omitempty"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
}

func view(j *jobs.Job) JobView {
	v := JobView{
		ID: j.ID, Type: j.Type, Queue: j.Queue, Status: j.Status, Attempts: j.Attempts, MaxAttempts: j.MaxAttempts,
		Error: j.Error, RunAt: j.RunAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, CreatedAt: j.CreatedAt,
		Progress: Progress{Done: j.ProgressDone, Total: j.ProgressTotal},
	}
	if len(j.Result) > 0 && string(j.Result) != "null" {
		v.Result = json.RawMessage(j.Result)
	}
	if j.ProgressTotal != nil && *j.ProgressTotal > 0 {
		f := float64(j.ProgressDone) / float64(*j.ProgressTotal)
		if f > 1 {
			f = 1
		}
		v.Progress.Fraction = &f
	}
	return v
}

type jobListIn struct {
	Type   string `query:"type" maxLength:"100" doc:"only jobs of this task type, e.g. profiles:import"`
	Status string `query:"status" enum:"queued,running,retrying,succeeded,failed,canceled," doc:"only jobs in this status"`
	Cursor string `query:"cursor" maxLength:"200" doc:"the next_cursor of the previous page"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

type jobListOut struct {
	Body struct {
		Items      []JobView `json:"items"`
		NextCursor string    `json:"next_cursor,omitempty" doc:"pass as cursor to get the next page; absent on the last page"`
	} `nameHint:"JobPage"`
}

type idIn struct {
	ID uuid.UUID `path:"id" doc:"the job id"`
}

type jobOut struct{ Body JobView }

// Routes registers the operations.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	huma.Register(api, huma.Operation{
		OperationID: "list-jobs", Method: http.MethodGet, Path: "/jobs", Summary: "List background jobs",
		Description: "Newest first, with keyset pagination.",
	}, func(ctx context.Context, in *jobListIn) (*jobListOut, error) {
		t, err := tenancy.Require(ctx, PermRead)
		if err != nil {
			return nil, err
		}
		f := jobs.ListFilter{Type: in.Type, Status: in.Status, Cursor: in.Cursor, Limit: in.Limit}
		if a := authz.ActorFrom(ctx); !a.Can(PermManage) {
			f.RequestedBy = &a.ID // other people's jobs only for those who manage them
		}
		items, next, err := m.jobs.List(ctx, t.ID, f)
		if err != nil {
			return nil, err
		}
		out := &jobListOut{}
		out.Body.Items = make([]JobView, 0, len(items))
		for i := range items {
			out.Body.Items = append(out.Body.Items, view(&items[i]))
		}
		out.Body.NextCursor = next
		return out, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "get-job", Method: http.MethodGet, Path: "/jobs/{id}", Summary: "Get a job and its progress",
		Description: "One background job of the company: type, status, attempts, progress and, when finished, its result or error. Needs jobs.read.",
	}, func(ctx context.Context, in *idIn) (*jobOut, error) {
		t, err := tenancy.Require(ctx, PermRead)
		if err != nil {
			return nil, err
		}
		j, err := m.jobs.GetFor(ctx, t.ID, in.ID)
		if err != nil {
			return nil, err
		}
		return &jobOut{Body: view(j)}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "cancel-job", Method: http.MethodPost, Path: "/jobs/{id}/cancel", Summary: "Cancel a job",
		Description: "A queued job never runs; a running job stops at its next checkpoint. Finished jobs answer 409.",

		Responses: httpx.Refusals(map[int]string{409: "The job has finished already."}),
	}, func(ctx context.Context, in *idIn) (*jobOut, error) {
		t, err := tenancy.Require(ctx, PermCancel)
		if err != nil {
			return nil, err
		}
		if _, err := m.jobs.GetFor(ctx, t.ID, in.ID); err != nil {
			return nil, err
		}
		j, err := m.jobs.Cancel(ctx, t.ID, in.ID)
		if err != nil {
			return nil, err
		}
		return &jobOut{Body: view(j)}, nil
	})
}
