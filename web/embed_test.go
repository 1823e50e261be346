package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"":                     false,
		"gzip":                 true,
		"gzip, deflate, br":    true,
		"br;q=1.0, gzip;q=0.8": true,
		"gzip;q=0":             false,
		"gzip;q=0.000":         false,
		"identity":             false,
		"*":                    true,
		"deflate, GZIP;q=0.5":  true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

// The page goes out gzipped to a browser that asks for it, whole to one that
// does not, and both decode to the same bytes.
func TestHandlerGzipsText(t *testing.T) {
	if !Built() {
		t.Skip("web/dist holds no build (run `make build`)")
	}
	app := fiber.New()
	app.Use(Handler())
	get := func(path, enc string) (*httpResp, error) {
		req := httptest.NewRequest("GET", path, nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		res, err := app.Test(req)
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(res.Body)
		return &httpResp{res.StatusCode, res.Header.Get("Content-Encoding"), res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), b}, nil
	}
	plain, err := get("/t/acme/customers", "")
	if err != nil || plain.status != 200 || plain.encoding != "" {
		t.Fatalf("plain: %+v %v", plain, err)
	}
	zipped, err := get("/t/acme/customers", "gzip, br")
	if err != nil || zipped.status != 200 || zipped.encoding != "gzip" {
		t.Fatalf("gzip: status %d encoding %q %v", zipped.status, zipped.encoding, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped.body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain.body) {
		t.Fatal("the gzipped page differs from the plain one")
	}
	m, err := get("/manifest.webmanifest", "")
	if err != nil || m.status != 200 || m.ctype != "application/manifest+json" || m.cache != "no-cache" {
		t.Fatalf("manifest: %+v %v", m, err)
	}
	sw, err := get("/sw.js", "")
	if err != nil || sw.status != 200 || sw.cache != "no-cache" {
		t.Fatalf("service worker: %+v %v", sw, err)
	}
	if r, _ := get("/icons/nope.png", ""); r.status != 404 {
		t.Fatalf("a missing icon: %d, want 404", r.status)
	}
}

type httpResp struct {
	status                 int
	encoding, ctype, cache string
	body                   []byte
}

func TestPreloadRoute(t *testing.T) {
	for p, want := range map[string]string{
		"/login":                 "login",
		"/registration/":         "registration",
		"/t/acme":                "shell+overview",
		"/t/acme/customers":      "shell+customers",
		"/t/acme/customers/42":   "shell+customer",
		"/t/acme/customers/42/x": "shell",
		"/t/acme/tasks":          "shell",
		"/":                      "",
		"/settings":              "",
		"/t/":                    "",
		"/login/extra":           "",
	} {
		if got := strings.Join(preloadRoute(p), "+"); got != want {
			t.Errorf("preloadRoute(%q) = %q, want %q", p, got, want)
		}
	}
}

// Each file of the named screens is preloaded once, before </head>; only
// /assets/ files are, and a page without screens is left as it was.
func TestWithPreloads(t *testing.T) {
	index := []byte("<html><head><title>x</title></head><body></body></html>")
	files := map[string][]string{"shell": {"/assets/a.js", "/assets/b.js"}, "customers": {"/assets/b.js", "/assets/c.js", "https://evil.example/x.js"}}
	got := string(withPreloads(index, files, []string{"shell", "customers"}))
	want := `<html><head><title>x</title><link rel="modulepreload" crossorigin href="/assets/a.js"><link rel="modulepreload" crossorigin href="/assets/b.js"><link rel="modulepreload" crossorigin href="/assets/c.js"></head><body></body></html>`
	if got != want {
		t.Errorf("withPreloads:\n got %s\nwant %s", got, want)
	}
	if got := withPreloads(index, files, nil); !bytes.Equal(got, index) {
		t.Errorf("no screens: %s", got)
	}
}

// The built app's sign-in page preloads the sign-in screen's code; the root does not.
func TestHandlerPreloadsRouteCode(t *testing.T) {
	if !Built() {
		t.Skip("web/dist holds no build (run `make build`)")
	}
	app := fiber.New()
	app.Use(Handler())
	body := func(path string) string {
		res, err := app.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	root := body("/")
	login := body("/login")
	customers := body("/t/acme/customers")
	if strings.Count(login, "modulepreload") <= strings.Count(root, "modulepreload") {
		t.Errorf("/login preloads no more than /:\n%s", login)
	}
	if strings.Count(customers, "modulepreload") <= strings.Count(root, "modulepreload") {
		t.Errorf("/t/acme/customers preloads no more than /:\n%s", customers)
	}
}

// A script with a Brotli copy from the build goes out as br to a browser that
// accepts it, and gzipped to one that accepts only gzip.
func TestHandlerSendsBrotliCopy(t *testing.T) {
	if !Built() {
		t.Skip("web/dist holds no build (run `make build`)")
	}
	var asset string
	_ = fs.WalkDir(dist, "dist/assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && asset == "" && strings.HasSuffix(p, ".js.br") {
			asset = strings.TrimSuffix(strings.TrimPrefix(p, "dist"), ".br")
		}
		return nil
	})
	if asset == "" {
		t.Skip("the build holds no .br files (an old build: run `npm run build`)")
	}
	app := fiber.New()
	app.Use(Handler())
	for enc, want := range map[string]string{"gzip, deflate, br, zstd": "br", "gzip": "gzip", "br;q=0, gzip": "gzip"} {
		req := httptest.NewRequest("GET", asset, nil)
		req.Header.Set("Accept-Encoding", enc)
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Header.Get("Content-Encoding"); res.StatusCode != 200 || got != want {
			t.Errorf("%s with Accept-Encoding %q: status %d, encoding %q, want %q", asset, enc, res.StatusCode, got, want)
		}
		if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
			t.Errorf("%s: content type %q", asset, ct)
		}
	}
}
