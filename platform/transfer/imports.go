package transfer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/blob"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/fields"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/jobs"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// Import is the record of one uploaded file and what became of its rows.
type Import struct {
	bun.BaseModel `bun:"table:imports,alias:i"`
	TenantID      uuid.UUID         `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID         `bun:"id,pk,type:uuid" json:"id"`
	Entity        string            `bun:"entity" json:"entity"`
	Status        string            `bun:"status" json:"status" enum:"uploaded,queued,running,completed,failed,canceled,reverting,reverted"`
	Filename      string            `bun:"filename" json:"filename"`
	Format        string            `bun:"format" json:"format" enum:"csv,xlsx"`
	Encoding      string            `bun:"encoding" json:"encoding"`
	BlobKey       string            `bun:"blob_key" json:"-"`
	SizeBytes     int64             `bun:"size_bytes" json:"size_bytes"`
	Columns       []string          `bun:"columns,type:jsonb" json:"columns"`
	Mapping       map[string]string `bun:"mapping,type:jsonb" json:"mapping,omitempty"`
	Mode          *string           `bun:"mode" json:"mode,omitempty" enum:"create,update,upsert"`
	MatchOn       *string           `bun:"match_on" json:"match_on,omitempty"`
	Total         int64             `bun:"total" json:"total" doc:"data rows in the file (the header not counted)"`
	Processed     int64             `bun:"processed" json:"processed"`
	Created       int64             `bun:"created" json:"created"`
	Updated       int64             `bun:"updated" json:"updated"`
	Skipped       int64             `bun:"skipped" json:"skipped"`
	Failed        int64             `bun:"failed" json:"failed"`
	Reverted      int64             `bun:"reverted" json:"reverted"`
	JobID         *uuid.UUID        `bun:"job_id,type:uuid" json:"job_id,omitempty"`
	Error         *string           `bun:"error" json:"error,omitempty"`
	CreatedBy     *uuid.UUID        `bun:"created_by,type:uuid" json:"created_by,omitempty"`
	StartedAt     *time.Time        `bun:"started_at" json:"started_at,omitempty"`
	FinishedAt    *time.Time        `bun:"finished_at" json:"finished_at,omitempty"`
	CreatedAt     time.Time         `bun:"created_at,nullzero,default:now()" json:"created_at"`
	UpdatedAt     time.Time         `bun:"updated_at,nullzero,default:now()" json:"updated_at"`
}

// ImportView adds progress, rate and ETA to the record.
type ImportView struct {
	*Import
	Progress      float64 `json:"progress" doc:"0 to 1"`
	RowsPerSecond float64 `json:"rows_per_second"`
	ETASeconds    *int64  `json:"eta_seconds,omitempty"`
	ErrorsURL     string  `json:"errors_url"`
}

func importView(slug string, im *Import) *ImportView {
	v := &ImportView{Import: im, ErrorsURL: "/api/v1/t/" + slug + "/imports/" + im.ID.String() + "/errors"}
	if im.Total > 0 {
		v.Progress = min(float64(im.Processed)/float64(im.Total), 1)
	}
	if im.Status == "completed" {
		v.Progress = 1
	}
	if im.StartedAt != nil && im.Processed > 0 {
		end := time.Now()
		if im.FinishedAt != nil {
			end = *im.FinishedAt
		}
		if secs := end.Sub(*im.StartedAt).Seconds(); secs > 0 {
			v.RowsPerSecond = float64(im.Processed) / secs
			if im.Status == "running" && v.RowsPerSecond > 0 {
				eta := int64(float64(im.Total-im.Processed) / v.RowsPerSecond)
				v.ETASeconds = &eta
			}
		}
	}
	return v
}

// ImportUpload is the answer to an upload: what the file holds and a plan.
type ImportUpload struct {
	*ImportView
	Sample           [][]string        `json:"sample" doc:"the first 20 data rows"`
	SuggestedMapping map[string]string `json:"suggested_mapping" doc:"column -> target: for customers name, kind, emails, phones, company, address, tags, lifecycle, source or custom.<key>; the targets list says what the entity takes"`
	Targets          []Target          `json:"targets" doc:"what the entity's columns can be mapped to, with English and Chinese labels"`
	DryRun           []Problem         `json:"dry_run" doc:"problems found in the sample with the suggested mapping"`
	DryRunChecked    int               `json:"dry_run_checked"`
}

func getImport(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID) (*Import, error) {
	im := &Import{}
	err := tx.NewSelect().Model(im).Where("i.tenant_id = ? AND i.id = ?", tenant, id).Scan(ctx)
	if errors.Is(err, errNoRows) {
		return nil, errs.E(errs.NotFound, "import not found")
	}
	return im, err
}

// Upload stores a file of the entity's records, reads its header and a sample, and counts its rows.
func (e *Engine) Upload(ctx context.Context, t tenancy.Tenant, entity, filename string, size int64, file io.Reader, encoding string) (*ImportUpload, error) {
	ad, err := e.allowedAdapter(ctx, t.ID, entity, "body.entity", true)
	if err != nil {
		return nil, err
	}
	if e.d.Blobs == nil || e.d.Jobs == nil {
		return nil, errs.E(errs.Conflict, "Imports need the blob store and the worker, which are not configured here.")
	}
	if size > ImportMaxBytes {
		return nil, tooLarge(fmt.Sprintf("The file is %d MB; imports take up to 200 MB. Split it into smaller files.", size>>20))
	}
	tmp, n, err := spool(file)
	if tmp != nil {
		defer os.Remove(tmp.Name())
		defer tmp.Close()
	}
	if err != nil {
		return nil, err
	}
	head := make([]byte, 64<<10)
	hn, _ := tmp.ReadAt(head, 0)
	head = head[:hn]
	format := DetectFormat(filename, head)
	if what := notText(head); format == "csv" && what != "" {
		msg := "This file is not a CSV: it looks like " + what + ". Upload a CSV (comma-separated text) or an XLSX workbook."
		return nil, errs.E(errs.Unsupported, "%s", msg).WithFields(errs.FieldError{Location: "body.file", Message: msg})
	}
	if encoding, err = pickEncoding(encoding, format, head); err != nil {
		return nil, err
	}
	cols, sample, total, err := scanFile(tmp.Name(), format, encoding)
	if err != nil {
		return nil, err
	}
	id := uuid.New()
	key := blob.TenantKey(t.ID.String(), "imports", id.String()+"."+format)
	if err := e.store(ctx, key, tmp); err != nil {
		return nil, err
	}
	im := &Import{TenantID: t.ID, ID: id, Entity: ad.Entity(), Status: "uploaded", Filename: filepath.Base(filename), Format: format,
		Encoding: encoding, BlobKey: key, SizeBytes: n, Columns: cols, Total: total, CreatedBy: authz.RequesterID(ctx)}
	out := &ImportUpload{Sample: sample, DryRun: []Problem{}}
	err = db.InTenant(ctx, e.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(im).ExcludeColumn("created_at", "updated_at").Returning("created_at, updated_at").Exec(ctx); err != nil {
			return err
		}
		targets, err := ad.Targets(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		out.Targets = targets
		out.SuggestedMapping = SuggestMapping(cols, targets)
		return e.dryRun(ctx, tx, ad, im, out)
	})
	if err != nil {
		return nil, db.Classify(err, "import")
	}
	out.ImportView = importView(t.Slug, im)
	return out, nil
}

// spool copies an upload to a temporary file, refusing one over the size
// limit or empty; the caller removes the file, which it returns whenever it
// made one.
func spool(file io.Reader) (*os.File, int64, error) {
	tmp, err := os.CreateTemp("", "clientele-import-*")
	if err != nil {
		return nil, 0, errs.InternalErr(err)
	}
	n, err := io.Copy(tmp, io.LimitReader(file, ImportMaxBytes+1))
	switch {
	case err != nil:
		return tmp, n, errs.Field("body.file", "the upload was cut off; try again")
	case n > ImportMaxBytes:
		return tmp, n, tooLarge("The file is larger than 200 MB. Split it into smaller files.")
	case n == 0:
		return tmp, n, errs.Field("body.file", "the file is empty; choose a CSV or XLSX file with a header row and at least one row")
	}
	return tmp, n, nil
}

// pickEncoding is the text encoding to read the file with: the one asked for,
// or, for "" and "auto", the one its first bytes show (XLSX is always UTF-8).
func pickEncoding(asked, format string, head []byte) (string, error) {
	switch asked {
	case "", "auto":
		if format == "csv" {
			return detectEncoding(head), nil
		}
		return "utf-8", nil
	case "utf-8", "utf8":
		return "utf-8", nil
	case "gbk", "gb18030", "gb2312":
		return "gb18030", nil
	}
	return "", errs.Field("body.encoding", "use utf-8, gbk or gb18030, or leave it empty to detect")
}

// scanFile reads the file once: its column names, a sample of its first 20
// rows, and how many rows it has, refusing a file over the row limit or one
// without a header or rows.
func scanFile(path, format, encoding string) (cols []string, sample [][]string, total int64, err error) {
	rr, err := openRows(path, format, encoding)
	if isLimit(err) {
		return nil, nil, 0, tooLarge(err.Error())
	}
	if err != nil {
		return nil, nil, 0, errs.Field("body.file", err.Error())
	}
	defer rr.Close()
	header, err := rr.Next()
	if isLimit(err) {
		return nil, nil, 0, tooLarge(err.Error())
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, 0, errs.Field("body.file", "the header row cannot be read: "+err.Error())
	}
	cols, ok := columnNames(header)
	if !ok {
		return nil, nil, 0, errs.Field("body.file", "the first row is empty: the file needs a header row naming its columns (for example 姓名, 电话, 邮箱)")
	}
	for {
		rec, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if isLimit(err) {
			return nil, nil, 0, tooLarge(err.Error())
		}
		if err != nil {
			continue // reported per row when the import runs
		}
		total++
		if total > ImportMaxRows {
			return nil, nil, 0, tooLarge("The file has more than 1,000,000 rows. Split it into files of at most 1,000,000 rows.")
		}
		if len(sample) < 20 {
			sample = append(sample, append([]string(nil), rec...))
		}
	}
	if total == 0 {
		return nil, nil, 0, errs.Field("body.file", "the file has a header but no rows")
	}
	return cols, sample, total, nil
}

// columnNames names every column of the header: trimmed, without a BOM, a
// blank one by its position, a repeated one with its position added. It
// reports false when no column has a name.
func columnNames(header []string) ([]string, bool) {
	cols := []string{}
	seen := map[string]bool{}
	named := false
	for i, h := range header {
		if strings.TrimSpace(h) != "" {
			named = true
		}
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" {
			h = fmt.Sprintf("Column %d", i+1)
		}
		if seen[h] {
			h = fmt.Sprintf("%s (%d)", h, i+1)
		}
		seen[h] = true
		cols = append(cols, h)
	}
	return cols, named
}

// store copies the spooled file to the blob store under key.
func (e *Engine) store(ctx context.Context, key string, tmp *os.File) error {
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return errs.InternalErr(err)
	}
	// Canceling the writer's context before Close aborts the write: a Close
	// after a failed Write would otherwise commit the part written so far.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := e.d.Blobs.NewWriter(wctx, key, nil)
	if err != nil {
		return errs.InternalErr(err)
	}
	if _, err := io.Copy(w, tmp); err != nil {
		cancel()
		_ = w.Close()
		return errs.InternalErr(err)
	}
	if err := w.Close(); err != nil {
		return errs.InternalErr(err)
	}
	return nil
}

// dryRun puts the sample through the same row checks the import uses, with
// the suggested mapping in create mode.
func (e *Engine) dryRun(ctx context.Context, tx bun.Tx, ad Adapter, im *Import, out *ImportUpload) error {
	plan, perr := ad.Plan(ctx, tx, im.TenantID, ImportSpec{Columns: im.Columns, Mapping: out.SuggestedMapping, Mode: "create"})
	if perr != nil {
		if errs.CodeOf(perr) == errs.Internal {
			return perr
		}
		out.DryRun = append(out.DryRun, Problem{Row: 1, Reason: perr.Error(), Outcome: "failed"})
		return nil
	}
	pp := newParsePlan(im, plan)
	for i, rec := range out.Sample {
		r := pp.parse(int64(i+2), append([]string(nil), rec...))
		if r.OK() {
			if err := plan.Check(ctx, tx, r); err != nil {
				return err
			}
		}
		out.DryRun = append(out.DryRun, r.Problems...)
	}
	out.DryRunChecked = len(out.Sample)
	return nil
}

func tooLarge(msg string) error {
	return errs.E(errs.TooLarge, "%s", msg).WithFields(errs.FieldError{Location: "body.file", Message: msg})
}

// StartImport checks the mapping and queues the import on the bulk queue.
func (e *Engine) StartImport(ctx context.Context, t tenancy.Tenant, id uuid.UUID, mapping map[string]string, mode, matchOn string) (*ImportView, error) {
	var im *Import
	err := db.InTenant(ctx, e.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var ad Adapter
		var err error
		if im, ad, err = e.importToWrite(ctx, tx, t.ID, id); err != nil {
			return err
		}
		if im.Status != "uploaded" {
			return errs.E(errs.Conflict, "This import is %s already; upload the file again to run it once more.", im.Status)
		}
		if _, err := ad.Plan(ctx, tx, t.ID, ImportSpec{Columns: im.Columns, Mapping: mapping, Mode: mode, MatchOn: matchOn}); err != nil {
			return err
		}
		j, err := e.d.Jobs.Enqueue(ctx, t.ID, jobs.Spec{Type: TypeImport, Queue: jobs.QueueBulk, MaxAttempts: 20, CreatedBy: authz.RequesterID(ctx),
			Payload: newImportPayload(ctx, id)})
		if err != nil {
			return err
		}
		im.Mapping, im.Mode, im.MatchOn, im.JobID, im.Status = mapping, &mode, &matchOn, &j.ID, "queued"
		_, err = tx.NewUpdate().Model(im).Column("mapping", "mode", "match_on", "job_id", "status").Set("updated_at = now()").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, db.Classify(err, "import")
	}
	return importView(t.Slug, im), nil
}

// importToWrite is an import the actor may act on, with its adapter, once the
// actor holds the entity's write permission.
func (e *Engine) importToWrite(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID) (*Import, Adapter, error) {
	return e.importWith(ctx, tx, tenant, id, true)
}

// importToRead is an import the actor may follow, with its adapter.
func (e *Engine) importToRead(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID) (*Import, Adapter, error) {
	return e.importWith(ctx, tx, tenant, id, false)
}

func (e *Engine) importWith(ctx context.Context, tx bun.IDB, tenant, id uuid.UUID, write bool) (*Import, Adapter, error) {
	// The permission is checked before whose import it is, as for any route:
	// a role without it is refused (403) whatever the id.
	im, err := getImport(ctx, tx, tenant, id)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, nil, err
	}
	entity := DefaultEntity
	if im != nil {
		entity = im.Entity
	}
	ad, aerr := e.allowedAdapter(ctx, tenant, entity, "path.id", write)
	if aerr != nil {
		return nil, nil, aerr
	}
	if err != nil || !jobs.MayAccess(authz.ActorFrom(ctx), im.CreatedBy) {
		return nil, nil, errs.E(errs.NotFound, "import not found")
	}
	return im, ad, nil
}

func (im *Import) spec() ImportSpec {
	return ImportSpec{Columns: im.Columns, Mapping: im.Mapping, Mode: deref(im.Mode), MatchOn: deref(im.MatchOn)}
}

type importPayload struct {
	ImportID  uuid.UUID       `json:"import_id"`
	Requester uuid.UUID       `json:"requester"`
	As        *authz.Snapshot `json:"as,omitempty"` // the requester's rights when they asked
}

func newImportPayload(ctx context.Context, id uuid.UUID) importPayload {
	a := authz.ActorFrom(ctx)
	snap := a.Snapshot()
	return importPayload{ImportID: id, Requester: a.ID, As: &snap}
}

// actor is who the import acts for. A job recorded before snapshots existed
// carries only the requester's id: it runs as them with read and write on
// their own records of the entity, never wider.
func (p importPayload) actor(ad Adapter) authz.Actor {
	if p.As != nil {
		return p.As.Actor()
	}
	read, write := ad.Permissions()
	return authz.Actor{ID: p.Requester, Kind: authz.ActorUser, Scope: authz.ScopeOwn, Permissions: map[string]bool{read: true, write: true}}
}

// CancelImport asks a queued or running import to stop at its next batch.
func (e *Engine) CancelImport(ctx context.Context, t tenancy.Tenant, id uuid.UUID) (*ImportView, error) {
	im, err := e.changeImport(ctx, t, id, func(ctx context.Context, tx bun.Tx, im *Import) error {
		if im.Status != "queued" && im.Status != "running" && im.Status != "uploaded" {
			return errs.E(errs.Conflict, "This import is %s; only a waiting or running import can be canceled.", im.Status)
		}
		im.Status = "canceled"
		_, err := tx.NewUpdate().Model(im).Set("status = 'canceled', finished_at = now(), updated_at = now()").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if im.JobID != nil {
		if c, ok := e.d.Jobs.(interface {
			Cancel(ctx context.Context, tenant, id uuid.UUID) (*jobs.Job, error)
		}); ok {
			_, _ = c.Cancel(ctx, t.ID, *im.JobID)
		}
	}
	return importView(t.Slug, im), nil
}

// RevertImport queues the job that undoes an import.
func (e *Engine) RevertImport(ctx context.Context, t tenancy.Tenant, id uuid.UUID) (*ImportView, error) {
	im, err := e.changeImport(ctx, t, id, func(ctx context.Context, tx bun.Tx, im *Import) error {
		if im.Status != "completed" && im.Status != "canceled" && im.Status != "failed" {
			return errs.E(errs.Conflict, "This import is %s; revert it once it has completed, failed or been canceled.", im.Status)
		}
		j, err := e.d.Jobs.Enqueue(ctx, t.ID, jobs.Spec{Type: TypeRevert, Queue: jobs.QueueBulk, MaxAttempts: 20, CreatedBy: authz.RequesterID(ctx),
			Payload: newImportPayload(ctx, id)})
		if err != nil {
			return err
		}
		im.Status, im.JobID, im.Reverted = "reverting", &j.ID, 0
		_, err = tx.NewUpdate().Model(im).Column("status", "job_id", "reverted").Set("updated_at = now()").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return importView(t.Slug, im), nil
}

// changeImport runs change on an import the actor may write, locked in a
// tenant transaction, and returns it as change left it.
func (e *Engine) changeImport(ctx context.Context, t tenancy.Tenant, id uuid.UUID, change func(ctx context.Context, tx bun.Tx, im *Import) error) (*Import, error) {
	var im *Import
	err := db.InTenant(ctx, e.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if im, _, err = e.importToWrite(ctx, tx, t.ID, id); err != nil {
			return err
		}
		return change(ctx, tx, im)
	})
	return im, err
}

// ListImports is the actor's recent imports (everyone's for a holder of
// jobs.manage), newest first, of the entities whose records they may read;
// entity narrows it to one.
func (e *Engine) ListImports(ctx context.Context, t tenancy.Tenant, entity string) ([]*ImportView, error) {
	var readable []string
	a := authz.ActorFrom(ctx)
	for _, name := range e.Entities() {
		read, _ := e.d.Adapters[name].Permissions()
		if (entity == "" || entity == name) && a.Can(read) {
			readable = append(readable, name)
		}
	}
	if entity != "" {
		if _, err := e.allowedAdapter(ctx, t.ID, entity, "query.entity", false); err != nil {
			return nil, err
		}
	} else if len(readable) == 0 {
		read, _ := e.d.Adapters[DefaultEntity].Permissions()
		return nil, authz.Require(ctx, read)
	}
	var ims []*Import
	err := db.InTenant(ctx, e.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(&ims).Where("i.tenant_id = ? AND i.entity IN (?)", t.ID, bun.In(readable))
		if !a.Can(jobs.PermManage) {
			q = q.Where("i.created_by = ?", a.ID) // other people's imports only for those who manage them
		}
		return q.OrderExpr("i.created_at DESC, i.id DESC").Limit(100).Scan(ctx)
	})
	out := []*ImportView{}
	for _, im := range ims {
		out = append(out, importView(t.Slug, im))
	}
	return out, err
}

// importRoutes registers the import operations: upload, list, get, start,
// cancel, revert and the error report.
func (e *Engine) importRoutes(api huma.API, r fiber.Router) {
	e.uploadRoute(api)
	type importListIn struct {
		Entity string `query:"entity" doc:"only imports of this entity"`
	}
	type importListOut struct {
		Body struct {
			Items []*ImportView `json:"items"`
		} `nameHint:"ImportList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-imports", Method: http.MethodGet, Path: "/imports", Summary: "Recent imports, newest first",
		Description: "The company's recent imports with entity, format, mode, who started them and their counts, of the entities whose records you may read (profiles.read for customers and purchases)."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *importListIn) (*importListOut, error) {
			items, err := e.ListImports(ctx, t, in.Entity)
			if err != nil {
				return nil, err
			}
			out := &importListOut{}
			out.Body.Items = items
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-import", Method: http.MethodGet, Path: "/imports/{id}", Summary: "An import's status, counts, rate and ETA",
		Description: "Status, rows processed, created, updated, skipped and failed, rate and estimated time left; failed rows are listed in the CSV at GET .../imports/{id}/errors. Needs the entity's read permission."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *importIDIn) (*importViewOut, error) {
			var im *Import
			err := db.InTenant(ctx, e.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) (err error) {
				im, _, err = e.importToRead(ctx, tx, t.ID, in.ID)
				return err
			})
			if err != nil {
				return nil, err
			}
			return &importViewOut{Body: importView(t.Slug, im)}, nil
		}))
	type importStartIn struct {
		ID   uuid.UUID `path:"id"`
		Body struct {
			Mapping map[string]string `json:"mapping" doc:"column -> target (the upload lists the entity's targets): for customers name, kind, emails, phones, company, address, tags, lifecycle, source or custom.<key>; unmapped columns are ignored"`
			Mode    string            `json:"mode" enum:"create,update,upsert" doc:"create new records, update matching ones, or both (purchases: create)"`
			MatchOn string            `json:"match_on,omitempty" doc:"customers: email, phone or custom.<key> of a unique field, needed for update and upsert; purchases: how rows find their customer (email, phone or custom.<key>)"`
		} `nameHint:"ImportStart"`
	}
	huma.Register(api, huma.Operation{OperationID: "start-import", Method: http.MethodPost, Path: "/imports/{id}/start", DefaultStatus: 202,
		Summary:     "Run an uploaded import in the background",
		Description: "Queues the import with a column mapping (column to target: for customers name, emails, phones, tags, lifecycle, source, custom.<key>...) and a mode: create, update or upsert, matching on email, phone or a unique custom field. Answers 202 with the import; follow it at GET .../imports/{id}. An import that is not waiting to start answers 409. Needs the entity's write permission.",
		Responses:   httpx.Refusals(map[int]string{409: "The import has run or is running already; upload the file again to run it once more."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *importStartIn) (*importViewOut, error) {
			v, err := e.StartImport(ctx, t, in.ID, in.Body.Mapping, in.Body.Mode, in.Body.MatchOn)
			if err != nil {
				return nil, err
			}
			return &importViewOut{Body: v}, nil
		}))
	e.importActionRoutes(api)
	r.Get("/imports/:id/errors", e.errorReport)
}

