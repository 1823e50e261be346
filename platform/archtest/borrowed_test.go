package archtest

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// The tree keeps no value borrowed from Fiber's buffers (docs/fiber-strings.md).
func TestNoBorrowedFiberStrings(t *testing.T) {
	found, files, err := CheckBorrowedTree(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("looked at %d files; the check is not looking at the tree", files)
	}
	for _, f := range found {
		t.Error(f)
	}
}

const borrowedHeader = `package x

import (
	"context"
	"regexp"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/google/uuid"
)

var vec interface{ WithLabelValues(...string) any }
var re = regexp.MustCompile("x")
var keep []string

func use(string) {}
`

// Each case is one handler body; bad ones must be named, good ones must pass.
func TestBorrowedRuleCases(t *testing.T) {
	bad := map[string]string{
		"label":            `vec.WithLabelValues(c.Method())`,
		"named first":      `m := c.Method(); vec.WithLabelValues(m)`,
		"goroutine":        `go use(c.Params("id"))`,
		"closure":          `go func() { use(c.Path()) }()`,
		"context value":    `_ = context.WithValue(context.Background(), 1, c.IP())`,
		"getter handed on": `f := c.Get; _ = f`,
		"kept in a slice":  `keep = append(keep, c.Query("q"))`,
		"string of string": `use(string(c.Get("X")))`,
		"empty concat":     `use("" + c.Path())`,
		"body bytes kept":  `if b := c.Body(); len(b) > 0 { _ = b }`,
		"fasthttp bytes":   `h := c.Request().Header.Peek("X"); _ = h`,
		"huma header":      `_ = context.WithValue(context.Background(), 1, h.Header("X"))`,
		"huma param named": `p := h.Param("tenant"); use(p)`,
		"huma getter":      `g := h.Header; _ = g`,
		"trim keeps":       `use(strings.TrimSpace(c.Get("X")))`,
	}
	good := map[string]string{
		"copied":          `vec.WithLabelValues(utils.CopyString(c.Method()))`,
		"cloned":          `keep = append(keep, strings.Clone(c.Query("q")))`,
		"compared":        `if c.Method() == "GET" { use("x") }`,
		"switched on":     `switch c.Method() { case "GET": }`,
		"parsed":          `id, _ := uuid.Parse(c.Params("id")); _ = id`,
		"measured":        `_ = len(c.Body())`,
		"body copied":     `use(string(c.Body()))`,
		"concatenated":    `use("/" + c.Path())`,
		"matched":         `_ = re.MatchString(c.Get("X"))`,
		"prefix checked":  `_ = strings.HasPrefix(c.Path(), "/api")`,
		"fasthttp copied": `use(string(c.Request().URI().PathOriginal()))`,
		"response length": `_ = len(c.Response().Body())`,
		"huma cloned":     `use(strings.Clone(h.Param("tenant")))`,
		"huma compared":   `_ = h.Header("X") != ""`,
		"other receiver":  `var r struct{ Path string }; use(r.Path)`,
	}
	check := func(body string) []string {
		src := borrowedHeader + "\nfunc handler(c *fiber.Ctx, h huma.Context) {\n" + body + "\n}\n"
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", src, 0)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return CheckBorrowed(fset, f)
	}
	for name, body := range bad {
		if got := check(body); len(got) == 0 {
			t.Errorf("%s: not flagged: %s", name, body)
		}
	}
	for name, body := range good {
		if got := check(body); len(got) != 0 {
			t.Errorf("%s: flagged: %s", name, strings.Join(got, "; "))
		}
	}
}
