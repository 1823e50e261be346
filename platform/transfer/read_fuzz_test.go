package transfer

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/clientele-crm/clientele/platform/sheet/sheettest"
)

// An uploaded file, whatever its bytes, is read row by row within the import
// limits or refused with an error: never a panic, never a row past the caps,
// never an endless read. The seeds cover CSV in UTF-8, with a BOM and in GBK,
// broken quotes, and XLSX files that are sound, bombs, or lie about their sizes.
func FuzzReadRows(f *testing.F) {
	gbk, _ := simplifiedchinese.GBK.NewEncoder().String("姓名,电话\n张伟,13800000000\n")
	for _, s := range []string{
		"name,email\nAda,ada@example.com\n", "\ufeffname,email\n李雷,li@example.com\n", gbk,
		"a,b\n\"unclosed,1\n2,3\n", "a;b;c\n1;2;3\n", "x\r\n\r\n\"\"\"\",\n", strings.Repeat(",", 1500) + "\n",
		"a\n" + strings.Repeat("x", 40_000) + "\n", "\x00\x01\x02\x03", "PK\x03\x04garbage",
	} {
		f.Add([]byte(s))
	}
	sheetWith := func(rows string) []byte {
		return sheettest.Bytes(append(sheettest.Workbook(false), sheettest.Part{Name: "xl/worksheets/sheet1.xml", Head: sheettest.SheetHead + rows, Tail: sheettest.SheetTail})...)
	}
	f.Add(sheetWith(`<row r="2"><c r="A2" t="inlineStr"><is><t>王芳</t></is></c><c r="B2" t="inlineStr"><is><t>wf@example.com</t></is></c></row>`))
	f.Add(sheetWith(`<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>`))
	f.Add(sheettest.WhitespaceSheet(2))
	f.Add(sheettest.HugeSharedString(1))
	f.Add(sheettest.ManyEntries(600, 16))
	lying := sheettest.WhitespaceSheet(2)
	if i := bytes.LastIndex(lying, []byte("xl/worksheets/sheet1.xml")); i > 46 {
		copy(lying[i-46+24:], []byte{0xff, 0x0f, 0, 0}) // declares 4 KB, unpacks to 2 MB
		f.Add(lying)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "upload")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		head := data[:min(len(data), 64<<10)]
		format := DetectFormat("upload", head)
		if format == "csv" && notText(head) != "" {
			return // the upload refuses it before any reading
		}
		rr, err := openRows(path, format, detectEncoding(head))
		if err != nil {
			return
		}
		defer rr.Close()
		for n := int64(1); ; n++ {
			// A CSV row takes at least a byte. A sheet may name a row far down
			// (r="1048576") and the reader yields the empty rows before it: the
			// upload's row count refuses such a file past ImportMaxRows, and the
			// fuzzer stops reading it early to stay fast.
			if format == "csv" && n > int64(len(data))+2 {
				t.Fatalf("%d rows read from %d bytes", n, len(data))
			}
			if n > 20_000 {
				return
			}
			rec, err := rr.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if isLimit(err) {
					return // the whole file is refused (413)
				}
				continue // a row-level problem; reading goes on
			}
			if err := checkRow(n, rec); err != nil {
				t.Fatalf("row %d passed the reader but not the caps: %v", n, err)
			}
		}
	})
}

// Mapping suggestions for any headers: each target is taken by one column at
// most, and only known targets are suggested.
func FuzzSuggestMapping(f *testing.F) {
	targets := []Target{
		{Key: "name", LabelEN: "Name", LabelZH: "姓名", Aliases: []string{"full name", "客户名称"}},
		{Key: "emails", LabelEN: "Email", LabelZH: "邮箱", Aliases: []string{"e-mail", "电子邮件"}},
		{Key: "phones", LabelEN: "Phone", LabelZH: "电话", Aliases: []string{"mobile", "手机"}},
		{Key: "custom.tier", LabelEN: "Tier", LabelZH: "等级"},
	}
	for _, s := range []string{"Name\x1fE-mail\x1f手机", "姓名\x1f姓名\x1fname", "\ufeffNAME\x1f", "custom.tier\x1fTier\x1f等级", ""} {
		f.Add(s)
	}
	known := map[string]bool{}
	for _, tg := range targets {
		known[tg.Key] = true
	}
	f.Fuzz(func(t *testing.T, joined string) {
		headers := strings.Split(joined, "\x1f")
		m := SuggestMapping(headers, targets)
		taken := map[string]bool{}
		for h, key := range m {
			if !known[key] {
				t.Fatalf("header %q mapped to unknown target %q", h, key)
			}
			if taken[key] {
				t.Fatalf("target %q suggested for two columns: %v", key, m)
			}
			taken[key] = true
		}
	})
}
