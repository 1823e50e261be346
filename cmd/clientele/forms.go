package main

import (
	"context"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/forms"
	"github.com/clientele-crm/clientele/modules/funnel"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/records"
)

// buildForms wires the web-to-lead forms: customers come from profiles
// (records.Leads), tasks from the tasks module, and deals from the funnel
// through formDeals, so forms imports neither.
func buildForms(d *deps, leads records.Leads, followUps records.FollowUps, deals *funnel.Module) *forms.Module {
	return forms.New(forms.Deps{DB: d.db, Members: d.directory, Fields: d.fields, Leads: leads, FollowUps: followUps,
		Deals: formDeals{d: d, funnel: deals}, Limiter: d.directory.(*lateDirectory), PublicURL: d.cfg.PublicURL, Log: d.log})
}

// formDeals opens a form's deals in the funnel while the company has it on.
type formDeals struct {
	d      *deps
	funnel *funnel.Module
}

func (f formDeals) on(ctx context.Context, tenant uuid.UUID) (bool, error) {
	if f.d.enablement == nil {
		return true, nil
	}
	return f.d.enablement.Enabled(ctx, tenant, f.funnel.Name())
}

// CheckStage implements forms.Deals: the pipeline exists in the company and
// the stage is one of its open stages.
func (f formDeals) CheckStage(ctx context.Context, tenant, pipeline, stage uuid.UUID, location string) error {
	on, err := f.on(ctx, tenant)
	if err != nil {
		return err
	}
	if !on {
		return errs.Field(location, "the sales funnel is off for this company: turn it on in the settings to open deals")
	}
	p, err := f.funnel.GetPipeline(ctx, tenant, pipeline)
	if errs.Is(err, errs.NotFound) {
		return errs.Field("body.pipeline_id", "no such pipeline in this company")
	}
	if err != nil {
		return err
	}
	for _, s := range p.Stages {
		if s.ID == stage {
			if s.Kind != "open" {
				return errs.Field(location, "must be an open stage: a new deal is neither won nor lost")
			}
			return nil
		}
	}
	return errs.Field(location, "is not a stage of the pipeline pipeline_id names")
}

// OpenDeal implements forms.Deals. A stage removed since the form was saved
// does not refuse the sender's submission: the deal is then not opened.
func (f formDeals) OpenDeal(ctx context.Context, tenant uuid.UUID, dd forms.DealDraft) (uuid.UUID, bool, error) {
	on, err := f.on(ctx, tenant)
	if err != nil || !on {
		return uuid.Nil, false, err
	}
	deal, err := f.funnel.CreateDeal(ctx, tenant, funnel.DealInput{Title: dd.Title, CustomerID: dd.Customer, PipelineID: &dd.Pipeline, StageID: &dd.Stage,
		OwnerID: dd.Owner, Source: dd.Source})
	if errs.Is(err, errs.Invalid) {
		f.d.log.WarnContext(ctx, "forms: the form's deal was not opened", "err", err)
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, err
	}
	return deal.ID, true, nil
}
