package sheet

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/xuri/excelize/v2"
)

// writeAndOpen writes rows, closes x and opens what it wrote into buf with a
// spreadsheet reader, closed when the test ends.
func writeAndOpen(t *testing.T, x *XLSX, buf *bytes.Buffer, rows ...[]string) *excelize.File {
	t.Helper()
	for _, r := range rows {
		if err := x.WriteRow(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestXLSXRoundTripsThroughASpreadsheetReader(t *testing.T) {
	var buf bytes.Buffer
	x := NewXLSX(&buf, "Customers")
	rows := [][]string{
		{"name", "email", "note"},
		{"李雷", "li@example.com", `<b>&"quoted"</b>`},
		{"=SUM(A1:A9)", "", "line one\nline two"},
		{"bad \x01 control", "x", "tab\there"},
	}
	f := writeAndOpen(t, x, &buf, rows...)
	got, err := f.GetRows("Customers")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{rows[0], rows[1], {"=SUM(A1:A9)", "", "line one\nline two"}, {"bad  control", "x", "tab\there"}}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("read back %q\nwant %q", got, want)
	}
	if fm, _ := f.GetCellFormula("Customers", "A3"); fm != "" {
		t.Fatalf("A3 is a formula: %q", fm)
	}
}

func TestXLSXRollsOverToANewSheetWithTheHeader(t *testing.T) {
	var buf bytes.Buffer
	x := NewXLSX(&buf, "Data")
	x.header = nil
	if err := x.WriteRow([]string{"h"}); err != nil {
		t.Fatal(err)
	}
	x.row = MaxRows - 1 // pretend the sheet is nearly full
	f := writeAndOpen(t, x, &buf, []string{"0"}, []string{"1"}, []string{"2"})
	if l := f.GetSheetList(); len(l) != 2 || l[1] != "Data 2" {
		t.Fatalf("sheets %v", l)
	}
	got, _ := f.GetRows("Data 2")
	if fmt.Sprint(got) != "[[h] [1] [2]]" {
		t.Fatalf("second sheet %v", got)
	}
	if column(0) != "A" || column(25) != "Z" || column(26) != "AA" || column(701) != "ZZ" || column(702) != "AAA" {
		t.Fatal("column letters")
	}
}
