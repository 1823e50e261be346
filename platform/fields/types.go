// Package fields is the custom-fields engine: tenant-defined fields on an entity
// (customers first; funnel and tickets later), validated on every write, indexed in
// a typed side table that btree can use under RLS, unique per tenant, and, when
// sensitive, sealed with a per-tenant data key and masked without pii.read.
package fields

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/text/currency"
)

// Type is a field's value type.
type Type string

// The field types.
const (
	Text        Type = "text"
	LongText    Type = "long_text"
	Number      Type = "number"
	Decimal     Type = "decimal"
	Currency    Type = "currency"
	Date        Type = "date"
	DateTime    Type = "datetime"
	Boolean     Type = "boolean"
	Select      Type = "select"
	MultiSelect Type = "multi_select"
	Email       Type = "email"
	Phone       Type = "phone"
	URL         Type = "url"
	User        Type = "user"
	Rating      Type = "rating"
)

// Types lists every type in a stable order.
var Types = []Type{Text, LongText, Number, Decimal, Currency, Date, DateTime, Boolean, Select, MultiSelect, Email, Phone, URL, User, Rating}

// Option is one choice of a select or multi_select field.
type Option struct {
	Value   string `json:"value" maxLength:"100"`
	LabelEN string `json:"label_en,omitempty" maxLength:"200"`
	LabelZH string `json:"label_zh,omitempty" maxLength:"200"`
}

// Limits on values.
const (
	MaxText       = 1000
	MaxLongText   = 20000
	MaxChoices    = 200
	MaxIntDigits  = 30
	MaxFracDigits = 10
)

