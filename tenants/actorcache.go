package tenants

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/authz"
	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/invalidate"
)

// accessTopic is the invalidation topic for a tenant's access: its memberships,
// roles and teams. The key is the tenant id.
const accessTopic = "tenant-access"

// actorTTL bounds how long a member's access is served from memory even when
// no change was announced (a change written behind the app's back).
const actorTTL = 30 * time.Second

// actorCacheMax bounds the entries; past it the cache starts empty again.
const actorCacheMax = 200_000

// actorCache holds each member's resolved access per tenant, so a request needs
// no round trip to learn its actor while nothing has changed. Every change to a
// tenant's memberships, roles or teams is published on the invalidation bus
// after commit and drops that tenant's entries on every replica. The cache
// serves only while the bus is healthy; a load that raced with a change (the
// tenant's generation or the bus epoch moved meanwhile) is not stored.
type actorCache struct {
	bus  *invalidate.Bus
	hits *prometheus.CounterVec

	mu      sync.Mutex
	n       int
	tenants map[uuid.UUID]*tenantActors
}

type tenantActors struct {
	gen    uint64
	actors map[uuid.UUID]actorEntry
	keys   map[uuid.UUID]keyEntry // API keys by key id
}

// keyEntry is a valid API key's actor, the hash of its secret (a request with
// another secret for the same key id is refused without a read), and when this
// replica last recorded its use.
type keyEntry struct {
	actor    authz.Actor
	hash     []byte
	epoch    uint64
	exp      time.Time
	recorded time.Time
}

type actorEntry struct {
	actor authz.Actor
	epoch uint64
	exp   time.Time
}

func newActorCache(bus *invalidate.Bus, reg prometheus.Registerer) *actorCache {
	c := &actorCache{bus: bus, tenants: map[uuid.UUID]*tenantActors{}}
	c.hits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "clientele_access_cache_requests_total",
		Help: "Member and API key access lookups by result: hit (served from memory), miss (read from the database), bypass (the invalidation bus was not healthy).",
	}, []string{"result"})
	if reg != nil {
		if err := reg.Register(c.hits); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				c.hits = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
	}
	bus.On(accessTopic, invalidate.Handler{
		Key: func(key string) {
			if id, err := uuid.Parse(key); err == nil {
				c.forget(id)
			}
		},
		Reset: c.clear,
	})
	return c
}

// ticket is what a lookup remembers from before its read, to store the result
// only if nothing changed meanwhile.
type ticket struct {
	gen, epoch uint64
	ok         bool
}

// get answers from memory, or returns a ticket for storing what the caller
// then reads.
func (c *actorCache) get(tenant, identity uuid.UUID) (authz.Actor, ticket, bool) {
	var a authz.Actor
	tk, ok := c.lookup(tenant, func(t *tenantActors, epoch uint64) bool {
		if e, ok := t.actors[identity]; ok && e.epoch == epoch && time.Now().Before(e.exp) {
			a = e.actor
			return true
		}
		return false
	})
	return a, tk, ok
}

// put stores an actor read under tk, unless the tenant changed or messages may
// have been missed since.
func (c *actorCache) put(tenant, identity uuid.UUID, a authz.Actor, tk ticket) {
	c.store(tenant, tk, func(t *tenantActors) bool {
		_, had := t.actors[identity]
		t.actors[identity] = actorEntry{actor: a, epoch: tk.epoch, exp: time.Now().Add(actorTTL)}
		return !had
	})
}

// lookup runs find on a tenant's entries under the lock, while the bus is
// healthy, and counts the result; on a miss it returns the ticket to store
// what the caller then reads.
func (c *actorCache) lookup(tenant uuid.UUID, find func(t *tenantActors, epoch uint64) bool) (ticket, bool) {
	if !c.bus.Healthy() {
		c.hits.WithLabelValues("bypass").Inc()
		return ticket{}, false
	}
	epoch := c.bus.Epoch()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		t = &tenantActors{actors: map[uuid.UUID]actorEntry{}}
		c.tenants[tenant] = t
	}
	if find(t, epoch) {
		c.hits.WithLabelValues("hit").Inc()
		return ticket{}, true
	}
	c.hits.WithLabelValues("miss").Inc()
	return ticket{gen: t.gen, epoch: epoch, ok: true}, false
}

