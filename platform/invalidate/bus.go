// Package invalidate tells every replica that something cached in memory has
// changed, so a cache may answer without a round trip "when nothing has changed".
//
// A change is published on one Redis channel and delivered to every replica,
// this one included at once. Redis Pub/Sub does not keep messages for a
// subscriber that was away, so a cache may only trust itself while the bus is
// Healthy: subscribed, and heard from (a message or a pong) within StaleAfter.
// Whenever the subscription is lost or re-established, the bus advances its
// Epoch and tells every subscriber to drop everything; an entry filled under an
// older epoch is never served.
package invalidate

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Channel is the Redis channel every replica listens on. Pub/Sub ignores the
// database number, so processes sharing a Redis server share it; a message for
// a key nobody caches costs a map lookup.
const Channel = "clientele:invalidate"

// StaleAfter is how long the bus trusts a quiet subscription; it pings well
// within it.
const StaleAfter = 3 * time.Second

// Handler receives the keys of one topic. Reset drops everything the
// subscriber holds; it runs when messages may have been missed.
type Handler struct {
	Key   func(key string)
	Reset func()
}

// Bus publishes and receives invalidations. The zero of *Bus (nil) is a bus
// that is never healthy: caches built on it never serve.
type Bus struct {
	rdb redis.UniversalClient
	log *slog.Logger

	mu       sync.RWMutex
	handlers map[string][]Handler

	epoch     atomic.Uint64
	subscribe atomic.Bool  // a subscription is confirmed
	heard     atomic.Int64 // unix nanos of the last message or pong
	started   atomic.Bool
}

// New builds a bus over rdb; Run must be started for it to become healthy.
func New(rdb redis.UniversalClient, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.Default()
	}
	return &Bus{rdb: rdb, log: log, handlers: map[string][]Handler{}}
}

// On registers h for topic. Register before Run.
func (b *Bus) On(topic string, h Handler) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.handlers[topic] = append(b.handlers[topic], h)
	b.mu.Unlock()
}

// Healthy reports whether every change published anywhere is known to reach
// this replica: a cache may serve only then.
func (b *Bus) Healthy() bool {
	if b == nil || !b.subscribe.Load() {
		return false
	}
	return time.Since(time.Unix(0, b.heard.Load())) < StaleAfter
}

// Epoch changes whenever messages may have been missed. A cache records it
// when it starts a load and stores the result only if it is unchanged.
func (b *Bus) Epoch() uint64 {
	if b == nil {
		return 0
	}
	return b.epoch.Load()
}

// Publish delivers key to topic's handlers here at once, and to every other
// replica through Redis. A failed publish is retried briefly in the background;
// if Redis stays away the other replicas' subscriptions are broken too, so
// their caches have stopped serving.
func (b *Bus) Publish(ctx context.Context, topic, key string) {
	if b == nil {
		return
	}
	b.deliver(topic, key)
	msg := topic + "\x00" + key
	if err := b.rdb.Publish(ctx, Channel, msg).Err(); err != nil {
		go b.retry(msg, err)
	}
}

func (b *Bus) retry(msg string, first error) {
	err := first
	for i, wait := 0, 100*time.Millisecond; i < 5; i, wait = i+1, wait*2 {
		time.Sleep(wait)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = b.rdb.Publish(ctx, Channel, msg).Err()
		cancel()
		if err == nil {
			return
		}
	}
	b.log.Warn("invalidate: a change could not be published; other replicas' caches expire it on their own", "error", err.Error())
}

func (b *Bus) deliver(topic, key string) {
	b.mu.RLock()
	hs := b.handlers[topic]
	b.mu.RUnlock()
	for _, h := range hs {
		if h.Key != nil {
			h.Key(key)
		}
	}
}

// reset marks messages as possibly missed: a new epoch, and every handler drops
// what it holds.
func (b *Bus) reset() {
	b.epoch.Add(1)
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, hs := range b.handlers {
		for _, h := range hs {
			if h.Reset != nil {
				h.Reset()
			}
		}
	}
}

// Run listens until ctx ends, re-subscribing after any failure. It returns
// only when ctx is done.
func (b *Bus) Run(ctx context.Context) {
	if b == nil || !b.started.CompareAndSwap(false, true) {
		return
	}
	for ctx.Err() == nil {
		b.listen(ctx)
		b.down()
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (b *Bus) down() {
	if b.subscribe.Swap(false) {
		b.log.Warn("invalidate: subscription lost; in-memory caches bypassed until it is back")
	}
	b.reset()
}

// listen holds one subscription until it fails or ctx ends.
func (b *Bus) listen(ctx context.Context) {
	ps := b.rdb.Subscribe(ctx, Channel)
	defer ps.Close()
	pinged := false
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, StaleAfter/3)
		if err != nil {
			if isTimeout(err) && b.subscribe.Load() && !pinged {
				// Quiet: ask for a pong so a frozen server is noticed.
				if perr := ps.Ping(ctx); perr == nil {
					pinged = true
					continue
				}
			}
			if isTimeout(err) && pinged && b.Healthy() {
				continue // the pong may still come within StaleAfter
			}
			return
		}
		if b.subscribe.Load() && !b.Healthy() {
			// Silent for too long (a frozen server): publishes may have
			// failed meanwhile, so start afresh as after a reconnect.
			b.reset()
		}
		b.heard.Store(time.Now().UnixNano())
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				// Anything published while we were away is lost: start afresh.
				b.reset()
				b.subscribe.Store(true)
			}
		case *redis.Message:
			topic, key, ok := strings.Cut(m.Payload, "\x00")
			if ok {
				b.deliver(topic, key)
			}
		case *redis.Pong:
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
