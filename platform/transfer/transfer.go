// Package transfer is the kernel's import and export engine. It takes a
// spreadsheet (CSV in UTF-8, UTF-8 with a BOM or GBK/GB18030, or XLSX) through
// upload, mapping suggestions and a dry run, then imports it in checkpointed
// batches in the background, with an error report, cancel, revert, and progress
// with its rate and ETA; and it streams exports to CSV or XLSX with sensitive
// values masked and formula cells neutralised.
//
// What the rows are is a module's business: a module hands the engine one
// Adapter per entity (module.Transfers), and the engine does everything else.
// docs/transfers.md explains how to write one.
package transfer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Target is what a file's column can be mapped to: a standard column of the
// entity or one of its custom fields ("custom.<key>").
type Target struct {
	Key     string `json:"key"`
	LabelEN string `json:"label_en"`
	LabelZH string `json:"label_zh,omitempty"`
	// Aliases are further header words (English or Chinese) that suggest it.
	Aliases []string `json:"-"`
	// Sensitive values are masked in error reports and exports for an actor
	// without pii.read.
	Sensitive bool `json:"sensitive,omitempty"`
}

// ImportSpec is how a file is to be imported: its columns and what the user
// chose.
type ImportSpec struct {
	Columns []string
	Mapping map[string]string // column -> target key
	Mode    string            // create, update or upsert
	MatchOn string            // the match key, e.g. email or custom.<key>
}

// Adapter is what a module implements per entity to have it imported and
// exported. Every method that takes a tx runs inside the tenant's transaction.
type Adapter interface {
	// Entity names the rows: "customers", "purchases". It is the entity of
	// POST /imports and /exports and is stored with each import.
	Entity() string
	// Module is the module that owns the entity; when a tenant turns it off,
	// its imports and exports are refused.
	Module() string
	// Permissions are the permissions to read (export, follow an import) and
	// to write (import, cancel, revert) the entity.
	Permissions() (read, write string)
	// Targets are the columns a file may be mapped to, in the order mapping
	// suggestions try them.
	Targets(ctx context.Context, tx bun.IDB, tenant uuid.UUID) ([]Target, error)
	// Plan checks a mapping, mode and match key; its errors name the body field
	// (body.mapping.<column>, body.mode, body.match_on).
	Plan(ctx context.Context, tx bun.IDB, tenant uuid.UUID, spec ImportSpec) (Plan, error)
	// Revert undoes a page of an import's journal: records it created are
	// deleted, records it changed get their journalled state back.
	Revert(ctx context.Context, tx bun.Tx, tenant uuid.UUID, entries []JournalEntry) error
	// BulkTables are the tables an import or revert fills; the engine
	// refreshes their planner statistics as a big import grows (each must be
	// a tenant table: clientele_refresh_stats takes nothing else).
	BulkTables() []string
	Exporter
}

// Plan is a checked mapping, ready to read rows.
type Plan interface {
	// Columns maps each target to the index of its column in the file.
	Columns() map[string]int
	// Check looks at a parsed row's values without writing: the dry run on the
	// upload's sample. It reports problems on the row.
	Check(ctx context.Context, tx bun.Tx, r *Row) error
	// Key is the row's identity within the file; a later row with the same key
	// fails as a duplicate. The zero Key means none.
	Key(r *Row) Key
	// Write applies a batch's rows that have no outcome yet inside tx: rows it
	// cannot write get a problem, and every record written is journalled with
	// b.ImportID so that Revert can undo it. It returns how many records it
	// created and updated.
	Write(ctx context.Context, tx bun.Tx, b *Batch) (created, updated int64, err error)
}

// Key is a row's identity within a file.
type Key struct {
	Value  string // compared between rows; "" means the row has no key
	Target string // the target the key comes from, for the report's column
	Shown  string // the value as the report shows it
	Name   string // what it is ("email"), for the report's reason
}

// Batch is up to a thousand rows written in one transaction with the import's
// checkpoint.
type Batch struct {
	Tenant   uuid.UUID
	ImportID uuid.UUID
	Entity   string
	Rows     []*Row
}

// JournalEntry is what an import did to one record.
type JournalEntry struct {
	RecordID uuid.UUID       `bun:"record_id"`
	Action   string          `bun:"action"` // created or updated
	Before   json.RawMessage `bun:"before"` // the state an update replaced
}

// Row is one data row of a file.
type Row struct {
	No    int64             // the row in the file; the header is row 1
	Raw   []string          // the cells as read
	Cells map[string]string // target -> trimmed cell, non-empty ones only
	Key   string            // the row's Key.Value, set before Write
	// Problems found so far; Outcome is failed or skipped once there is one.
	Problems []Problem
	Outcome  string
	// Data is the adapter's own state for the row.
	Data any
	plan *parsePlan
}

// OK says whether the row still goes ahead.
func (r *Row) OK() bool { return r.Outcome == "" }

// Report adds a problem with the cell of target (its column and value) and the
// outcome failed or skipped; a failed row stays failed.
func (r *Row) Report(target, value, reason, outcome string) {
	r.Add(Problem{Row: r.No, Column: r.Column(target), Value: value, Reason: reason, Outcome: outcome})
}

// Fail reports a problem that fails the row.
func (r *Row) Fail(target, value, reason string) { r.Report(target, value, reason, "failed") }

// Add adds a problem as it is.
func (r *Row) Add(p Problem) {
	if p.Row == 0 {
		p.Row = r.No
	}
	if p.Outcome == "" {
		p.Outcome = "failed"
	}
	r.Problems = append(r.Problems, p)
	if r.Outcome != "failed" {
		r.Outcome = p.Outcome
	}
}

// Column is the file's column mapped to target, or "" when none is.
func (r *Row) Column(target string) string {
	if r.plan == nil {
		return ""
	}
	if i, ok := r.plan.col[target]; ok {
		return r.plan.cols[i]
	}
	return ""
}

// Cell is the raw cell of target, or "" when no column is mapped to it.
func (r *Row) Cell(target string) string {
	if r.plan == nil {
		return ""
	}
	if i, ok := r.plan.col[target]; ok && i < len(r.Raw) {
		return r.Raw[i]
	}
	return ""
}

// outcome is the row's final word: a problem without one fails it.
func (r *Row) outcome() string {
	if r.Outcome == "" && len(r.Problems) > 0 {
		return "failed"
	}
	return r.Outcome
}

// Problem is one line of the error report.
type Problem struct {
	Row     int64  `json:"row" doc:"the row in the file; the header is row 1"`
	Column  string `json:"column"`
	Value   string `json:"value"`
	Reason  string `json:"reason"`
	Outcome string `json:"outcome" enum:"failed,skipped"`
}

// SchemaName keeps the name the API document has always used.
func (Problem) SchemaName() string { return "ImportProblem" }

// Registry is the adapters wired in cmd, by entity.
type Registry map[string]Adapter

// Add registers adapters, refusing a second one for an entity.
func (r Registry) Add(as ...Adapter) error {
	for _, a := range as {
		if _, dup := r[a.Entity()]; dup {
			return fmt.Errorf("transfer: two adapters for %q", a.Entity())
		}
		r[a.Entity()] = a
	}
	return nil
}

// ExportRequest is what a client asked to export.
type ExportRequest struct {
	Filter    string // the entity list's filters as a query string
	SegmentID string // a saved segment or view instead of a filter
}

// Exporter pages an entity's records into an export. The engine writes the
// file, masks the sensitive targets' values for an actor without pii.read and
// neutralises cells a spreadsheet would run.
type Exporter interface {
	// ExportQuery checks a request and returns the query the job keeps; its
	// errors name body.filter or body.segment_id.
	ExportQuery(ctx context.Context, tenant uuid.UUID, req ExportRequest) (string, error)
	// ExportColumns checks the requested columns (errors name body.fields[i]);
	// none means every column.
	ExportColumns(ctx context.Context, tenant uuid.UUID, want []string) ([]string, error)
	// ExportCount is how many records the query selects for the actor in ctx.
	ExportCount(ctx context.Context, tenant uuid.UUID, query string) (int64, error)
	// ExportPage renders the next page of records after cursor ("" first) as
	// rows of cells in cols order, as the actor in ctx may see them; next is ""
	// after the last page.
	ExportPage(ctx context.Context, tenant uuid.UUID, query string, cols []string, cursor string) (rows [][]string, next string, err error)
}

// Provider is the module capability the kernel finds by type assertion: a
// module that has entities to import or export returns their adapters. (It is
// declared here rather than in platform/module, which the HTTP layer this
// package uses imports.)
type Provider interface{ Transfers() []Adapter }

// Collect gathers the adapters of every module that provides some.
func Collect[M any](mods []M) (Registry, error) {
	r := Registry{}
	for _, m := range mods {
		if p, ok := any(m).(Provider); ok {
			if err := r.Add(p.Transfers()...); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}
