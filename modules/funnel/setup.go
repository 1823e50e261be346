package funnel

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/clientele-crm/clientele/platform/patch"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/audit"
	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
)

// Pipelines, their stages and the lost reasons: read with deals.read, shaped
// with deals.manage. A change to a pipeline locks its row, so two changes of
// one pipeline's stages (a reorder and a delete) never interleave.

// inTx checks perm and runs fn in the tenant's transaction, naming database
// errors after what.
func (m *Module) inTx(ctx context.Context, tenant uuid.UUID, perm, what string, fn func(ctx context.Context, tx bun.Tx) error) error {
	if err := authz.Require(ctx, perm); err != nil {
		return err
	}
	return db.Classify(db.InTenant(ctx, m.d.DB, tenant, fn), what)
}

// ListPipelines returns the company's pipelines in order, each with its stages.
func (m *Module) ListPipelines(ctx context.Context, tenant uuid.UUID) ([]Pipeline, error) {
	out := []Pipeline{}
	err := m.inTx(ctx, tenant, PermRead, "pipeline", func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(&out).Where("p.tenant_id = ?", tenant).OrderExpr("p.position, p.created_at, p.id").Scan(ctx); err != nil {
			return err
		}
		var stages []Stage
		if err := tx.NewSelect().Model(&stages).Where("s.tenant_id = ?", tenant).OrderExpr("s.pipeline_id, s.position, s.id").Scan(ctx); err != nil {
			return err
		}
		at := map[uuid.UUID]int{}
		for i := range out {
			out[i].Stages = []Stage{}
			at[out[i].ID] = i
		}
		for _, s := range stages {
			if i, ok := at[s.PipelineID]; ok {
				out[i].Stages = append(out[i].Stages, s)
			}
		}
		return nil
	})
	return out, err
}

// GetPipeline returns one pipeline with its stages.
func (m *Module) GetPipeline(ctx context.Context, tenant, id uuid.UUID) (*Pipeline, error) {
	var p *Pipeline
	err := m.inTx(ctx, tenant, PermRead, "pipeline", func(ctx context.Context, tx bun.Tx) error {
		var err error
		p, err = loadPipeline(ctx, tx, tenant, id, false)
		return err
	})
	return p, err
}

// loadPipeline reads a pipeline and its stages, optionally locking the
// pipeline's row for a change of its stages.
func loadPipeline(ctx context.Context, tx bun.Tx, tenant, id uuid.UUID, lock bool) (*Pipeline, error) {
	p := &Pipeline{}
	q := tx.NewSelect().Model(p).Where("p.tenant_id = ? AND p.id = ?", tenant, id)
	if lock {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.E(errs.NotFound, "pipeline not found")
		}
		return nil, err
	}
	p.Stages = []Stage{}
	if err := tx.NewSelect().Model(&p.Stages).Where("s.tenant_id = ? AND s.pipeline_id = ?", tenant, id).OrderExpr("s.position, s.id").Scan(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// CreatePipeline stores a pipeline with its stages (the default ones when none
// are given). The company's first pipeline becomes its default.
func (m *Module) CreatePipeline(ctx context.Context, tenant uuid.UUID, in PipelineInput) (*Pipeline, error) {
	if err := in.Names.check("body"); err != nil {
		return nil, err
	}
	if len(in.Stages) == 0 {
		in.Stages = defaultStages()
	}
	for i := range in.Stages {
		if err := in.Stages[i].fill(fmt.Sprintf("body.stages[%d]", i)); err != nil {
			return nil, err
		}
	}
	if err := checkStageKinds(in.Stages); err != nil {
		return nil, err
	}
	var p *Pipeline
	err := m.inTx(ctx, tenant, PermManage, "pipeline", func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM pipelines WHERE tenant_id = ?", tenant).Scan(ctx, &n); err != nil {
			return err
		}
		if n >= maxPipelines {
			return errs.E(errs.Conflict, "A company has at most %d pipelines; delete one you no longer use first.", maxPipelines)
		}
		np := &Pipeline{TenantID: tenant, ID: uuid.New(), NameEN: in.NameEN, NameZH: in.NameZH, Position: n, IsDefault: n == 0}
		if _, err := tx.NewInsert().Model(np).ExcludeColumn("created_at", "updated_at").Returning("created_at, updated_at").Exec(ctx); err != nil {
			return err
		}
		for i, s := range in.Stages {
			st := newStage(tenant, np.ID, i, s)
			if _, err := tx.NewInsert().Model(st).ExcludeColumn("created_at", "updated_at").Exec(ctx); err != nil {
				return err
			}
		}
		var err error
		if p, err = loadPipeline(ctx, tx, tenant, np.ID, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "pipeline.create", Entity: "pipeline", EntityID: p.ID.String(), After: p})
	})
	return p, err
}

