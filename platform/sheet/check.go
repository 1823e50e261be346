package sheet

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits bound what reading one XLSX file may cost. An XLSX file is a zip of XML
// parts, and a few hundred kilobytes of zip can unpack to gigabytes: every size a
// reader would allocate for is checked against these before the reader runs.
type Limits struct {
	MaxEntries  int   // parts in the archive
	MaxUnpacked int64 // all parts together, uncompressed
	// RatioFloor and MaxRatio: the parts together may unpack to
	// max(RatioFloor, MaxRatio × the file's size). Spreadsheets compress about
	// 5-20 times; a zip bomb a thousand times.
	RatioFloor int64
	MaxRatio   int64
	MaxSheet   int64 // one worksheet, uncompressed
	MaxShared  int64 // the shared-string table, uncompressed
	MaxPart    int64 // any other part, uncompressed
	// InMemoryBelow is the size up to which a reader keeps a worksheet or the
	// shared-string table in memory (excelize's UnzipXMLSizeLimit); larger ones
	// are unpacked to a temporary file and streamed. Every part a reader keeps in
	// memory counts towards MaxInMemory.
	InMemoryBelow  int64
	MaxInMemory    int64
	MaxSharedItems int   // entries in the shared-string table
	MaxText        int   // one run of text (a cell's value, or space between tags), bytes of XML
	MaxTag         int   // one tag with its attributes, bytes
	MaxDepth       int   // elements open at once
	MaxRowText     int64 // the text of one row, shared strings resolved, bytes
	MaxCells       int   // cells in one row (a spreadsheet has 16,384 columns)
	MaxNumFmts     int   // custom number formats (a reader searches them for every cell)
	MaxFormat      int   // one number format code, bytes (spreadsheets allow 255 characters)
}

// ReadLimits are the limits for reading an uploaded spreadsheet: generous for a
// million-row sheet, small enough that no file takes a reader past a few
// hundred megabytes.
var ReadLimits = Limits{
	MaxEntries:     500,
	MaxUnpacked:    1 << 30,
	RatioFloor:     64 << 20,
	MaxRatio:       100,
	MaxSheet:       1 << 30,
	MaxShared:      256 << 20,
	MaxPart:        4 << 20,
	InMemoryBelow:  1 << 20,
	MaxInMemory:    32 << 20,
	MaxSharedItems: 3_000_000,
	MaxText:        256 << 10,
	MaxTag:         64 << 10,
	MaxDepth:       64,
	MaxRowText:     1 << 20,
	MaxCells:       16_384,
	MaxNumFmts:     300,
	MaxFormat:      255,
}

// LimitError says which limit a file broke, in words for the person who
// uploaded it.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

func limitf(format string, a ...any) error { return &LimitError{Msg: fmt.Sprintf(format, a...)} }

// ErrNotZip means the file is not a zip archive, so not an XLSX file.
var ErrNotZip = errors.New("not a zip archive")

// mb writes a byte count for people.
func mb(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", max(n>>10, 1))
}

