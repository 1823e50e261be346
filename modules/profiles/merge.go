package profiles

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// DuplicateGroup is a set of live customers sharing a normalised email or phone.
type DuplicateGroup struct {
	Key       string      `json:"key" doc:"e:<email> or p:<phone digits>"`
	Customers []uuid.UUID `json:"customers"`
}

// Duplicates lists candidate groups, largest first.
func (m *Module) Duplicates(ctx context.Context, tenant uuid.UUID, limit int) ([]DuplicateGroup, error) {
	if err := authz.Require(ctx, PermRead); err != nil {
		return nil, err
	}
	var rows []struct {
		Key string      `bun:"key"`
		IDs []uuid.UUID `bun:"ids,array"`
	}
	// Only customers the actor may see count: a group with an unseen member
	// would show that member's id, and its key is that customer's email or phone.
	// (Contact rows exist for live customers only, so whoever sees all needs no
	// join.)
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().TableExpr("customer_contacts AS cc").
			ColumnExpr("cc.key, array_agg(cc.customer_id ORDER BY cc.customer_id) AS ids").Where("cc.tenant_id = ?", tenant)
		if authz.ActorFrom(ctx).Visibility() != authz.ScopeAll {
			seen := visible(ctx, tx.NewSelect().TableExpr("customers AS c").Column("c.id").
				Where("c.tenant_id = ? AND c.deleted_at IS NULL", tenant), "c.")
			q = q.Where("cc.customer_id IN (?)", seen)
		}
		return q.GroupExpr("cc.key").Having("count(*) > 1").OrderExpr("count(*) DESC, cc.key").Limit(limit).Scan(ctx, &rows)
	})
	out := make([]DuplicateGroup, 0, len(rows))
	for _, r := range rows {
		out = append(out, DuplicateGroup{Key: r.Key, Customers: r.IDs})
	}
	return out, db.Classify(err, "customer")
}

// Merge moves everything of the losers onto the winner: interactions, tasks, the
// people of a merged company, tags, emails and phones; the winner's field values
// win and its gaps are filled from the losers in order. Losers are soft-deleted.
// One transaction, one audit entry, one customer.merged event.
func (m *Module) Merge(ctx context.Context, tenant, winner uuid.UUID, losers []uuid.UUID) (*Customer, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	if len(losers) == 0 || len(losers) > 20 {
		return nil, errs.Field("body.loser_ids", "give 1 to 20 customers to merge into the winner")
	}
	seen := map[uuid.UUID]bool{winner: true}
	for i, l := range losers {
		if seen[l] {
			return nil, errs.Field("body.loser_ids["+itoa(i)+"]", "is the winner or listed twice")
		}
		seen[l] = true
	}
	var w *Customer
	err := db.InTenant(ctx, m.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		byID, err := lockForMerge(ctx, tx, tenant, winner, losers)
		if err != nil {
			return err
		}
		w = byID[winner]
		before := *w
		stored := []json.RawMessage{w.Address}
		for _, l := range losers {
			stored = append(stored, byID[l].Address)
			w.absorb(byID[l])
		}
		if fe := w.normalize(stored...); len(fe) > 0 {
			return errs.E(errs.Invalid, "The merged customer would be invalid: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
		}
		if err := m.moveToWinner(ctx, tx, w, losers, byID); err != nil {
			return err
		}
		ls := make([]string, len(losers))
		for i, l := range losers {
			ls[i] = l.String()
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "customer.merge", Entity: "customer", EntityID: winner.String(),
			Before: map[string]any{"customer": before, "losers": ls}, After: map[string]any{"customer": w}}); err != nil {
			return err
		}
		m.d.Events.Publish(ctx, events.Event{Topic: "customer.merged", EntityID: winner.String(),
			Payload: map[string]any{"winner_id": winner, "loser_ids": losers}})
		return nil
	})
	if err != nil {
		return nil, db.Classify(err, "customer")
	}
	return w, nil
}

// lockForMerge locks the winner and the losers, in id order so that two
// merges cannot deadlock, and returns them by id; one that is gone, deleted or
// out of the actor's scope is NotFound naming its field.
func lockForMerge(ctx context.Context, tx bun.Tx, tenant, winner uuid.UUID, losers []uuid.UUID) (map[uuid.UUID]*Customer, error) {
	all := []uuid.UUID{winner}
	all = append(all, losers...)
	sort.Slice(all, func(i, j int) bool { return all[i].String() < all[j].String() }) // lock order
	var rows []Customer
	q := tx.NewSelect().Model(&rows).Where("c.tenant_id = ? AND c.id IN (?) AND c.deleted_at IS NULL", tenant, bun.In(all)).OrderExpr("c.id").For("UPDATE")
	if err := visible(ctx, q, "c.").Scan(ctx); err != nil {
		return nil, err
	}
	byID := map[uuid.UUID]*Customer{}
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	if byID[winner] == nil {
		return nil, errs.E(errs.NotFound, "customer not found").WithFields(errs.FieldError{Location: "body.winner_id", Message: "no such live customer"})
	}
	for i, l := range losers {
		if byID[l] == nil {
			return nil, errs.E(errs.NotFound, "customer not found").WithFields(errs.FieldError{Location: "body.loser_ids[" + itoa(i) + "]", Message: "no such live customer"})
		}
	}
	return byID, nil
}

