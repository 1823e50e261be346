// Package web embeds the single-page app's production build (web/dist, made by
// `npm run build`) and serves it: files by path, and index.html for every other
// GET so client-side routes survive a reload.
package web

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"

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

// compressible are the kinds of file worth gzipping (images are compressed already).
var compressible = map[string]bool{".js": true, ".css": true, ".html": true, ".json": true, ".svg": true, ".webmanifest": true, ".txt": true}

// gzipped holds each compressible file's gzip once it was first asked for: the
// build is read-only, so a file is compressed at most once per process.
type gzipped struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (g *gzipped) get(name string, b []byte) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	if z, ok := g.files[name]; ok {
		return z
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	z := buf.Bytes()
	if len(z) >= len(b) {
		z = nil // not worth it; serve as is
	}
	g.files[name] = z
	return z
}

// preloadRoute names the screens of a client-side path whose code the page should
// fetch at once, as keys of dist/.preload.json (written by the build, see
// vite.config.ts): "login", or "shell" and the screen inside it. Other paths get none.
func preloadRoute(p string) []string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) == 1 && (parts[0] == "login" || parts[0] == "registration" || parts[0] == "recovery"):
		return parts
	case len(parts) >= 2 && parts[0] == "t" && parts[1] != "":
		switch rest := parts[2:]; {
		case len(rest) == 0:
			return []string{"shell", "overview"}
		case len(rest) == 1 && rest[0] == "customers":
			return []string{"shell", "customers"}
		case len(rest) == 2 && rest[0] == "customers" && rest[1] != "":
			return []string{"shell", "customer"}
		default:
			return []string{"shell"}
		}
	}
	return nil
}

// withPreloads returns index.html with a <link rel="modulepreload"> for each file
// of the named screens put before </head>, or index unchanged when there is none.
func withPreloads(index []byte, files map[string][]string, names []string) []byte {
	var links strings.Builder
	seen := map[string]bool{}
	for _, n := range names {
		for _, f := range files[n] {
			if !seen[f] && strings.HasPrefix(f, "/assets/") {
				seen[f] = true
				links.WriteString(`<link rel="modulepreload" crossorigin href="` + html.EscapeString(f) + `">`)
			}
		}
	}
	i := bytes.Index(index, []byte("</head>"))
	if links.Len() == 0 || i < 0 {
		return index
	}
	out := make([]byte, 0, len(index)+links.Len())
	out = append(out, index[:i]...)
	out = append(out, links.String()...)
	return append(out, index[i:]...)
}

// Handler serves the app. Hashed assets are cached for a year; index.html, the
// service worker and the manifest are never cached, so a deploy takes effect on
// the next load. Text files go out Brotli-compressed (the build's .br copies) or
// gzipped to clients that accept it.
func Handler() fiber.Handler {
	root, _ := fs.Sub(dist, "dist")
	index, _ := fs.ReadFile(root, "index.html")
	// index.html per screen, with that screen's code preloaded (built once, here).
	var preload map[string][]string
	if b, err := fs.ReadFile(root, ".preload.json"); err == nil {
		_ = json.Unmarshal(b, &preload)
	}
	pages := map[string][]byte{}
	pageFor := func(p string) (string, []byte) {
		names := preloadRoute(p)
		key := "index." + strings.Join(names, "+") + ".html"
		if b, ok := pages[key]; ok {
			return key, b
		}
		return "index.html", index
	}
	for _, p := range []string{"/login", "/registration", "/recovery", "/t/x", "/t/x/customers", "/t/x/customers/x", "/t/x/x"} {
		names := preloadRoute(p)
		pages["index."+strings.Join(names, "+")+".html"] = withPreloads(index, preload, names)
	}
	gz := &gzipped{files: map[string][]byte{}}
	send := func(c *fiber.Ctx, name string, b []byte) error {
		c.Vary(fiber.HeaderAcceptEncoding)
		ae := strings.Clone(c.Get(fiber.HeaderAcceptEncoding))
		// The build's Brotli copy (scripts/precompress.mjs), when there is one.
		if compressible[path.Ext(name)] && acceptsEncoding(ae, "br") {
			if z, err := fs.ReadFile(root, name+".br"); err == nil {
				c.Set(fiber.HeaderContentEncoding, "br")
				return c.Status(http.StatusOK).Send(z)
			}
		}
		if compressible[path.Ext(name)] && len(b) > 512 && acceptsGzip(ae) {
			if z := gz.get(name, b); z != nil {
				c.Set(fiber.HeaderContentEncoding, "gzip")
				return c.Status(http.StatusOK).Send(z)
			}
		}
		return c.Status(http.StatusOK).Send(b)
	}
	return func(c *fiber.Ctx) error {
		p := strings.TrimPrefix(path.Clean("/"+c.Path()), "/")
		if p != "" && p != "index.html" && !strings.HasPrefix(path.Base(p), ".") {
			if b, err := fs.ReadFile(root, p); err == nil {
				switch ext := path.Ext(p); {
				case ext == ".webmanifest":
					c.Set(fiber.HeaderContentType, "application/manifest+json")
				default:
					if ct := mime.TypeByExtension(ext); ct != "" {
						c.Set(fiber.HeaderContentType, ct)
					}
				}
				switch {
				case strings.HasPrefix(p, "assets/"):
					c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
				case p == "sw.js" || p == "manifest.webmanifest":
					c.Set(fiber.HeaderCacheControl, "no-cache")
				case strings.HasPrefix(p, "icons/"):
					c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
				}
				return send(c, p, b)
			}
			// A missing asset is a 404, not the app: a stale chunk must fail loudly.
			if strings.HasPrefix(p, "assets/") || strings.HasPrefix(p, "icons/") {
				return fiber.ErrNotFound
			}
		}
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
		if len(index) == 0 {
			return c.Status(http.StatusOK).SendString(notBuilt)
		}
		name, page := pageFor(strings.Clone(c.Path()))
		return send(c, name, page)
	}
}

// acceptsGzip reads an Accept-Encoding header: gzip listed without q=0.
func acceptsGzip(h string) bool { return acceptsEncoding(h, "gzip") }

// acceptsEncoding reads an Accept-Encoding header: enc (or *) listed without q=0.
func acceptsEncoding(h, enc string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), enc) || strings.TrimSpace(name) == "*" {
			q := strings.ReplaceAll(params, " ", "")
			return !(strings.HasPrefix(q, "q=0") && strings.Trim(strings.TrimPrefix(q, "q="), "0.") == "")
		}
	}
	return false
}