// CheckXLSX reads an XLSX file the way a spreadsheet reader would, keeping
// nothing, and returns a *LimitError when reading it for real would break lim.
// It looks at the declared size of every part first (Go's zip reader refuses a
// part that unpacks to more than it declares), then streams every XML part
// through a bounded scanner: no run of text, tag, comment or nesting depth
// beyond the limits, no DOCTYPE, and no row whose text, shared strings
// included, exceeds MaxRowText.
func CheckXLSX(r io.ReaderAt, size int64, lim Limits) error {
	n, err := zipEntryCount(r, size)
	if err != nil {
		return err
	}
	if n > lim.MaxEntries {
		return limitf("The workbook holds %d parts; imports read workbooks of at most %d. Save the sheet on its own, or export it as CSV.", n, lim.MaxEntries)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return ErrNotZip
	}
	allowed := min(lim.MaxUnpacked, max(lim.RatioFloor, lim.MaxRatio*size))
	var total, inMemory int64
	var shared *zip.File
	for _, f := range zr.File {
		name := strings.ReplaceAll(f.Name, "\\", "/")
		declared := int64(f.UncompressedSize64)
		if f.UncompressedSize64 > 1<<62 {
			declared = 1 << 62
		}
		sheet, sst := isWorksheet(name), isSharedStrings(name)
		switch {
		case sheet && declared > lim.MaxSheet:
			return limitf("A worksheet of this workbook unpacks to %s; imports read sheets of at most %s. Split the file, or export it as CSV.", mb(declared), mb(lim.MaxSheet))
		case sst && declared > lim.MaxShared:
			return limitf("The workbook's text table unpacks to %s; imports read at most %s. Split the file, or export it as CSV.", mb(declared), mb(lim.MaxShared))
		case !sheet && !sst && declared > lim.MaxPart:
			return limitf("The part %q of this workbook unpacks to %s; imports read parts of at most %s. Remove pictures and objects, or export the sheet as CSV.", trimName(name), mb(declared), mb(lim.MaxPart))
		}
		total += declared
		if total > allowed {
			return limitf("The workbook unpacks to more than %s, far more than its %s on disk suggests; imports refuse it. Export the sheet as CSV, or split it.", mb(allowed), mb(size))
		}
		if !(sheet || sst) || declared <= lim.InMemoryBelow {
			inMemory += declared
			if inMemory > lim.MaxInMemory {
				return limitf("The workbook's parts besides its sheets unpack to more than %s; imports read at most that. Remove pictures and objects, or export the sheet as CSV.", mb(lim.MaxInMemory))
			}
		}
		if sst {
			shared = f
		}
	}
	c := &checker{lim: lim}
	if shared != nil {
		if err := c.scanPart(shared, kindShared); err != nil {
			return err
		}
	}
	for _, f := range zr.File {
		name := strings.ToLower(strings.ReplaceAll(f.Name, "\\", "/"))
		if f == shared || !(strings.HasSuffix(name, ".xml") || strings.HasSuffix(name, ".rels") || strings.HasSuffix(name, ".vml")) {
			continue
		}
		kind := kindOther
		if isWorksheet(name) {
			kind = kindSheet
		} else if name == "xl/styles.xml" {
			kind = kindStyles
		}
		if err := c.scanPart(f, kind); err != nil {
			return err
		}
	}
	return nil
}

// The reader we guard (excelize) unpacks these two kinds of part to disk when
// they are large; everything else it keeps in memory.
func isWorksheet(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "xl/worksheets/sheet")
}

func isSharedStrings(name string) bool { return strings.EqualFold(name, "xl/sharedStrings.xml") }

func trimName(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// zipEntryCount reads the entry count from the end-of-central-directory record,
// before a zip reader allocates a header for each entry: a 200 MB file can
// declare millions of empty entries.
func zipEntryCount(r io.ReaderAt, size int64) (int, error) {
	const eocdLen = 22
	if size < eocdLen {
		return 0, ErrNotZip
	}
	tail := min(size, eocdLen+65535)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == 0x06054b50 {
			n := int(binary.LittleEndian.Uint16(buf[i+10:]))
			if n == 0xFFFF { // zip64: more entries than a 16-bit count holds
				return 1 << 30, nil
			}
			return n, nil
		}
	}
	return 0, ErrNotZip
}

type partKind int

const (
	kindOther partKind = iota
	kindSheet
	kindShared
	kindStyles
)

// checker carries what one part's scan learns for the next: the length of each
// shared string, which a worksheet's cells refer to by index.
type checker struct {
	lim       Limits
	sharedLen []uint32
}

func (c *checker) scanPart(f *zip.File, kind partKind) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("the part %q cannot be read: %w", trimName(f.Name), err)
	}
	defer rc.Close()
	s := &xmlScan{c: c, kind: kind, part: trimName(f.Name), r: bufio.NewReaderSize(rc, 64<<10)}
	if err := s.run(); err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return err
		}
		return fmt.Errorf("the part %q cannot be read: %w", trimName(f.Name), err)
	}
	return nil
}

