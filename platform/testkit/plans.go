package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/uptrace/bun"
)

// Plan is one statement's EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), as the
// tests of planned lists read it.
type Plan struct {
	Root map[string]any // the top plan node
	MS   float64        // execution time
}

// Explain runs q under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) in tx, so
// with tx's settings (a planned list's, when called from its Statement hook).
func Explain(ctx context.Context, tx bun.IDB, q string) (Plan, error) {
	var out string
	if err := tx.NewRaw("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+q).Scan(ctx, &out); err != nil {
		return Plan{}, err
	}
	var p []map[string]any
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		return Plan{}, err
	}
	ms, _ := p[0]["Execution Time"].(float64)
	return Plan{Root: p[0]["Plan"].(map[string]any), MS: ms}, nil
}

// Work is the rows every node read or threw away, times its loops, and the
// shared pages the statement hit or read.
func (p Plan) Work() (rows, pages float64) {
	var walk func(n map[string]any) float64
	walk = func(n map[string]any) float64 {
		num := func(k string) float64 { v, _ := n[k].(float64); return v }
		w := (num("Actual Rows") + num("Rows Removed by Filter") + num("Rows Removed by Join Filter") + num("Rows Removed by Index Recheck")) * max(1, num("Actual Loops"))
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			w += walk(k.(map[string]any))
		}
		return w
	}
	hit, _ := p.Root["Shared Hit Blocks"].(float64)
	read, _ := p.Root["Shared Read Blocks"].(float64)
	return walk(p.Root), hit + read
}

// RepeatedScans names the scans of table that ran more than once (once per
// walked row, in a walk) by neither a Tid Scan nor one of the indexes in
// allowed.
func (p Plan) RepeatedScans(table string, allowed ...string) []string {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	var out []string
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		if n["Relation Name"] == table {
			idx, _ := n["Index Name"].(string)
			if loops, _ := n["Actual Loops"].(float64); loops > 1 && n["Node Type"] != "Tid Scan" && !ok[idx] {
				out = append(out, fmt.Sprintf("%v %s, %v loops", n["Node Type"], idx, loops))
			}
		}
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			walk(k.(map[string]any))
		}
	}
	walk(p.Root)
	return out
}

// String is the plan, indented, for a failure's message.
func (p Plan) String() string {
	b, _ := json.MarshalIndent(p.Root, "", " ")
	return string(b)
}

// PlanRecorder collects the plan of each statement a list's kernel plan runs
// (fields.Limits.Statement), as EXPLAIN ANALYZE gives it.
type PlanRecorder struct {
	t     testing.TB
	Plans []Plan
}

// NewPlanRecorder records for t; hand Record to fields.Limits.Statement.
func NewPlanRecorder(t testing.TB) *PlanRecorder { return &PlanRecorder{t: t} }

// Record explains q in tx and keeps its plan.
func (r *PlanRecorder) Record(ctx context.Context, tx bun.IDB, q string) {
	p, err := Explain(ctx, tx, q)
	if err != nil {
		r.t.Error(err)
		return
	}
	r.Plans = append(r.Plans, p)
}

// CheckWalkedPage holds a planned list's page (record ids, in order) to what
// a brute-force query returned, and the last statement recorded, the walk, to
// at most maxRows rows of work.
func (r *PlanRecorder) CheckWalkedPage(got, want []string, maxRows float64) {
	r.t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
		r.t.Fatalf("the page:\n got %v\nwant %v", got, want)
	}
	if len(r.Plans) == 0 {
		r.t.Fatal("the list did not walk")
	}
	p := r.Plans[len(r.Plans)-1]
	rows, pages := p.Work()
	r.t.Logf("the walk's statement handled %.0f rows, %.0f pages, in %.2f ms", rows, pages, p.MS)
	if rows > maxRows {
		r.t.Errorf("the walk handled %.0f rows for a page of %d (want at most %.0f):\n%s", rows, len(got), maxRows, p)
	}
}
