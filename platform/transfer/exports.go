package transfer

import (
	"cmp"
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
	"github.com/uptrace/bun"
	"gocloud.dev/gcerrors"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/sheet"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

type exportPayload struct {
	Entity string          `json:"entity,omitempty"` // empty: customers (jobs queued before other entities)
	Query  string          `json:"query"`
	Fields []string        `json:"fields"`
	Format string          `json:"format,omitempty"` // csv (default) or xlsx
	As     *authz.Snapshot `json:"as,omitempty"`     // the requester's rights when they asked
	// What a job recorded before snapshots carried of its requester.
	Requester uuid.UUID `json:"requester"`
	Scope     string    `json:"scope"`
	PII       bool      `json:"pii,omitempty"` // the requester held pii.read: sensitive values come out in clear
}

// actor is who the export acts for: its requester with their scope, teammates
// and pii.read as they were when they asked.
func (p exportPayload) actor(read string) authz.Actor {
	if p.As != nil {
		return p.As.Actor()
	}
	perms := map[string]bool{read: true}
	if p.PII {
		perms[fields.PermPIIRead] = true
	}
	return authz.Actor{ID: p.Requester, Kind: authz.ActorUser, Scope: authz.Scope(p.Scope), Permissions: perms}
}

type exportResult struct {
	Key       string    `json:"key"`
	Rows      int64     `json:"rows"`
	Format    string    `json:"format"`
	ExpiresAt time.Time `json:"expires_at"`
}

// exportKey is where an export's file lives.
func exportKey(tenant, job uuid.UUID, format string) string {
	return blob.TenantKey(tenant.String(), "exports", job.String()+"."+format)
}

// rowWriter is one file format.
type rowWriter interface {
	Write(cells []string) error
	Close() error // finishes the file; the blob writer is closed by the caller
}

type csvRows struct{ w *csv.Writer }

func (c csvRows) Write(cells []string) error { return c.w.Write(cells) }
func (c csvRows) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// xlsxRows writes through the streaming XLSX writer: a zip entry per sheet
// written as the rows come, so memory stays flat however many rows there are
// (excelize's StreamWriter held the whole sheet at save time: +300 MB at a
// million rows, docs/benchmarks.md).
type xlsxRows struct{ x *sheet.XLSX }

func newXLSXRows(out io.Writer, name string) xlsxRows { return xlsxRows{sheet.NewXLSX(out, name)} }

func (x xlsxRows) Write(cells []string) error { return x.x.WriteRow(cells) }
func (x xlsxRows) Close() error               { return x.x.Close() }

// runExport streams the entity's records to a CSV or XLSX file in the blob
// store a page at a time, each page its own short tenant transaction, so memory
// stays flat however many rows there are. A rerun after a crash writes the file
// afresh.
func (e *Engine) runExport(ctx context.Context, j *jobs.Job) error {
	var p exportPayload
	if err := j.Decode(&p); err != nil {
		return errs.E(errs.Invalid, "malformed export payload")
	}
	if p.Format == "" {
		p.Format = "csv"
	}
	ad, err := e.adapter(ctx, uuid.Nil, p.Entity, "entity")
	if err != nil {
		return err
	}
	// The export sees what its requester saw when asking for it; sensitive
	// values stay masked unless they held pii.read.
	read, _ := ad.Permissions()
	ctx = authz.WithActor(ctx, p.actor(read))
	total, err := ad.ExportCount(ctx, j.TenantID, p.Query)
	if err != nil {
		return err
	}
	_ = j.Progress(ctx, 0, total)
	cols := p.Fields
	if len(cols) == 0 {
		if cols, err = ad.ExportColumns(ctx, j.TenantID, nil); err != nil {
			return err
		}
	}
	masked, err := e.exportMasked(ctx, j.TenantID, ad, cols)
	if err != nil {
		return err
	}
	key := exportKey(j.TenantID, j.ID, p.Format)
	w, err := e.d.Blobs.NewWriter(ctx, key, nil)
	if err != nil {
		return fmt.Errorf("transfer: export: open file: %w", err)
	}
	var rw rowWriter = csvRows{csv.NewWriter(w)}
	if p.Format == "xlsx" {
		rw = newXLSXRows(w, sheetName(ad.Entity()))
	}
	fail := func(err error) error {
		_ = w.Close()
		_ = e.d.Blobs.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	if err := rw.Write(cols); err != nil {
		return fail(err)
	}
	rows, err := writeRows(ctx, j, ad, p.Query, cols, masked, rw, total)
	if err != nil {
		return fail(err)
	}
	if err := rw.Close(); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("transfer: export: write file: %w", err)
	}
	_ = j.Progress(ctx, rows, rows)
	return j.SetResult(exportResult{Key: key, Rows: rows, Format: p.Format, ExpiresAt: time.Now().Add(e.exportTTL()).UTC()})
}

// writeRows writes every page of the export's records to rw, masked values
// hidden and each cell made safe for spreadsheets, reporting progress; it
// returns how many rows it wrote. A canceled job stops it at the next page.
func writeRows(ctx context.Context, j *jobs.Job, ad Adapter, query string, cols []string, masked []bool, rw rowWriter, total int64) (int64, error) {
	var rows int64
	cursor := ""
	for {
		if j.Canceled(ctx) {
			return rows, jobs.ErrCanceled
		}
		page, next, err := ad.ExportPage(ctx, j.TenantID, query, cols, cursor)
		if err != nil {
			return rows, err
		}
		for _, cells := range page {
			for i := range cells {
				if masked[i] && cells[i] != "" {
					cells[i] = fields.MaskText
				}
				cells[i] = httpx.SafeCell(cells[i])
			}
			if err := rw.Write(cells); err != nil {
				return rows, err
			}
		}
		rows += int64(len(page))
		_ = j.Progress(ctx, rows, total)
		if next == "" {
			return rows, nil
		}
		cursor = next
	}
}

// exportMasked says which of cols hold a sensitive target the actor may not
// read in clear.
func (e *Engine) exportMasked(ctx context.Context, tenant uuid.UUID, ad Adapter, cols []string) ([]bool, error) {
	out := make([]bool, len(cols))
	if authz.ActorFrom(ctx).Can(fields.PermPIIRead) {
		return out, nil
	}
	var targets []Target
	if err := db.InTenant(ctx, e.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		var err error
		targets, err = ad.Targets(ctx, tx, tenant)
		return err
	}); err != nil {
		return nil, err
	}
	sensitive := map[string]bool{}
	for _, t := range targets {
		if t.Sensitive {
			sensitive[t.Key] = true
		}
	}
	for i, c := range cols {
		out[i] = sensitive[c]
	}
	return out, nil
}

