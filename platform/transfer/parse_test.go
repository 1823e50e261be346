package transfer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSuggestMappingByKeyLabelOrAliasInBothLanguages(t *testing.T) {
	targets := []Target{
		{Key: "custom.member_no", LabelEN: "Member number", LabelZH: "会员号"},
		{Key: "order_no", LabelEN: "Order number", LabelZH: "订单号", Aliases: []string{"单号"}},
		{Key: "email", LabelEN: "Customer email", LabelZH: "客户邮箱", Aliases: []string{"e-mail", "邮箱"}},
		{Key: "amount", LabelEN: "Amount", LabelZH: "金额"},
	}
	got := SuggestMapping([]string{"\ufeff订单号", "E-Mail", "Member_No", "金额", "单号", "备注", ""}, targets)
	want := map[string]string{"\ufeff订单号": "order_no", "E-Mail": "email", "Member_No": "custom.member_no", "金额": "amount"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q -> %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

func TestRowShapeChecks(t *testing.T) {
	pp := &parsePlan{cols: []string{"a", "b"}, col: map[string]int{"x": 0, "y": 1}, encoding: "utf-8"}
	for _, c := range []struct {
		rec     []string
		outcome string
		reason  string
		cells   map[string]string
	}{
		{[]string{" 1 ", ""}, "", "", map[string]string{"x": "1"}},
		{[]string{"", "  "}, "skipped", "the row is empty", nil},
		{[]string{"1"}, "failed", "the row has 1 cells but the header has 2", nil},
		{[]string{"1", "2", "3"}, "failed", "the row has 3 cells", nil},
		{[]string{"a\x00b", "2"}, "failed", "contains a NUL character", map[string]string{"y": "2"}},
		{[]string{"\xff\xfe", "2"}, "failed", "not valid UTF-8", map[string]string{"y": "2"}},
	} {
		r := pp.parse(7, c.rec)
		if r.outcome() != c.outcome || (c.reason != "" && (len(r.Problems) == 0 || !strings.HasPrefix(r.Problems[0].Reason, c.reason))) {
			t.Errorf("%q: outcome %q problems %+v, want %q %q", c.rec, r.outcome(), r.Problems, c.outcome, c.reason)
		}
		for k, v := range c.cells {
			if r.Cells[k] != v {
				t.Errorf("%q: cell %s = %q, want %q", c.rec, k, r.Cells[k], v)
			}
		}
		for _, p := range r.Problems {
			if p.Row != 7 {
				t.Errorf("problem on row %d, want 7", p.Row)
			}
		}
	}
	// XLSX drops trailing empty cells: a short row is padded there.
	pp.padShort = true
	if r := pp.parse(2, []string{"1"}); !r.OK() || r.Cells["x"] != "1" {
		t.Errorf("a short XLSX row: %+v", r)
	}
	if r := pp.parse(2, []string{"1"}); r.Column("y") != "b" || r.Column("z") != "" {
		t.Errorf("columns of targets: %q %q", r.Column("y"), r.Column("z"))
	}
}

func TestFormatEncodingAndSheetName(t *testing.T) {
	if DetectFormat("x.csv", []byte("PK\x03\x04rest")) != "xlsx" || DetectFormat("客户.XLSX", []byte("a,b")) != "xlsx" || DetectFormat("a.csv", []byte("a,b")) != "csv" {
		t.Error("format detection")
	}
	if detectEncoding([]byte("\xEF\xBB\xBF姓名")) != "utf-8" || detectEncoding([]byte("姓名,电话")) != "utf-8" || detectEncoding([]byte{0xD0, 0xD5, 0xC3, 0xFB}) != "gb18030" {
		t.Error("encoding detection")
	}
	// A sample cut inside a character is still UTF-8.
	if s := []byte("姓名"); detectEncoding(s[:len(s)-1]) != "utf-8" {
		t.Error("a cut sample")
	}
	if sheetName("purchases") != "Purchases" || sheetName("") != "Export" {
		t.Error("sheet names")
	}
}

// FuzzParse: whatever the cells, a row is either going ahead with valid,
// trimmed, NUL-free cells, or has a problem naming its row.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.txt"))
	for _, p := range seeds {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Add("a\x1fb")
	f.Fuzz(func(t *testing.T, in string) {
		pp := &parsePlan{cols: []string{"a", "b", "c"}, col: map[string]int{"x": 0, "y": 2}, encoding: "utf-8"}
		r := pp.parse(3, strings.Split(in, "\x1f"))
		if !r.OK() {
			if len(r.Problems) == 0 || r.Problems[0].Row != 3 {
				t.Fatalf("a refused row without a problem: %+v", r)
			}
			return
		}
		for k, v := range r.Cells {
			if v == "" || strings.TrimSpace(v) != v || strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) {
				t.Fatalf("cell %s = %q", k, v)
			}
		}
	})
}
