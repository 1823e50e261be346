package tenants

import (
	"strings"
	"sync"
	"time"
)

// localLimiter counts requests in one-minute windows in this process. It stands
// in for the Redis counters while Redis is unavailable, so limits still hold per
// replica instead of not at all, and no request waits on Redis to learn that.
type localLimiter struct {
	mu     sync.Mutex
	window int64
	counts map[string]int
}

// maxLocalKeys bounds the memory a flood of distinct keys can take; past it the
// window's counts start over (erring on the side of letting requests through).
const maxLocalKeys = 100_000

// count adds one request for key in the window of now and returns the total.
func (l *localLimiter) count(key string, now time.Time) int {
	w := now.Unix() / 60
	l.mu.Lock()
	defer l.mu.Unlock()
	if w != l.window || l.counts == nil || len(l.counts) >= maxLocalKeys {
		l.window = w
		l.counts = map[string]int{}
	}
	n := l.counts[key] + 1
	if n == 1 {
		key = strings.Clone(key) // the key outlives the request; it may borrow Fiber's buffer
	}
	l.counts[key] = n
	return n
}
