// Package sheet writes spreadsheets as streams: an XLSX file of any length is
// written row by row straight into its destination, with memory that does not
// grow with the rows (a zip entry per sheet, the workbook parts at the end). It
// also checks an XLSX file against Limits before a spreadsheet reader opens it.
package sheet

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxRows is how many rows a worksheet holds; a longer stream continues on the
// next sheet, which repeats the header.
const MaxRows = 1_048_576

// XLSX streams rows into an .xlsx file. Every cell is an inline string, so no
// cell is ever a formula whatever it holds.
type XLSX struct {
	zw     *zip.Writer
	bw     *bufio.Writer
	name   string
	header []string
	sheets int
	row    int
	open   bool
}

// NewXLSX starts a workbook whose sheets are called name, name 2, name 3...
func NewXLSX(w io.Writer, name string) *XLSX {
	return &XLSX{zw: zip.NewWriter(w), name: name}
}

func (x *XLSX) sheetName(i int) string {
	if i == 1 {
		return x.name
	}
	return fmt.Sprintf("%s %d", x.name, i)
}

func (x *XLSX) startSheet() error {
	if err := x.endSheet(); err != nil {
		return err
	}
	x.sheets++
	f, err := x.zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("xl/worksheets/sheet%d.xml", x.sheets), Method: zip.Deflate})
	if err != nil {
		return err
	}
	x.bw = bufio.NewWriterSize(f, 64<<10)
	x.row, x.open = 0, true
	_, err = x.bw.WriteString(xml.Header + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	if err == nil && x.header != nil {
		err = x.writeRow(x.header)
	}
	return err
}

func (x *XLSX) endSheet() error {
	if !x.open {
		return nil
	}
	x.open = false
	if _, err := x.bw.WriteString(`</sheetData></worksheet>`); err != nil {
		return err
	}
	return x.bw.Flush()
}

// WriteRow appends a row; the first row written is the header.
func (x *XLSX) WriteRow(cells []string) error {
	if x.sheets == 0 {
		x.header = append([]string(nil), cells...)
		return x.startSheet()
	}
	if x.row >= MaxRows {
		if err := x.startSheet(); err != nil {
			return err
		}
	}
	return x.writeRow(cells)
}

func (x *XLSX) writeRow(cells []string) error {
	x.row++
	r := strconv.Itoa(x.row)
	b := x.bw
	b.WriteString(`<row r="` + r + `">`)
	for i, c := range cells {
		if c == "" {
			continue
		}
		b.WriteString(`<c r="` + column(i) + r + `" t="inlineStr"><is><t xml:space="preserve">`)
		if err := xml.EscapeText(b, []byte(clean(c))); err != nil {
			return err
		}
		b.WriteString(`</t></is></c>`)
	}
	_, err := b.WriteString(`</row>`)
	return err
}

// Close writes the workbook parts and finishes the zip; it does not close the
// underlying writer.
func (x *XLSX) Close() error {
	if x.sheets == 0 {
		if err := x.WriteRow(nil); err != nil {
			return err
		}
	}
	if err := x.endSheet(); err != nil {
		return err
	}
	var ct, sheets, rels strings.Builder
	for i := 1; i <= x.sheets; i++ {
		fmt.Fprintf(&ct, `<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, i)
		var name strings.Builder
		_ = xml.EscapeText(&name, []byte(x.sheetName(i)))
		fmt.Fprintf(&sheets, `<sheet name="%s" sheetId="%d" r:id="rId%d"/>`, name.String(), i, i)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%d.xml"/>`, i, i)
	}
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
			ct.String() + `</Types>`},
		{"_rels/.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", xml.Header + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>` +
			sheets.String() + `</sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels.String() +
			fmt.Sprintf(`<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>`, x.sheets+1) +
			`</Relationships>`},
		{"xl/styles.xml", xml.Header + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
			`<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>` +
			`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
			`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
			`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
			`<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>` +
			`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`},
	}
	for _, p := range parts {
		f, err := x.zw.Create(p.name)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(f, p.body); err != nil {
			return err
		}
	}
	return x.zw.Close()
}

// column is the spreadsheet letter of a zero-based column: 0 -> A, 26 -> AA.
func column(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}

// clean drops what XML 1.0 cannot carry (control characters, invalid UTF-8)
// and cuts a cell at the 32,767 characters a spreadsheet cell holds.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			ok = false
			break
		}
	}
	if ok && utf8.RuneCountInString(s) <= 32767 {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			continue
		}
		if n == 32767 {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