// maxPipelines and maxStages bound what a board loads at once.
const (
	maxPipelines = 50
	maxStages    = 50
)

func newStage(tenant, pipeline uuid.UUID, pos int, s StageInput) *Stage {
	st := &Stage{TenantID: tenant, ID: uuid.New(), PipelineID: pipeline, NameEN: s.NameEN, NameZH: s.NameZH, Position: pos,
		Probability: *s.Probability, Kind: s.Kind, RottingDays: s.RottingDays}
	if st.Kind != KindOpen {
		st.RottingDays = nil // a closed deal does not rot
	}
	return st
}

// checkStageKinds refuses a pipeline without an open stage for new deals.
func checkStageKinds(stages []StageInput) error {
	for _, s := range stages {
		if s.Kind == KindOpen {
			return nil
		}
	}
	return errs.Field("body.stages", "a pipeline needs at least one open stage, where new deals start")
}

// UpdatePipeline renames a pipeline or makes it the company's default.
func (m *Module) UpdatePipeline(ctx context.Context, tenant, id uuid.UUID, u PipelineUpdate) (*Pipeline, error) {
	var p *Pipeline
	err := m.inTx(ctx, tenant, PermManage, "pipeline", func(ctx context.Context, tx bun.Tx) error {
		cur, err := loadPipeline(ctx, tx, tenant, id, true)
		if err != nil {
			return err
		}
		before := *cur
		if err := rename(&cur.NameEN, &cur.NameZH, u.NameEN, u.NameZH); err != nil {
			return err
		}
		if u.IsDefault != nil {
			if !*u.IsDefault && cur.IsDefault {
				return errs.Field("body.is_default", "make another pipeline the default instead; the company always has one")
			}
			if *u.IsDefault && !cur.IsDefault {
				if _, err := tx.ExecContext(ctx, "UPDATE pipelines SET is_default = false, updated_at = now() WHERE tenant_id = ? AND is_default", tenant); err != nil {
					return err
				}
				cur.IsDefault = true
			}
		}
		if _, err := tx.NewUpdate().Model(cur).Column("name_en", "name_zh", "is_default").Set("updated_at = now()").WherePK().Returning("updated_at").Exec(ctx); err != nil {
			return err
		}
		p = cur
		return audit.Record(ctx, tx, audit.Entry{Action: "pipeline.update", Entity: "pipeline", EntityID: id.String(), Before: before, After: cur})
	})
	return p, err
}

// DeletePipeline deletes a pipeline that holds no live deal; one that does
// is refused, naming how many to move first. The default pipeline stays
// until another is made the default. Deleted deals still in it go with it.
func (m *Module) DeletePipeline(ctx context.Context, tenant, id uuid.UUID) error {
	return m.inTx(ctx, tenant, PermManage, "pipeline", func(ctx context.Context, tx bun.Tx) error {
		p, err := loadPipeline(ctx, tx, tenant, id, true)
		if err != nil {
			return err
		}
		if p.IsDefault {
			return errs.E(errs.Conflict, "This is the company's default pipeline; make another one the default first.")
		}
		var live int
		if err := tx.NewRaw("SELECT count(*) FROM deals WHERE tenant_id = ? AND pipeline_id = ? AND deleted_at IS NULL", tenant, id).Scan(ctx, &live); err != nil {
			return err
		}
		if live > 0 {
			return errs.E(errs.Conflict, "This pipeline still holds %d deals; move them to another pipeline or delete them first.", live)
		}
		if err := m.purgeDeals(ctx, tx, tenant, "pipeline_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM pipelines WHERE tenant_id = ? AND id = ?", tenant, id); err != nil {
			return err
		}
		if err := rebuildRollup(ctx, tx, tenant, &id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "pipeline.delete", Entity: "pipeline", EntityID: id.String(), Before: p})
	})
}