// sheetName is the XLSX sheet of an entity: "customers" is "Customers".
func sheetName(entity string) string {
	if entity == "" {
		return "Export"
	}
	return strings.ToUpper(entity[:1]) + entity[1:]
}

func (e *Engine) exportTTL() time.Duration {
	if e.d.ExportTTL > 0 {
		return e.d.ExportTTL
	}
	return 7 * 24 * time.Hour
}

// cleanupExports deletes export files older than the TTL, in every tenant: the
// job records stay, and a download of an expired file answers 410.
func (e *Engine) cleanupExports(ctx context.Context, _ json.RawMessage) error {
	if e.d.Blobs == nil {
		return nil
	}
	cutoff := time.Now().Add(-e.exportTTL())
	it := e.d.Blobs.List(nil)
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if strings.Contains(obj.Key, "/exports/") && obj.ModTime.Before(cutoff) {
			if err := e.d.Blobs.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
				return err
			}
		}
	}
}

// ExportView is an export's progress and, once done, where to download it.
type ExportView struct {
	ID          uuid.UUID  `json:"id"`
	Entity      string     `json:"entity"`
	Status      string     `json:"status" enum:"queued,running,retrying,succeeded,failed,canceled"`
	Format      string     `json:"format" enum:"csv,xlsx"`
	Done        int64      `json:"done" doc:"rows written so far"`
	Total       *int64     `json:"total,omitempty" doc:"rows to write"`
	Fraction    *float64   `json:"fraction,omitempty" doc:"0 to 1"`
	Rows        int64      `json:"rows,omitempty" doc:"rows in the finished file"`
	Error       string     `json:"error,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	DownloadURL string     `json:"download_url,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

func (e *Engine) exportView(slug string, j *jobs.Job) *ExportView {
	v := &ExportView{ID: j.ID, Status: j.Status, Done: j.ProgressDone, Total: j.ProgressTotal, Error: j.Error, CreatedAt: j.CreatedAt}
	var p exportPayload
	_ = j.Decode(&p)
	v.Entity = p.Entity
	if v.Entity == "" {
		v.Entity = DefaultEntity
	}
	v.Format = p.Format
	if v.Format == "" {
		v.Format = "csv"
	}
	if j.ProgressTotal != nil && *j.ProgressTotal > 0 {
		f := min(float64(j.ProgressDone)/float64(*j.ProgressTotal), 1)
		v.Fraction = &f
	}
	var res exportResult
	if j.Status == jobs.StatusSucceeded && json.Unmarshal(j.Result, &res) == nil {
		one := 1.0
		v.Rows, v.ExpiresAt, v.Fraction = res.Rows, &res.ExpiresAt, &one
		if time.Now().Before(res.ExpiresAt) {
			v.DownloadURL = "/api/v1/t/" + slug + "/exports/" + j.ID.String() + "/download"
		}
	}
	return v
}

func (e *Engine) exportRoutes(api huma.API, r fiber.Router) {
	type exportIn struct {
		Body struct {
			Entity    string   `json:"entity,omitempty" default:"customers" doc:"what to export: customers (the default) or purchases"`
			Filter    string   `json:"filter,omitempty" maxLength:"2000" doc:"the entity list's filters as a query string, e.g. for customers tag=vip&lifecycle=customer&custom.tier=gold"`
			Query     string   `json:"query,omitempty" maxLength:"2000" doc:"the same as filter (older name)"`
			SegmentID string   `json:"segment_id,omitempty" format:"uuid" doc:"customers: export a saved segment instead of a filter"`
			Fields    []string `json:"fields,omitempty" maxItems:"100" doc:"columns: standard ones and custom.<key>; default every standard column and every custom field"`
			Format    string   `json:"format,omitempty" enum:"csv,xlsx" default:"csv"`
		} `nameHint:"NewExport"`
	}
	type exportOut struct {
		Body *ExportView
	}
	huma.Register(api, huma.Operation{OperationID: "create-export", Method: http.MethodPost, Path: "/exports", DefaultStatus: 202,
		Summary:     "Export customers, purchases or another entity to CSV or XLSX",
		Description: "Runs in the background on the bulk queue. Follow it at GET .../exports/{id}; download at GET .../exports/{id}/download. Sensitive fields are masked unless you hold pii.read; cells that would run as formulas are neutralised. Needs the entity's read permission (profiles.read for customers and purchases)."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *exportIn) (*exportOut, error) {
			v, err := e.StartExport(ctx, t, in.Body.Entity, ExportRequest{Filter: cmp.Or(in.Body.Filter, in.Body.Query), SegmentID: in.Body.SegmentID}, in.Body.Fields, in.Body.Format)
			if err != nil {
				return nil, err
			}
			return &exportOut{Body: v}, nil
		}))
	type exportGetIn struct {
		ID uuid.UUID `path:"id" doc:"the export id"`
	}
	huma.Register(api, huma.Operation{OperationID: "get-export", Method: http.MethodGet, Path: "/exports/{id}", Summary: "An export's progress and download link",
		Description: "Progress while the export runs; once it has succeeded, the row count, the download link (GET .../exports/{id}/download, a stream of the file) and when the file expires. Needs the entity's read permission."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *exportGetIn) (*exportOut, error) {
			j, _, err := e.exportFor(ctx, t.ID, in.ID)
			if err != nil {
				return nil, err
			}
			return &exportOut{Body: e.exportView(t.Slug, j)}, nil
		}))
	r.Get("/exports/:id/download", e.download)
}