// importIDIn names an import in the path.
type importIDIn struct {
	ID uuid.UUID `path:"id" doc:"the import id"`
}

type importViewOut struct{ Body *ImportView }

// uploadRoute registers the upload of an import's file, the first step.
func (e *Engine) uploadRoute(api huma.API) {
	type importUploadForm struct {
		File     huma.FormFile `form:"file" required:"true" doc:"a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX file"`
		Entity   string        `form:"entity" required:"false" doc:"what the rows are: customers (the default) or purchases"`
		Encoding string        `form:"encoding" required:"false" doc:"utf-8, gbk or gb18030; empty detects it"`
	}
	type importUploadIn struct {
		RawBody huma.MultipartFormFiles[importUploadForm]
	}
	type importUploadOut struct{ Body *ImportUpload }
	huma.Register(api, huma.Operation{OperationID: "upload-import", Method: http.MethodPost, Path: "/imports", DefaultStatus: 201,
		Summary:      "Upload a spreadsheet of customers, purchases or another entity",
		Description:  "Answers with the columns, the first 20 rows, the entity's targets, a suggested mapping and a dry run on that sample. Start it with POST .../imports/{id}/start. Needs the entity's write permission (profiles.write for customers and purchases).",
		MaxBodyBytes: ImportMaxBytes + 1<<20,
		Responses:    httpx.Refusals(map[int]string{409: "Imports need the blob store and the worker, which this installation does not run.", 413: "The file is larger than imports accept."}),
	},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *importUploadIn) (*importUploadOut, error) {
			d := in.RawBody.Data()
			if _, err := e.adapter(ctx, t.ID, d.Entity, "body.entity"); err != nil {
				return nil, err
			}
			if d.File.File == nil {
				return nil, errs.Field("body.file", "attach the file as the multipart field \"file\"")
			}
			u, err := e.Upload(ctx, t, d.Entity, d.File.Filename, d.File.Size, d.File, d.Encoding)
			if err != nil {
				return nil, err
			}
			return &importUploadOut{Body: u}, nil
		}))
}

