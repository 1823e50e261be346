package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
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
