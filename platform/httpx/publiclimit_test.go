package httpx

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
)

type countingLimiter map[string]int

func (c countingLimiter) Limit(_ context.Context, key string, max int) error {
	c[key]++
	if c[key] > max {
		return errs.E(errs.RateLimited, "too many")
	}
	return nil
}

// A public route is limited per client address and per company: past the
// company's limit, a new address is refused too, and another company is not.
func TestLimitPublicCountsAddressAndCompany(t *testing.T) {
	l := countingLimiter{}
	a, b := uuid.New(), uuid.New()
	at := func(ip string) context.Context {
		return context.WithValue(context.Background(), reqKey{}, Request{ClientIP: ip})
	}
	if err := LimitPublic(at("192.0.2.1"), l, "x", a, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := LimitPublic(at("192.0.2.1"), l, "x", a, 2, 3); err != nil {
		t.Fatal(err)
	}
	if err := LimitPublic(at("192.0.2.1"), l, "x", a, 2, 3); !errs.Is(err, errs.RateLimited) {
		t.Fatalf("third from one address: %v", err)
	}
	if err := LimitPublic(at("192.0.2.2"), l, "x", a, 2, 3); err != nil {
		t.Fatalf("another address: %v", err)
	}
	if err := LimitPublic(at("192.0.2.3"), l, "x", a, 2, 3); !errs.Is(err, errs.RateLimited) {
		t.Fatalf("past the company's limit: %v", err)
	}
	if err := LimitPublic(at("192.0.2.4"), l, "x", b, 2, 3); err != nil {
		t.Fatalf("another company: %v", err)
	}
	if err := LimitPublic(at("192.0.2.4"), nil, "x", b, 0, 0); err != nil {
		t.Fatalf("no limiter: %v", err)
	}
}
