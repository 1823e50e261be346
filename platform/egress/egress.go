// Package egress makes HTTP requests to addresses that tenants choose (webhook
// receivers) without letting them reach inside our network: no private,
// loopback, link-local, multicast, reserved or cloud-metadata address, checked
// after DNS resolution, on every redirect, and again on the address actually
// dialled, so a name whose answer changes between the check and the dial (DNS
// rebinding) is caught. An allow-list from configuration (tests, receivers on
// the same premises) is the only exception.
package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is matched (errors.Is) by every refusal of an address.
var ErrBlocked = errors.New("egress: address not allowed")

// Resolver looks names up; *net.Resolver implements it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy says where requests may go.
type Policy struct {
	// Allow lists addresses (an IP or a CIDR prefix) that may be reached even
	// though they are not public, and over plain HTTP.
	Allow []netip.Prefix
	// Resolver looks names up; nil: the system resolver.
	Resolver Resolver
}

// ParseAllow reads a comma-separated allow-list of IPs and CIDR prefixes
// ("127.0.0.1, 10.1.0.0/16"). An empty string allows nothing.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("egress: %q is neither an IP address nor a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// special are ranges that are not reachable public hosts, beyond what netip's
// predicates (loopback, private, link-local, multicast, unspecified) cover.
var special = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // this network
		"100.64.0.0/10",   // carrier-grade NAT
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, and the broadcast address
		"64:ff9b::/96",    // NAT64: may embed a private IPv4 address
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard
		"2001::/32",       // Teredo
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4: may embed a private IPv4 address
		"fec0::/10",       // deprecated site-local
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Public reports whether a is an address on the public internet.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range special {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

func (p *Policy) allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, pr := range p.Allow {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// Permits reports whether a may be dialled.
func (p *Policy) Permits(a netip.Addr) bool { return p.allowed(a) || Public(a) }

func (p *Policy) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// resolve returns the addresses of host (an IP literal is its own), refusing
// when any of them may not be dialled: a name with one private answer among
// public ones is refused as a whole, since the dial could pick that one.
func (p *Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		addrs, err = p.resolver().LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("egress: %s does not resolve: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("egress: %s has no address", host)
		}
	}
	for _, a := range addrs {
		if !p.Permits(a) {
			return nil, fmt.Errorf("%w: %s resolves to %s, which is not a public address", ErrBlocked, host, a.Unmap())
		}
	}
	return addrs, nil
}

// CheckURL refuses a URL requests may not go to: not absolute, not HTTPS (plain
// HTTP only to allow-listed addresses), with credentials, or whose host
// resolves to an address that is not public and not allow-listed. The error
// says why in words a user can act on.
func (p *Policy) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return errors.New("must be an absolute URL such as https://example.com/hooks")
	}
	if u.User != nil {
		return errors.New("must not carry a user name or password; sign requests with the subscription's secret instead")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return errors.New("must use https")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("has an invalid port")
		}
	}
	addrs, err := p.resolve(ctx, u.Hostname())
	if err != nil && u.Scheme == "http" {
		return errors.New("must use https")
	}
	if err != nil {
		if errors.Is(err, ErrBlocked) {
			return fmt.Errorf("must reach a public address: %s resolves to %s", u.Hostname(), blockedAddr(err))
		}
		return fmt.Errorf("host %s does not resolve", u.Hostname())
	}
	if u.Scheme == "http" {
		for _, a := range addrs {
			if !p.allowed(a) {
				return errors.New("must use https")
			}
		}
	}
	return nil
}

func blockedAddr(err error) string {
	s := err.Error()
	if i := strings.Index(s, " resolves to "); i >= 0 {
		s = s[i+len(" resolves to "):]
		if j := strings.Index(s, ","); j >= 0 {
			return s[:j] + ", which is not a public address"
		}
	}
	return "an address that is not public"
}

// control refuses, at connect time, an address that may not be dialled: the
// last word, whatever resolved it.
func (p *Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read dialled address %q", ErrBlocked, address)
	}
	if !p.Permits(ap.Addr()) {
		return fmt.Errorf("%w: %s is not a public address", ErrBlocked, ap.Addr().Unmap())
	}
	return nil
}

// MaxRedirects is how many redirects a request follows.
const MaxRedirects = 3

// Client is an HTTP client whose every connection goes through the policy: the
// name is resolved and checked, one of its addresses dialled, and the dialled
// address checked again. Redirects are followed up to MaxRedirects, each
// checked the same way; no proxy from the environment is used.
func (p *Policy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: p.control}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			addrs, err := p.resolve(ctx, host)
			if err != nil {
				return nil, err
			}
			var last error
			for _, a := range addrs {
				c, err := dialer.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
				if err == nil {
					return c, nil
				}
				last = err
			}
			return nil, last
		},
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", MaxRedirects)
			}
			if err := p.CheckURL(req.Context(), req.URL.String()); err != nil {
				return fmt.Errorf("%w: redirect to %s refused: %s", ErrBlocked, req.URL.Redacted(), err)
			}
			return nil
		},
	}
}
