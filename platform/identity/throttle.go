package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/platform/errs"
)

// signInAttempt is a password sign-in seen by the proxy, with the counters it
// goes against.
type signInAttempt struct {
	idKey, addrKey string
}

// signInOf recognises a password sign-in (POST /self-service/login, JSON or a
// form, method password) and names its counters: one per identifier, folded as
// Kratos folds email addresses, and one per client address (an IPv6 /64).
func signInOf(path, method, contentType, addr string, body []byte) *signInAttempt {
	if path != "/self-service/login" || method != http.MethodPost {
		return nil
	}
	var m, id string
	if strings.Contains(contentType, "json") {
		var b struct {
			Method     string `json:"method"`
			Identifier string `json:"identifier"`
			Legacy     string `json:"password_identifier"`
		}
		if json.Unmarshal(body, &b) != nil {
			return nil
		}
		m, id = b.Method, b.Identifier
		if id == "" {
			id = b.Legacy
		}
	} else {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil
		}
		m, id = v.Get("method"), v.Get("identifier")
		if id == "" {
			id = v.Get("password_identifier")
		}
	}
	id = strings.ToLower(strings.TrimSpace(id))
	if m != "password" || id == "" {
		return nil
	}
	h := sha256.Sum256([]byte(id))
	return &signInAttempt{idKey: "clientele:signin:id:" + hex.EncodeToString(h[:]), addrKey: "clientele:signin:addr:" + addrBucket(addr)}
}

func addrBucket(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Is4() || a.Is4In6() {
		return addr
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func (k *Kratos) signInLimits() SignInLimits {
	l := k.o.SignIn
	if l.PerIdentifier <= 0 {
		l.PerIdentifier = 10
	}
	if l.PerAddress <= 0 {
		l.PerAddress = 100
	}
	if l.Window <= 0 {
		l.Window = 15 * time.Minute
	}
	return l
}

// admitSignIn counts the attempt against both counters, before Kratos sees
// it, so parallel guesses cannot slip past the limit; past either it returns a
// 429 saying when to try again (when that counter's window ends). Without Redis
// nothing is counted.
func (k *Kratos) admitSignIn(ctx context.Context, a *signInAttempt) error {
	if k.o.Redis == nil || a == nil {
		return nil
	}
	l := k.signInLimits()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	pipe := k.o.Redis.TxPipeline()
	idN, addrN := pipe.Incr(ctx, a.idKey), pipe.Incr(ctx, a.addrKey)
	pipe.ExpireNX(ctx, a.idKey, l.Window)
	pipe.ExpireNX(ctx, a.addrKey, l.Window)
	idTTL, addrTTL := pipe.PTTL(ctx, a.idKey), pipe.PTTL(ctx, a.addrKey)
	var idCount, addrCount int64
	var idLeft, addrLeft time.Duration
	if _, err := pipe.Exec(ctx); err != nil {
		// Redis is down or frozen (its breaker answers at once once open):
		// count in this process, so guessing stays limited per replica.
		if errs.OutageDependency(err) == "" {
			k.log.Warn("identity: Redis sign-in limiter unavailable; limiting in this process", "error", err.Error())
		}
		now := k.now()
		idCount, idLeft = k.localSignIns.Count(a.idKey, l.Window, now)
		addrCount, addrLeft = k.localSignIns.Count(a.addrKey, l.Window, now)
	} else {
		idCount, idLeft, addrCount, addrLeft = idN.Val(), idTTL.Val(), addrN.Val(), addrTTL.Val()
	}
	var wait time.Duration
	if idCount > int64(l.PerIdentifier) {
		wait = idLeft
	}
	if addrCount > int64(l.PerAddress) && addrLeft > wait {
		wait = addrLeft
	}
	if wait <= 0 {
		return nil
	}
	secs := int((wait + time.Second - 1) / time.Second)
	e := errs.E(errs.RateLimited, "Too many sign-in attempts. Try again in %d minutes.", (secs+59)/60)
	e.RetryAfter = secs
	return e
}

// settleSignIn reads Kratos's answer: a success clears the identifier's count
// and gives the address its attempt back. JSON flows answer 200 on success and
// 400 on wrong credentials; browser form posts are redirected, to the sign-in
// screen again (flow=) when they failed.
func (k *Kratos) settleSignIn(a *signInAttempt, status int, location string) {
	if k.o.Redis == nil || a == nil {
		return
	}
	ok := status == http.StatusOK || (status == http.StatusSeeOther && !strings.Contains(location, "flow="))
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	pipe := k.o.Redis.TxPipeline()
	pipe.Del(ctx, a.idKey)
	pipe.Decr(ctx, a.addrKey)
	_, _ = pipe.Exec(ctx)
}
