package profiles

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
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

// Export task types.
const (
	TypeExport        = "profiles:export"
	TypeExportCleanup = "profiles:exports-cleanup"
)

// exportColumns are the standard columns, in file order.
var exportColumns = []string{"id", "kind", "name", "emails", "phones", "tags", "lifecycle", "owner_id", "company_id", "source", "created_at", "updated_at"}

type exportPayload struct {
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
func (p exportPayload) actor() authz.Actor {
	if p.As != nil {
		return p.As.Actor()
	}
	perms := map[string]bool{PermRead: true}
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

func newXLSXRows(out io.Writer) xlsxRows { return xlsxRows{sheet.NewXLSX(out, "Customers")} }

func (x xlsxRows) Write(cells []string) error { return x.x.WriteRow(cells) }
func (x xlsxRows) Close() error               { return x.x.Close() }

// runExport streams every matching customer to a CSV or XLSX file in the blob
// store in keyset batches, each its own short tenant transaction, so memory
// stays flat however many rows there are. A rerun after a crash writes the file
// afresh.
func (m *Module) runExport(ctx context.Context, j *jobs.Job) error {
	var p exportPayload
	if err := j.Decode(&p); err != nil {
		return errs.E(errs.Invalid, "malformed export payload")
	}
	if p.Format == "" {
		p.Format = "csv"
	}
	f, err := filterFromQuery(p.Query)
	if err != nil {
		return err
	}
	// The export sees what its requester saw when asking for it; sensitive
	// values stay masked unless they held pii.read.
	ctx = authz.WithActor(ctx, p.actor())
	total, err := m.CountCustomers(ctx, j.TenantID, f)
	if err != nil {
		return err
	}
	_ = j.Progress(ctx, 0, int64(total))
	key := exportKey(j.TenantID, j.ID, p.Format)
	w, err := m.d.Blobs.NewWriter(ctx, key, nil)
	if err != nil {
		return fmt.Errorf("profiles: export: open file: %w", err)
	}
	var rw rowWriter = csvRows{csv.NewWriter(w)}
	if p.Format == "xlsx" {
		rw = newXLSXRows(w)
	}
	fail := func(err error) error {
		_ = w.Close()
		_ = m.d.Blobs.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	cols := p.Fields
	if len(cols) == 0 {
		cols = exportColumns
	}
	if err := rw.Write(cols); err != nil {
		return fail(err)
	}
	var rows int64
	f.Limit, f.Sort = 1000, "created_at"
	for {
		if j.Canceled(ctx) {
			return fail(jobs.ErrCanceled)
		}
		items, next, err := m.ListCustomers(ctx, j.TenantID, f)
		if err != nil {
			return fail(err)
		}
		for i := range items {
			if err := rw.Write(exportRow(&items[i], cols)); err != nil {
				return fail(err)
			}
		}
		rows += int64(len(items))
		_ = j.Progress(ctx, rows, int64(total))
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if err := rw.Close(); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("profiles: export: write file: %w", err)
	}
	_ = j.Progress(ctx, rows, rows)
	return j.SetResult(exportResult{Key: key, Rows: rows, Format: p.Format, ExpiresAt: time.Now().Add(m.exportTTL()).UTC()})
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
		default:
			if k, ok := strings.CutPrefix(col, "custom."); ok {
				v = customCell(c.Custom[k])
			}
		}
		out[i] = httpx.SafeCell(v)
	}
	return out
}

// customCell renders a custom value as a spreadsheet cell.
func customCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = customCell(p)
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		if amt, ok := x["amount"]; ok {
			return strings.TrimSpace(customCell(amt) + " " + customCell(x["currency"]))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
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

// ExportView is an export's progress and, once done, where to download it.
type ExportView struct {
	ID          uuid.UUID  `json:"id"`
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

func (m *Module) exportView(slug string, j *jobs.Job) *ExportView {
	v := &ExportView{ID: j.ID, Status: j.Status, Done: j.ProgressDone, Total: j.ProgressTotal, Error: j.Error, CreatedAt: j.CreatedAt}
	var p exportPayload
	_ = j.Decode(&p)
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

func (m *Module) exportRoutes(api huma.API, r fiber.Router) {
	type exportIn struct {
		Body struct {
			Entity    string   `json:"entity,omitempty" enum:"customers" default:"customers"`
			Filter    string   `json:"filter,omitempty" maxLength:"2000" doc:"the customer list's filters as a query string, e.g. tag=vip&lifecycle=customer&custom.tier=gold"`
			Query     string   `json:"query,omitempty" maxLength:"2000" doc:"the same as filter (older name)"`
			SegmentID string   `json:"segment_id,omitempty" format:"uuid" doc:"export a saved segment instead of a filter"`
			Fields    []string `json:"fields,omitempty" maxItems:"100" doc:"columns: standard ones and custom.<key>; default every standard column and every custom field"`
			Format    string   `json:"format,omitempty" enum:"csv,xlsx" default:"csv"`
		} `nameHint:"NewExport"`
	}
	type exportOut struct {
		Body *ExportView
	}
	huma.Register(api, huma.Operation{OperationID: "create-export", Method: http.MethodPost, Path: "/exports", DefaultStatus: 202,
		Summary:     "Export customers to CSV or XLSX",
		Description: "Runs in the background on the bulk queue. Follow it at GET .../exports/{id}; download at GET .../exports/{id}/download. Sensitive fields are masked unless you hold pii.read; cells that would run as formulas are neutralised."},
		func(ctx context.Context, in *exportIn) (*exportOut, error) {
			t, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			if err := need(ctx, PermRead); err != nil {
				return nil, err
			}
			query := in.Body.Filter
			if query == "" {
				query = in.Body.Query
			}
			if in.Body.SegmentID != "" {
				if query != "" {
					return nil, errs.Field("body.segment_id", "send a filter or a segment_id, not both")
				}
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
			loc := "body.filter"
			if in.Body.SegmentID != "" {
				loc = "body.segment_id"
			}
			if _, err := filterAt(query, loc); err != nil {
				return nil, err
			}
			cols, err := m.exportFields(ctx, t.ID, in.Body.Fields)
			if err != nil {
				return nil, err
			}
			a := authz.ActorFrom(ctx)
			snap := a.Snapshot()
			j, err := m.d.Jobs.Enqueue(ctx, t.ID, jobs.Spec{Type: TypeExport, Queue: jobs.QueueBulk, MaxAttempts: 3, CreatedBy: actorID(ctx),
				Payload: exportPayload{Query: query, Fields: cols, Format: in.Body.Format, As: &snap,
					Requester: a.ID, Scope: string(a.Visibility()), PII: a.Can(fields.PermPIIRead)}})
			if err != nil {
				return nil, err
			}
			return &exportOut{Body: m.exportView(t.Slug, j)}, nil
		})
	type exportGetIn struct {
		ID uuid.UUID `path:"id" doc:"the export id"`
	}
	huma.Register(api, huma.Operation{OperationID: "get-export", Method: http.MethodGet, Path: "/exports/{id}", Summary: "An export's progress and download link",
		Description: "Progress while the export runs; once it has succeeded, the row count, the download link (GET .../exports/{id}/download, a stream of the file) and when the file expires. Needs profiles.read."},
		func(ctx context.Context, in *exportGetIn) (*exportOut, error) {
			t, err := tenancy.MustFrom(ctx)
			if err != nil {
				return nil, err
			}
			if err := need(ctx, PermRead); err != nil {
				return nil, err
			}
			j, err := m.exportFor(ctx, t.ID, in.ID)
			if err != nil {
				return nil, err
			}
			return &exportOut{Body: m.exportView(t.Slug, j)}, nil
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
		j, err := m.exportFor(ctx, t.ID, id)
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
		ct, ext := "text/csv; charset=utf-8", "csv"
		if res.Format == "xlsx" {
			ct, ext = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
		}
		c.Set(fiber.HeaderContentType, ct)
		c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="customers-%s.%s"`, j.CreatedAt.UTC().Format("20060102-1504"), ext))
		return c.SendStream(rd, int(rd.Size()))
	})
}

// exportFor returns an export the actor may see: their own, or anyone's for a
// holder of jobs.manage. Any other id is NotFound, like one that does not exist.
func (m *Module) exportFor(ctx context.Context, tenant, id uuid.UUID) (*jobs.Job, error) {
	j, err := m.d.Jobs.Get(ctx, tenant, id)
	if err != nil || j.Type != TypeExport || !jobs.MayAccess(authz.ActorFrom(ctx), j.CreatedBy) {
		return nil, errs.E(errs.NotFound, "export not found")
	}
	return j, nil
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
	made := p.actor()
	if made.Can(fields.PermPIIRead) && !a.Can(fields.PermPIIRead) {
		return errs.E(errs.Forbidden, "This export shows sensitive values in clear, and your role does not include %s. Start a new export: it masks them for you.", fields.PermPIIRead)
	}
	if !a.Visibility().Covers(made.Visibility()) {
		return errs.E(errs.Forbidden, "This export holds customers outside what your role lets you see now (%s). Start a new export.", a.Visibility())
	}
	return nil
}

// exportFields checks the requested columns against the standard ones and the
// tenant's custom fields; none means every standard column, then every live
// custom field in its position order.
func (m *Module) exportFields(ctx context.Context, tenant uuid.UUID, want []string) ([]string, error) {
	var defs []fields.Definition
	if m.d.Fields != nil {
		if err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
			var err error
			defs, err = m.d.Fields.Definitions(ctx, tx, tenant, EntityCustomers)
			return err
		}); err != nil {
			return nil, err
		}
	}
	custom := map[string]bool{}
	for _, d := range defs {
		custom[d.Key] = true
	}
	if len(want) == 0 {
		cols := append([]string{}, exportColumns...)
		for _, d := range defs {
			cols = append(cols, "custom."+d.Key)
		}
		return cols, nil
	}
	known := map[string]bool{}
	for _, c := range exportColumns {
		known[c] = true
	}
	for i, f := range want {
		if k, ok := strings.CutPrefix(f, "custom."); ok {
			if !custom[k] {
				return nil, errs.Field(fmt.Sprintf("body.fields[%d]", i), "no custom field "+k+" is defined for customers")
			}
			continue
		}
		if !known[f] {
			return nil, errs.Field(fmt.Sprintf("body.fields[%d]", i), "unknown column; use "+strings.Join(exportColumns, ", ")+" or custom.<key>")
		}
	}
	return want, nil
}
