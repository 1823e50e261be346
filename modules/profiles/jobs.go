package profiles

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/events"
	"github.com/clientele-crm/clientele/platform/jobs"
)

// Task types of the scores and the classification rules.
const (
	// TypeScore recomputes one company's scores, then runs its enabled rules
	// over every customer.
	TypeScore = "profiles:score"
	// TypeScoreAll enqueues TypeScore for every active company, nightly.
	TypeScoreAll = "profiles:score_all"
	// TypeClassify runs a company's enabled rules over the customers changed
	// since each rule last ran: kicked a few seconds after customers change.
	TypeClassify = "profiles:classify"
)

// classifyDelay gathers the changes of a burst (an import, a bulk edit) into
// one run of the rules.
const classifyDelay = 5 * time.Second

type tenantPayload struct {
	Tenant uuid.UUID `json:"tenant"`
}

// Jobs declares the scoring and classification handlers.
func (m *Module) Jobs() []jobs.Handler {
	return []jobs.Handler{
		{Type: TypeScore, Queue: jobs.QueueBulk, Timeout: 2 * time.Hour, Run: func(ctx context.Context, tx bun.Tx, j *jobs.Job) error {
			res, err := m.scoreAndClassify(ctx, tx, j.TenantID, time.Now())
			if err != nil {
				return err
			}
			return j.SetResult(res)
		}},
		{Type: TypeScoreAll, Queue: jobs.QueueBulk, Timeout: 10 * time.Minute, RunGlobal: func(ctx context.Context, _ json.RawMessage) error {
			return m.enqueueNightly(ctx, time.Now().UTC())
		}},
		{Type: TypeClassify, Queue: jobs.QueueBulk, Timeout: 30 * time.Minute, MaxRetry: 2, RunGlobal: func(ctx context.Context, raw json.RawMessage) error {
			var p tenantPayload
			if err := json.Unmarshal(raw, &p); err != nil || p.Tenant == uuid.Nil {
				return fmt.Errorf("profiles: classify: bad payload")
			}
			return db.InTenant(authz.AsSystem(ctx), m.d.DB, p.Tenant, func(ctx context.Context, tx bun.Tx) error {
				_, err := m.runRules(ctx, tx, p.Tenant, true)
				return err
			})
		}},
	}
}

// Schedules scores every company nightly, at a fixed minute so every
// scheduler replica enqueues the same task; each company's job is keyed by
// the day, so a second tick adds nothing.
func (m *Module) Schedules() []jobs.Schedule {
	return []jobs.Schedule{{Name: "profiles-score-nightly", Cron: "37 2 * * *", Type: TypeScoreAll}}
}

// ScoreResult is what a scoring job did.
type ScoreResult struct {
	Scores ScoreRun  `json:"scores"`
	Rules  []RuleRun `json:"rules"`
}

func (m *Module) scoreAndClassify(ctx context.Context, tx bun.Tx, tenant uuid.UUID, now time.Time) (*ScoreResult, error) {
	run, err := m.ScoreCustomers(ctx, tx, tenant, now)
	if err != nil {
		return nil, err
	}
	rules, err := m.runRules(ctx, tx, tenant, false)
	if err != nil {
		return nil, err
	}
	return &ScoreResult{Scores: *run, Rules: rules}, nil
}

// enqueueNightly enqueues one scoring job per active company for day.
func (m *Module) enqueueNightly(ctx context.Context, day time.Time) error {
	if m.d.Jobs == nil {
		return nil
	}
	var tenants []uuid.UUID
	if err := m.d.DB.NewRaw("SELECT id FROM tenants WHERE status = 'active' ORDER BY id").Scan(ctx, &tenants); err != nil {
		return fmt.Errorf("profiles: nightly scores: %w", err)
	}
	ctx = authz.AsSystem(ctx)
	for _, t := range tenants {
		if _, err := m.d.Jobs.Enqueue(ctx, t, jobs.Spec{Type: TypeScore, DedupeKey: "profiles-score:" + day.Format("2006-01-02")}); err != nil {
			return fmt.Errorf("profiles: nightly scores: %w", err)
		}
	}
	return nil
}

// RecomputeScores enqueues a scoring job for the company now.
func (m *Module) RecomputeScores(ctx context.Context, tenant uuid.UUID) (*jobs.Job, error) {
	if err := requireClassify(ctx); err != nil {
		return nil, err
	}
	if m.d.Jobs == nil {
		return nil, errs.E(errs.Internal, "no jobs client")
	}
	return m.d.Jobs.Enqueue(ctx, tenant, jobs.Spec{Type: TypeScore, CreatedBy: authz.RequesterID(ctx)})
}

// kickClassify schedules a run of the company's rules shortly after its
// customers changed; kicks within the delay share one task.
func (m *Module) kickClassify(ctx context.Context, e events.Event) error {
	if m.d.Jobs == nil || e.TenantID == uuid.Nil {
		return nil
	}
	// A burst of changes (an import) kicks once per delay, not per record.
	now := time.Now()
	m.kickMu.Lock()
	last, seen := m.kicked[e.TenantID]
	if seen && now.Sub(last) < classifyDelay {
		m.kickMu.Unlock()
		return nil
	}
	if len(m.kicked) > 10000 {
		clear(m.kicked)
	}
	m.kicked[e.TenantID] = now
	m.kickMu.Unlock()
	m.d.Jobs.Kick(ctx, TypeClassify, jobs.QueueBulk, "profiles-classify:"+e.TenantID.String(), tenantPayload{Tenant: e.TenantID}, classifyDelay)
	return nil
}

// ScoreAndClassify is the scoring job's work in tx: the scores as of now,
// then every enabled rule over every customer.
func (m *Module) ScoreAndClassify(ctx context.Context, tx bun.Tx, tenant uuid.UUID, now time.Time) (*ScoreResult, error) {
	return m.scoreAndClassify(ctx, tx, tenant, now)
}
