package httpx

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// The API reference is rendered by a small page of our own that reads the OpenAPI
// document: it needs no CDN, so it works offline and under a strict CSP.

//go:embed docs/index.html
var docsHTML []byte

//go:embed docs/docs.js
var docsJS []byte

func serveDocs(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(docsHTML)
}

func serveDocsJS(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	return c.Send(docsJS)
}
