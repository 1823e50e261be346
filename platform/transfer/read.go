package transfer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/clientele-crm/clientele/platform/sheet"
)

// Import limits. Every row the reader hands out is bounded, whatever the file:
// a row holds at most ImportMaxColumns cells of at most ImportMaxCell
// characters, and ImportMaxRowBytes in all.
const (
	ImportMaxBytes    = 200 << 20
	ImportMaxRows     = 1_000_000
	ImportMaxColumns  = 1_000
	ImportMaxCell     = 32_767 // characters, as in a spreadsheet cell
	ImportMaxRowBytes = 1 << 20
)

// isLimit reports whether err says the file broke one of the import limits;
// such a file is refused as a whole (413), not row by row.
func isLimit(err error) bool {
	var le *sheet.LimitError
	return errors.As(err, &le)
}

// checkRow applies the limits on columns and cells to a row read from the file
// (row is its number, the header being 1).
func checkRow(row int64, rec []string) error {
	n := len(rec)
	for n > 0 && rec[n-1] == "" {
		n--
	}
	if n > ImportMaxColumns {
		return &sheet.LimitError{Msg: fmt.Sprintf("Row %d has %d columns; imports take at most %d. Remove the columns you do not import.", row, n, ImportMaxColumns)}
	}
	total := 0
	for i, c := range rec {
		total += len(c)
		if len(c) > ImportMaxCell && utf8.RuneCountInString(c) > ImportMaxCell {
			return &sheet.LimitError{Msg: fmt.Sprintf("Row %d, column %d holds %d characters; a cell holds at most %d. Shorten it, or leave that column out of the file.", row, i+1, utf8.RuneCountInString(c), ImportMaxCell)}
		}
	}
	if total > ImportMaxRowBytes {
		return &sheet.LimitError{Msg: fmt.Sprintf("Row %d holds more than %d MB of text; imports take rows of at most that.", row, ImportMaxRowBytes>>20)}
	}
	return nil
}

// rowReader yields a sheet's rows, the header first; io.EOF at the end.
type rowReader interface {
	Next() ([]string, error)
	Close() error
}

// DetectFormat tells XLSX (a zip) from CSV by the first bytes and the name.
func DetectFormat(name string, head []byte) string {
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) || strings.HasSuffix(strings.ToLower(name), ".xlsx") {
		return "xlsx"
	}
	return "csv"
}

// notText says what a file that should be a CSV seems to be instead, from its
// first bytes, or "" when it reads as text. A CSV cell may hold a stray NUL (the
// row then fails); a file is binary when NULs or other control bytes are common.
func notText(head []byte) string {
	magic := []struct{ prefix, what string }{
		{"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "an old Excel workbook (.xls): open it and save it as .xlsx, or as CSV UTF-8"},
		{"\xFF\xFE", "text in UTF-16 (\"Unicode text\"): save it as CSV UTF-8"},
		{"\xFE\xFF", "text in UTF-16 (\"Unicode text\"): save it as CSV UTF-8"},
		{"%PDF", "a PDF document"},
		{"\x89PNG", "a picture"}, {"GIF8", "a picture"}, {"\xFF\xD8\xFF", "a picture"},
		{"\x1F\x8B", "a compressed archive"}, {"Rar!", "a compressed archive"}, {"7z\xBC\xAF", "a compressed archive"},
	}
	for _, m := range magic {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.what
		}
	}
	var nul, ctl int
	for i, b := range head {
		switch {
		case b == 0:
			nul++
			if i < 64 && i%2 == 1 && nul >= 4 && len(head) > 8 && head[0] != 0 {
				return "text in UTF-16 (\"Unicode text\"): save it as CSV UTF-8"
			}
		case b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' && b != '\v' && b != 0x1a:
			ctl++
		}
	}
	// Random bytes hold about 10% such bytes (NULs included); text next to
	// none. One in 20 is far from both, so a binary file is never let through
	// on the luck of its sample (a tenth alone was: about one random file in
	// two came out just under it).
	if nul >= 8 && nul*1000 >= len(head) || (nul+ctl)*20 > len(head) {
		return "a binary file, not text"
	}
	return ""
}

// detectEncoding reads a CSV's first bytes: a UTF-8 BOM or valid UTF-8 is
// UTF-8; anything else is taken as GB18030 (a superset of GBK).
func detectEncoding(head []byte) string {
	if bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) {
		return "utf-8"
	}
	// A sample can end inside a character; ignore an incomplete tail.
	for i := 0; i < 3 && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	if utf8.Valid(head) {
		return "utf-8"
	}
	return "gb18030"
}

type csvRowsIn struct {
	r     *csv.Reader
	f     io.Closer
	cap   *recordCap
	rows  int64
	fatal error // a limit broken: every later read says so too
}

