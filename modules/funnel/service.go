package funnel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
)

// inScope restricts q to the deals the actor's scope reaches by their owner:
// all, their teammates' (team) or their own (own). A deal nobody owns is seen
// by the all scope only.
func inScope(ctx context.Context, q *bun.SelectQuery, column string) *bun.SelectQuery {
	a := authz.ActorFrom(ctx)
	switch a.Visibility() {
	case authz.ScopeAll:
		return q
	case authz.ScopeTeam:
		if len(a.Teammates) > 0 {
			return q.Where(column+" IN (?)", bun.In(a.Teammates))
		}
	}
	return q.Where(column+" = ?", a.ID)
}

func dealNotFound() error { return errs.E(errs.NotFound, "deal not found") }

// scopedDeal loads a live deal under the actor's scope, optionally locked. One
// the actor may not see is NotFound, exactly like one that does not exist.
func scopedDeal(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, lock bool) (*Deal, error) {
	d := &Deal{}
	q := tx.NewSelect().Model(d).Where("d.tenant_id = ? AND d.id = ? AND d.deleted_at IS NULL", tenant, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := inScope(ctx, q, "d.owner_id").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, dealNotFound()
		}
		return nil, err
	}
	return d, nil
}

// dealTx is the shape of an action on one deal: the permission, a tenant
// transaction in which fn produces the deal, its custom values revealed or
// masked for the actor, and database errors named for a deal.
func (m *Module) dealTx(ctx context.Context, tenant uuid.UUID, perm string, fn func(ctx context.Context, tx bun.Tx) (*Deal, error)) (*Deal, error) {
	var d *Deal
	err := m.inTx(ctx, tenant, perm, "deal", func(ctx context.Context, tx bun.Tx) error {
		var err error
		if d, err = fn(ctx, tx); err != nil {
			return err
		}
		return m.reveal(ctx, tx, tenant, d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// reveal shows sensitive custom values to holders of pii.read and masks them
// for everyone else, in place.
func (m *Module) reveal(ctx context.Context, tx bun.Tx, tenant uuid.UUID, ds ...*Deal) error {
	vals := make([]*map[string]any, len(ds))
	for i, d := range ds {
		if d.Custom == nil {
			d.Custom = map[string]any{}
		}
		vals[i] = &d.Custom
	}
	return m.custom.Reveal(ctx, tx, tenant, vals...)
}

// stale refuses a write made from an old read: 409 with the deal as it is.
func (m *Module) stale(ctx context.Context, tx bun.Tx, tenant uuid.UUID, d *Deal, sent int) error {
	if d.Version == sent {
		return nil
	}
	cur := *d
	if err := m.reveal(ctx, tx, tenant, &cur); err != nil {
		return err
	}
	return errs.E(errs.Conflict, "This deal was changed by someone else (version %d, you sent %d); current holds it as it is now, apply your change to it and send again.", d.Version, sent).
		WithFields(errs.FieldError{Location: "body.version", Message: "stale", Value: sent}).WithCurrent(&cur)
}

// checkMember refuses an owner who is not a member of the company.
func (m *Module) checkMember(ctx context.Context, tenant uuid.UUID, id *uuid.UUID, loc string) error {
	if id == nil || m.d.Members == nil {
		return nil
	}
	ok, err := m.d.Members.IsMember(ctx, tenant, *id)
	if err != nil {
		return err
	}
	if !ok {
		return errs.Field(loc, "not a member of this company")
	}
	return nil
}

// checkCustomer refuses a customer that is not a live customer of this
// company, or (when profiles is wired) one the actor may not see.
func (m *Module) checkCustomer(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, loc string) error {
	if _, ok := m.d.Records.Kind(entityCustomers); ok {
		err := m.d.Records.Check(ctx, tx, tenant, entityCustomers, id, loc)
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
			return errs.Field(loc, "no such customer in this company, or you may not see it")
		}
		return err
	}
	var one int
	err := tx.NewRaw("SELECT 1 FROM customers WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL FOR SHARE", tenant, id).Scan(ctx, &one)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Field(loc, "no such customer in this company")
	}
	return err
}

// lockStage reads a stage and locks its row: whoever places a deal in a
// column holds it, so two placements never compute the same position.
func lockStage(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, loc string) (*Stage, error) {
	st := &Stage{}
	if err := tx.NewSelect().Model(st).Where("s.tenant_id = ? AND s.id = ?", tenant, id).For("UPDATE").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Field(loc, "no such stage in this company")
		}
		return nil, err
	}
	return st, nil
}