// purgeDeals removes for good the soft-deleted deals matching where (a
// pipeline or stage that goes), with their custom-field index rows, and tells
// the registry so tasks about them follow.
func (m *Module) purgeDeals(ctx context.Context, tx bun.Tx, tenant uuid.UUID, where string, arg any) error {
	var ids []uuid.UUID
	if err := tx.NewRaw("SELECT id FROM deals WHERE tenant_id = ? AND deleted_at IS NOT NULL AND "+where, tenant, arg).Scan(ctx, &ids); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		if err := m.custom.DeleteIndex(ctx, tx, tenant, id); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM deals WHERE tenant_id = ? AND id IN (?)", tenant, bun.In(ids)); err != nil {
		return err
	}
	return m.d.Records.Removed(ctx, tx, tenant, EntityDeals, ids)
}

// AddStage adds a stage to a pipeline, last or at in.Position (the stages
// from there on move one place down).
func (m *Module) AddStage(ctx context.Context, tenant, pipeline uuid.UUID, in StageInput) (*Pipeline, error) {
	if err := in.fill("body"); err != nil {
		return nil, err
	}
	var p *Pipeline
	err := m.inTx(ctx, tenant, PermManage, "stage", func(ctx context.Context, tx bun.Tx) error {
		cur, err := loadPipeline(ctx, tx, tenant, pipeline, true)
		if err != nil {
			return err
		}
		if len(cur.Stages) >= maxStages {
			return errs.E(errs.Conflict, "A pipeline has at most %d stages.", maxStages)
		}
		pos := len(cur.Stages)
		if in.Position != nil && *in.Position < pos {
			pos = *in.Position
		}
		st := newStage(tenant, pipeline, pos, in)
		if _, err := tx.ExecContext(ctx, "UPDATE pipeline_stages SET position = position + 1, updated_at = now() WHERE tenant_id = ? AND pipeline_id = ? AND position >= ?",
			tenant, pipeline, pos); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(st).ExcludeColumn("created_at", "updated_at").Exec(ctx); err != nil {
			return err
		}
		if p, err = loadPipeline(ctx, tx, tenant, pipeline, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "stage.create", Entity: "stage", EntityID: st.ID.String(), After: st})
	})
	return p, err
}

// UpdateStage renames a stage or changes its probability, kind or rotting
// limit. Deals already in it keep their won and lost times.
func (m *Module) UpdateStage(ctx context.Context, tenant, pipeline, id uuid.UUID, u StageUpdate) (*Pipeline, error) {
	var p *Pipeline
	err := m.inTx(ctx, tenant, PermManage, "stage", func(ctx context.Context, tx bun.Tx) error {
		cur, err := loadPipeline(ctx, tx, tenant, pipeline, true)
		if err != nil {
			return err
		}
		st := findStage(cur, id)
		if st == nil {
			return errs.E(errs.NotFound, "stage not found")
		}
		before := *st
		if err := rename(&st.NameEN, &st.NameZH, u.NameEN, u.NameZH); err != nil {
			return err
		}
		if u.Probability != nil {
			st.Probability = *u.Probability
		}
		if u.Kind != nil {
			st.Kind = *u.Kind
			open := 0
			for _, s := range cur.Stages {
				if s.Kind == KindOpen {
					open++
				}
			}
			if st.Kind != KindOpen && before.Kind == KindOpen && open == 1 {
				return errs.Field("body.kind", "this is the pipeline's last open stage; a pipeline needs one for new deals")
			}
		}
		if u.RottingDays != nil {
			st.RottingDays = u.RottingDays
			if *u.RottingDays == 0 {
				st.RottingDays = nil
			}
		}
		if st.Kind != KindOpen {
			st.RottingDays = nil
		}
		if _, err := tx.NewUpdate().Model(st).Column("name_en", "name_zh", "probability", "kind", "rotting_days").Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
			return err
		}
		if st.Kind != before.Kind { // what counts as won, lost and advanced
			if err := requestRebuild(ctx, tx, tenant, &pipeline, ""); err != nil {
				return err
			}
		}
		if p, err = loadPipeline(ctx, tx, tenant, pipeline, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "stage.update", Entity: "stage", EntityID: id.String(), Before: before, After: st})
	})
	return p, err
}

func findStage(p *Pipeline, id uuid.UUID) *Stage {
	for i := range p.Stages {
		if p.Stages[i].ID == id {
			return &p.Stages[i]
		}
	}
	return nil
}