// StartExport checks a request and queues the export on the bulk queue.
func (e *Engine) StartExport(ctx context.Context, t tenancy.Tenant, entity string, req ExportRequest, want []string, format string) (*ExportView, error) {
	ad, err := e.allowedAdapter(ctx, t.ID, entity, "body.entity", false)
	if err != nil {
		return nil, err
	}
	query, err := ad.ExportQuery(ctx, t.ID, req)
	if err != nil {
		return nil, err
	}
	cols, err := ad.ExportColumns(ctx, t.ID, want)
	if err != nil {
		return nil, err
	}
	a := authz.ActorFrom(ctx)
	snap := a.Snapshot()
	j, err := e.d.Jobs.Enqueue(ctx, t.ID, jobs.Spec{Type: TypeExport, Queue: jobs.QueueBulk, MaxAttempts: 3, CreatedBy: authz.RequesterID(ctx),
		Payload: exportPayload{Entity: ad.Entity(), Query: query, Fields: cols, Format: format, As: &snap,
			Requester: a.ID, Scope: string(a.Visibility()), PII: a.Can(fields.PermPIIRead)}})
	if err != nil {
		return nil, err
	}
	return e.exportView(t.Slug, j), nil
}

// download streams a finished export from the blob store through Fiber, not
// Huma, so a file of any size never sits in memory.
func (e *Engine) download(c *fiber.Ctx) error {
	ctx, t, id, err := tenantAndID(c, "an export id")
	if err != nil {
		return err
	}
	j, p, err := e.exportFor(ctx, t.ID, id)
	if err != nil {
		return err
	}
	if err := mayDownload(authz.ActorFrom(ctx), j); err != nil {
		return err
	}
	if j.Status != jobs.StatusSucceeded {
		return errs.E(errs.Conflict, "This export is %s; download it once it has succeeded.", j.Status)
	}
	var res exportResult
	if err := json.Unmarshal(j.Result, &res); err != nil {
		return errs.InternalErr(err)
	}
	if time.Now().After(res.ExpiresAt) {
		return errs.E(errs.Gone, "This export expired on %s; start a new one.", res.ExpiresAt.Format("2006-01-02"))
	}
	rd, err := e.d.Blobs.NewReader(ctx, res.Key, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return errs.E(errs.Gone, "This export's file is gone; start a new one.")
		}
		return errs.InternalErr(err)
	}
	ct, ext := "text/csv; charset=utf-8", "csv"
	if res.Format == "xlsx" {
		ct, ext = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s-%s.%s"`, cmp.Or(p.Entity, DefaultEntity), j.CreatedAt.UTC().Format("20060102-1504"), ext))
	return c.SendStream(rd, int(rd.Size()))
}

