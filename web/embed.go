// Package web embeds the single-page app's production build (web/dist, made by
// `npm run build`) and serves it: files by path, and index.html for every other
// GET so client-side routes survive a reload.
package web

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed all:dist
var dist embed.FS

// notBuilt is served when the binary was built without the web app.
const notBuilt = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Clientele</title>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>Clientele</h1><p>This binary was built without the web app. Run <code>make build</code>
(it builds <code>web/</code> first), or use the API at <a href="/api/docs">/api/docs</a>.</p></body></html>`

// Built reports whether the embedded build holds an index.html.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// Handler serves the app. Hashed assets are cached for a year; index.html is
// never cached, so a deploy takes effect on the next load.
func Handler() fiber.Handler {
	root, _ := fs.Sub(dist, "dist")
	index, _ := fs.ReadFile(root, "index.html")
	return func(c *fiber.Ctx) error {
		p := strings.TrimPrefix(path.Clean("/"+c.Path()), "/")
		if p != "" && p != "index.html" && !strings.HasPrefix(path.Base(p), ".") {
			if b, err := fs.ReadFile(root, p); err == nil {
				if ct := mime.TypeByExtension(path.Ext(p)); ct != "" {
					c.Set(fiber.HeaderContentType, ct)
				}
				if strings.HasPrefix(p, "assets/") {
					c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
				}
				return c.Status(http.StatusOK).Send(b)
			}
			// A missing asset is a 404, not the app: a stale chunk must fail loudly.
			if strings.HasPrefix(p, "assets/") {
				return fiber.ErrNotFound
			}
		}
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
		if len(index) == 0 {
			return c.Status(http.StatusOK).SendString(notBuilt)
		}
		return c.Status(http.StatusOK).Send(index)
	}
}