// ReorderStages puts a pipeline's stages in the order given, which must name
// every stage of the pipeline once.
func (m *Module) ReorderStages(ctx context.Context, tenant, pipeline uuid.UUID, order []uuid.UUID) (*Pipeline, error) {
	var p *Pipeline
	err := m.inTx(ctx, tenant, PermManage, "stage", func(ctx context.Context, tx bun.Tx) error {
		cur, err := loadPipeline(ctx, tx, tenant, pipeline, true)
		if err != nil {
			return err
		}
		seen := map[uuid.UUID]bool{}
		for i, id := range order {
			if findStage(cur, id) == nil {
				return errs.Field(fmt.Sprintf("body.stage_ids[%d]", i), "not a stage of this pipeline")
			}
			if seen[id] {
				return errs.Field(fmt.Sprintf("body.stage_ids[%d]", i), "listed twice")
			}
			seen[id] = true
		}
		if len(order) != len(cur.Stages) {
			return errs.Field("body.stage_ids", fmt.Sprintf("list all %d stages of the pipeline, in their new order", len(cur.Stages)))
		}
		before := make([]uuid.UUID, len(cur.Stages))
		for i, s := range cur.Stages {
			before[i] = s.ID
		}
		for i, id := range order {
			if _, err := tx.ExecContext(ctx, "UPDATE pipeline_stages SET position = ?, updated_at = now() WHERE tenant_id = ? AND id = ? AND position <> ?", i, tenant, id, i); err != nil {
				return err
			}
		}
		// Which stays advanced follows the stages' order.
		if err := requestRebuild(ctx, tx, tenant, &pipeline, ""); err != nil {
			return err
		}
		if p, err = loadPipeline(ctx, tx, tenant, pipeline, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "pipeline.reorder", Entity: "pipeline", EntityID: pipeline.String(),
			Before: map[string]any{"stage_ids": before}, After: map[string]any{"stage_ids": order}})
	})
	return p, err
}

// DeleteStage deletes a stage. When it holds deals, target must name another
// stage of the same pipeline, and the deals move there (to the end of its
// column, with their history) in the same transaction: all of it happens or
// none does. The last open stage of a pipeline stays.
func (m *Module) DeleteStage(ctx context.Context, tenant, pipeline, id uuid.UUID, target *uuid.UUID) (*Pipeline, error) {
	var p *Pipeline
	err := m.inTx(ctx, tenant, PermManage, "stage", func(ctx context.Context, tx bun.Tx) error {
		cur, err := loadPipeline(ctx, tx, tenant, pipeline, true)
		if err != nil {
			return err
		}
		st := findStage(cur, id)
		if st == nil {
			return errs.E(errs.NotFound, "stage not found")
		}
		if len(cur.Stages) == 1 {
			return errs.E(errs.Conflict, "This is the pipeline's only stage; delete the pipeline instead.")
		}
		if st.Kind == KindOpen {
			open := 0
			for _, s := range cur.Stages {
				if s.Kind == KindOpen {
					open++
				}
			}
			if open == 1 {
				return errs.E(errs.Conflict, "This is the pipeline's last open stage; a pipeline needs one for new deals.")
			}
		}
		var live int
		if err := tx.NewRaw("SELECT count(*) FROM deals WHERE tenant_id = ? AND stage_id = ? AND deleted_at IS NULL", tenant, id).Scan(ctx, &live); err != nil {
			return err
		}
		moved := 0
		if live > 0 {
			if target == nil {
				return errs.E(errs.Conflict, "This stage holds %d deals; send target_stage_id, a stage of the same pipeline to move them to.", live).
					WithFields(errs.FieldError{Location: "query.target_stage_id", Message: "required: the stage holds deals"})
			}
			to := findStage(cur, *target)
			if to == nil || to.ID == id {
				return errs.Field("query.target_stage_id", "must be another stage of the same pipeline")
			}
			if moved, err = m.moveColumn(ctx, tx, tenant, st, to); err != nil {
				return err
			}
		}
		if err := m.purgeDeals(ctx, tx, tenant, "stage_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM pipeline_stages WHERE tenant_id = ? AND id = ?", tenant, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE pipeline_stages SET position = position - 1, updated_at = now() WHERE tenant_id = ? AND pipeline_id = ? AND position > ?",
			tenant, pipeline, st.Position); err != nil {
			return err
		}
		// The stage's stays count nowhere now, and its deals moved.
		if err := requestRebuild(ctx, tx, tenant, &pipeline, ""); err != nil {
			return err
		}
		if p, err = loadPipeline(ctx, tx, tenant, pipeline, false); err != nil {
			return err
		}
		after := map[string]any{"deleted": true, "deals_moved": moved}
		if target != nil && moved > 0 {
			after["target_stage_id"] = *target
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "stage.delete", Entity: "stage", EntityID: id.String(), Before: st, After: after})
	})
	return p, err
}