// absorb takes a merged loser into the winner w: its emails, phones and tags
// are added, and it fills what w lacks (owner, a person's company, address,
// source, custom values); what w has wins.
func (w *Customer) absorb(lc *Customer) {
	w.Emails = append(w.Emails, lc.Emails...)
	w.Phones = append(w.Phones, lc.Phones...)
	w.Tags = append(w.Tags, lc.Tags...)
	if w.OwnerID == nil {
		w.OwnerID = lc.OwnerID
	}
	if w.CompanyID == nil && w.Kind == "person" && lc.CompanyID != nil && *lc.CompanyID != w.ID {
		w.CompanyID = lc.CompanyID
	}
	if len(w.Address) == 0 || string(w.Address) == "{}" {
		w.Address = lc.Address
	}
	if w.Source == "" {
		w.Source = lc.Source
	}
	for k, v := range lc.Custom {
		if _, has := w.Custom[k]; !has {
			if w.Custom == nil {
				w.Custom = map[string]any{}
			}
			w.Custom[k] = v
		}
	}
}

// moveToWinner writes a merge: the losers' interactions, purchases and
// people move to the winner w, which is saved; the losers are soft-deleted,
// and their unique custom values go to w with the rest.
func (m *Module) moveToWinner(ctx context.Context, tx bun.Tx, w *Customer, losers []uuid.UUID, byID map[uuid.UUID]*Customer) error {
	tenant, winner := w.TenantID, w.ID
	for _, stmt := range []string{
		"UPDATE interactions SET customer_id = ? WHERE tenant_id = ? AND customer_id IN (?)",
		"UPDATE purchase_orders SET customer_id = ? WHERE tenant_id = ? AND customer_id IN (?)",
		"UPDATE customers SET company_id = ?, updated_at = now() WHERE tenant_id = ? AND company_id IN (?)",
	} {
		if _, err := tx.ExecContext(ctx, stmt, winner, tenant, bun.In(losers)); err != nil {
			return err
		}
	}
	if err := m.d.Records.Merged(ctx, tx, tenant, EntityCustomers, losers, winner); err != nil {
		return err
	}
	if _, err := tx.NewUpdate().Model(w).ExcludeColumn("tenant_id", "id", "created_at", "deleted_at", "updated_at").Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
		return err
	}
	for _, l := range losers {
		lc := byID[l]
		if _, err := tx.ExecContext(ctx, "UPDATE customers SET deleted_at = now(), updated_at = now(), company_id = NULL WHERE tenant_id = ? AND id = ?", tenant, l); err != nil {
			return err
		}
		now := lc.UpdatedAt
		lc.DeletedAt = &now
		if err := writeSideRows(ctx, tx, lc); err != nil {
			return err
		}
	}
	if err := writeSideRows(ctx, tx, w); err != nil {
		return err
	}
	// The losers' unique values move to the winner with the rest.
	for _, l := range losers {
		if err := m.custom.DeleteIndex(ctx, tx, tenant, l); err != nil {
			return err
		}
	}
	return m.custom.WriteIndex(ctx, tx, tenant, winner, w.Custom)
}

func itoa(i int) string { return strconv.Itoa(i) }

func (m *Module) mergeRoutes(api huma.API) {
	type dupOut struct {
		Body struct {
			Items []DuplicateGroup `json:"items"`
		} `nameHint:"DuplicateGroupList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-duplicate-customers", Method: http.MethodGet, Path: "/customers/duplicates",
		Summary:     "Customers sharing an email or phone",
		Description: "Groups of customers that share a normalised email or phone, largest first, to review before POST .../customers/merge. Needs profiles.read."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *struct {
			Limit int `query:"limit" minimum:"1" maximum:"200" default:"50"`
		}) (*dupOut, error) {
			out := &dupOut{}
			var err error
			out.Body.Items, err = m.Duplicates(ctx, t.ID, in.Limit)
			return out, err
		}))
	type mergeIn struct {
		Body struct {
			WinnerID uuid.UUID   `json:"winner_id"`
			LoserIDs []uuid.UUID `json:"loser_ids" minItems:"1" maxItems:"20"`
		} `nameHint:"CustomerMerge"`
	}
	huma.Register(api, huma.Operation{OperationID: "merge-customers", Method: http.MethodPost, Path: "/customers/merge",
		Summary: "Merge duplicates into one customer", Description: "Interactions, tasks, people of a merged company, tags and contacts move to the winner; the winner's values win; the others are soft-deleted."},
		httpx.InTenant(func(ctx context.Context, t tenancy.Tenant, in *mergeIn) (*customerOut, error) {
			c, err := m.Merge(ctx, t.ID, in.Body.WinnerID, in.Body.LoserIDs)
			if err != nil {
				return nil, err
			}
			return &customerOut{Body: c}, nil
		}))
}
