package tickets

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/invalidate"
)

// slaTopic is the invalidation topic of a company's SLA policies and
// calendars; the key is the company's id.
const slaTopic = "tickets-sla"

// slaTTL bounds how long a company's desk is served from memory even when no
// change was announced (a change written behind the module's back).
const slaTTL = 30 * time.Second

// slaDesk is what choosing a ticket's policy and counting its clock needs of
// a company: its active policies in the order they are tried, and the clocks
// of its calendars (read only when a policy counts business hours).
type slaDesk struct {
	policies []Policy
	byTeam   map[uuid.UUID]*clock
	def      *clock
	// capped are the teams with an available member who has a cap of open
	// tickets: their round-robin counts (nextAgent); the others' is one
	// statement with the ticket's insert (insertAssigned).
	capped map[uuid.UUID]bool
}

// clock is the clock of a team's tickets: the team's calendar, else the
// company's default, else nil (around the clock).
func (d *slaDesk) clock(team *uuid.UUID) *clock {
	if team != nil {
		if k, ok := d.byTeam[*team]; ok {
			return k
		}
	}
	return d.def
}

// slaCache keeps each company's desk in memory, so creating a ticket reads
// no policy while nothing changed. Saving a policy or a calendar drops the
// company's entry here at once and, after commit, on every replica through
// the invalidation bus. The cache serves only while the bus is healthy; a
// load that raced with a change (the company's generation or the bus epoch
// moved meanwhile) is not stored. A nil bus (tests, tools) never serves.
type slaCache struct {
	bus *invalidate.Bus

	mu      sync.Mutex
	entries map[uuid.UUID]slaEntry
	gens    map[uuid.UUID]uint64
}

type slaEntry struct {
	desk  *slaDesk
	epoch uint64
	exp   time.Time
}

func newSLACache(bus *invalidate.Bus) *slaCache {
	c := &slaCache{bus: bus, entries: map[uuid.UUID]slaEntry{}, gens: map[uuid.UUID]uint64{}}
	bus.On(slaTopic, invalidate.Handler{
		Key: func(key string) {
			if id, err := uuid.Parse(key); err == nil {
				c.forget(id)
			}
		},
		Reset: c.clear,
	})
	return c
}

func (c *slaCache) forget(tenant uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, tenant)
	c.gens[tenant]++
}

func (c *slaCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[uuid.UUID]slaEntry{}
	for k := range c.gens {
		c.gens[k]++
	}
}

// slaCacheMax bounds the companies held; past it the cache starts empty again.
const slaCacheMax = 50_000

// desk answers the company's desk from memory, or reads it in tx (and keeps
// it when nothing changed meanwhile).
func (m *Module) slaDesk(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (*slaDesk, error) {
	c := m.sla
	if c == nil || !c.bus.Healthy() {
		return loadSLADesk(ctx, tx, tenant)
	}
	epoch := c.bus.Epoch()
	c.mu.Lock()
	e, ok := c.entries[tenant]
	gen := c.gens[tenant]
	c.mu.Unlock()
	if ok && e.epoch == epoch && time.Now().Before(e.exp) {
		return e.desk, nil
	}
	d, err := loadSLADesk(ctx, tx, tenant)
	if err != nil {
		return nil, err
	}
	if c.bus.Epoch() != epoch || !c.bus.Healthy() {
		return d, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens[tenant] != gen {
		return d, nil
	}
	if len(c.entries) >= slaCacheMax {
		c.entries = map[uuid.UUID]slaEntry{}
	}
	c.entries[tenant] = slaEntry{desk: d, epoch: epoch, exp: time.Now().Add(slaTTL)}
	return d, nil
}

// slaChanged announces, after ctx's transaction commits, that the company's
// policies, calendars or agents' availability changed. This replica forgets at once as well, so it
// never serves the old desk to a request that sees the new rows.
func (m *Module) slaChanged(ctx context.Context, tenant uuid.UUID) {
	if m.sla == nil {
		return
	}
	m.sla.forget(tenant)
	db.AfterCommit(ctx, func(ctx context.Context) {
		m.sla.forget(tenant)
		m.sla.bus.Publish(context.WithoutCancel(ctx), slaTopic, tenant.String())
	})
}

// loadSLADesk reads the company's active policies, its teams with capped
// agents and, when a policy counts business hours, its calendars.
func loadSLADesk(ctx context.Context, tx bun.Tx, tenant uuid.UUID) (*slaDesk, error) {
	d := &slaDesk{byTeam: map[uuid.UUID]*clock{}, capped: map[uuid.UUID]bool{}}
	if err := tx.NewSelect().Model(&d.policies).Where("p.tenant_id = ? AND p.active", tenant).OrderExpr("p.position, p.id").Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	var capped []uuid.UUID
	if err := tx.NewRaw("SELECT DISTINCT team_id FROM ticket_agents WHERE tenant_id = ? AND available AND max_open IS NOT NULL", tenant).
		Scan(ctx, &capped); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	for _, team := range capped {
		d.capped[team] = true
	}
	business := false
	for _, p := range d.policies {
		business = business || p.BusinessHours
	}
	if !business {
		return d, nil
	}
	var cals []Calendar
	if err := tx.NewSelect().Model(&cals).Where("c.tenant_id = ?", tenant).Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	for i := range cals {
		k, err := clockOf(&cals[i])
		if err != nil {
			return nil, err
		}
		if cals[i].TeamID != nil {
			d.byTeam[*cals[i].TeamID] = k
		}
		if cals[i].Default {
			d.def = k
		}
	}
	return d, nil
}
