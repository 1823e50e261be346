// Package audit writes the audit log: every mutation records who did what to which
// record, and a field-level before/after diff with sensitive values masked.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/logx"
)

// Mask replaces sensitive values in diffs.
const Mask = "••••••"

// Entry is one mutation. Before is nil on create, After is nil on delete. Values
// are anything that marshals to a JSON object; Sensitive lists dotted keys
// ("custom.national_id") whose values are masked.
type Entry struct {
	Action    string // "customer.update"
	Entity    string // "customer"
	EntityID  string
	Before    any
	After     any
	Sensitive []string
}

// Change is one field's old and new value in the stored diff.
type Change struct {
	From any `json:"from,omitempty"`
	To   any `json:"to,omitempty"`
}

// Row is a stored audit entry.
type Row struct {
	bun.BaseModel `bun:"table:audit_log"`
	TenantID      uuid.UUID         `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID         `bun:"id,pk,type:uuid" json:"id"`
	OccurredAt    time.Time         `bun:"occurred_at,pk" json:"occurred_at"`
	ActorID       *uuid.UUID        `bun:"actor_id,type:uuid" json:"actor_id,omitempty"`
	ActorKind     string            `bun:"actor_kind" json:"actor_kind" enum:"user,api_key,system"`
	Action        string            `bun:"action" json:"action"`
	Entity        string            `bun:"entity" json:"entity"`
	EntityID      string            `bun:"entity_id" json:"entity_id"`
	Diff          map[string]Change `bun:"diff,type:jsonb" json:"diff"`
	RequestID     string            `bun:"request_id,nullzero" json:"request_id,omitempty"`
}

// Record writes e inside the tenant transaction carried by ctx, so the audit row
// commits or rolls back with the mutation it describes.
func Record(ctx context.Context, tx bun.IDB, e Entry) error {
	row, err := rowOf(ctx, e)
	if err != nil {
		return err
	}
	// Nothing reads an audit row back in the transaction that writes it: it
	// travels with COMMIT (see db.Defer).
	if err := db.DeferQuery(ctx, tx, tx.NewInsert().Model(row)); err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	return nil
}

// RecordAll is Record for many entries of one transaction, written with one
// statement: for bulk writes, where a statement per row would cost more than
// the rows themselves.
func RecordAll(ctx context.Context, tx bun.IDB, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([]*Row, len(entries))
	for i, e := range entries {
		row, err := rowOf(ctx, e)
		if err != nil {
			return err
		}
		rows[i] = row
	}
	if err := db.DeferQuery(ctx, tx, tx.NewInsert().Model(&rows)); err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	return nil
}

// rowOf is the audit row of e, by the actor in ctx.
func rowOf(ctx context.Context, e Entry) (*Row, error) {
	tenant, ok := db.TenantOf(ctx)
	if !ok {
		return nil, errs.InternalErr(fmt.Errorf("audit: %s outside a tenant transaction", e.Action))
	}
	if e.Action == "" || e.Entity == "" || e.EntityID == "" {
		return nil, errs.InternalErr(fmt.Errorf("audit: action, entity and entity id are required"))
	}
	diff, err := Diff(e.Before, e.After, e.Sensitive)
	if err != nil {
		return nil, errs.InternalErr(fmt.Errorf("audit: diff: %w", err))
	}
	actor := authz.ActorFrom(ctx)
	if actor.Kind == authz.ActorNone {
		// No actor may do nothing, and a change must say who made it.
		return nil, errs.InternalErr(fmt.Errorf("audit: %s with no actor; act as the requester, or authz.AsSystem", e.Action))
	}
	row := &Row{
		TenantID: tenant, ID: uuid.New(), OccurredAt: time.Now().UTC(),
		ActorKind: string(actor.Kind), Action: e.Action, Entity: e.Entity, EntityID: e.EntityID,
		Diff: diff, RequestID: logx.RequestID(ctx),
	}
	if actor.ID != uuid.Nil {
		id := actor.ID
		row.ActorID = &id
	}
	return row, nil
}

// Diff compares two values field by field (nested objects by dotted key) and masks
// sensitive keys. Unchanged fields are left out.
func Diff(before, after any, sensitive []string) (map[string]Change, error) {
	b, err := flatten(before)
	if err != nil {
		return nil, err
	}
	a, err := flatten(after)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	out := map[string]Change{}
	ordered := make([]string, 0, len(keys))
	for k := range keys {
		ordered = append(ordered, k)
	}
	sort.Strings(ordered)
	for _, k := range ordered {
		bv, bok := b[k]
		av, aok := a[k]
		if bok && aok && reflect.DeepEqual(bv, av) {
			continue
		}
		c := Change{From: bv, To: av}
		if isSensitive(k, sensitive) {
			if bok && bv != nil {
				c.From = Mask
			}
			if aok && av != nil {
				c.To = Mask
			}
		}
		out[k] = c
	}
	return out, nil
}

func isSensitive(key string, sensitive []string) bool {
	for _, s := range sensitive {
		if key == s || strings.HasPrefix(key, s+".") {
			return true
		}
	}
	return false
}

// flatten turns a value into dotted keys; arrays stay whole values.
func flatten(v any) (map[string]any, error) {
	out := map[string]any{}
	if v == nil {
		return out, nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return out, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("audit values must be JSON objects: %w", err)
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, val := range m {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			if sub, ok := val.(map[string]any); ok && len(sub) > 0 {
				walk(key, sub)
				continue
			}
			out[key] = val
		}
	}
	walk("", m)
	return out, nil
}