// importActionRoutes registers what can be done to an import once it ran or
// runs: cancel and revert.
func (e *Engine) importActionRoutes(api huma.API) {
	for _, a := range []struct {
		op huma.Operation
		do func(context.Context, tenancy.Tenant, uuid.UUID) (*ImportView, error)
	}{
		{huma.Operation{OperationID: "cancel-import", Method: http.MethodPost, Path: "/imports/{id}/cancel", Summary: "Stop an import at its next batch",
			Description: "What earlier batches imported stays; revert undoes it.",
			Responses:   httpx.Refusals(map[int]string{409: "Only a waiting or running import can be canceled."})}, e.CancelImport},
		{huma.Operation{OperationID: "revert-import", Method: http.MethodPost, Path: "/imports/{id}/revert", DefaultStatus: 202,
			Summary: "Undo an import: delete what it created, restore what it updated", Description: "Runs in the background; follow it at GET .../imports/{id}.",
			Responses: httpx.Refusals(map[int]string{409: "Only a completed, failed or canceled import can be reverted."})}, e.RevertImport},
	} {
		huma.Register(api, a.op, httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *importIDIn) (*importViewOut, error) {
			v, err := a.do(ctx, t, in.ID)
			if err != nil {
				return nil, err
			}
			return &importViewOut{Body: v}, nil
		}))
	}
}

