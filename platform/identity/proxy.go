package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
)

// publicPaths are the Kratos public API routes a browser may reach. Everything
// else, the admin API above all, is 404 through the proxy; Kratos's public port
// even redirects some old admin paths, so a deny-list would not do.
var publicPaths = []string{"/self-service/", "/sessions", "/schemas", "/.well-known/ory/"}

func allowedPublicPath(p string) bool {
	for _, a := range publicPaths {
		if strings.HasSuffix(a, "/") {
			if strings.HasPrefix(p, a) {
				return true
			}
		} else if p == a || strings.HasPrefix(p, a+"/") {
			return true
		}
	}
	return false
}

// hopHeaders are per-connection and never forwarded (RFC 9110 7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func dropHopHeaders(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			h.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// ProxyHandler serves the Kratos public API under the app's own origin, so that
// the web app's browser flows get same-origin cookies. Mount it at ProxyPrefix:
//
//	app.All("/kratos/*", k.ProxyHandler())
//
// It strips the prefix, forwards cookies and answers (Set-Cookie and redirects
// included) unchanged, sets X-Forwarded-For/Host/Proto, streams the response body,
// bounds each request by ProxyTimeout, and never reaches the admin API.
func (k *Kratos) ProxyHandler() fiber.Handler {
	return func(c *fiber.Ctx) error {
		raw := string(c.Request().URI().PathOriginal())
		rest, ok := strings.CutPrefix(raw, k.o.ProxyPrefix)
		if !ok || (rest != "" && rest[0] != '/') {
			return errs.E(errs.NotFound, "No such identity endpoint.")
		}
		unescaped, err := url.PathUnescape(rest)
		if err != nil {
			return errs.E(errs.NotFound, "No such identity endpoint.")
		}
		// Refuse dot segments and doubled slashes outright instead of resolving
		// them: /kratos/self-service/../admin must not become /admin.
		clean := path.Clean("/" + unescaped)
		if clean != unescaped || !allowedPublicPath(clean) {
			return errs.E(errs.NotFound, "No such identity endpoint.")
		}
		target := *k.upstream
		target.Path = strings.TrimRight(target.Path, "/") + clean
		target.RawPath = ""
		target.RawQuery = string(c.Request().URI().QueryString())

		ctx, cancel := context.WithTimeout(context.Background(), k.o.ProxyTimeout)
		reqBody := bytes.Clone(c.Body()) // Fiber reuses its buffer
		var body io.Reader
		if len(reqBody) > 0 {
			body = bytes.NewReader(reqBody)
		}
		req, err := http.NewRequestWithContext(ctx, strings.Clone(c.Method()), target.String(), body)
		if err != nil {
			cancel()
			return errs.E(errs.Malformed, "The request could not be forwarded to the identity service.")
		}
		c.Request().Header.VisitAll(func(key, value []byte) {
			req.Header.Add(string(key), string(value))
		})
		dropHopHeaders(req.Header)
		req.Header.Del("Host")
		req.Header.Del("Content-Length")
		req.ContentLength = int64(len(reqBody))
		// Only this proxy speaks for the client: drop what the client claimed.
		req.Header.Del("Forwarded")
		// The request may outlive the handler (the transport reads on while the
		// response streams), and Fiber's strings borrow buffers it reuses.
		req.Header.Set("X-Forwarded-For", clientAddr(c))
		req.Header.Set("X-Forwarded-Host", strings.Clone(c.Hostname()))
		req.Header.Set("X-Forwarded-Proto", strings.Clone(c.Protocol()))
		if req.Header.Get("Accept-Encoding") == "" {
			// Otherwise Go's transport would ask for gzip and unpack it itself.
			req.Header.Set("Accept-Encoding", "identity")
		}

		signOut := signOutOf(clean, req.Method, req.Header.Get("Cookie"), reqBody)
		signIn := signInOf(clean, req.Method, req.Header.Get(fiber.HeaderContentType), clientAddr(c), reqBody)
		// Kratos known to be down: refuse before counting a sign-in attempt.
		if err := k.o.Breaker.Allow(); err != nil {
			cancel()
			return k.unavailable(err)
		}
		if err := k.admitSignIn(ctx, signIn); err != nil {
			cancel()
			if e, ok := err.(*errs.Error); ok && e.RetryAfter > 0 {
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(e.RetryAfter))
			}
			return err
		}
		// A frozen Kratos must not hold the caller for the whole ProxyTimeout:
		// the answer's headers are due within Timeout (hashing a password
		// takes a fraction of it); the body may then stream for longer.
		headers := time.AfterFunc(k.o.Timeout, cancel)
		resp, err := k.proxyHC.Do(req)
		headers.Stop()
		if err != nil || resp.StatusCode >= 500 {
			k.o.Breaker.Record(false)
		} else {
			k.o.Breaker.Record(true)
		}
		if resp != nil {
			k.settleSignIn(signIn, resp.StatusCode, resp.Header.Get("Location"))
		}
		if signOut != nil {
			// Whatever Kratos answered: at worst the next request asks it again.
			k.RecordSignOut(context.Background(), signOut.token, signOut.cookie)
		}
		if err != nil {
			cancel()
			k.log.Warn("identity: kratos proxy: upstream unreachable", "error", withoutURL(err))
			return k.unavailable(fmt.Errorf("identity: proxy: %s", withoutURL(err)))
		}
		if resp.StatusCode >= 500 {
			// Kratos failing (its database down, say): the browser gets our
			// problem document, which the web app explains, not Kratos's page.
			resp.Body.Close()
			cancel()
			k.log.Warn("identity: kratos proxy: upstream failed", "status", resp.StatusCode)
			return k.unavailable(fmt.Errorf("identity: proxy: kratos answered %d", resp.StatusCode))
		}
		dropHopHeaders(resp.Header)
		c.Status(resp.StatusCode)
		for name, values := range resp.Header {
			switch http.CanonicalHeaderKey(name) {
			case "Content-Length", "Date", "Server": // Fasthttp writes its own.
				continue
			}
			for _, v := range values {
				c.Response().Header.Add(name, v)
			}
		}
		size := int(resp.ContentLength)
		if c.Method() == http.MethodHead || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
			resp.Body.Close()
			cancel()
			return nil
		}
		// Fasthttp reads the stream after this handler returns and closes it
		// then; closing also ends the request's deadline.
		c.Context().SetBodyStream(&cancelOnClose{ReadCloser: resp.Body, cancel: cancel}, size)
		return nil
	}
}

type signOutCreds struct{ token, cookie string }

// signOutOf recognises Kratos's two logouts: the API one (DELETE
// /self-service/logout/api with the session token in the body) and the
// browser one (GET /self-service/logout?token=..., with the session cookie).
func signOutOf(path, method, cookie string, body []byte) *signOutCreds {
	switch {
	case path == "/self-service/logout/api" && method == http.MethodDelete:
		var b struct {
			Token string `json:"session_token"`
		}
		if json.Unmarshal(body, &b) != nil || b.Token == "" {
			return nil
		}
		return &signOutCreds{token: b.Token}
	case path == "/self-service/logout" && cookie != "":
		return &signOutCreds{cookie: cookie}
	}
	return nil
}

// clientAddr is the client's address as the app's middleware read it (behind
// trusted proxies, from X-Forwarded-For), or the connection's.
func clientAddr(c *fiber.Ctx) string {
	if ip := httpx.RequestFrom(c.UserContext()).ClientIP; ip != "" {
		return ip
	}
	return strings.Clone(c.IP())
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (r *cancelOnClose) Close() error {
	err := r.ReadCloser.Close()
	r.cancel()
	return err
}
