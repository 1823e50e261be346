package fields

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNormalizeTable(t *testing.T) {
	sel := Definition{Key: "tier", Type: Select, Options: []Option{{Value: "gold"}, {Value: "silver"}}}
	multi := Definition{Key: "tags", Type: MultiSelect, Options: []Option{{Value: "a"}, {Value: "b"}}}
	cases := []struct {
		d       Definition
		in      any
		want    string // JSON of stored; "" = error expected
		wantErr string
	}{
		{Definition{Type: Text}, "  hi ", `"hi"`, ""},
		{Definition{Type: Text}, 5, "", "must be text"},
		{Definition{Type: Text}, strings.Repeat("x", MaxText+1), "", "at most"},
		{Definition{Type: LongText}, strings.Repeat("长", 5000), `"` + strings.Repeat("长", 5000) + `"`, ""},
		{Definition{Type: Number}, json.Number("1.50"), `1.5`, ""},
		{Definition{Type: Number}, 2.5, `2.5`, ""},
		{Definition{Type: Number}, "1e3", `1000`, ""},
		{Definition{Type: Number}, "-0.000", `0`, ""},
		{Definition{Type: Number}, "abc", "", "must be a number"},
		{Definition{Type: Number}, true, "", "must be a number"},
		{Definition{Type: Decimal}, "0012.3400", `"12.34"`, ""},
		{Definition{Type: Decimal}, 12.34, "", "not a JSON number"},
		{Definition{Type: Decimal}, "1.12345678901", "", "at most 10 digits after"},
		{Definition{Type: Currency}, map[string]any{"amount": "19.90", "currency": "cny"}, `{"amount":"19.9","currency":"CNY"}`, ""},
		{Definition{Type: Currency}, map[string]any{"amount": 19.9, "currency": "CNY"}, "", "decimal string"},
		{Definition{Type: Currency}, map[string]any{"amount": "1", "currency": "XXQ"}, "", "ISO 4217"},
		{Definition{Type: Currency}, "12 CNY", "", "must be an object"},
		{Definition{Type: Date}, "2026-11-22", `"2026-11-22"`, ""},
		{Definition{Type: Date}, "2026-02-30", "", "must be a date"},
		{Definition{Type: DateTime}, "2026-11-22T09:30:00+08:00", `"2026-11-22T01:30:00Z"`, ""},
		{Definition{Type: DateTime}, "yesterday", "", "RFC 3339"},
		{Definition{Type: Boolean}, true, `true`, ""},
		{Definition{Type: Boolean}, "yes", "", "true or false"},
		{sel, "gold", `"gold"`, ""},
		{sel, "bronze", "", "not one of the options"},
		{multi, []any{"b", "a", "b"}, `["b","a"]`, ""},
		{multi, []any{"c"}, "", "not one of the options"},
		{multi, "a", "", "list of options"},
		{Definition{Type: Email}, "Li.Na@Example.com", `"li.na@example.com"`, ""},
		{Definition{Type: Email}, "Li Na <li@example.com>", "", "email address"},
		{Definition{Type: Email}, "li@localhost", "", "email address"},
		{Definition{Type: Phone}, "+86 138-0013-8000", `"+8613800138000"`, ""},
		{Definition{Type: Phone}, "call me", "", "phone number"},
		{Definition{Type: URL}, "https://example.com/x", `"https://example.com/x"`, ""},
		{Definition{Type: URL}, "javascript:alert(1)", "", "http or https"},
		{Definition{Type: User}, "6ba7b810-9dad-11d1-80b4-00c04fd430c8", `"6ba7b810-9dad-11d1-80b4-00c04fd430c8"`, ""},
		{Definition{Type: User}, "bob", "", "member id"},
		{Definition{Type: Rating}, 4.0, `4`, ""},
		{Definition{Type: Rating}, 6.0, "", "from 1 to 5"},
		{Definition{Type: Rating, Max: 10}, json.Number("10"), `10`, ""},
		{Definition{Type: Rating}, 2.5, "", "whole number"},
	}
	for i, c := range cases {
		st, _, err := c.d.Normalize(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%d %s %v: err %v, want %q", i, c.d.Type, c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%d %s %v: %v", i, c.d.Type, c.in, err)
			continue
		}
		got, _ := json.Marshal(st)
		if string(got) != c.want {
			t.Errorf("%d %s %v: stored %s, want %s", i, c.d.Type, c.in, got, c.want)
		}
	}
}

