package fields

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every custom-field type's validator, over any JSON value a client can send:
// it never panics, and a value it accepts and stores is accepted again, as
// itself, when it comes back (an export re-imported, an update sent unchanged).
func FuzzNormalizeEveryType(f *testing.F) {
	opts := []Option{{Value: "gold"}, {Value: "silver"}, {Value: "铜"}}
	defs := []Definition{
		{Type: Text}, {Type: LongText}, {Type: Number}, {Type: Decimal}, {Type: Currency}, {Type: Date},
		{Type: DateTime}, {Type: Boolean}, {Type: Select, Options: opts}, {Type: MultiSelect, Options: opts},
		{Type: Email}, {Type: Phone}, {Type: URL}, {Type: User}, {Type: Rating},
	}
	for i := range defs {
		for _, v := range []string{
			`"gold"`, `["gold","铜"]`, `42`, `-0.5`, `1e400`, `"1,234.50"`, `{"amount":"12.30","currency":"CNY"}`,
			`"2026-02-29"`, `"2024-02-29T23:59:60+08:00"`, `true`, `"yes"`, `"ada@example.com"`, `"+86 138 0000 0000"`,
			`"https://例子.测试/a?b=c"`, `"javascript:alert(1)"`, `"00000000-0000-0000-0000-000000000000"`, `5`, `6`,
			`null`, `""`, `[]`, `{}`, `"` + strings.Repeat("字", 20_000) + `"`, `"\u0000"`,
		} {
			f.Add(uint8(i), v)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		d := defs[int(which)%len(defs)]
		v, ok := decodeNumbers(raw)
		if !ok {
			return
		}
		st, iv, err := d.Normalize(v)
		if err != nil || st == nil {
			return
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatalf("%s: stored %#v does not marshal: %v", d.Type, st, err)
		}
		back, ok := decodeNumbers(string(b))
		if !ok {
			t.Fatalf("%s: stored %s does not decode", d.Type, b)
		}
		st2, iv2, err := d.Normalize(back)
		if err != nil {
			t.Fatalf("%s: stored %s refused when sent back: %v", d.Type, b, err)
		}
		b2, _ := json.Marshal(st2)
		if string(b) != string(b2) || iv.Norm != iv2.Norm || len(iv.Entries) != len(iv2.Entries) {
			t.Fatalf("%s: not stable: %s -> %s (index %q vs %q)", d.Type, b, b2, iv.Norm, iv2.Norm)
		}
	})
}

// decodeNumbers decodes one JSON value with numbers kept exact, as request
// bodies are decoded.
func decodeNumbers(raw string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil, false
	}
	return v, true
}
