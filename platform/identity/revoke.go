package identity

import (
	"context"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Signing out reaches every replica through a short-lived key in Redis, one per
// credential, holding the time of the sign-out; a replica checks it before it
// trusts a cached session, and drops any copy verified before that time. A key
// rather than a pub/sub message: a replica that is reconnecting to Redis would
// miss a message and keep the session for the rest of its cache lifetime, while
// a key is there when it looks. The price is one GET per cached request, where
// Kratos would cost ~20 ms. The key outlives every cached copy: MaxCacheTTL plus
// the longest whoami that could have started before the sign-out.
const revokedTTL = MaxCacheTTL + maxWhoamiTimeout + 5*time.Second

func revokedKey(key [32]byte) string { return "clientele:session-ended:" + hex.EncodeToString(key[:]) }

// sessionTopic is the invalidation topic of sign-outs; the key is the hex of
// the credential's cache key.
const sessionTopic = "session-ended"

// busToken says what the invalidation bus had announced when a cached copy was
// last known good: the bus's epoch (it moves whenever messages may have been
// missed) and the count of sign-outs announced since this process started.
type busToken struct {
	epoch, signOuts uint64
	ok              bool
}

func (k *Kratos) token() busToken {
	if !k.o.Bus.Healthy() {
		return busToken{}
	}
	return busToken{epoch: k.o.Bus.Epoch(), signOuts: k.signOuts.Load(), ok: true}
}

// busTrusts reports whether a copy known good under t is still good without
// asking Redis: the bus is healthy and has announced no sign-out, and missed
// none, since. Any sign-out anywhere moves the token, and each cached session
// then pays one Redis check before it is trusted again.
func (k *Kratos) busTrusts(t busToken) bool {
	return t.ok && k.o.Bus.Healthy() && t == k.token()
}

// signedOutElsewhere handles a sign-out announced on the bus.
func (k *Kratos) signedOutElsewhere(hexKey string) {
	k.signOuts.Add(1)
	b, err := hex.DecodeString(hexKey)
	if err != nil || len(b) != 32 {
		return
	}
	k.cache.delete([32]byte(b))
}

// RecordSignOut tells every replica that these credentials were signed out now:
// this one forgets them at once, the others on their next use of them.
func (k *Kratos) RecordSignOut(ctx context.Context, sessionToken, cookie string) {
	k.Forget(sessionToken, cookie)
	if k.o.Redis == nil {
		return
	}
	var keys []string
	if t := strings.TrimSpace(sessionToken); t != "" {
		keys = append(keys, revokedKey(cacheKey("token", t)))
	}
	if _, c := k.credential("", cookie); c != "" {
		keys = append(keys, revokedKey(cacheKey("cookie", c)))
	}
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	at := strconv.FormatInt(k.now().UnixNano(), 10)
	pipe := k.o.Redis.Pipeline()
	for _, key := range keys {
		pipe.Set(ctx, key, at, revokedTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		k.log.Warn("identity: could not record a sign-out for the other replicas; they trust their cached copy until it expires", "error", err.Error())
	}
	// Then announce it: a replica that hears it drops its copy; one that
	// hears nothing because it missed messages has a new bus epoch and goes
	// back to the key above.
	for _, key := range keys {
		k.o.Bus.Publish(ctx, sessionTopic, strings.TrimPrefix(key, "clientele:session-ended:"))
	}
}

// clockSkew is how far apart replicas' clocks may be: a copy verified less than
// this after a sign-out another replica recorded is not trusted either.
const clockSkew = 2 * time.Second

// revokedSince reports whether the credential was signed out after (or about
// when) checked, the time its cached copy was verified. When Redis cannot say,
// the copy is trusted as before, for at most MaxCacheTTL: sending every cached
// request to Kratos while Redis is down would overload Kratos.
func (k *Kratos) revokedSince(ctx context.Context, key [32]byte, checked time.Time) bool {
	if k.o.Redis == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	at, err := k.o.Redis.Get(ctx, revokedKey(key)).Int64()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			k.m.cache("error")
		}
		return false
	}
	return !checked.After(time.Unix(0, at).Add(clockSkew))
}