func TestDefinitionValidate(t *testing.T) {
	d := Definition{Key: "Bad Key", LabelEN: "", Type: "colour", Sensitive: true, Filterable: true, Max: 3}
	p := d.Validate()
	got := map[string]bool{}
	for _, x := range p {
		got[x.Field] = true
	}
	for _, f := range []string{"key", "label_en", "type", "sensitive", "max"} {
		if !got[f] {
			t.Errorf("no problem for %s in %v", f, p)
		}
	}
	ok := Definition{Key: "tier", LabelEN: "Tier", Type: Select, Options: []Option{{Value: "a"}}, Default: json.RawMessage(`"a"`), Filterable: true}
	if p := ok.Validate(); len(p) != 0 {
		t.Fatalf("valid definition refused: %v", p)
	}
	ok.Default = json.RawMessage(`"zzz"`)
	if p := ok.Validate(); len(p) != 1 || p[0].Field != "default" {
		t.Fatalf("bad default: %v", p)
	}
}

func TestPrefixUpper(t *testing.T) {
	for in, want := range map[string]string{"abc": "abd", "张": "张"[:0] + string(rune('张'+1)), "a\U0010FFFF": "b"} {
		if got, _ := prefixUpper(in); got != want {
			t.Errorf("prefixUpper(%q) = %q, want %q", in, got, want)
		}
	}
}

// fuzzNormalize checks that Normalize never panics and that a stored value
// normalises to itself (idempotence), for the exact-number and date types.
func fuzzNormalize(f *testing.F, d Definition, wrap func(string) any) {
	f.Fuzz(func(t *testing.T, s string) {
		st, iv, err := d.Normalize(wrap(s))
		if err != nil || st == nil {
			return
		}
		raw, _ := json.Marshal(st)
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		var back any
		if err := dec.Decode(&back); err != nil {
			t.Fatalf("stored %v does not round-trip: %v", st, err)
		}
		st2, iv2, err := d.Normalize(back)
		if err != nil {
			t.Fatalf("stored %s refused on re-normalise: %v", raw, err)
		}
		raw2, _ := json.Marshal(st2)
		if string(raw) != string(raw2) || iv.Norm != iv2.Norm {
			t.Fatalf("not idempotent: %s -> %s (%q vs %q)", raw, raw2, iv.Norm, iv2.Norm)
		}
		if d.Type != Date && (len(iv.Entries) != 1 || iv.Entries[0].Num == nil) {
			t.Fatalf("no numeric index for %s", raw)
		}
	})
}

func FuzzNormalizeNumber(f *testing.F) {
	fuzzNormalize(f, Definition{Type: Number}, func(s string) any { return json.Number(s) })
}

func FuzzNormalizeDecimal(f *testing.F) {
	fuzzNormalize(f, Definition{Type: Decimal}, func(s string) any { return s })
}

func FuzzNormalizeCurrency(f *testing.F) {
	fuzzNormalize(f, Definition{Type: Currency}, func(s string) any { return map[string]any{"amount": s, "currency": "CNY"} })
}

func FuzzNormalizeDate(f *testing.F) {
	fuzzNormalize(f, Definition{Type: Date}, func(s string) any { return s })
}

func TestParseMasterKey(t *testing.T) {
	if k, err := ParseMasterKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="); err != nil || len(k) != 32 {
		t.Fatalf("%v %v", k, err)
	}
	if _, err := ParseMasterKey("c2hvcnQ="); err == nil {
		t.Fatal("short key accepted")
	}
	if k, err := ParseMasterKey(""); err != nil || k != nil {
		t.Fatal("empty key")
	}
	if _, err := New(Deps{Env: "production"}); err == nil {
		t.Fatal("production without a master key")
	}
}
