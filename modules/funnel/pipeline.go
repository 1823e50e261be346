package funnel

import (
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
)

// Stage kinds: a deal in an open stage is in progress; entering a won or lost
// stage closes it and stamps the time.
const (
	KindOpen = "open"
	KindWon  = "won"
	KindLost = "lost"
)

// Pipeline is one sales process of the company (new business, renewals...).
type Pipeline struct {
	bun.BaseModel `bun:"table:pipelines,alias:p"`
	TenantID      uuid.UUID `bun:"tenant_id,pk,type:uuid" json:"-" xml:"-"`
	ID            uuid.UUID `bun:"id,pk,type:uuid" json:"id"`
	NameEN        string    `bun:"name_en" json:"name_en"`
	NameZH        string    `bun:"name_zh" json:"name_zh"`
	Position      int       `bun:"position" json:"position"`
	IsDefault     bool      `bun:"is_default" json:"is_default" doc:"where a deal goes when it names no pipeline"`
	CreatedAt     time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at" json:"updated_at"`
	Stages        []Stage   `bun:"-" json:"stages" doc:"in order"`
}

// Stage is one step of a pipeline.
type Stage struct {
	bun.BaseModel `bun:"table:pipeline_stages,alias:s"`
	TenantID      uuid.UUID `bun:"tenant_id,pk,type:uuid" json:"-" xml:"-"`
	ID            uuid.UUID `bun:"id,pk,type:uuid" json:"id"`
	PipelineID    uuid.UUID `bun:"pipeline_id,type:uuid" json:"pipeline_id"`
	NameEN        string    `bun:"name_en" json:"name_en"`
	NameZH        string    `bun:"name_zh" json:"name_zh"`
	Position      int       `bun:"position" json:"position" doc:"the stage's place in its pipeline, from 0"`
	Probability   int       `bun:"probability" json:"probability" doc:"chance to win, in percent"`
	Kind          string    `bun:"kind" json:"kind" enum:"open,won,lost"`
	RottingDays   *int      `bun:"rotting_days" json:"rotting_days,omitempty" doc:"days without activity after which a deal here is rotting; absent: never"`
	CreatedAt     time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at" json:"updated_at"`
}

// LostReason is one entry of the company's list of reasons deals are lost.
type LostReason struct {
	bun.BaseModel `bun:"table:deal_lost_reasons,alias:r"`
	TenantID      uuid.UUID `bun:"tenant_id,pk,type:uuid" json:"-" xml:"-"`
	ID            uuid.UUID `bun:"id,pk,type:uuid" json:"id"`
	NameEN        string    `bun:"name_en" json:"name_en"`
	NameZH        string    `bun:"name_zh" json:"name_zh"`
	Position      int       `bun:"position" json:"position"`
	CreatedAt     time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time `bun:"updated_at" json:"updated_at"`
}

// Names are a name in English and in Chinese; at least one is needed.
type Names struct {
	NameEN string `json:"name_en,omitempty" maxLength:"100" doc:"the name in English"`
	NameZH string `json:"name_zh,omitempty" maxLength:"100" doc:"the name in Chinese"`
}

// check trims the names and refuses two empty ones, at loc (body).
func (n *Names) check(loc string) error {
	n.NameEN, n.NameZH = strings.TrimSpace(n.NameEN), strings.TrimSpace(n.NameZH)
	if n.NameEN == "" && n.NameZH == "" {
		return errs.Field(loc+".name_en", "give a name in English or Chinese (name_en or name_zh)")
	}
	return nil
}

// StageInput creates a stage.
type StageInput struct {
	Names
	Probability *int   `json:"probability,omitempty" minimum:"0" maximum:"100" doc:"chance to win in percent; default 100 for won, 0 for lost, 50 for open"`
	Kind        string `json:"kind,omitempty" enum:"open,won,lost," doc:"default open"`
	RottingDays *int   `json:"rotting_days,omitempty" minimum:"1" maximum:"3650"`
	// Position places the new stage; absent: last.
	Position *int `json:"position,omitempty" minimum:"0" maximum:"1000" doc:"the place of the new stage, from 0; default last"`
}

// fill checks a new stage's input and fills its defaults.
func (in *StageInput) fill(loc string) error {
	if err := in.Names.check(loc); err != nil {
		return err
	}
	if in.Kind == "" {
		in.Kind = KindOpen
	}
	if in.Probability == nil {
		p := 50
		switch in.Kind {
		case KindWon:
			p = 100
		case KindLost:
			p = 0
		}
		in.Probability = &p
	}
	return nil
}

// StageUpdate changes a stage; absent fields stay.
type StageUpdate struct {
	NameEN      *string `json:"name_en,omitempty" maxLength:"100"`
	NameZH      *string `json:"name_zh,omitempty" maxLength:"100"`
	Probability *int    `json:"probability,omitempty" minimum:"0" maximum:"100"`
	Kind        *string `json:"kind,omitempty" enum:"open,won,lost"`
	RottingDays *int    `json:"rotting_days,omitempty" minimum:"0" maximum:"3650" doc:"0 turns rotting off"`
}

// PipelineInput creates a pipeline with its stages in order; with no stages
// it gets the default ones (Lead ... Won, Lost).
type PipelineInput struct {
	Names
	Stages []StageInput `json:"stages,omitempty" maxItems:"50"`
}

// NamesUpdate renames something; an absent name stays.
type NamesUpdate struct {
	NameEN *string `json:"name_en,omitempty" maxLength:"100"`
	NameZH *string `json:"name_zh,omitempty" maxLength:"100"`
}

// PipelineUpdate renames a pipeline or makes it the default.
type PipelineUpdate struct {
	NameEN    *string `json:"name_en,omitempty" maxLength:"100"`
	NameZH    *string `json:"name_zh,omitempty" maxLength:"100"`
	IsDefault *bool   `json:"is_default,omitempty" doc:"true makes this the company's default pipeline"`
}

// defaultStages are the stages of a new pipeline that names none, as the
// migration's funnel_provision gives every company's first one.
func defaultStages() []StageInput {
	mk := func(en, zh string, prob int, kind string, rot int) StageInput {
		s := StageInput{Names: Names{NameEN: en, NameZH: zh}, Probability: &prob, Kind: kind}
		if rot > 0 {
			s.RottingDays = &rot
		}
		return s
	}
	return []StageInput{
		mk("Lead", "线索", 10, KindOpen, 30),
		mk("Qualified", "需求确认", 25, KindOpen, 21),
		mk("Proposal", "方案报价", 50, KindOpen, 14),
		mk("Negotiation", "谈判", 75, KindOpen, 14),
		mk("Won", "赢单", 100, KindWon, 0),
		mk("Lost", "输单", 0, KindLost, 0),
	}
}