// store runs add on a tenant's entries under the lock, unless the tenant
// changed or messages may have been missed since tk; add reports whether it
// made a new entry. Past actorCacheMax entries the cache starts empty again.
func (c *actorCache) store(tenant uuid.UUID, tk ticket, add func(t *tenantActors) bool) {
	if !tk.ok || c.bus.Epoch() != tk.epoch || !c.bus.Healthy() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil || t.gen != tk.gen {
		return
	}
	if c.n >= actorCacheMax {
		c.tenants = map[uuid.UUID]*tenantActors{}
		c.n = 0
		return
	}
	if add(t) {
		c.n++
	}
}

// forget drops a tenant's entries and moves its generation on, so a read that
// started before the change is not stored.
func (c *actorCache) forget(tenant uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return
	}
	c.n -= len(t.actors) + len(t.keys)
	t.gen++
	t.actors = map[uuid.UUID]actorEntry{}
	t.keys = nil
}

func (c *actorCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.tenants {
		t.gen++
		t.actors = map[uuid.UUID]actorEntry{}
		t.keys = nil
	}
	c.n = 0
}

// getKey answers an API key from memory, or returns a ticket for storing what
// the caller then reads. Keys share the members' generations: any change to a
// company's access (a role's grants, a key revoked, the company closed) drops
// its keys too.
func (c *actorCache) getKey(tenant, key uuid.UUID) (keyEntry, ticket, bool) {
	var k keyEntry
	tk, ok := c.lookup(tenant, func(t *tenantActors, epoch uint64) bool {
		if e, ok := t.keys[key]; ok && e.epoch == epoch && time.Now().Before(e.exp) {
			k = e
			return true
		}
		return false
	})
	return k, tk, ok
}

// putKey stores a valid key read under tk, unless the company's access changed
// or messages may have been missed since.
func (c *actorCache) putKey(tenant, key uuid.UUID, e keyEntry, tk ticket) {
	c.store(tenant, tk, func(t *tenantActors) bool {
		if t.keys == nil {
			t.keys = map[uuid.UUID]keyEntry{}
		}
		_, had := t.keys[key]
		e.epoch, e.exp = tk.epoch, time.Now().Add(actorTTL)
		t.keys[key] = e
		return !had
	})
}

// keyUseToRecord says whether a use of a cached key is to be written to
// last_used_at: at most once a minute per key and replica.
func (c *actorCache) keyUseToRecord(tenant, key uuid.UUID, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[tenant]
	if t == nil {
		return false
	}
	e, ok := t.keys[key]
	if !ok || now.Sub(e.recorded) <= time.Minute {
		return false
	}
	e.recorded = now
	t.keys[key] = e
	return true
}

// accessTx runs fn in a transaction of the tenant that changes who may do
// what (members, roles, teams): see accessChanged.
func (s *Service) accessTx(ctx context.Context, tenant uuid.UUID, fn func(ctx context.Context, tx bun.Tx) error) error {
	return db.InTenant(ctx, s.d.DB, tenant, func(ctx context.Context, tx bun.Tx) error {
		s.accessChanged(ctx, tenant)
		return fn(ctx, tx)
	})
}

// accessChanged announces, after ctx's transaction commits (at once outside
// one), that a tenant's memberships, roles or teams changed. This replica
// forgets at once, before the commit as well, so it never serves a stale entry
// to a request that sees the new rows.
func (s *Service) accessChanged(ctx context.Context, tenant uuid.UUID) {
	s.actors.forget(tenant)
	db.AfterCommit(ctx, func(ctx context.Context) {
		s.actors.forget(tenant)
		s.d.Bus.Publish(context.WithoutCancel(ctx), accessTopic, tenant.String())
	})
}

// CacheCounter is the access cache's counter for a result (hit, miss, bypass),
// for tests and dashboards.
func (s *Service) CacheCounter(result string) prometheus.Counter {
	return s.actors.hits.WithLabelValues(result)
}
