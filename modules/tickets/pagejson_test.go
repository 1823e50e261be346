package tickets

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

// encodingJSON is what the API wrote for a page before it wrote its own:
// encoding/json by reflection, HTML escaping off.
func encodingJSON(t *testing.T, p ticketPage) string {
	t.Helper()
	plain := struct {
		Items      []Ticket `json:"items"`
		NextCursor string   `json:"next_cursor,omitempty"`
	}{p.Items, p.NextCursor}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(plain); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}))
}

// filled sets every field of a ticket (pointers included) by reflection, so a
// field added to Ticket and not to appendJSON makes the comparison fail.
func filled(rng *rand.Rand, text func() string) Ticket {
	var tk Ticket
	v := reflect.ValueOf(&tk).Elem()
	at := time.Date(2026, 12, 5, 21, 4, 5, rng.IntN(1_000_000_000), time.UTC)
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !f.CanSet() || v.Type().Field(i).Tag.Get("json") == "" {
			continue
		}
		switch p := f.Addr().Interface().(type) {
		case *uuid.UUID:
			*p = uuid.New()
		case **uuid.UUID:
			id := uuid.New()
			*p = &id
		case *string:
			*p = text()
		case **string:
			s := text()
			*p = &s
		case *int:
			*p = rng.IntN(1000) - 10
		case **int:
			n := rng.IntN(5) + 1
			*p = &n
		case *int64:
			*p = rng.Int64()
		case *bool:
			*p = true
		case *time.Time:
			*p = at
		case **time.Time:
			x := at.Add(time.Duration(rng.IntN(100000)) * time.Second)
			*p = &x
		case *[]string:
			*p = []string{text(), text()}
		case *map[string]any:
			*p = map[string]any{"tier": text(), "score": 4.5, "ok": true, "list": []any{"a<b>&c", 1}, "nested": map[string]any{"z": nil}}
		default:
			panic("filled: no value for field " + v.Type().Field(i).Name)
		}
	}
	return tk
}

// The page's own JSON is byte for byte what encoding/json writes: empty and
// full tickets, every field, and strings with quotes, escapes, control
// characters, HTML, CJK, emoji, line separators and invalid UTF-8.
func TestTicketPageJSONIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 2026))
	pieces := []string{"a", "工单", "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f", "<script>", "&amp;", "\u2028", "\u2029",
		"😀", "\xff", "\xe4\xb8", "é", " ", "'", "/"}
	text := func() string {
		s := ""
		for n := rng.IntN(8); n > 0; n-- {
			s += pieces[rng.IntN(len(pieces))]
		}
		return s
	}
	cases := []ticketPage{
		{},
		{Items: []Ticket{}},
		{Items: []Ticket{{}}, NextCursor: "abc"},
		{Items: []Ticket{{Tags: []string{}, Custom: map[string]any{}}}},
	}
	for i := 0; i < 300; i++ {
		p := ticketPage{NextCursor: text()}
		for j := rng.IntN(4); j >= 0; j-- {
			tk := filled(rng, text)
			if rng.IntN(2) == 0 { // an open ticket: most optional fields empty
				tk = Ticket{ID: tk.ID, Number: tk.Number, Subject: tk.Subject, Status: "open", SLADueAt: tk.SLADueAt, CreatedAt: tk.CreatedAt, UpdatedAt: tk.UpdatedAt}
			}
			p.Items = append(p.Items, tk)
		}
		cases = append(cases, p)
	}
	for _, at := range []time.Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 100, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(999, 7, 8, 9, 10, 11, 120000000, time.UTC)} {
		cases = append(cases, ticketPage{Items: []Ticket{{CreatedAt: at, UpdatedAt: at, SLADueAt: &at}}})
	}
	shanghai := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, shanghai)
	cases = append(cases, ticketPage{Items: []Ticket{{CreatedAt: at, UpdatedAt: at.Add(time.Nanosecond)}}})
	for i, p := range cases {
		want := encodingJSON(t, p)
		if got := string(p.AppendJSON(nil)); got != want {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
		if got, err := json.Marshal(p); err != nil || !json.Valid(got) {
			t.Fatalf("case %d: MarshalJSON: %v", i, err)
		}
	}
}