// ListLostReasons returns the company's lost reasons in order.
func (m *Module) ListLostReasons(ctx context.Context, tenant uuid.UUID) ([]LostReason, error) {
	out := []LostReason{}
	err := m.inTx(ctx, tenant, PermRead, "lost reason", func(ctx context.Context, tx bun.Tx) error {
		return tx.NewSelect().Model(&out).Where("r.tenant_id = ?", tenant).OrderExpr("r.position, r.created_at, r.id").Scan(ctx)
	})
	return out, err
}

// CreateLostReason adds a reason at the end of the list.
func (m *Module) CreateLostReason(ctx context.Context, tenant uuid.UUID, in Names) (*LostReason, error) {
	if err := in.check("body"); err != nil {
		return nil, err
	}
	r := &LostReason{TenantID: tenant, ID: uuid.New(), NameEN: in.NameEN, NameZH: in.NameZH}
	err := m.inTx(ctx, tenant, PermManage, "lost reason", func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM deal_lost_reasons WHERE tenant_id = ?", tenant).Scan(ctx, &n); err != nil {
			return err
		}
		if n >= 200 {
			return errs.E(errs.Conflict, "A company keeps at most 200 lost reasons.")
		}
		r.Position = n
		if _, err := tx.NewInsert().Model(r).ExcludeColumn("created_at", "updated_at").Returning("created_at, updated_at").Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "lost_reason.create", Entity: "lost_reason", EntityID: r.ID.String(), After: r})
	})
	return r, err
}

// UpdateLostReason renames a reason; deals lost for it show the new name.
func (m *Module) UpdateLostReason(ctx context.Context, tenant, id uuid.UUID, u NamesUpdate) (*LostReason, error) {
	r := &LostReason{}
	err := m.inTx(ctx, tenant, PermManage, "lost reason", func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model(r).Where("r.tenant_id = ? AND r.id = ?", tenant, id).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		before := *r
		if err := rename(&r.NameEN, &r.NameZH, u.NameEN, u.NameZH); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(r).Column("name_en", "name_zh").Set("updated_at = now()").WherePK().Returning("updated_at").Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "lost_reason.update", Entity: "lost_reason", EntityID: id.String(), Before: before, After: r})
	})
	return r, err
}

// DeleteLostReason deletes a reason no deal was lost for; one in use is
// refused (409), since the deals' history names it.
func (m *Module) DeleteLostReason(ctx context.Context, tenant, id uuid.UUID) error {
	return m.inTx(ctx, tenant, PermManage, "lost reason", func(ctx context.Context, tx bun.Tx) error {
		r := &LostReason{}
		if err := tx.NewSelect().Model(r).Where("r.tenant_id = ? AND r.id = ?", tenant, id).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		var used int
		if err := tx.NewRaw("SELECT count(*) FROM deals WHERE tenant_id = ? AND lost_reason_id = ?", tenant, id).Scan(ctx, &used); err != nil {
			return err
		}
		if used > 0 {
			return errs.E(errs.Conflict, "%d deals were lost for this reason; rename it instead of deleting it.", used)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM deal_lost_reasons WHERE tenant_id = ? AND id = ?", tenant, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "lost_reason.delete", Entity: "lost_reason", EntityID: id.String(), Before: r})
	})
}

// rename applies the names an update sent to en and zh, and checks the
// result (a record keeps at least one name) before anything is written.
func rename(en, zh *string, sentEN, sentZH *string) error {
	n := Names{NameEN: *en, NameZH: *zh}
	patch.Set(&n.NameEN, sentEN)
	patch.Set(&n.NameZH, sentZH)
	if err := n.check("body"); err != nil {
		return err
	}
	*en, *zh = n.NameEN, n.NameZH
	return nil
}
