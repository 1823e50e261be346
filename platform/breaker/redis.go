package breaker

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// GuardRedis puts b in front of every command and pipeline c sends, and bounds
// each by timeout. While b is open, commands fail at once with an *OpenError,
// so callers fall back (a local rate limiter, a cached session) without waiting.
// Answers Redis gives (redis.Nil, WRONGTYPE) are not failures; no answer in
// time, a refused or broken connection, and a server still loading are.
func GuardRedis(c redis.UniversalClient, b *Breaker, timeout time.Duration) {
	c.AddHook(redisHook{b: b, timeout: timeout})
}

// RedisOptions tunes client options for failing fast: commands and the wait for
// a pooled connection are bounded by timeout, with at most one retry inside it.
func RedisOptions(o *redis.Options, timeout time.Duration) *redis.Options {
	o.DialTimeout = max(timeout, 250*time.Millisecond)
	o.ReadTimeout = timeout
	o.WriteTimeout = timeout
	o.PoolTimeout = timeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = 1
	return o
}

type redisHook struct {
	b       *Breaker
	timeout time.Duration
}

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

// guardedKey marks a context already inside the hook: commands go-redis sends
// on its own (HELLO on a new connection) belong to the call that caused them.
type guardedKey struct{}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if ctx.Value(guardedKey{}) != nil {
			return next(ctx, cmd)
		}
		if err := h.b.Allow(); err != nil {
			cmd.SetErr(err)
			return err
		}
		cctx, cancel := context.WithTimeout(context.WithValue(ctx, guardedKey{}, true), h.timeout)
		defer cancel()
		err := next(cctx, cmd)
		h.record(ctx, err)
		return err
	}
}

// record reports an outcome, unless the caller's own context ended first,
// which says nothing about Redis either way.
func (h redisHook) record(caller context.Context, err error) {
	if caller.Err() != nil {
		return
	}
	h.b.Record(!redisFailed(err))
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if ctx.Value(guardedKey{}) != nil {
			return next(ctx, cmds)
		}
		if err := h.b.Allow(); err != nil {
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		cctx, cancel := context.WithTimeout(context.WithValue(ctx, guardedKey{}, true), h.timeout)
		defer cancel()
		err := next(cctx, cmds)
		judged := err
		for _, c := range cmds {
			if judged != nil {
				break
			}
			judged = c.Err()
		}
		h.record(ctx, judged)
		return err
	}
}

// redisFailed reports whether err says Redis is unhealthy.
func redisFailed(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	// Anything else is the transport: a timeout, a refused or reset
	// connection, EOF, no pooled connection in time.
	return true
}
