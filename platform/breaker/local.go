package breaker

import (
	"strings"
	"sync"
	"time"
)

// LocalCounts stands in for Redis counters while Redis is unavailable: rate and
// sign-in limits count in this process instead, so they hold per replica rather
// than not at all. Each key's window starts with its first hit. The zero value
// is ready to use.
type LocalCounts struct {
	mu sync.Mutex
	m  map[string]localCount
}

type localCount struct {
	n     int64
	until time.Time
}

// maxLocalCounts bounds the memory a flood of distinct keys can take: past it,
// expired entries are dropped, and if none have expired everything starts over
// (erring on the side of letting requests through).
const maxLocalCounts = 100_000

// Count adds one hit for key and returns the hits in its window and the time
// left in that window.
func (c *LocalCounts) Count(key string, window time.Duration, now time.Time) (int64, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]localCount{}
	}
	if len(c.m) >= maxLocalCounts {
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxLocalCounts {
			c.m = map[string]localCount{}
		}
	}
	e, ok := c.m[key]
	if !ok {
		key = strings.Clone(key) // the key outlives the request; it may borrow Fiber's buffer
	}
	if !now.Before(e.until) {
		e = localCount{until: now.Add(window)}
	}
	e.n++
	c.m[key] = e
	return e.n, e.until.Sub(now)
}
