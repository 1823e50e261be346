package sheet_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/clientele-crm/clientele/platform/sheet"
	"github.com/clientele-crm/clientele/platform/sheet/sheettest"
)

func check(b []byte) error {
	return sheet.CheckXLSX(bytes.NewReader(b), int64(len(b)), sheet.ReadLimits)
}

func sheetWith(shared []string, rows string, extra ...sheettest.Part) []byte {
	parts := sheettest.Workbook(len(shared) > 0)
	if len(shared) > 0 {
		var sst strings.Builder
		sst.WriteString(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
		for _, s := range shared {
			sst.WriteString("<si><t>" + s + "</t></si>")
		}
		sst.WriteString("</sst>")
		parts = append(parts, sheettest.Part{Name: "xl/sharedStrings.xml", Head: sst.String()})
	}
	parts = append(parts, sheettest.Part{Name: "xl/worksheets/sheet1.xml", Head: sheettest.SheetHead + rows + sheettest.SheetTail})
	return sheettest.Bytes(append(parts, extra...)...)
}

// Ordinary workbooks pass: our own writer's, and one excelize writes with shared
// strings, styles and a date format.
func TestCheckXLSXPassesOrdinaryWorkbooks(t *testing.T) {
	var buf bytes.Buffer
	x := sheet.NewXLSX(&buf, "客户")
	_ = x.WriteRow([]string{"姓名", "邮箱", "备注"})
	for i := 0; i < 50_000; i++ {
		_ = x.WriteRow([]string{fmt.Sprintf("客户%d", i), fmt.Sprintf("c%d@example.com", i), "A & B <note>"})
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := check(buf.Bytes()); err != nil {
		t.Fatalf("our own export: %v", err)
	}
	f := excelize.NewFile()
	for r := 1; r <= 2000; r++ {
		_ = f.SetCellValue("Sheet1", fmt.Sprintf("A%d", r), fmt.Sprintf("name %d", r%50))
		_ = f.SetCellValue("Sheet1", fmt.Sprintf("B%d", r), 45296+r)
	}
	style, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd")})
	_ = f.SetColStyle("Sheet1", "B", style)
	b, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	if err := check(b.Bytes()); err != nil {
		t.Fatalf("an excelize workbook: %v", err)
	}
	ok := sheetWith([]string{"ann", "bob"}, `<row r="2"><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>`)
	if err := check(ok); err != nil {
		t.Fatalf("a small shared-string workbook: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// Each way of making a reader allocate far more than the file's size is refused
// with a LimitError that says what was wrong.
func TestCheckXLSXRefusesBombs(t *testing.T) {
	big := strings.Repeat("a", 200<<10) // one shared string just under the text limit
	refs := strings.Repeat(`<c t="s"><v>0</v></c>`, 10)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"a sheet of 500 MB of spaces", sheettest.WhitespaceSheet(500), "unpacks to more than 64 MB"},
		{"the same behind padding", sheettest.Bytes(append(append(sheettest.Workbook(false), sheettest.Padding(6)...),
			sheettest.Part{Name: "xl/worksheets/sheet1.xml", Head: sheettest.SheetHead, Chunk: sheettest.Fill(' ', 1<<20), Repeat: 500, Tail: sheettest.SheetTail})...), "longer than 256 KB"},
		{"a shared string of 500 MB", sheettest.HugeSharedString(500), "text table unpacks to 500 MB"},
		{"many parts", sheettest.ManyEntries(600, 10), "holds 605 parts"},
		{"large parts kept in memory", sheettest.ManyEntries(20, 3<<20), "besides its sheets"},
		{"one part over its limit", sheettest.ManyEntries(1, 5<<20), "unpacks to 5 MB"},
		{"a row repeating a long shared string", sheetWith([]string{big}, `<row r="2">`+refs+`</row>`), "Row 2 of the sheet holds more than 1 MB"},
		{"the same, cells after the row's end", sheetWith([]string{big}, `<row r="2"></row>`+refs), "more than 1 MB"},
		{"the same, the type hidden behind a decoy attribute", sheetWith([]string{big}, `<row r="2">`+strings.Repeat(`<c x=" t='n'" t="s"><v>0</v></c>`, 10)+`</row>`), "more than 1 MB"},
		{"the same, the index as a character reference", sheetWith([]string{big}, `<row r="2">`+strings.Repeat(`<c t="s"><v>&#48;</v></c>`, 10)+`</row>`), "more than 1 MB"},
		{"the same, the index in a text section", sheetWith([]string{big}, `<row r="2">`+strings.Repeat(`<c t="s"><v><![CDATA[0]]></v></c>`, 10)+`</row>`), "more than 1 MB"},
		{"the same, the index with leading zeros", sheetWith([]string{big}, `<row r="2">`+strings.Repeat(`<c t="s"><v>`+strings.Repeat("0", 100)+`</v></c>`, 10)+`</row>`), "more than 1 MB"},
		{"a document type", sheetWith(nil, `<!DOCTYPE x [<!ENTITY a "aaaa">]>`), "document type"},
		{"deep nesting", sheetWith(nil, strings.Repeat("<a>", 100)+strings.Repeat("</a>", 100)), "nests elements"},
		{"a long comment", sheetWith(nil, "<!--"+strings.Repeat("-", 300<<10)+"-->"), "comment longer"},
		{"UTF-16", sheettest.Bytes(append(sheettest.Workbook(false), sheettest.Part{Name: "xl/worksheets/sheet1.xml", Head: "<\x00w\x00>\x00"})...), "not UTF-8"},
		{"a number format repeating the text", sheetWith(nil, "", sheettest.Part{Name: "xl/styles.xml",
			Head: `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="200" formatCode="@@@@"/></numFmts></styleSheet>`}), "number format"},
		{"too many cells in a row", sheetWith(nil, `<row r="2">`+strings.Repeat(`<c/>`, 20_000)+`</row>`), "more than 16384 cells"},
	}
	for _, c := range cases {
		err := check(c.file)
		var le *sheet.LimitError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s (%d KB): %v, want a limit error with %q", c.name, len(c.file)>>10, err, c.want)
		}
	}
	// A part that unpacks to more than it declares fails in the zip reader.
	lying := sheettest.WhitespaceSheet(2)
	i := bytes.LastIndex(lying, []byte("xl/worksheets/sheet1.xml"))
	if i < 0 {
		t.Fatal("no central directory entry")
	}
	// The central directory's uncompressed size sits 22 bytes before the name.
	copy(lying[i-46+24:], []byte{0xff, 0x0f, 0, 0}) // 4 KB declared
	if err := check(lying); err == nil {
		t.Fatal("a part larger than it declares passed")
	}
	if err := check([]byte("name,email\n")); !errors.Is(err, sheet.ErrNotZip) {
		t.Fatalf("a CSV: %v", err)
	}
}
