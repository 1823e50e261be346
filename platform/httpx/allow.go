package httpx

import (
	"regexp"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// methodOrder is the order methods are listed in an Allow header.
var methodOrder = []string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete, fiber.MethodOptions}

// allowTable knows, for every registered path template, the methods it takes, so
// a wrong method on a known path can answer 405 with Allow instead of 404.
type allowTable struct {
	once   sync.Once
	routes []allowRoute
}

type allowRoute struct {
	re      *regexp.Regexp
	methods map[string]bool
}

// build reads the app's routes once every route is registered.
func (a *allowTable) build(app *fiber.App) {
	a.once.Do(func() {
		byPath := map[string]map[string]bool{}
		var order []string
		for _, r := range app.GetRoutes(true) {
			if byPath[r.Path] == nil {
				byPath[r.Path] = map[string]bool{}
				order = append(order, r.Path)
			}
			byPath[r.Path][r.Method] = true
		}
		for _, p := range order {
			a.routes = append(a.routes, allowRoute{re: templateRegexp(p), methods: byPath[p]})
		}
	})
}

// templateRegexp matches what Fiber's router would match for a path template:
// :param is one segment, * anything; case-insensitive, trailing slash optional.
func templateRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?i)^")
	for i, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if i > 0 || p != "" {
			b.WriteString("/")
		}
		switch {
		case strings.HasPrefix(seg, ":"):
			b.WriteString("[^/]+")
		case seg == "*" || seg == "+":
			b.WriteString(".*")
		default:
			b.WriteString(regexp.QuoteMeta(seg))
		}
	}
	b.WriteString("/?$")
	return regexp.MustCompile(b.String())
}

// allowed returns the Allow header for path, or "" when no route has that path.
func (a *allowTable) allowed(app *fiber.App, path string) string {
	a.build(app)
	methods := map[string]bool{}
	for _, r := range a.routes {
		if r.re.MatchString(path) {
			for m := range r.methods {
				methods[m] = true
			}
		}
	}
	var out []string
	for _, m := range methodOrder {
		if methods[m] {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}
