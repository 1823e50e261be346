package httpx

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/clientele-crm/clientele/platform/errs"
)

// nulMessage says why a NUL is refused: PostgreSQL text cannot hold one, and the
// database driver would drop it without a word, storing something else than
// what was sent.
const nulMessage = "contains a NUL character (\\u0000), which text cannot hold; remove it"

// rejectNUL refuses a NUL character anywhere in an API request's path, query
// or JSON body with a 422 that names where it is.
func rejectNUL(c *fiber.Ctx) error {
	if strings.IndexByte(c.Path(), 0) >= 0 {
		return errs.Field("path", nulMessage)
	}
	var loc string
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if loc == "" && (bytes.IndexByte(k, 0) >= 0 || bytes.IndexByte(v, 0) >= 0) {
			loc = "query." + strings.ToValidUTF8(strings.ReplaceAll(string(k), "\x00", ""), "")
		}
	})
	if loc != "" {
		return errs.Field(loc, nulMessage)
	}
	if strings.Contains(strings.ToLower(utils.CopyString(c.Get(fiber.HeaderContentType))), "json") && bytes.Contains(c.Body(), []byte(`\u0000`)) {
		// Rare (an escaped NUL is in the body): only then is the body copied to be walked.
		if loc, ok := nulInJSON(bytes.Clone(c.Body())); ok {
			return errs.Field(loc, nulMessage)
		}
	}
	return c.Next()
}

// nulInJSON finds the first string, key or value, holding a NUL and returns its
// location as Huma writes locations (body.emails[1], body.address.line); a NUL
// in a key names the object holding it. Invalid JSON is left to the decoder
// that will refuse it properly.
func nulInJSON(body []byte) (string, bool) {
	type frame struct {
		obj     bool
		key     string
		idx     int
		wantKey bool
	}
	var stack []frame
	path := func(n int) string {
		var b strings.Builder
		b.WriteString("body")
		for _, f := range stack[:n] {
			if f.obj {
				b.WriteString("." + f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.idx) + "]")
			}
		}
		return b.String()
	}
	// value is called before each value: in an array it is the next element.
	value := func() {
		if n := len(stack); n > 0 && !stack[n-1].obj {
			stack[n-1].idx++
		}
	}
	done := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		n := len(stack)
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				value()
				stack = append(stack, frame{obj: v == '{', wantKey: true, idx: -1})
			default:
				stack = stack[:n-1]
				done()
			}
		case string:
			if n > 0 && stack[n-1].obj && stack[n-1].wantKey {
				if strings.IndexByte(v, 0) >= 0 {
					return path(n - 1), true
				}
				stack[n-1].key, stack[n-1].wantKey = v, false
				continue
			}
			value()
			if strings.IndexByte(v, 0) >= 0 {
				return path(n), true
			}
			done()
		default:
			value()
			done()
		}
	}
}
