package httpx

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// Every way a module can add a route to its raw tenant router enters the
// tenant first, chained calls and groups included; the ways that cannot
// (static files, mounted apps, group-wide handlers) refuse at startup.
func TestEveryTenantRouterRouteEntersTheTenant(t *testing.T) {
	app := fiber.New()
	entered := 0
	var r fiber.Router = tenantRouter{Router: app.Group("/t/:tenant"), enter: func(c *fiber.Ctx) error {
		entered++
		return c.Next()
	}}
	ok := func(c *fiber.Ctx) error { return c.SendStatus(204) }
	r.Get("/a", ok).Post("/b", ok).Name("b").Put("/c", ok)
	r.Patch("/d", ok)
	r.Delete("/e", ok)
	r.Head("/f", ok)
	r.Options("/g", ok)
	r.Trace("/h", ok)
	r.Connect("/i", ok)
	r.Add("GET", "/j", ok)
	r.All("/k", ok)
	r.Group("/grp").Get("/l", ok)
	r.Route("/rt", func(sub fiber.Router) { sub.Get("/m", ok) })
	for _, c := range []struct{ method, path string }{
		{"GET", "/a"}, {"POST", "/b"}, {"PUT", "/c"}, {"PATCH", "/d"}, {"DELETE", "/e"}, {"HEAD", "/f"},
		{"OPTIONS", "/g"}, {"TRACE", "/h"}, {"CONNECT", "/i"}, {"GET", "/j"}, {"POST", "/k"}, {"GET", "/grp/l"}, {"GET", "/rt/m"},
	} {
		before := entered
		resp, err := app.Test(httptest.NewRequest(c.method, "/t/acme"+c.path, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 204 || entered != before+1 {
			t.Errorf("%s %s: status %d, entered the tenant %d times", c.method, c.path, resp.StatusCode, entered-before)
		}
	}
	for name, f := range map[string]func(){
		"Use":         func() { r.Use(ok) },
		"Static":      func() { r.Static("/s", ".") },
		"Mount":       func() { r.Mount("/m", fiber.New()) },
		"Group(h...)": func() { r.Group("/x", ok) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s on a tenant router did not refuse", name)
				}
			}()
			f()
		}()
	}
}
