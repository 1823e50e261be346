package errs

import "unicode"

// OneLineMessage is what a refused single-line field says.
const OneLineMessage = "must be one line: remove line breaks, tabs and other control characters"

// OneLine reports whether s is fit for a single-line field: a name or a subject
// that may end up in a mail header, a file name or a CSV cell. It refuses every
// control character (line feeds, carriage returns, tabs, NUL, the C1 set) and
// the Unicode line and paragraph separators, which some mail clients and
// editors also break lines on.
func OneLine(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}