// exportFor returns an export the actor may see: their own, or anyone's for a
// holder of jobs.manage, once they hold the entity's read permission. Any other
// id is NotFound, like one that does not exist.
func (e *Engine) exportFor(ctx context.Context, tenant, id uuid.UUID) (*jobs.Job, exportPayload, error) {
	var p exportPayload
	j, err := e.d.Jobs.Get(ctx, tenant, id)
	isExport := err == nil && (j.Type == TypeExport || j.Type == legacyExport)
	if isExport {
		_ = j.Decode(&p)
	}
	if _, err := e.allowedAdapter(ctx, tenant, p.Entity, "path.id", false); err != nil {
		return nil, p, err
	}
	if !isExport || !jobs.MayAccess(authz.ActorFrom(ctx), j.CreatedBy) {
		return nil, p, errs.E(errs.NotFound, "export not found")
	}
	return j, p, nil
}

// mayDownload checks the downloader's rights again against what the file holds:
// the file was written with its requester's scope and pii.read as they were,
// and rights change (a demotion, a role edited) between the export and the
// download. Sensitive values in clear need pii.read now, and the records need a
// scope at least as wide as the one they were chosen with.
func mayDownload(a authz.Actor, j *jobs.Job) error {
	var p exportPayload
	if err := j.Decode(&p); err != nil {
		return errs.InternalErr(err)
	}
	made := p.actor("")
	if made.Can(fields.PermPIIRead) && !a.Can(fields.PermPIIRead) {
		return errs.E(errs.Forbidden, "This export shows sensitive values in clear, and your role does not include %s. Start a new export: it masks them for you.", fields.PermPIIRead)
	}
	if !a.Visibility().Covers(made.Visibility()) {
		return errs.E(errs.Forbidden, "This export holds records outside what your role lets you see now (%s). Start a new export.", a.Visibility())
	}
	return nil
}
