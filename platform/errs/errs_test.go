package errs

import (
	"net/http"
	"testing"
)

// Every code has its own status, set here and nowhere else, and a status a
// library produces maps back to the same code.
func TestCodesMapToTheirStatus(t *testing.T) {
	want := map[Code]int{
		Invalid: 422, Malformed: 400, NotFound: 404, Gone: 410, Conflict: 409, Forbidden: 403,
		Unauthenticated: 401, RateLimited: 429, TooLarge: 413, MethodNotAllowed: 405,
		Unsupported: 415, Timeout: 504, Unavailable: 503, NotImplemented: 501, Internal: 500,
	}
	if len(want) != len(statusByCode) {
		t.Fatalf("%d codes mapped, %d tested: test every code", len(statusByCode), len(want))
	}
	for code, st := range want {
		e := E(code, "x")
		if code.Status() != st || e.Status != st || e.Title != http.StatusText(st) || e.Type != "urn:clientele:problem:"+string(code) {
			t.Errorf("%s: status %d (%d, %q), want %d", code, code.Status(), e.Status, e.Title, st)
		}
		if back := CodeForStatus(st); back != code {
			t.Errorf("status %d maps back to %s, want %s", st, back, code)
		}
	}
}

func TestOneLineRefusesEveryLineBreak(t *testing.T) {
	for _, s := range []string{"a\nb", "a\r\nBcc: x@y", "a\rb", "tab\there", "nul\x00", "c1\u0085next", "ls\u2028", "ps\u2029"} {
		if OneLine(s) {
			t.Errorf("%q taken as one line", s)
		}
	}
	for _, s := range []string{"", "Acme Trading 顶点贸易", "O'Brien & Sons — Ltd.", "emoji 🙂"} {
		if !OneLine(s) {
			t.Errorf("%q refused", s)
		}
	}
}