// lastPosition is the position of the last live deal of a stage ("" if none),
// leaving out the deal skip.
func lastPosition(ctx context.Context, tx bun.Tx, tenant, stage, skip uuid.UUID) (string, error) {
	var p sql.NullString
	err := tx.NewRaw("SELECT max(position)::text FROM deals WHERE tenant_id = ? AND stage_id = ? AND deleted_at IS NULL AND id <> ?", tenant, stage, skip).Scan(ctx, &p)
	return p.String, err
}

// stamp sets the won and lost times of a deal entering st at now.
func stamp(d *Deal, st *Stage, now time.Time, reason *uuid.UUID, note string) {
	d.WonAt, d.LostAt = nil, nil
	d.LostReasonID, d.LostNote = nil, ""
	switch st.Kind {
	case KindWon:
		d.WonAt = &now
	case KindLost:
		d.LostAt = &now
		d.LostReasonID, d.LostNote = reason, note
	}
}

// enterStage writes the history row of a deal entering its stage.
func enterStage(ctx context.Context, tx bun.Tx, d *Deal) error {
	return db.Defer(ctx, tx, `INSERT INTO deal_stage_history (tenant_id, deal_id, pipeline_id, stage_id, entered_at, entered_by, entry_amount, currency)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, d.TenantID, d.ID, d.PipelineID, d.StageID, d.StageEnteredAt, authz.RequesterID(ctx), d.Amount, d.Currency)
}

// leaveStage closes the history row of a deal leaving its stage, with its
// amount at that moment.
func leaveStage(ctx context.Context, tx bun.Tx, d *Deal, at time.Time) error {
	return db.Defer(ctx, tx, `UPDATE deal_stage_history SET exited_at = ?, exited_by = ?, exit_amount = ?
		WHERE tenant_id = ? AND deal_id = ? AND exited_at IS NULL`, at, authz.RequesterID(ctx), d.Amount, d.TenantID, d.ID)
}

// writeTags replaces a deal's tag rows.
func writeTags(ctx context.Context, tx bun.Tx, d *Deal, fresh bool) error {
	if !fresh {
		if _, err := tx.ExecContext(ctx, "DELETE FROM deal_tags WHERE tenant_id = ? AND deal_id = ?", d.TenantID, d.ID); err != nil {
			return err
		}
	}
	if len(d.Tags) == 0 {
		return nil
	}
	// Each tag row carries the deal's creation time, so a tag is walked newest
	// first straight off its index (listSets).
	return db.Defer(ctx, tx, "INSERT INTO deal_tags (tenant_id, tag, deal_id, created_at) SELECT d.tenant_id, unnest(?::text[]), d.id, d.created_at FROM deals d WHERE d.tenant_id = ? AND d.id = ?",
		pgdialect.Array(d.Tags), d.TenantID, d.ID)
}

// CreateDeal validates and stores a deal at the end of its stage's column,
// with its first history row, tags, custom-field index rows, an audit row and
// a deal.created event, in one transaction.
func (m *Module) CreateDeal(ctx context.Context, tenant uuid.UUID, in DealInput) (*Deal, error) {
	if err := authz.Require(ctx, PermWrite); err != nil {
		return nil, err
	}
	d := &Deal{TenantID: tenant, ID: uuid.New(), Title: strings.TrimSpace(in.Title), CustomerID: in.CustomerID, Amount: in.Amount,
		ExpectedClose: in.ExpectedClose, OwnerID: in.OwnerID, Source: strings.TrimSpace(in.Source), Custom: in.Custom, Version: 1,
		CreatedBy: authz.RequesterID(ctx)}
	if d.Title == "" {
		return nil, errs.Field("body.title", "is required")
	}
	if d.Amount == "" {
		d.Amount = "0"
	}
	if err := checkAmount(d.Amount, "body.amount"); err != nil {
		return nil, err
	}
	if in.Currency != "" {
		c, err := checkCurrency(in.Currency, "body.currency")
		if err != nil {
			return nil, err
		}
		d.Currency = c
	}
	if d.ExpectedClose != nil {
		if err := checkDate(string(*d.ExpectedClose), "body.expected_close"); err != nil {
			return nil, err
		}
	}
	var err error
	if d.Tags, err = cleanTags(in.Tags, "body.tags"); err != nil {
		return nil, err
	}
	if d.OwnerID == nil {
		if a := authz.ActorFrom(ctx); a.Kind == authz.ActorUser {
			id := a.ID
			d.OwnerID = &id
		}
	} else if err := m.checkMember(ctx, tenant, d.OwnerID, "body.owner_id"); err != nil {
		return nil, err
	}
	return m.dealTx(ctx, tenant, PermWrite, func(ctx context.Context, tx bun.Tx) (*Deal, error) {
		if err := m.checkCustomer(ctx, tx, tenant, d.CustomerID, "body.customer_id"); err != nil {
			return nil, err
		}
		if d.Currency == "" {
			if err := tx.NewRaw("SELECT currency FROM tenants WHERE id = ?", tenant).Scan(ctx, &d.Currency); err != nil {
				return nil, err
			}
		}
		st, err := m.placeNew(ctx, tx, tenant, in.PipelineID, in.StageID)
		if err != nil {
			return nil, err
		}
		if st.Kind == KindLost {
			return nil, errs.Field("body.stage_id", "a new deal cannot start lost; create it in an open stage, then move it to the lost stage with a reason")
		}
		d.PipelineID, d.StageID = st.PipelineID, st.ID
		last, err := lastPosition(ctx, tx, tenant, st.ID, d.ID)
		if err != nil {
			return nil, err
		}
		d.Position = posAfter(last)
		now := time.Now().UTC()
		d.StageEnteredAt = now
		stamp(d, st, now, nil, "")
		if d.Custom, err = m.custom.Validate(ctx, tx, tenant, d.Custom); err != nil {
			return nil, err
		}
		if d.Custom == nil {
			d.Custom = map[string]any{}
		}
		if _, err := tx.NewInsert().Model(d).ExcludeColumn("created_at", "updated_at", "deleted_at").Returning("created_at, updated_at, amount").Exec(ctx); err != nil {
			return nil, err
		}
		if err := writeTags(ctx, tx, d, true); err != nil {
			return nil, err
		}
		if err := m.custom.WriteNewIndex(ctx, tx, tenant, d.ID, d.Custom); err != nil {
			return nil, err
		}
		if err := enterStage(ctx, tx, d); err != nil {
			return nil, err
		}
		if err := recount(ctx, tx, tenant, d.ID); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "deal.create", Entity: "deal", EntityID: d.ID.String(), After: d, Sensitive: m.custom.Sensitive(ctx, tx, tenant)}); err != nil {
			return nil, err
		}
		if err := m.advanceCustomer(ctx, tx, tenant, d.CustomerID, st.Kind == KindWon); err != nil {
			return nil, err
		}
		m.publish(ctx, "deal.created", d.ID)
		if st.Kind == KindWon {
			m.publish(ctx, "deal.won", d.ID)
		}
		return d, nil
	})
}

// placeNew resolves where a new deal goes: the stage given (which must be in
// the pipeline given, if any), else the first open stage of the pipeline given
// or of the default one. The stage's row is locked for the placement.
func (m *Module) placeNew(ctx context.Context, tx bun.Tx, tenant uuid.UUID, pipeline, stage *uuid.UUID) (*Stage, error) {
	if stage != nil {
		st, err := lockStage(ctx, tx, tenant, *stage, "body.stage_id")
		if err != nil {
			return nil, err
		}
		if pipeline != nil && *pipeline != st.PipelineID {
			return nil, errs.Field("body.stage_id", "is not a stage of the pipeline pipeline_id names")
		}
		return st, nil
	}
	q := tx.NewSelect().Table("pipelines").Column("id").Where("tenant_id = ?", tenant)
	loc := "body.pipeline_id"
	if pipeline != nil {
		q = q.Where("id = ?", *pipeline)
	} else {
		q = q.Where("is_default")
	}
	var pid uuid.UUID
	if err := q.Scan(ctx, &pid); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			if pipeline == nil {
				return nil, errs.Field(loc, "the company has no default pipeline; name one")
			}
			return nil, errs.Field(loc, "no such pipeline in this company")
		}
		return nil, err
	}
	var sid uuid.UUID
	err := tx.NewRaw("SELECT id FROM pipeline_stages WHERE tenant_id = ? AND pipeline_id = ? AND kind = 'open' ORDER BY position, id LIMIT 1", tenant, pid).Scan(ctx, &sid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Field(loc, "the pipeline has no open stage for new deals")
	}
	if err != nil {
		return nil, err
	}
	return lockStage(ctx, tx, tenant, sid, "body.stage_id")
}

// GetDeal returns a live deal the actor may see.
func (m *Module) GetDeal(ctx context.Context, tenant, id uuid.UUID) (*Deal, error) {
	return m.dealTx(ctx, tenant, PermRead, func(ctx context.Context, tx bun.Tx) (*Deal, error) {
		return scopedDeal(ctx, tx, tenant, id, false)
	})
}

// UpdateDeal applies a change made from the deal's current version; a stale
// version gets 409 with the deal as it is.
func (m *Module) UpdateDeal(ctx context.Context, tenant, id uuid.UUID, u DealUpdate) (*Deal, error) {
	if u.OwnerID != nil {
		if err := m.checkMember(ctx, tenant, u.OwnerID, "body.owner_id"); err != nil {
			return nil, err
		}
	}
	return m.dealTx(ctx, tenant, PermWrite, func(ctx context.Context, tx bun.Tx) (*Deal, error) {
		cur, err := scopedDeal(ctx, tx, tenant, id, true)
		if err != nil {
			return nil, err
		}
		if err := m.stale(ctx, tx, tenant, cur, u.Version); err != nil {
			return nil, err
		}
		before := *cur
		next := *cur
		if u.Title != nil {
			if next.Title = strings.TrimSpace(*u.Title); next.Title == "" {
				return nil, errs.Field("body.title", "cannot be empty")
			}
		}
		if u.CustomerID != nil && *u.CustomerID != cur.CustomerID {
			if err := m.checkCustomer(ctx, tx, tenant, *u.CustomerID, "body.customer_id"); err != nil {
				return nil, err
			}
			next.CustomerID = *u.CustomerID
		}
		if u.Amount != nil {
			if err := checkAmount(*u.Amount, "body.amount"); err != nil {
				return nil, err
			}
			next.Amount = *u.Amount
		}
		if u.Currency != nil {
			if next.Currency, err = checkCurrency(*u.Currency, "body.currency"); err != nil {
				return nil, err
			}
		}
		if u.ExpectedClose != nil {
			if *u.ExpectedClose == "" {
				next.ExpectedClose = nil
			} else {
				if err := checkDate(string(*u.ExpectedClose), "body.expected_close"); err != nil {
					return nil, err
				}
				next.ExpectedClose = u.ExpectedClose
			}
		}
		if u.OwnerID != nil {
			next.OwnerID = u.OwnerID
		}
		if u.Source != nil {
			next.Source = strings.TrimSpace(*u.Source)
		}
		if u.Tags != nil {
			if next.Tags, err = cleanTags(*u.Tags, "body.tags"); err != nil {
				return nil, err
			}
		}
		if len(u.Custom) > 0 {
			if next.Custom, err = m.custom.Patch(ctx, tx, tenant, cur.Custom, u.Custom); err != nil {
				return nil, err
			}
		}
		next.Version++
		// The owner and the expected close are part of what the deal adds
		// to the analytics.
		counted := !sameID(next.OwnerID, cur.OwnerID) || !sameDate(next.ExpectedClose, cur.ExpectedClose)
		if counted {
			if err := take(ctx, tx, tenant, id); err != nil {
				return nil, err
			}
		}
		if _, err := tx.NewUpdate().Model(&next).ExcludeColumn("tenant_id", "id", "created_at", "created_by", "deleted_at", "updated_at",
			"stage_id", "pipeline_id", "position", "stage_entered_at").Set("updated_at = now()").WherePK().Returning("updated_at, amount").Exec(ctx); err != nil {
			return nil, err
		}
		if counted {
			if err := recount(ctx, tx, tenant, id); err != nil {
				return nil, err
			}
		}
		if next.CustomerID != cur.CustomerID {
			if err := m.advanceCustomer(ctx, tx, tenant, next.CustomerID, next.WonAt != nil); err != nil {
				return nil, err
			}
		}
		if u.Tags != nil {
			if err := writeTags(ctx, tx, &next, false); err != nil {
				return nil, err
			}
		}
		if len(u.Custom) > 0 {
			if err := m.custom.WriteIndex(ctx, tx, tenant, id, next.Custom); err != nil {
				return nil, err
			}
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "deal.update", Entity: "deal", EntityID: id.String(), Before: before, After: next, Sensitive: m.custom.Sensitive(ctx, tx, tenant)}); err != nil {
			return nil, err
		}
		m.publish(ctx, "deal.updated", id)
		return &next, nil
	})
}

// DeleteDeal soft-deletes a deal; with version set, only that version. Its
// history stays for the analytics of the periods it was open.
func (m *Module) DeleteDeal(ctx context.Context, tenant, id uuid.UUID, version *int) error {
	_, err := m.dealTx(ctx, tenant, PermWrite, func(ctx context.Context, tx bun.Tx) (*Deal, error) {
		d, err := scopedDeal(ctx, tx, tenant, id, true)
		if err != nil {
			return nil, err
		}
		if version != nil {
			if err := m.stale(ctx, tx, tenant, d, *version); err != nil {
				return nil, err
			}
		}
		if err := uncount(ctx, tx, tenant, id); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE deals SET deleted_at = now(), updated_at = now(), version = version + 1 WHERE tenant_id = ? AND id = ?", tenant, id); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "deal.delete", Entity: "deal", EntityID: id.String(),
			Before: map[string]any{"deleted": false}, After: map[string]any{"deleted": true}}); err != nil {
			return nil, err
		}
		m.publish(ctx, "deal.deleted", id)
		return d, nil
	})
	return err
}

// MoveDeal moves a deal to a stage and a place in its column. The target
// stage's row is locked first, then the deal's, so moves into one column
// queue and never compute the same position. A stale version gets 409 with
// the deal as it is; a stage of another pipeline needs pipeline_id saying so;
// a lost stage needs a lost reason. Entering a won or lost stage stamps the
// time; every change of stage closes one history row and opens another.
func (m *Module) MoveDeal(ctx context.Context, tenant, id uuid.UUID, in MoveInput) (*Deal, error) {
	if in.BeforeID != nil && in.AfterID != nil {
		return nil, errs.Field("body.after_id", "send before_id or after_id, not both")
	}
	for loc, n := range map[string]*uuid.UUID{"body.before_id": in.BeforeID, "body.after_id": in.AfterID} {
		if n != nil && *n == id {
			return nil, errs.Field(loc, "names the deal being moved; name a neighbour")
		}
	}
	// A move is first tried as one statement (fastMove); when that cannot
	// say why it did nothing, or lost a race for a place in the column, the
	// move is made step by step under the target stage's lock.
	for attempt := 0; ; attempt++ {
		raced := false
		d, err := m.dealTx(ctx, tenant, PermWrite, func(ctx context.Context, tx bun.Tx) (*Deal, error) {
			if attempt < 2 {
				d, done, err := m.fastMove(ctx, tx, tenant, id, in)
				if db.IsUniqueViolation(err, "deals_column_key") {
					raced = true
				}
				if err != nil || done {
					return d, err
				}
			}
			return m.stepMove(ctx, tx, tenant, id, in)
		})
		if raced && attempt < 2 {
			continue
		}
		return d, err
	}
}

// stepMove locks the target stage, then the deal, checks the move and
// places the deal: each refusal names its field.
func (m *Module) stepMove(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, in MoveInput) (*Deal, error) {
	st, d, err := lockMove(ctx, tx, tenant, id, in.StageID)
	if err != nil {
		return nil, err
	}
	if err := m.stale(ctx, tx, tenant, d, in.Version); err != nil {
		return nil, err
	}
	if st.PipelineID != d.PipelineID && (in.PipelineID == nil || *in.PipelineID != st.PipelineID) {
		return nil, errs.Field("body.pipeline_id", "the stage is in another pipeline than the deal's; send that pipeline's id to move the deal there")
	}
	if in.PipelineID != nil && *in.PipelineID != st.PipelineID {
		return nil, errs.Field("body.pipeline_id", "the stage is not in this pipeline")
	}
	changes := st.ID != d.StageID
	if changes && st.Kind == KindLost {
		if in.LostReasonID == nil {
			return nil, errs.Field("body.lost_reason_id", "say why the deal was lost: one of the company's lost reasons")
		}
		var one int
		if err := tx.NewRaw("SELECT 1 FROM deal_lost_reasons WHERE tenant_id = ? AND id = ?", tenant, *in.LostReasonID).Scan(ctx, &one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil, errs.Field("body.lost_reason_id", "no such lost reason in this company")
			}
			return nil, err
		}
	}
	before := *d
	d.Version++
	now := time.Now().UTC().Truncate(time.Microsecond)
	if changes {
		d.PipelineID, d.StageID, d.StageEnteredAt = st.PipelineID, st.ID, now
		stamp(d, st, now, in.LostReasonID, strings.TrimSpace(in.LostNote))
	}
	// The place in the column is computed by the update itself, after
	// the target stage's lock: the neighbours cannot move meanwhile.
	pos, nb, loc := slotSQL(in, tenant, st.ID, d.ID)
	var out struct {
		Position  string    `bun:"position"`
		UpdatedAt time.Time `bun:"updated_at"`
	}
	err = tx.NewRaw(`WITH nb AS (SELECT position AS p FROM deals WHERE tenant_id = ? AND id = ? AND stage_id = ? AND deleted_at IS NULL),
		pos AS (SELECT `+pos+` AS p)
		UPDATE deals AS d SET pipeline_id = ?, stage_id = ?, position = pos.p, version = ?, stage_entered_at = ?, won_at = ?, lost_at = ?,
		       lost_reason_id = ?, lost_note = ?, updated_at = now()
		  FROM pos WHERE d.tenant_id = ? AND d.id = ? AND pos.p IS NOT NULL
		RETURNING d.position::text AS position, d.updated_at`,
		tenant, nb, st.ID,
		d.PipelineID, d.StageID, d.Version, d.StageEnteredAt, d.WonAt, d.LostAt, d.LostReasonID, d.LostNote, tenant, d.ID).Scan(ctx, &out)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Field(loc, "not a deal of the target stage")
	}
	if err != nil {
		return nil, err
	}
	d.Position, d.UpdatedAt = out.Position, out.UpdatedAt
	return d, m.movedDeal(ctx, tx, tenant, &before, d, st.Kind, now)
}

// movedDeal records a move made: the history rows and the analytics
// figures when the stage changed, the audit row, the customer's lifecycle
// on a win, and the events.
func (m *Module) movedDeal(ctx context.Context, tx bun.Tx, tenant uuid.UUID, before, d *Deal, kind string, now time.Time) error {
	changes := before.StageID != d.StageID
	if changes {
		if err := leaveStage(ctx, tx, d, now); err != nil {
			return err
		}
		if err := enterStage(ctx, tx, d); err != nil {
			return err
		}
		// What the move changed in the analytics figures, computed at the
		// commit from the history the two writes above leave.
		if err := moved(ctx, tx, tenant, d.ID, now); err != nil {
			return err
		}
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "deal.move", Entity: "deal", EntityID: d.ID.String(),
		Before: map[string]any{"pipeline_id": before.PipelineID, "stage_id": before.StageID, "position": before.Position},
		After:  map[string]any{"pipeline_id": d.PipelineID, "stage_id": d.StageID, "position": d.Position, "lost_reason_id": d.LostReasonID}}); err != nil {
		return err
	}
	if changes && kind == KindWon {
		if err := m.advanceCustomer(ctx, tx, tenant, d.CustomerID, true); err != nil {
			return err
		}
	}
	m.publish(ctx, "deal.moved", d.ID)
	if changes {
		switch kind {
		case KindWon:
			m.publish(ctx, "deal.won", d.ID)
		case KindLost:
			m.publish(ctx, "deal.lost", d.ID)
		}
	}
	return nil
}

// fastDeal is a deal as a one-statement move left it, with where it was.
type fastDeal struct {
	Deal         `bun:",extend"`
	FromStage    uuid.UUID `bun:"from_stage,scanonly"`
	FromPipeline uuid.UUID `bun:"from_pipeline,scanonly"`
	FromPosition string    `bun:"from_position,scanonly"`
	ToKind       string    `bun:"to_kind,scanonly"`
}

// fastMove makes a move in one statement when every check passes: it locks
// the target stage (a CTE the update joins, so before the deal's row, the
// order every placement takes), checks the version, the scope, the
// pipeline and the lost reason in its WHERE, and computes the place in the
// column. done is false when the statement changed nothing: stepMove then
// finds out why. The place was computed in the statement's snapshot, which
// may predate a placement that held the stage's lock meanwhile: the
// column's unique key then refuses the update, and the move is made again.
func (m *Module) fastMove(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, in MoveInput) (*Deal, bool, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	pos, nb, _ := slotSQL(in, tenant, in.StageID, id)
	scope, scopeArgs := scopeSQL(ctx, "d.owner_id")
	note := strings.TrimSpace(in.LostNote)
	args := []any{tenant, in.StageID, tenant, id, tenant, nb, in.StageID,
		now, now, now, in.LostReasonID, note,
		tenant, id, in.Version}
	args = append(args, scopeArgs...)
	args = append(args, in.PipelineID, in.PipelineID, tenant, in.LostReasonID)
	fd := &fastDeal{}
	err := tx.NewRaw(`WITH st AS (SELECT id, pipeline_id, kind FROM pipeline_stages WHERE tenant_id = ? AND id = ? FOR UPDATE),
		cur AS (SELECT stage_id, pipeline_id, position FROM deals WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL),
		nb AS (SELECT position AS p FROM deals WHERE tenant_id = ? AND id = ? AND stage_id = ? AND deleted_at IS NULL),
		pos AS (SELECT `+pos+` AS p)
		UPDATE deals AS d SET pipeline_id = st.pipeline_id, stage_id = st.id, position = pos.p, version = d.version + 1,
		       stage_entered_at = CASE WHEN cur.stage_id = st.id THEN d.stage_entered_at ELSE ?::timestamptz END,
		       won_at = CASE WHEN cur.stage_id = st.id THEN d.won_at WHEN st.kind = 'won' THEN ?::timestamptz END,
		       lost_at = CASE WHEN cur.stage_id = st.id THEN d.lost_at WHEN st.kind = 'lost' THEN ?::timestamptz END,
		       lost_reason_id = CASE WHEN cur.stage_id = st.id THEN d.lost_reason_id WHEN st.kind = 'lost' THEN ?::uuid END,
		       lost_note = CASE WHEN cur.stage_id = st.id THEN d.lost_note WHEN st.kind = 'lost' THEN ? ELSE '' END,
		       updated_at = now()
		  FROM st, cur, pos
		 WHERE d.tenant_id = ? AND d.id = ? AND d.deleted_at IS NULL AND d.version = ? AND `+scope+` AND pos.p IS NOT NULL
		   AND ((?::uuid IS NULL AND st.pipeline_id = d.pipeline_id) OR st.pipeline_id = ?::uuid)
		   AND (cur.stage_id = st.id OR st.kind <> 'lost' OR EXISTS (SELECT 1 FROM deal_lost_reasons r WHERE r.tenant_id = ? AND r.id = ?::uuid))
		RETURNING d.*, cur.stage_id AS from_stage, cur.pipeline_id AS from_pipeline, cur.position::text AS from_position, st.kind AS to_kind`,
		args...).Scan(ctx, fd)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	d := &fd.Deal
	before := *d
	before.PipelineID, before.StageID, before.Position = fd.FromPipeline, fd.FromStage, fd.FromPosition
	if fd.FromStage != d.StageID {
		d.StageEnteredAt = now
	}
	return d, true, m.movedDeal(ctx, tx, tenant, &before, d, fd.ToKind, now)
}

// scopeSQL is inScope as a condition on column, with its arguments.
func scopeSQL(ctx context.Context, column string) (string, []any) {
	a := authz.ActorFrom(ctx)
	switch a.Visibility() {
	case authz.ScopeAll:
		return "true", nil
	case authz.ScopeTeam:
		if len(a.Teammates) > 0 {
			return column + " IN (?)", []any{bun.In(a.Teammates)}
		}
	}
	return column + " = ?", []any{a.ID}
}

// movingDeal is a deal read for a move with the target stage's row.
type movingDeal struct {
	Deal       `bun:",extend"`
	ToPipeline uuid.UUID `bun:"to_pipeline,scanonly"`
	ToKind     string    `bun:"to_kind,scanonly"`
	ToPosition int       `bun:"to_position,scanonly"`
}

// lockMove locks the target stage's row, then the deal's (under the actor's
// scope), in one statement: FOR UPDATE OF s, d locks them in that order, the
// order every placement takes. When either is missing it reads them one by
// one, to say which.
func lockMove(ctx context.Context, tx bun.Tx, tenant, id, stage uuid.UUID) (*Stage, *Deal, error) {
	md := &movingDeal{}
	q := tx.NewSelect().Model(md).ColumnExpr("d.*").ColumnExpr("s.pipeline_id AS to_pipeline, s.kind AS to_kind, s.position AS to_position").
		Join("JOIN pipeline_stages AS s ON s.tenant_id = d.tenant_id AND s.id = ?", stage).
		Where("d.tenant_id = ? AND d.id = ? AND d.deleted_at IS NULL", tenant, id).For("UPDATE OF s, d")
	err := inScope(ctx, q, "d.owner_id").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		st, err := lockStage(ctx, tx, tenant, stage, "body.stage_id")
		if err != nil {
			return nil, nil, err
		}
		d, err := scopedDeal(ctx, tx, tenant, id, true)
		return st, d, err
	}
	if err != nil {
		return nil, nil, err
	}
	return &Stage{TenantID: tenant, ID: stage, PipelineID: md.ToPipeline, Kind: md.ToKind, Position: md.ToPosition}, &md.Deal, nil
}

// slotSQL is the expression of the position a move takes, over nb (the
// neighbour's position, when one is named) and the other live deals of the
// target stage, with the neighbour's id (uuid.Nil for none) and the field
// that names it: the places posBetween, posBefore and posAfter compute.
// The ids are parsed uuids, written into the text as literals.
func slotSQL(in MoveInput, tenant, stage, self uuid.UUID) (expr string, neighbour uuid.UUID, loc string) {
	others := fmt.Sprintf("FROM deals o WHERE o.tenant_id = '%s' AND o.stage_id = '%s' AND o.deleted_at IS NULL AND o.id <> '%s'", tenant, stage, self)
	mid := func(a, b string) string {
		return "trim_scale(round((" + a + " + " + b + ") / 2, greatest(scale(" + a + "), scale(" + b + ")) + 1))"
	}
	switch {
	case in.BeforeID != nil:
		return `(SELECT CASE WHEN e.p IS NULL THEN ceil(nb.p) - 1 ELSE ` + mid("e.p", "nb.p") + ` END
			FROM nb, LATERAL (SELECT max(o.position) AS p ` + others + ` AND o.position < nb.p) e)`, *in.BeforeID, "body.before_id"
	case in.AfterID != nil:
		return `(SELECT CASE WHEN e.p IS NULL THEN floor(nb.p) + 1 ELSE ` + mid("nb.p", "e.p") + ` END
			FROM nb, LATERAL (SELECT min(o.position) AS p ` + others + ` AND o.position > nb.p) e)`, *in.AfterID, "body.after_id"
	}
	return `(SELECT coalesce(floor(max(o.position)) + 1, 1) ` + others + `)`, uuid.Nil, ""
}

// moveColumn moves every live deal of from to the end of to, in their order,
// with their history, and returns how many moved. The caller holds the
// pipeline's lock; to's row is locked here like any placement.
func (m *Module) moveColumn(ctx context.Context, tx bun.Tx, tenant uuid.UUID, from, to *Stage) (int, error) {
	if _, err := lockStage(ctx, tx, tenant, to.ID, "query.target_stage_id"); err != nil {
		return 0, err
	}
	var ids []uuid.UUID
	if err := tx.NewRaw("SELECT id FROM deals WHERE tenant_id = ? AND stage_id = ? AND deleted_at IS NULL ORDER BY position, id FOR UPDATE", tenant, from.ID).Scan(ctx, &ids); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	last, err := lastPosition(ctx, tx, tenant, to.ID, uuid.Nil)
	if err != nil {
		return 0, err
	}
	pos := make([]string, len(ids))
	for i := range ids {
		last = posAfter(last)
		pos[i] = last
	}
	now := time.Now().UTC()
	actor := authz.RequesterID(ctx)
	if _, err := tx.ExecContext(ctx, `UPDATE deal_stage_history SET exited_at = ?, exited_by = ?, exit_amount = d.amount
		FROM deals d WHERE deal_stage_history.tenant_id = ? AND deal_stage_history.deal_id IN (?) AND deal_stage_history.exited_at IS NULL
		AND d.tenant_id = deal_stage_history.tenant_id AND d.id = deal_stage_history.deal_id`, now, actor, tenant, bun.In(ids)); err != nil {
		return 0, err
	}
	won, lost := "NULL::timestamptz", "NULL::timestamptz"
	switch to.Kind {
	case KindWon:
		won = "?::timestamptz"
	case KindLost:
		lost = "?::timestamptz"
	}
	args := []any{to.ID}
	if to.Kind != KindOpen {
		args = append(args, now)
	}
	args = append(args, now, pgdialect.Array(ids), pgdialect.Array(pos), tenant)
	// A deal moved into a won or lost stage this way is stamped now; into an
	// open one it is open again. A lost reason it had stays only if lost.
	reason := "NULL"
	if to.Kind == KindLost {
		reason = "d.lost_reason_id"
	}
	if _, err := tx.ExecContext(ctx, `UPDATE deals d SET stage_id = ?, position = v.pos::numeric, version = d.version + 1,
		won_at = `+won+`, lost_at = `+lost+`, lost_reason_id = `+reason+`, stage_entered_at = ?, updated_at = now()
		FROM (SELECT unnest(?::uuid[]) AS id, unnest(?::text[]) AS pos) v WHERE d.tenant_id = ? AND d.id = v.id`,
		args...); err != nil {
		return 0, err
	}
	// Through ExecStaged: the history's id defaults to gen_random_uuid(), a
	// volatile function, so Citus cannot push the INSERT ... SELECT down to
	// the shard and would COPY the rows in, which RLS refuses.
	if _, err := db.ExecStaged(ctx, tx, `INSERT INTO deal_stage_history (tenant_id, deal_id, pipeline_id, stage_id, entered_at, entered_by, entry_amount, currency)
		SELECT tenant_id, id, pipeline_id, stage_id, ?, ?, amount, currency FROM deals WHERE tenant_id = ? AND id IN (?)`, now, actor, tenant, bun.In(ids)); err != nil {
		return 0, err
	}
	if to.Kind == KindWon && m.d.Lifecycle != nil {
		var customers []uuid.UUID
		if err := tx.NewRaw("SELECT DISTINCT customer_id FROM deals WHERE tenant_id = ? AND id IN (?) ORDER BY customer_id", tenant, bun.In(ids)).Scan(ctx, &customers); err != nil {
			return 0, err
		}
		for _, c := range customers {
			if err := m.advanceCustomer(ctx, tx, tenant, c, true); err != nil {
				return 0, err
			}
		}
	}
	for _, id := range ids {
		m.publish(ctx, "deal.moved", id)
		switch to.Kind {
		case KindWon:
			m.publish(ctx, "deal.won", id)
		case KindLost:
			m.publish(ctx, "deal.lost", id)
		}
	}
	return len(ids), nil
}

func sameID(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameDate(a, b *Date) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