func (c *csvRowsIn) Next() ([]string, error) {
	if c.fatal != nil {
		return nil, c.fatal
	}
	c.cap.n = 0
	rec, err := c.r.Read()
	if errors.Is(err, errRecordTooLong) {
		c.fatal = &sheet.LimitError{Msg: fmt.Sprintf("Row %d is longer than %d MB: a cell holds at most %d characters. Check the file for a quote (\") that is never closed.", c.rows+1, ImportMaxRowBytes>>20, ImportMaxCell)}
		return nil, c.fatal
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			c.rows++
			return nil, fmt.Errorf("line %d: %v", pe.Line, pe.Err)
		}
		return nil, err
	}
	c.rows++
	if c.rows == 1 && len(rec) > 0 {
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
	}
	if err := checkRow(c.rows, rec); err != nil {
		c.fatal = err
		return nil, err
	}
	out := make([]string, len(rec))
	copy(out, rec)
	return out, nil
}

var errRecordTooLong = errors.New("transfer: import record too long")

// recordCap counts the bytes the CSV reader pulls while it reads one record
// and fails past max, so that a giant cell or a quote never closed cannot make
// the reader buffer the rest of the file. The reader's own buffer reads ahead
// at most a few kilobytes, which the cap allows for.
type recordCap struct {
	r      io.Reader
	n, max int
}

func (c *recordCap) Read(p []byte) (int, error) {
	if c.n >= c.max {
		return 0, errRecordTooLong
	}
	if len(p) > c.max-c.n {
		p = p[:c.max-c.n]
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func (c *csvRowsIn) Close() error { return c.f.Close() }

type xlsxRowsIn struct {
	f     *excelize.File
	rows  *excelize.Rows
	row   int64
	fatal error
}

func (x *xlsxRowsIn) Next() ([]string, error) {
	if x.fatal != nil {
		return nil, x.fatal
	}
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	x.row++
	rec, err := x.rows.Columns()
	if err != nil {
		return nil, err
	}
	if err := checkRow(x.row, rec); err != nil {
		x.fatal = err
		return nil, err
	}
	return rec, nil
}

func (x *xlsxRowsIn) Close() error {
	_ = x.rows.Close()
	return x.f.Close()
}

// openRows opens a stored file (a local path) for reading row by row. An XLSX
// file is checked against sheet.ReadLimits first, so that the spreadsheet
// reader never unpacks more than they allow; a file that breaks a limit gives
// a *sheet.LimitError, here and from Next.
func openRows(path, format, encoding string) (rowReader, error) {
	if format == "xlsx" {
		if err := checkXLSX(path); err != nil {
			return nil, err
		}
		lim := sheet.ReadLimits
		f, err := excelize.OpenFile(path, excelize.Options{UnzipSizeLimit: lim.MaxUnpacked, UnzipXMLSizeLimit: lim.InMemoryBelow})
		if err != nil {
			return nil, fmt.Errorf("this is not a readable XLSX file (%v); save it again from your spreadsheet program, or export it as CSV", err)
		}
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			f.Close()
			return nil, errors.New("the workbook has no sheet")
		}
		rows, err := f.Rows(sheets[0])
		if err != nil {
			f.Close()
			return nil, err
		}
		return &xlsxRowsIn{f: f, rows: rows}, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var r io.Reader = bufio.NewReaderSize(fh, 256<<10)
	if encoding == "gbk" || encoding == "gb18030" {
		r = transform.NewReader(r, simplifiedchinese.GB18030.NewDecoder())
	}
	rc := &recordCap{r: r, max: ImportMaxRowBytes + 64<<10}
	cr := csv.NewReader(rc)
	cr.FieldsPerRecord = -1 // ragged rows are reported per row, not fatal
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	return &csvRowsIn{r: cr, f: fh, cap: rc}, nil
}

func checkXLSX(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	err = sheet.CheckXLSX(f, st.Size(), sheet.ReadLimits)
	if err == nil || isLimit(err) {
		return err
	}
	return fmt.Errorf("this is not a readable XLSX file (%v); save it again from your spreadsheet program, or export it as CSV", err)
}

func headerKey(h string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '_' || r == '-' || r == '.' {
			return -1
		}
		return unicode.ToLower(r)
	}, strings.TrimPrefix(h, "\ufeff"))
}

// SuggestMapping matches headers to targets by key, label or alias, in English
// and Chinese, trying the targets in the order given. A target matched by two
// columns keeps the first.
func SuggestMapping(headers []string, targets []Target) map[string]string {
	out := map[string]string{}
	taken := map[string]bool{}
	for _, h := range headers {
		k := headerKey(h)
		if k == "" {
			continue
		}
		target := ""
		for _, t := range targets {
			if t.matches(k) {
				target = t.Key
				break
			}
		}
		if target != "" && !taken[target] {
			out[h] = target
			taken[target] = true
		}
	}
	return out
}

func (t Target) matches(k string) bool {
	if k == headerKey(t.Key) || k == headerKey(t.LabelEN) || (t.LabelZH != "" && k == headerKey(t.LabelZH)) {
		return true
	}
	if short, ok := strings.CutPrefix(t.Key, "custom."); ok && k == headerKey(short) {
		return true
	}
	for _, a := range t.Aliases {
		if k == headerKey(a) {
			return true
		}
	}
	return false
}

// SplitList splits a cell holding several values: commas, semicolons, 、 and newlines.
func SplitList(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '、' || r == '，' || r == '；' || r == '\n' || r == '|'
	})
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
