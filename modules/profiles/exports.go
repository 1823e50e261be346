package profiles

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"gocloud.dev/gcerrors"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Export task types.
const (
	TypeExport        = "profiles:export"
	TypeExportCleanup = "profiles:exports-cleanup"
)

// exportColumns are the standard columns, in file order.
var exportColumns = []string{"id", "kind", "name", "emails", "phones", "tags", "lifecycle", "owner_id", "company_id", "source", "created_at", "updated_at"}

type exportPayload struct {
	Query     string    `json:"query"`
	Fields    []string  `json:"fields"`
	Requester uuid.UUID `json:"requester"`
	Scope     string    `json:"scope"`
}

type exportResult struct {
	Key       string    `json:"key"`
	Rows      int64     `json:"rows"`
	ExpiresAt time.Time `json:"expires_at"`
}

// exportKey is where an export's file lives.
func exportKey(tenant, job uuid.UUID) string {
	return blob.TenantKey(tenant.String(), "exports", job.String()+".csv")
}

// runExport streams every matching customer to a CSV file in the blob store in
// keyset batches, each its own short tenant transaction, so memory stays flat
// however many rows there are. A rerun after a crash writes the file afresh.
func (m *Module) runExport(ctx context.Context, j *jobs.Job) error {
	var p exportPayload
	if err := j.Decode(&p); err != nil {
		return errs.E(errs.Invalid, "malformed export payload")
	}
	f, err := filterFromQuery(p.Query)
	if err != nil {
		return err
	}
	// The export sees what its requester saw when asking for it.
	ctx = authz.WithActor(ctx, authz.Actor{ID: p.Requester, Kind: authz.ActorUser, Scope: authz.Scope(p.Scope),
		Permissions: map[string]bool{PermRead: true}})
	total, err := m.CountCustomers(ctx, j.TenantID, f)
	if err != nil {
		return err
	}
	_ = j.Progress(ctx, 0, int64(total))
	w, err := m.d.Blobs.NewWriter(ctx, exportKey(j.TenantID, j.ID), nil)
	if err != nil {
		return fmt.Errorf("profiles: export: open file: %w", err)
	}
	cw := csv.NewWriter(w)
	cols := p.Fields
	if len(cols) == 0 {
		cols = exportColumns
	}
	if err := cw.Write(cols); err != nil {
		_ = w.Close()
		return err
	}
	var rows int64
	f.Limit, f.Sort = 2000, "created_at"
	for {
		if j.Canceled(ctx) {
			_ = w.Close()
			return jobs.ErrCanceled
		}
		items, next, err := m.ListCustomers(ctx, j.TenantID, f)
		if err != nil {
			_ = w.Close()
			return err
		}
		for i := range items {
			if err := cw.Write(exportRow(&items[i], cols)); err != nil {
				_ = w.Close()
				return err
			}
		}
		rows += int64(len(items))
		_ = j.Progress(ctx, rows, int64(total))
		if next == "" {
			break
		}
		f.Cursor = next
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		_ = w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("profiles: export: write file: %w", err)
	}
	_ = j.Progress(ctx, rows, rows)
	return j.SetResult(exportResult{Key: exportKey(j.TenantID, j.ID), Rows: rows, ExpiresAt: time.Now().Add(m.exportTTL()).UTC()})
}

func (m *Module) exportTTL() time.Duration {
	if m.d.ExportTTL > 0 {
		return m.d.ExportTTL
	}
	return 7 * 24 * time.Hour
}

// exportRow renders one customer; cells a spreadsheet would evaluate are neutralised.
func exportRow(c *Customer, cols []string) []string {
	out := make([]string, len(cols))
	for i, col := range cols {
		var v string
		switch col {
		case "id":
			v = c.ID.String()
		case "kind":
			v = c.Kind
		case "name":
			v = c.Name
		case "emails":
			v = strings.Join(c.Emails, "; ")
		case "phones":
			v = strings.Join(c.Phones, "; ")
		case "tags":
			v = strings.Join(c.Tags, "; ")
		case "lifecycle":
			v = c.Lifecycle
		case "owner_id":
			if c.OwnerID != nil {
				v = c.OwnerID.String()
			}
		case "company_id":
			if c.CompanyID != nil {
				v = c.CompanyID.String()
			}
		case "source":
			v = c.Source
		case "created_at":
			v = c.CreatedAt.UTC().Format(time.RFC3339)
		case "updated_at":
			v = c.UpdatedAt.UTC().Format(time.RFC3339)
		}
		out[i] = httpx.SafeCell(v)
	}
	return out
}

// cleanupExports deletes export files older than the TTL, in every tenant: the
// job records stay, and a download of an expired file answers 410.
func (m *Module) cleanupExports(ctx context.Context, _ json.RawMessage) error {
	if m.d.Blobs == nil {
		return nil
	}
	cutoff := time.Now().Add(-m.exportTTL())
	it := m.d.Blobs.List(nil)
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if strings.Contains(obj.Key, "/exports/") && obj.ModTime.Before(cutoff) {
			if err := m.d.Blobs.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return err
			}
		}
	}
}

func (m *Module) exportRoutes(api huma.API, r fiber.Router) {
	type exportIn struct {
		Body struct {
			Query     string   `json:"query,omitempty" maxLength:"2000" doc:"the customer list's filters, e.g. tag=vip&lifecycle=customer"`
			SegmentID string   `json:"segment_id,omitempty"`
			Fields    []string `json:"fields,omitempty" maxItems:"50" doc:"columns; default every standard column"`
			Format    string   `json:"format,omitempty" enum:"csv" default:"csv"`
		}
	}
	type exportOut struct {
		Body struct {
			ID     uuid.UUID `json:"id" doc:"follow it at GET /api/v1/t/{tenant}/jobs/{id}; download at GET /api/v1/t/{tenant}/exports/{id}/download"`
			Status string    `json:"status"`
		}
	}
	huma.Register(api, huma.Operation{OperationID: "create-export", Method: http.MethodPost, Path: "/exports", DefaultStatus: 202,
		Summary: "Export customers to a file", Description: "Runs in the background (bulk queue); progress at GET .../jobs/{id}."},
		func(ctx context.Context, in *exportIn) (*exportOut, error) {
			t, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			if err := need(ctx, PermRead); err != nil {
				return nil, err
			}
			query := in.Body.Query
			if in.Body.SegmentID != "" {
				sid, perr := uuid.Parse(in.Body.SegmentID)
				if perr != nil {
					return nil, errs.Field("body.segment_id", "must be a segment id")
				}
				// The segment's own query, read in the tenant's transaction.
				_, raw, err := m.segmentQuery(ctx, t.ID, sid)
				if err != nil {
					return nil, err
				}
				query = raw
			}
			if _, err := filterFromQuery(query); err != nil {
				return nil, err
			}
			known := map[string]bool{}
			for _, c := range exportColumns {
				known[c] = true
			}
			for i, f := range in.Body.Fields {
				if !known[f] {
					return nil, errs.Field(fmt.Sprintf("body.fields[%d]", i), "unknown column; use "+strings.Join(exportColumns, ", "))
				}
			}
			a := authz.ActorFrom(ctx)
			scope := string(a.Scope)
			if a.Kind == authz.ActorAPIKey || scope == "" {
				scope = string(authz.ScopeAll)
			}
			j, err := m.d.Jobs.Enqueue(ctx, t.ID, jobs.Spec{Type: TypeExport, Queue: jobs.QueueBulk, MaxAttempts: 3, CreatedBy: actorID(ctx),
				Payload: exportPayload{Query: query, Fields: in.Body.Fields, Requester: a.ID, Scope: scope}})
			if err != nil {
				return nil, err
			}
			out := &exportOut{}
			out.Body.ID, out.Body.Status = j.ID, j.Status
			return out, nil
		})
	// Downloads stream from the blob store through Fiber, not Huma, so a file of
	// any size never sits in memory.
	r.Get("/exports/:id/download", func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		t, err := tenancy.MustFrom(ctx)
		if err != nil {
			return err
		}
		if err := need(ctx, PermRead); err != nil {
			return err
		}
		id, err := uuid.Parse(c.Params("id"))
		if err != nil {
			return errs.Field("path.id", "must be an export id")
		}
		j, err := m.d.Jobs.Get(ctx, t.ID, id)
		if err != nil || j.Type != TypeExport {
			return errs.E(errs.NotFound, "export not found")
		}
		if j.Status != jobs.StatusSucceeded {
			return errs.E(errs.Conflict, "This export is %s; download it once it has succeeded.", j.Status)
		}
		var res exportResult
		if err := json.Unmarshal(j.Result, &res); err != nil {
			return errs.InternalErr(err)
		}
		if time.Now().After(res.ExpiresAt) {
			e := errs.E(errs.NotFound, "This export expired on %s; start a new one.", res.ExpiresAt.Format("2006-01-02"))
			e.Status = http.StatusGone
			return e
		}
		rd, err := m.d.Blobs.NewReader(ctx, res.Key, nil)
		if err != nil {
			if gcerrors.Code(err) == gcerrors.NotFound {
				e := errs.E(errs.NotFound, "This export's file is gone; start a new one.")
				e.Status = http.StatusGone
				return e
			}
			return errs.InternalErr(err)
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="customers-%s.csv"`, j.CreatedAt.UTC().Format("20060102-1504")))
		return c.SendStream(rd, int(rd.Size()))
	})
}
