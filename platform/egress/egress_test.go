package egress

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDNS answers from a table; a name with several answers gives them in
// turn, one per lookup, so a test can change the answer between two lookups.
type fakeDNS struct {
	mu      sync.Mutex
	answers map[string][]string
	asked   map[string]int
}

func (f *fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq, ok := f.answers[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	n := f.asked[host]
	f.asked[host]++
	return []netip.Addr{netip.MustParseAddr(seq[min(n, len(seq)-1)])}, nil
}

func newDNS(m map[string][]string) *fakeDNS { return &fakeDNS{answers: m, asked: map[string]int{}} }

func TestPublic(t *testing.T) {
	for _, s := range []string{"169.254.169.254", "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "::1",
		"0.0.0.0", "100.64.1.1", "224.0.0.1", "255.255.255.255", "fe80::1", "fd00:ec2::254", "::ffff:10.0.0.1",
		"::ffff:127.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "198.18.0.1", "::"} {
		if Public(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as public", s)
		}
	}
	for _, s := range []string{"93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"} {
		if !Public(netip.MustParseAddr(s)) {
			t.Errorf("%s counted as not public", s)
		}
	}
}

// The addresses the issue names, literal and behind names, are refused by the
// check a subscription gets when it is saved.
func TestCheckURLRefusesInsideAddresses(t *testing.T) {
	p := &Policy{Resolver: newDNS(map[string][]string{
		"inside.example":   {"10.1.2.3"},
		"metadata.example": {"169.254.169.254"},
		"shop.example":     {"93.184.216.34"},
	})}
	ctx := context.Background()
	for _, u := range []string{
		"https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/hook", "https://127.0.0.1/hook",
		"https://[::1]/hook", "https://inside.example/hook", "https://metadata.example/", "https://[::ffff:127.0.0.1]/",
		"https://0x7f000001/", "https://nowhere.example/",
	} {
		if err := p.CheckURL(ctx, u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	for _, u := range []string{"http://shop.example/hook", "ftp://shop.example/", "https://user:pw@shop.example/", "/relative", "https://shop.example:99999/"} {
		if err := p.CheckURL(ctx, u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := p.CheckURL(ctx, "https://shop.example/hooks?x=1"); err != nil {
		t.Errorf("a public https URL refused: %v", err)
	}
	err := p.CheckURL(ctx, "https://inside.example/hook")
	if err == nil || !strings.Contains(err.Error(), "10.1.2.3") || !strings.Contains(err.Error(), "public") {
		t.Errorf("refusal does not say why: %v", err)
	}
}

// Requests themselves: loopback, a name that turns private between the check
// and the dial, and a redirect to an inside address are all refused, while an
// allow-listed receiver is reached (over plain HTTP too).
func TestClientRefusesAtDialAndRedirect(t *testing.T) {
	hits := 0
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer inside.Close()
	port := inside.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	ctx := context.Background()

	// Not allow-listed: the loopback receiver is out of reach however it is named.
	dns := newDNS(map[string][]string{"rebind.example": {"93.184.216.34", "127.0.0.1"}})
	p := &Policy{Resolver: dns}
	c := p.Client(2 * time.Second)
	for _, u := range []string{inside.URL, "http://[::1]:" + port + "/"} {
		if _, err := c.Get(u); err == nil || !errors.Is(err, ErrBlocked) {
			t.Errorf("GET %s: %v, want a refusal", u, err)
		}
	}
	if err := p.CheckURL(ctx, "https://rebind.example:"+port+"/"); err != nil {
		t.Fatalf("first answer is public, the check should pass: %v", err)
	}
	if _, err := c.Get("https://rebind.example:" + port + "/"); err == nil || !errors.Is(err, ErrBlocked) {
		t.Errorf("rebinding to loopback after the check: %v, want a refusal", err)
	}
	// The dial's own check holds even if a resolver were bypassed.
	if err := p.control("tcp", "127.0.0.1:"+port, nil); !errors.Is(err, ErrBlocked) {
		t.Errorf("control let loopback through: %v", err)
	}
	if err := p.control("tcp", "[::ffff:169.254.169.254]:80", nil); !errors.Is(err, ErrBlocked) {
		t.Errorf("control let mapped metadata through: %v", err)
	}
	if hits != 0 {
		t.Fatalf("the inside server was reached %d times", hits)
	}

	// Allow-listed loopback: reachable; a redirect from it to an inside
	// address is refused.
	allow, err := ParseAllow("127.0.0.1/32, ::1")
	if err != nil {
		t.Fatal(err)
	}
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.0.0.1/steal", http.StatusFound)
	}))
	defer redir.Close()
	p = &Policy{Allow: allow, Resolver: newDNS(map[string][]string{})}
	c = p.Client(2 * time.Second)
	resp, err := c.Get(inside.URL)
	if err != nil {
		t.Fatalf("allow-listed receiver: %v", err)
	}
	resp.Body.Close()
	if hits != 1 {
		t.Fatalf("hits %d, want 1", hits)
	}
	if _, err := c.Get(redir.URL); err == nil || !errors.Is(err, ErrBlocked) {
		t.Errorf("redirect to 10.0.0.1: %v, want a refusal", err)
	}
	if _, err := ParseAllow("not-an-ip"); err == nil {
		t.Error("a bad allow-list entry was accepted")
	}
}
