package tenants

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// sharedCounts counts a busy limit (the tenant's, which every request of the
// company passes) in this process and adds the count to Redis in batches, so a
// request does not wait for Redis. A replica holds back at most a batch (a
// hundredth of the limit, at most 50) or a quarter of a second of requests;
// close to the limit it counts through Redis at once, so the limit holds to
// within a batch per replica. While Redis cannot be reached the local count
// goes on alone, as the per-replica fallback did.
type sharedCounts struct {
	mu sync.Mutex
	m  map[string]*countState
}

type countState struct {
	window   int64 // the minute counted
	known    int64 // the count Redis last returned, every replica's
	pending  int64 // counted here, not yet added in Redis
	syncing  bool
	lastSync time.Time
}

const countSyncEvery = 250 * time.Millisecond

func countBatch(max int) int64 {
	b := int64(max / 100)
	if b < 1 {
		b = 1
	}
	if b > 50 {
		b = 50
	}
	return b
}

// limitBatched is limit for a key every request passes.
func (s *Service) limitBatched(ctx context.Context, key string, max int) error {
	if s.d.Redis == nil || max <= 0 {
		return nil
	}
	now := time.Now()
	window := now.Unix() / 60
	batch := countBatch(max)
	c := &s.counts
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10_000 {
		c.prune(window)
	}
	st := c.m[key]
	if st == nil || st.window != window {
		st = &countState{window: window, lastSync: now}
		c.m[key] = st
	}
	st.pending++
	est := st.known + st.pending
	near := est > int64(max)-batch
	var n int64
	owner := false // this request sends the batch in flight
	batchDue := st.pending >= batch || now.Sub(st.lastSync) >= countSyncEvery
	// A batch is on its way to Redis, slowly, and another has piled up
	// here meanwhile: what this replica knows of the others is as old as
	// that flush, so it stops guessing and counts through Redis until the
	// flush is back. Without this, a slow flush (a busy machine, a slow
	// Redis) let each replica hold back any number of requests.
	behind := st.syncing && st.pending >= 2*batch
	wait := near || behind
	switch {
	case !st.syncing && (near || batchDue):
		st.syncing, n, owner = true, st.pending, true
	case wait:
		// A batch is on its way to Redis, and the total this replica knows
		// may be short of the other replicas' requests: close to the limit,
		// or behind by a batch, this request counts through Redis itself
		// rather than trust it.
		n = 1
	}
	c.mu.Unlock()
	if n > 0 {
		if wait {
			s.flushCount(ctx, key, st, n, owner)
			c.mu.Lock()
			est = st.known + st.pending
			c.mu.Unlock()
		} else {
			go s.flushCount(context.WithoutCancel(ctx), key, st, n, true)
		}
	}
	if est <= int64(max) {
		return nil
	}
	err := rateLimited(now)
	s.pause(ctx, time.Duration(err.RetryAfter)*time.Second)
	return err
}

// flushCount adds n of st's pending requests to Redis and learns the total.
// owner is set for the one batch flush in flight (st.syncing), which it ends.
func (s *Service) flushCount(ctx context.Context, key string, st *countState, n int64, owner bool) {
	k := fmt.Sprintf("clientele:rl:%s:%d", key, st.window)
	pipe := s.d.Redis.TxPipeline()
	incr := pipe.IncrBy(ctx, k, n)
	pipe.Expire(ctx, k, 2*time.Minute)
	_, err := pipe.Exec(ctx)
	c := &s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	if owner {
		st.syncing = false
		st.lastSync = time.Now()
	}
	if err != nil {
		if !isBreakerOpen(err) {
			s.d.Log.WarnContext(ctx, "tenants: Redis rate limiter unavailable; limiting in this process", "error", err.Error())
		}
		return // the requests stay pending: the local count goes on
	}
	// Flushes may answer out of order; Redis's count only grows.
	st.known = max(st.known, incr.Val())
	st.pending -= n
}

// prune drops the counts of past minutes; called with mu held.
func (c *sharedCounts) prune(window int64) {
	if c.m == nil {
		c.m = map[string]*countState{}
		return
	}
	for k, st := range c.m {
		if st.window != window && !st.syncing {
			delete(c.m, k)
		}
	}
}
