package profiles

import (
	"net/mail"
	"sort"
	"strings"
	"unicode"
)

// Search terms are rows found by btree equality or a prefix range, which work
// under RLS. Kinds: "n:" name tokens (each CJK character and CJK bigram, each
// lowercased word of other scripts), "e:" emails, "p:" phone digits.

func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// textRuns splits s into its runs, in order: each word of letters and digits
// goes to word, each run of CJK characters to cjk, and anything else only
// separates them. The slices are reused after each call.
func textRuns(s string, word, cjk func(run []rune)) {
	var w, c []rune
	flushWord := func() {
		if len(w) > 0 {
			word(w)
			w = w[:0]
		}
	}
	flushCJK := func() {
		if len(c) > 0 {
			cjk(c)
			c = c[:0]
		}
	}
	for _, r := range s {
		switch {
		case isCJK(r):
			flushWord()
			c = append(c, r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			flushCJK()
			w = append(w, r)
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
}

// nameTerms tokenises a name.
func nameTerms(name string) []string {
	set := map[string]bool{}
	textRuns(strings.ToLower(name), func(word []rune) { set["n:"+string(word)] = true }, func(cjk []rune) {
		for i, r := range cjk {
			set["n:"+string(r)] = true
			if i+1 < len(cjk) {
				set["n:"+string(cjk[i:i+2])] = true
			}
		}
	})
	out := make([]string, 0, len(set))
	for t := range set {
		if len(t) <= 200 {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// normalizeEmail lowercases a valid address; ok is false for an invalid one.
func normalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", false
	}
	at := strings.LastIndex(a.Address, "@")
	if at < 1 || !strings.Contains(a.Address[at:], ".") || len(a.Address) > 254 {
		return "", false
	}
	return strings.ToLower(a.Address), true
}

// phoneDigits keeps the digits of a phone number; ok needs 5 to 15 of them and
// nothing but digits, spaces, dashes, dots, parentheses and one leading plus.
func phoneDigits(s string) (string, bool) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			return "", false
		}
	}
	d := b.String()
	return d, len(d) >= 5 && len(d) <= 15
}

// phoneTerms stores the digits, and for numbers written with a country code
// (+86 138…) also the national number, so either prefix finds it.
func phoneTerms(raw, digits string) []string {
	out := []string{"p:" + digits}
	if strings.HasPrefix(strings.TrimSpace(raw), "+") {
		for _, cc := range []string{"86", "852", "853", "886", "1", "44", "49", "33", "81", "82", "65"} {
			if strings.HasPrefix(digits, cc) && len(digits)-len(cc) >= 6 {
				out = append(out, "p:"+digits[len(cc):])
				break
			}
		}
	}
	return out
}

// termsOf lists every search term of a customer.
func termsOf(c *Customer) []string {
	set := map[string]bool{}
	for _, t := range nameTerms(c.Name) {
		set[t] = true
	}
	for _, e := range c.Emails {
		if n, ok := normalizeEmail(e); ok {
			set["e:"+n] = true
		}
	}
	for _, p := range c.Phones {
		if d, ok := phoneDigits(p); ok {
			for _, t := range phoneTerms(p, d) {
				set[t] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// contactKeys are the normalised emails and phones duplicates are detected on.
func contactKeys(c *Customer) []string {
	set := map[string]bool{}
	for _, e := range c.Emails {
		if n, ok := normalizeEmail(e); ok {
			set["e:"+n] = true
		}
	}
	for _, p := range c.Phones {
		if d, ok := phoneDigits(p); ok {
			ts := phoneTerms(p, d)
			set[ts[len(ts)-1]] = true // the national number when a country code was given
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// searchPlan turns q into term conditions: each group is a set of alternatives
// (exact terms or prefixes), and a customer must match every group.
type termCond struct {
	exact  string
	prefix string
}

func searchPlan(q string) [][]termCond {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return nil
	}
	if strings.Contains(q, "@") {
		return [][]termCond{{{prefix: "e:" + q}}}
	}
	if d, ok := phoneDigits(q); ok && len(d) >= 3 || (len(q) >= 3 && strings.Trim(q, "0123456789+ -") == "") {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, q)
		if d != "" {
			digits = d
		}
		return [][]termCond{{{prefix: "p:" + digits}}}
	}
	var groups [][]termCond
	textRuns(q, func(word []rune) {
		w := string(word)
		groups = append(groups, []termCond{{prefix: "n:" + w}, {prefix: "e:" + w}})
	}, func(cjk []rune) {
		if len(cjk) == 1 {
			groups = append(groups, []termCond{{exact: "n:" + string(cjk)}})
			return
		}
		for i := 0; i+1 < len(cjk); i++ {
			groups = append(groups, []termCond{{exact: "n:" + string(cjk[i:i+2])}})
		}
	})
	if len(groups) > 8 {
		groups = groups[:8]
	}
	return groups
}

// prefixEnd is the smallest string greater than every string with prefix p (in
// byte order, which the C collation of the term column uses).
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}
