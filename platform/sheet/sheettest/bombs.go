// Package sheettest builds hostile spreadsheets for tests: zip archives a few
// hundred kilobytes on disk that unpack to hundreds of megabytes.
package sheettest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// Part is one zip entry: Head, then Chunk Repeat times, then Tail.
type Part struct {
	Name   string
	Head   string
	Chunk  []byte
	Repeat int
	Tail   string
	Stored bool // stored, not deflated (random padding)
}

// Size is the part's unpacked size.
func (p Part) Size() int64 {
	return int64(len(p.Head)) + int64(len(p.Chunk))*int64(p.Repeat) + int64(len(p.Tail))
}

// deflated compresses b on a fresh compressor, so its back-references stay
// inside b and the bytes can be placed anywhere in a stream; last ends the stream.
func deflated(b []byte, last bool) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = w.Write(b)
	if last {
		_ = w.Close()
	} else {
		_ = w.Flush()
	}
	return buf.Bytes()
}

// Zip writes the parts as a zip archive. A repeated chunk is compressed once and
// its deflate blocks repeated, so a 500 MB part costs a few hundred kilobytes
// and no time to build.
func Zip(w io.Writer, parts ...Part) error {
	zw := zip.NewWriter(w)
	type key struct {
		first *byte
		n     int
	}
	packed := map[key][]byte{} // parts often share one chunk: compress it once
	for _, p := range parts {
		if p.Stored {
			body := []byte(p.Head + strings.Repeat(string(p.Chunk), p.Repeat) + p.Tail)
			f, err := zw.CreateHeader(&zip.FileHeader{Name: p.Name, Method: zip.Store})
			if err != nil {
				return err
			}
			if _, err := f.Write(body); err != nil {
				return err
			}
			continue
		}
		crc := crc32.Update(0, crc32.IEEETable, []byte(p.Head))
		for i := 0; i < p.Repeat; i++ {
			crc = crc32.Update(crc, crc32.IEEETable, p.Chunk)
		}
		crc = crc32.Update(crc, crc32.IEEETable, []byte(p.Tail))
		var chunk []byte
		if len(p.Chunk) > 0 {
			k := key{&p.Chunk[0], len(p.Chunk)}
			if packed[k] == nil {
				packed[k] = deflated(p.Chunk, false)
			}
			chunk = packed[k]
		}
		head, tail := deflated([]byte(p.Head), false), deflated([]byte(p.Tail), true)
		f, err := zw.CreateRaw(&zip.FileHeader{Name: p.Name, Method: zip.Deflate, CRC32: crc,
			CompressedSize64:   uint64(len(head) + len(chunk)*p.Repeat + len(tail)),
			UncompressedSize64: uint64(p.Size())})
		if err != nil {
			return err
		}
		if _, err := f.Write(head); err != nil {
			return err
		}
		for i := 0; i < p.Repeat; i++ {
			if _, err := f.Write(chunk); err != nil {
				return err
			}
		}
		if _, err := f.Write(tail); err != nil {
			return err
		}
	}
	return zw.Close()
}

// Bytes is Zip into memory.
func Bytes(parts ...Part) []byte {
	var buf bytes.Buffer
	if err := Zip(&buf, parts...); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`

// Workbook is the skeleton of a one-sheet workbook, with a shared-string table
// when shared is true; add a sheet1 part (and the table) to it.
func Workbook(shared bool) []Part {
	sst := ""
	if shared {
		sst = `<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>`
	}
	rels := `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>`
	if shared {
		rels += `<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>`
	}
	return []Part{
		{Name: "[Content_Types].xml", Head: `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` + sst + `</Types>`},
		{Name: "_rels/.rels", Head: `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{Name: "xl/workbook.xml", Head: `<?xml version="1.0" encoding="UTF-8"?><workbook ` + ns + ` xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
			`<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{Name: "xl/_rels/workbook.xml.rels", Head: `<?xml version="1.0" encoding="UTF-8"?>` + rels + `</Relationships>`},
	}
}

// SheetHead opens a worksheet with a header row (name, email).
const SheetHead = `<?xml version="1.0" encoding="UTF-8"?><worksheet ` + ns + `><sheetData>` +
	`<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>email</t></is></c></row>`

// SheetTail closes a worksheet.
const SheetTail = `</sheetData></worksheet>`

// Fill is n bytes of b.
func Fill(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// WhitespaceSheet is a workbook whose sheet holds mb megabytes of spaces
// between its header row and the end.
func WhitespaceSheet(mb int) []byte {
	return Bytes(append(Workbook(false), Part{Name: "xl/worksheets/sheet1.xml", Head: SheetHead, Chunk: Fill(' ', 1<<20), Repeat: mb, Tail: SheetTail})...)
}

// HugeSharedString is a workbook whose one data cell is a shared string of mb
// megabytes.
func HugeSharedString(mb int) []byte {
	return Bytes(append(Workbook(true),
		Part{Name: "xl/sharedStrings.xml", Head: `<?xml version="1.0" encoding="UTF-8"?><sst ` + ns + ` count="1" uniqueCount="1"><si><t>`, Chunk: Fill('a', 1<<20), Repeat: mb, Tail: `</t></si></sst>`},
		Part{Name: "xl/worksheets/sheet1.xml", Head: SheetHead + `<row r="2"><c r="A2" t="s"><v>0</v></c></row>`, Tail: SheetTail})...)
}

// ManyEntries is a workbook with n extra parts of size bytes each (zeros).
func ManyEntries(n, size int) []byte {
	parts := append(Workbook(false), Part{Name: "xl/worksheets/sheet1.xml", Head: SheetHead + SheetTail})
	zeros := Fill(0, size)
	for i := 0; i < n; i++ {
		parts = append(parts, Part{Name: fmt.Sprintf("xl/media/image%d.bin", i), Chunk: zeros, Repeat: 1})
	}
	return Bytes(parts...)
}

// Padding is incompressible parts of n MB in all, 4 MB each at most, which
// raise a bomb's size on disk so that its unpacked-to-packed ratio looks
// ordinary and the content checks, not the ratio, must catch it.
func Padding(mb int) []Part {
	var out []Part
	for i := 0; mb > 0; i++ {
		n := min(mb, 3)
		b := make([]byte, n<<20)
		_, _ = rand.Read(b)
		out = append(out, Part{Name: fmt.Sprintf("xl/media/pad%d.bin", i), Chunk: b, Repeat: 1, Stored: true})
		mb -= n
	}
	return out
}