// errorReport streams an import's error report as CSV through Fiber, a page of
// rows at a time.
func (e *Engine) errorReport(c *fiber.Ctx) error {
	ctx, t, id, err := tenantAndID(c, "an import id")
	if err != nil {
		return err
	}
	var masked map[string]bool
	if err := db.InTenant(ctx, e.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
		im, ad, err := e.importToRead(ctx, tx, t.ID, id)
		if err != nil {
			return err
		}
		masked, err = maskedColumns(ctx, tx, ad, im)
		return err
	}); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="import-%s-errors.csv"`, id.String()[:8]))
	pr, pw := io.Pipe()
	go func() {
		cw := csv.NewWriter(pw)
		_ = cw.Write([]string{"row", "column", "value", "reason", "outcome"})
		var after struct {
			row int64
			seq int
		}
		after.row = -1
		for {
			var page []struct {
				RowNo   int64  `bun:"row_no"`
				Seq     int    `bun:"seq"`
				Column  string `bun:"column_name"`
				Value   string `bun:"value"`
				Reason  string `bun:"reason"`
				Outcome string `bun:"outcome"`
			}
			err := db.InTenant(context.WithoutCancel(ctx), e.d.DB, t.ID, func(ctx context.Context, tx bun.Tx) error {
				return tx.NewSelect().Table("import_problems").Column("row_no", "seq", "column_name", "value", "reason", "outcome").
					Where("tenant_id = ? AND import_id = ? AND (row_no, seq) > (?, ?)", t.ID, id, after.row, after.seq).
					OrderExpr("row_no, seq").Limit(5000).Scan(ctx, &page)
			})
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			for _, p := range page {
				if masked[p.Column] && p.Value != "" {
					p.Value = fields.MaskText
				}
				_ = cw.Write([]string{fmt.Sprint(p.RowNo), httpx.SafeCell(p.Column), httpx.SafeCell(p.Value), p.Reason, p.Outcome})
				after.row, after.seq = p.RowNo, p.Seq
			}
			cw.Flush()
			if len(page) < 5000 {
				break
			}
		}
		pw.CloseWithError(cw.Error())
	}()
	return c.SendStream(pr)
}

// maskedColumns names the report columns whose values the actor may not read:
// the file's columns mapped to a sensitive target (and such a target's own
// name, used when no column was), unless the actor holds pii.read. The report
// shows what was wrong with a row, and a sensitive value stays masked there as
// it does on the record and in exports.
func maskedColumns(ctx context.Context, tx bun.IDB, ad Adapter, im *Import) (map[string]bool, error) {
	if authz.ActorFrom(ctx).Can(fields.PermPIIRead) {
		return nil, nil
	}
	targets, err := ad.Targets(ctx, tx, im.TenantID)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, t := range targets {
		if !t.Sensitive {
			continue
		}
		out[t.Key] = true
		for col, to := range im.Mapping {
			if to == t.Key {
				out[col] = true
			}
		}
	}
	return out, nil
}

// tenantAndID reads the tenant and the {id} of a raw Fiber route.
func tenantAndID(c *fiber.Ctx, what string) (context.Context, tenancy.Tenant, uuid.UUID, error) {
	ctx := c.UserContext()
	t, err := tenancy.MustFrom(ctx)
	if err != nil {
		return ctx, t, uuid.Nil, err
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return ctx, t, uuid.Nil, errs.Field("path.id", "must be "+what)
	}
	return ctx, t, id, nil
}