// Definition is one custom field of an entity.
type Definition struct {
	Entity     string          `json:"entity"`
	Key        string          `json:"key"`
	LabelEN    string          `json:"label_en"`
	LabelZH    string          `json:"label_zh,omitempty"`
	Type       Type            `json:"type"`
	Options    []Option        `json:"options,omitempty"`
	Max        int             `json:"max,omitempty" doc:"rating only: the highest rating, 5 when unset"`
	Required   bool            `json:"required"`
	Unique     bool            `json:"unique"`
	Default    json.RawMessage `json:"default,omitempty"`
	Filterable bool            `json:"filterable"`
	Sortable   bool            `json:"sortable"`
	Sensitive  bool            `json:"sensitive"`
	Position   int             `json:"position"`
	HelpEN     string          `json:"help_en,omitempty"`
	HelpZH     string          `json:"help_zh,omitempty"`
	ArchivedAt *time.Time      `json:"archived_at,omitempty"`
	Pending    *Pending        `json:"pending,omitempty" doc:"a change whose conversion job is still running"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// IndexEntry is one indexed value; exactly one of its fields is set.
type IndexEntry struct {
	Text *string    // text-like, select choices, currency code+amount is not indexed as text
	Num  *string    // exact decimal as a string, cast to numeric in SQL
	Time *time.Time // date (midnight UTC) and datetime
	Bool *bool
}

// IndexValue is what a value contributes to the side table (multi_select: one entry
// per choice) and to uniqueness (Norm, empty when not applicable).
type IndexValue struct {
	Entries []IndexEntry
	Norm    string
}

// Column is the side table column a type is indexed in.
func (d Definition) Column() string {
	switch d.Type {
	case Number, Decimal, Currency, Rating:
		return "v_num"
	case Date, DateTime:
		return "v_time"
	case Boolean:
		return "v_bool"
	}
	return "v_text"
}

// Indexable reports whether values of the type can go to the side table.
func (d Definition) Indexable() bool { return d.Type != LongText && !d.Sensitive }

// Validate checks a definition; each problem is one FieldError located body.<name>.
func (d Definition) Validate() []FieldProblem {
	var p []FieldProblem
	add := func(f, m string) { p = append(p, FieldProblem{f, m}) }
	if !keyRE.MatchString(d.Key) {
		add("key", "must start with a lowercase letter and hold only a-z, 0-9 and _ (at most 63)")
	}
	if strings.TrimSpace(d.LabelEN) == "" || utf8.RuneCountInString(d.LabelEN) > 200 {
		add("label_en", "is required, at most 200 characters")
	}
	if utf8.RuneCountInString(d.LabelZH) > 200 {
		add("label_zh", "must be at most 200 characters")
	}
	if !slices.Contains(Types, d.Type) {
		add("type", fmt.Sprintf("must be one of %v", Types))
	}
	if d.Type == Select || d.Type == MultiSelect {
		if len(d.Options) == 0 || len(d.Options) > MaxChoices {
			add("options", fmt.Sprintf("a %s field needs 1 to %d options", d.Type, MaxChoices))
		}
		seen := map[string]bool{}
		for i, o := range d.Options {
			if strings.TrimSpace(o.Value) == "" || len(o.Value) > 100 {
				add(fmt.Sprintf("options[%d].value", i), "is required, at most 100 bytes")
			} else if seen[o.Value] {
				add(fmt.Sprintf("options[%d].value", i), "repeats an earlier option")
			}
			seen[o.Value] = true
		}
	} else if len(d.Options) > 0 {
		add("options", "only select and multi_select fields have options")
	}
	if d.Type == Rating && (d.Max < 0 || d.Max == 1 || d.Max > 10) {
		add("max", "a rating goes up to 2..10 (5 when unset)")
	}
	if d.Type != Rating && d.Max != 0 {
		add("max", "only rating fields have a max")
	}
	if d.Sensitive && (d.Filterable || d.Sortable || d.Unique) {
		add("sensitive", "a sensitive field is never indexed: it cannot be filterable, sortable or unique")
	}
	if d.Type == LongText && (d.Filterable || d.Sortable || d.Unique) {
		add("type", "long_text cannot be filterable, sortable or unique")
	}
	if d.Type == MultiSelect && (d.Sortable || d.Unique) {
		add("type", "multi_select cannot be sortable or unique")
	}
	if d.Unique && (d.Type == Boolean || d.Type == Rating) {
		add("unique", "a "+string(d.Type)+" field cannot be unique")
	}
	if len(d.Default) > 0 && string(d.Default) != "null" {
		var v any
		if err := json.Unmarshal(d.Default, &v); err != nil {
			add("default", "is not valid JSON")
		} else if _, _, err := d.Normalize(v); err != nil {
			add("default", err.Error())
		} else if d.Unique {
			add("default", "a unique field cannot have a default")
		}
	}
	if utf8.RuneCountInString(d.HelpEN) > 1000 || utf8.RuneCountInString(d.HelpZH) > 1000 {
		add("help_en", "help texts are at most 1000 characters")
	}
	return p
}

// FieldProblem is one invalid attribute of a definition.
type FieldProblem struct{ Field, Message string }

// ValueError is why a value was refused; its text is safe to show a client.
type ValueError struct{ Msg string }

func (e *ValueError) Error() string { return e.Msg }

func bad(format string, a ...any) error { return &ValueError{fmt.Sprintf(format, a...)} }

func strp(s string) *string { return &s }

// RatingMax is the highest rating of the field.
func (d Definition) RatingMax() int {
	if d.Max == 0 {
		return 5
	}
	return d.Max
}

var (
	decRE   = regexp.MustCompile(`^[+-]?([0-9]+)(?:\.([0-9]+))?$`)
	numRE   = regexp.MustCompile(`^[+-]?([0-9]+)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,3}))?$`)
	phoneRE = regexp.MustCompile(`^\+?[0-9]{5,20}$`)
)

// canonDecimal turns an exact decimal string into its canonical form (no leading
// zeros, no trailing fractional zeros, no "-0"), refusing oversize values.
func canonDecimal(s string, maxFrac int) (string, error) {
	m := decRE.FindStringSubmatch(s)
	if m == nil {
		return "", bad("must be a decimal number such as 12.50")
	}
	neg := strings.HasPrefix(s, "-")
	ip := strings.TrimLeft(m[1], "0")
	fp := strings.TrimRight(m[2], "0")
	if len(ip) > MaxIntDigits {
		return "", bad("must have at most %d digits before the point", MaxIntDigits)
	}
	if len(fp) > maxFrac {
		return "", bad("must have at most %d digits after the point", maxFrac)
	}
	if ip == "" {
		ip = "0"
	}
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out, nil
}

// numberString extracts a decimal string from JSON-ish input without going through
// float for strings and json.Number; float64 input (from a plain json decode) is
// formatted with the shortest exact representation.
func numberString(v any) (string, error) {
	switch x := v.(type) {
	case json.Number:
		return expandExp(string(x))
	case string:
		return expandExp(strings.TrimSpace(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", bad("must be a finite number")
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return numberString(float64(x))
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	}
	return "", bad("must be a number")
}

// expandExp rewrites 1.5e3 as 1500 by moving the point, exactly.
func expandExp(s string) (string, error) {
	m := numRE.FindStringSubmatch(s)
	if m == nil {
		return "", bad("must be a number such as 42 or 3.14")
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign = "-"
	}
	ip, fp := m[1], m[2]
	if m[3] != "" {
		e, _ := strconv.Atoi(m[3])
		if e < -MaxFracDigits-MaxIntDigits || e > MaxIntDigits {
			return "", bad("is out of range")
		}
		digits := ip + fp
		point := len(ip) + e
		switch {
		case point <= 0:
			ip, fp = "0", strings.Repeat("0", -point)+digits
		case point >= len(digits):
			ip, fp = digits+strings.Repeat("0", point-len(digits)), ""
		default:
			ip, fp = digits[:point], digits[point:]
		}
	}
	if fp == "" {
		return sign + ip, nil
	}
	return sign + ip + "." + fp, nil
}

// Money is a currency value: an exact decimal amount and an ISO 4217 code.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// Normalize validates v for the field and returns the value to store in the
// record's JSON, and what goes to the side table and uniqueness. nil (or an empty
// string) is "no value" and returns nil stored. Sensitive fields are normalised
// here and sealed by the service; they are never indexed.
func (d Definition) Normalize(v any) (stored any, indexed IndexValue, err error) {
	if v == nil {
		return nil, IndexValue{}, nil
	}
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "" && d.Type != Currency {
		return nil, IndexValue{}, nil
	}
	stored, indexed, err = d.normalize(v)
	if err != nil {
		return nil, IndexValue{}, err
	}
	if !d.Indexable() {
		indexed = IndexValue{}
	}
	return stored, indexed, nil
}

func (d Definition) normalize(v any) (any, IndexValue, error) {
	text := func(max int) (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", bad("must be text")
		}
		s = strings.TrimSpace(s)
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return "", bad("must be valid UTF-8 text")
		}
		if utf8.RuneCountInString(s) > max {
			return "", bad("must be at most %d characters", max)
		}
		return s, nil
	}
	one := func(e IndexEntry, norm string) IndexValue { return IndexValue{Entries: []IndexEntry{e}, Norm: norm} }
	switch d.Type {
	case Text:
		s, err := text(MaxText)
		if err != nil {
			return nil, IndexValue{}, err
		}
		return s, one(IndexEntry{Text: strp(s)}, strings.ToLower(s)), nil
	case LongText:
		s, err := text(MaxLongText)
		return s, IndexValue{}, err
	case Number, Decimal:
		raw, err := numberString(v)
		if err != nil {
			return nil, IndexValue{}, err
		}
		if d.Type == Decimal {
			if _, isFloat := v.(float64); isFloat {
				return nil, IndexValue{}, bad("must be a decimal string such as \"12.50\", not a JSON number (floats are not exact)")
			}
		}
		c, err := canonDecimal(raw, MaxFracDigits)
		if err != nil {
			return nil, IndexValue{}, err
		}
		var out any = json.Number(c)
		if d.Type == Decimal {
			out = c
		}
		return out, one(IndexEntry{Num: strp(c)}, c), nil
	case Currency:
		var m Money
		switch x := v.(type) {
		case map[string]any:
			a, ok := x["amount"]
			if !ok {
				return nil, IndexValue{}, bad("needs an amount")
			}
			if _, isFloat := a.(float64); isFloat {
				return nil, IndexValue{}, bad("the amount must be a decimal string such as \"12.50\", not a JSON number")
			}
			s, err := numberString(a)
			if err != nil {
				return nil, IndexValue{}, bad("the amount must be a decimal such as \"12.50\"")
			}
			m.Amount = s
			m.Currency, _ = x["currency"].(string)
			for k := range x {
				if k != "amount" && k != "currency" {
					return nil, IndexValue{}, bad("has an unknown attribute %q (amount and currency only)", k)
				}
			}
		case Money:
			m = x
		case *Money:
			if x == nil {
				return nil, IndexValue{}, nil
			}
			m = *x
		default:
			return nil, IndexValue{}, bad("must be an object {\"amount\": \"12.50\", \"currency\": \"CNY\"}")
		}
		amt, err := canonDecimal(strings.TrimSpace(m.Amount), 4)
		if err != nil {
			return nil, IndexValue{}, bad("the amount %s", err.Error())
		}
		code := strings.ToUpper(strings.TrimSpace(m.Currency))
		if u, err := currency.ParseISO(code); err != nil || len(code) != 3 || u.String() != code {
			return nil, IndexValue{}, bad("needs an ISO 4217 currency code such as CNY or USD")
		}
		return Money{Amount: amt, Currency: code}, one(IndexEntry{Num: strp(amt)}, code+" "+amt), nil
	case Date:
		s, ok := v.(string)
		if !ok {
			return nil, IndexValue{}, bad("must be a date such as 2026-11-22")
		}
		t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
		if err != nil || t.Year() < 1 || t.Year() > 9999 {
			return nil, IndexValue{}, bad("must be a date such as 2026-11-22")
		}
		out := t.Format("2006-01-02")
		return out, one(IndexEntry{Time: &t}, out), nil
	case DateTime:
		var t time.Time
		switch x := v.(type) {
		case string:
			p, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(x))
			if err != nil {
				return nil, IndexValue{}, bad("must be an RFC 3339 time such as 2026-11-22T09:30:00+08:00")
			}
			t = p
		case time.Time:
			t = x
		default:
			return nil, IndexValue{}, bad("must be an RFC 3339 time such as 2026-11-22T09:30:00+08:00")
		}
		t = t.UTC().Truncate(time.Microsecond)
		if t.Year() < 1 || t.Year() > 9999 {
			return nil, IndexValue{}, bad("is out of range")
		}
		out := t.Format(time.RFC3339Nano)
		return out, one(IndexEntry{Time: &t}, out), nil
	case Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil, IndexValue{}, bad("must be true or false")
		}
		return b, one(IndexEntry{Bool: &b}, ""), nil
	case Select:
		s, ok := v.(string)
		if !ok {
			return nil, IndexValue{}, bad("must be one of the options")
		}
		if !d.hasOption(s) {
			return nil, IndexValue{}, bad("%q is not one of the options (%s)", trimMsg(s), d.optionList())
		}
		return s, one(IndexEntry{Text: strp(s)}, s), nil
	case MultiSelect:
		var items []string
		switch x := v.(type) {
		case []any:
			for _, it := range x {
				s, ok := it.(string)
				if !ok {
					return nil, IndexValue{}, bad("must be a list of options")
				}
				items = append(items, s)
			}
		case []string:
			items = x
		default:
			return nil, IndexValue{}, bad("must be a list of options")
		}
		seen := map[string]bool{}
		out := []string{}
		var iv IndexValue
		for _, s := range items {
			if !d.hasOption(s) {
				return nil, IndexValue{}, bad("%q is not one of the options (%s)", trimMsg(s), d.optionList())
			}
			if seen[s] {
				continue
			}
			seen[s] = true
			out = append(out, s)
			iv.Entries = append(iv.Entries, IndexEntry{Text: strp(s)})
		}
		if len(out) == 0 {
			return nil, IndexValue{}, nil
		}
		return out, iv, nil
	case Email:
		s, err := text(254)
		if err != nil {
			return nil, IndexValue{}, err
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
			return nil, IndexValue{}, bad("must be an email address such as li.na@example.com")
		}
		s = strings.ToLower(s)
		return s, one(IndexEntry{Text: strp(s)}, s), nil
	case Phone:
		s, err := text(40)
		if err != nil {
			return nil, IndexValue{}, err
		}
		n := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", ".", "").Replace(s)
		if !phoneRE.MatchString(n) {
			return nil, IndexValue{}, bad("must be a phone number such as +86 138 0013 8000")
		}
		return n, one(IndexEntry{Text: strp(n)}, n), nil
	case URL:
		s, err := text(2000)
		if err != nil {
			return nil, IndexValue{}, err
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, IndexValue{}, bad("must be an http or https URL")
		}
		return s, one(IndexEntry{Text: strp(s)}, s), nil
	case User:
		s, ok := v.(string)
		if !ok {
			return nil, IndexValue{}, bad("must be a member id")
		}
		id, err := uuid.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, IndexValue{}, bad("must be a member id (a UUID)")
		}
		out := id.String()
		return out, one(IndexEntry{Text: strp(out)}, out), nil
	case Rating:
		raw, err := numberString(v)
		if err != nil {
			return nil, IndexValue{}, bad("must be a whole number from 1 to %d", d.RatingMax())
		}
		c, err := canonDecimal(raw, 0)
		if err != nil {
			return nil, IndexValue{}, bad("must be a whole number from 1 to %d", d.RatingMax())
		}
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > d.RatingMax() {
			return nil, IndexValue{}, bad("must be a whole number from 1 to %d", d.RatingMax())
		}
		return n, one(IndexEntry{Num: strp(c)}, c), nil
	}
	return nil, IndexValue{}, bad("has an unknown type %q", d.Type)
}

func (d Definition) hasOption(s string) bool {
	for _, o := range d.Options {
		if o.Value == s {
			return true
		}
	}
	return false
}

func (d Definition) optionList() string {
	var b []string
	for i, o := range d.Options {
		if i == 10 {
			b = append(b, "…")
			break
		}
		b = append(b, o.Value)
	}
	return strings.Join(b, ", ")
}

func trimMsg(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}