// xmlScan is a bounded pass over one XML part that keeps no more than one tag
// and one cell value. It knows just enough of SpreadsheetML to total a row's
// text the way excelize will build it: a row runs from one <row> to the next
// (excelize gives cells after </row> to the row before), and a shared-string
// cell adds the length of the string its <v> points to.
type xmlScan struct {
	c     *checker
	kind  partKind
	part  string
	r     *bufio.Reader
	depth int
	tag   []byte // the current tag, reused

	row     int64 // text of the current row
	rowNo   int64
	cells   int
	shared  bool   // the current cell holds a shared-string index
	inV     bool   // inside <v> of a shared cell
	vbuf    []byte // that <v>'s text, raw
	item    int64  // text of the current shared string; -1 outside <si>
	numFmts int
}

func (s *xmlScan) run() error {
	s.item = -1
	for {
		if err := s.text(); err != nil {
			if errors.Is(err, io.EOF) {
				if s.kind == kindShared && s.item >= 0 {
					s.endItem()
				}
				return nil
			}
			return err
		}
		if err := s.markup(); err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
}

func (s *xmlScan) notUTF8() error {
	return limitf("The part %q of this workbook is not UTF-8 XML; save the file again from your spreadsheet program, or export it as CSV.", s.part)
}

// text consumes character data up to the next '<'.
func (s *xmlScan) text() error {
	n := 0
	for {
		if s.r.Buffered() == 0 {
			if _, err := s.r.Peek(1); err != nil {
				return err
			}
		}
		buf, _ := s.r.Peek(s.r.Buffered())
		i := bytes.IndexByte(buf, '<')
		run := buf
		if i >= 0 {
			run = buf[:i]
		}
		if bytes.IndexByte(run, 0) >= 0 {
			return s.notUTF8()
		}
		n += len(run)
		if n > s.c.lim.MaxText {
			return s.tooLongText()
		}
		if err := s.addText(run); err != nil {
			return err
		}
		_, _ = s.r.Discard(len(run))
		if i >= 0 {
			return nil
		}
	}
}

func (s *xmlScan) tooLongText() error {
	if s.kind == kindSheet && s.rowNo > 0 {
		return limitf("Row %d of the sheet holds a value longer than %s (a spreadsheet cell holds 32,767 characters); imports refuse the file.", s.rowNo, mb(int64(s.c.lim.MaxText)))
	}
	return limitf("The part %q of this workbook holds a run of text longer than %s; imports refuse the file. Export the sheet as CSV.", s.part, mb(int64(s.c.lim.MaxText)))
}

// addText counts text towards the row and the shared string it is in.
func (s *xmlScan) addText(p []byte) error {
	if s.inV {
		s.vbuf = append(s.vbuf, p...)
	}
	return s.addLen(int64(len(p)))
}

func (s *xmlScan) addLen(n int64) error {
	if s.kind == kindSheet {
		s.row += n
		if s.row > s.c.lim.MaxRowText {
			return limitf("Row %d of the sheet holds more than %s of text; imports take rows of at most that. Check the file, or export it as CSV.", s.rowNo, mb(s.c.lim.MaxRowText))
		}
	}
	if s.item >= 0 {
		s.item += n
	}
	return nil
}

// markup consumes one construct that starts with '<'.
func (s *xmlScan) markup() error {
	head, _ := s.r.Peek(9)
	if len(head) < 2 {
		return io.ErrUnexpectedEOF
	}
	switch {
	case bytes.HasPrefix(head, []byte("<!--")):
		_, _ = s.r.Discard(4)
		return s.until([]byte("-->"), s.c.lim.MaxText, "a comment", false)
	case bytes.HasPrefix(head, []byte("<![CDATA[")):
		_, _ = s.r.Discard(9)
		return s.until([]byte("]]>"), s.c.lim.MaxText, "a text section", true)
	case bytes.HasPrefix(head, []byte("<!")):
		return limitf("The part %q of this workbook declares a document type, which spreadsheets never do; imports refuse the file.", s.part)
	case bytes.HasPrefix(head, []byte("<?")):
		_, _ = s.r.Discard(2)
		return s.until([]byte("?>"), s.c.lim.MaxTag, "a processing instruction", false)
	}
	return s.element()
}

// next reads one byte onto s.tag; a NUL means the part is not UTF-8 XML.
func (s *xmlScan) next() (byte, error) {
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if b == 0 {
		return 0, s.notUTF8()
	}
	s.tag = append(s.tag, b)
	return b, nil
}

// until skips to the end marker, at most max bytes; a text section is text.
func (s *xmlScan) until(end []byte, max int, what string, isText bool) error {
	s.tag = s.tag[:0]
	for {
		if _, err := s.next(); err != nil {
			return err
		}
		if bytes.HasSuffix(s.tag, end) {
			if isText {
				return s.addText(s.tag[:len(s.tag)-len(end)])
			}
			return nil
		}
		if len(s.tag) > max {
			if isText {
				return s.tooLongText()
			}
			return limitf("The part %q of this workbook holds %s longer than %s; imports refuse the file.", s.part, what, mb(int64(max)))
		}
	}
}

// element reads one tag, quotes respected, and follows the rows, cells and
// shared strings it opens and closes.
func (s *xmlScan) element() error {
	s.tag = s.tag[:0]
	var quote byte
	for {
		b, err := s.next()
		if err != nil {
			return err
		}
		if len(s.tag) > s.c.lim.MaxTag {
			return limitf("The part %q of this workbook holds a tag longer than %s; imports refuse the file.", s.part, mb(int64(s.c.lim.MaxTag)))
		}
		switch {
		case quote != 0:
			if b == quote {
				quote = 0
			}
		case b == '"' || b == '\'':
			quote = b
		case b == '>':
			return s.tagDone()
		}
	}
}

func (s *xmlScan) tagDone() error {
	t := s.tag // "<name attrs>", "</name>", "<name/>"
	closing := len(t) > 1 && t[1] == '/'
	empty := len(t) > 2 && t[len(t)-2] == '/'
	name := t[1:]
	if closing {
		name = name[1:]
	}
	rest := name
	if i := bytes.IndexAny(name, " \t\r\n/>"); i >= 0 {
		name, rest = name[:i], name[i:]
	}
	name = local(name)
	switch {
	case closing:
		s.depth--
		return s.close(name)
	case empty:
		return s.open(name, rest, true)
	default:
		s.depth++
		if s.depth > s.c.lim.MaxDepth {
			return limitf("The part %q of this workbook nests elements more than %d deep; imports refuse the file.", s.part, s.c.lim.MaxDepth)
		}
		return s.open(name, rest, false)
	}
}

func local(name []byte) []byte {
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func (s *xmlScan) open(name, attrs []byte, empty bool) error {
	switch s.kind {
	case kindSheet:
		switch string(name) {
		case "row":
			s.rowNo++
			if r, ok := attr(attrs, "r"); ok {
				if n, err := strconv.ParseInt(string(r), 10, 64); err == nil {
					s.rowNo = n
				}
			}
			s.row, s.cells = 0, 0
		case "c":
			s.cells++
			if s.cells > s.c.lim.MaxCells {
				return limitf("Row %d of the sheet has more than %d cells; imports refuse the file.", s.rowNo, s.c.lim.MaxCells)
			}
			t, _ := attr(attrs, "t")
			s.shared, s.inV = string(t) == "s", false
		case "v":
			if s.shared && !empty {
				s.inV, s.vbuf = true, s.vbuf[:0]
			}
		}
	case kindShared:
		if string(name) == "si" {
			if s.item >= 0 {
				s.endItem()
			}
			if len(s.c.sharedLen) >= s.c.lim.MaxSharedItems {
				return limitf("The workbook's text table holds more than %d entries; imports read at most that. Export the sheet as CSV.", s.c.lim.MaxSharedItems)
			}
			if empty {
				s.c.sharedLen = append(s.c.sharedLen, 0)
			} else {
				s.item = 0
			}
		}
	case kindStyles:
		if string(name) == "numFmt" {
			s.numFmts++
			if s.numFmts > s.c.lim.MaxNumFmts {
				return limitf("The workbook defines more than %d number formats; imports refuse it. Export the sheet as CSV.", s.c.lim.MaxNumFmts)
			}
			for _, a := range []string{"formatCode", "formatCode16"} {
				if v, ok := attr(attrs, a); ok && (len(v) > s.c.lim.MaxFormat || bytes.Count(v, []byte("@")) > 1) {
					return limitf("The workbook defines a number format longer than %d characters or repeating the text (@); imports refuse it. Export the sheet as CSV.", s.c.lim.MaxFormat)
				}
			}
		}
	}
	return nil
}

func (s *xmlScan) close(name []byte) error {
	switch s.kind {
	case kindSheet:
		switch string(name) {
		case "c":
			s.shared, s.inV = false, false
		case "v":
			if s.inV {
				s.inV = false
				v := bytes.TrimSpace(unescape(s.vbuf))
				if i, err := strconv.Atoi(string(v)); err == nil && i >= 0 && i < len(s.c.sharedLen) {
					return s.addLen(int64(s.c.sharedLen[i]))
				}
			}
		}
	case kindShared:
		if string(name) == "si" && s.item >= 0 {
			s.endItem()
		}
	}
	return nil
}

func (s *xmlScan) endItem() {
	s.c.sharedLen = append(s.c.sharedLen, uint32(min(s.item, 1<<32-1)))
	s.item = -1
}

// attr returns the value of the last attribute with this local name, raw: a
// decoder takes the last one too, and matches attributes by local name.
func attr(attrs []byte, name string) ([]byte, bool) {
	var val []byte
	found := false
	for i := 0; i < len(attrs); {
		for i < len(attrs) && (isSpace(attrs[i]) || attrs[i] == '/' || attrs[i] == '>') {
			i++
		}
		start := i
		for i < len(attrs) && attrs[i] != '=' && !isSpace(attrs[i]) && attrs[i] != '>' {
			i++
		}
		key := attrs[start:i]
		for i < len(attrs) && isSpace(attrs[i]) {
			i++
		}
		if i >= len(attrs) || attrs[i] != '=' {
			if i == start {
				i++
			}
			continue
		}
		i++
		for i < len(attrs) && isSpace(attrs[i]) {
			i++
		}
		if i >= len(attrs) || (attrs[i] != '"' && attrs[i] != '\'') {
			continue
		}
		q := attrs[i]
		end := bytes.IndexByte(attrs[i+1:], q)
		if end < 0 {
			return val, found
		}
		if string(local(key)) == name {
			val, found = attrs[i+1:i+1+end], true
		}
		i += end + 2
	}
	return val, found
}

// unescape decodes the character references a cell's index may be written
// with; anything it does not know stays as it is.
func unescape(b []byte) []byte {
	if bytes.IndexByte(b, '&') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '&' {
			out = append(out, b[i])
			continue
		}
		end := bytes.IndexByte(b[i:], ';')
		if end < 0 {
			out = append(out, b[i:]...)
			break
		}
		ref := string(b[i+1 : i+end])
		r := rune(-1)
		switch {
		case strings.HasPrefix(ref, "#x") || strings.HasPrefix(ref, "#X"):
			if n, err := strconv.ParseInt(ref[2:], 16, 32); err == nil {
				r = rune(n)
			}
		case strings.HasPrefix(ref, "#"):
			if n, err := strconv.ParseInt(ref[1:], 10, 32); err == nil {
				r = rune(n)
			}
		default:
			r = map[string]rune{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\''}[ref]
			if r == 0 {
				r = -1
			}
		}
		if r < 0 {
			out = append(out, b[i])
			continue
		}
		out = utf8.AppendRune(out, r)
		i += end
	}
	return out
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }
