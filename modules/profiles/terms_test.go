package profiles

import (
	"strings"
	"testing"
)

func TestNameTermsCoverCJKAndWords(t *testing.T) {
	got := strings.Join(nameTerms("张三丰 Zhang San-Feng"), " ")
	for _, want := range []string{"n:张", "n:三", "n:丰", "n:张三", "n:三丰", "n:zhang", "n:san", "n:feng"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("missing %s in %s", want, got)
		}
	}
}

func TestSearchPlan(t *testing.T) {
	cases := map[string]string{
		"张":          "[[{n:张 }]]",
		"张三":         "[[{n:张三 }]]",
		"li.lei@exa": "[[{ e:li.lei@exa}]]",
		"138 0013":   "[[{ p:1380013}]]",
		"+86 138":    "[[{ p:86138}]]",
		"lei":        "[[{ n:lei} { e:lei}]]",
		"  ":         "[]",
	}
	for q, want := range cases {
		if got := fmtPlan(searchPlan(q)); got != want {
			t.Errorf("%q: got %s want %s", q, got, want)
		}
	}
}

func fmtPlan(p [][]termCond) string {
	var b strings.Builder
	b.WriteString("[")
	for i, g := range p {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("[")
		for j, c := range g {
			if j > 0 {
				b.WriteString(" ")
			}
			b.WriteString("{" + c.exact + " " + c.prefix + "}")
		}
		b.WriteString("]")
	}
	b.WriteString("]")
	return b.String()
}

func TestPhonesAndEmails(t *testing.T) {
	if d, ok := phoneDigits("+86 138-0013-8000"); !ok || d != "8613800138000" {
		t.Fatalf("%q %v", d, ok)
	}
	if ts := phoneTerms("+86 138-0013-8000", "8613800138000"); len(ts) != 2 || ts[1] != "p:13800138000" {
		t.Fatalf("%v", ts)
	}
	for _, bad := range []string{"12", "abc123456", "1234567890123456"} {
		if _, ok := phoneDigits(bad); ok {
			t.Errorf("accepted phone %q", bad)
		}
	}
	if e, ok := normalizeEmail("Li.Lei@Example.COM"); !ok || e != "li.lei@example.com" {
		t.Fatalf("%q %v", e, ok)
	}
	for _, bad := range []string{"x", "a@b", "Li Lei <li@example.com>", "@example.com"} {
		if _, ok := normalizeEmail(bad); ok {
			t.Errorf("accepted email %q", bad)
		}
	}
	if prefixEnd("e:abc") != "e:abd" {
		t.Fatal(prefixEnd("e:abc"))
	}
}
