package bi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/image/font/opentype"
)

// FontCandidates are the system fonts with Chinese glyphs in TrueType
// outlines that reports are drawn with, in order of preference, when no
// path is configured: Debian's fonts-droid-fallback, fonts-wqy-microhei and
// fonts-wqy-zenhei. A collection (.ttc) is read for its first font.
var FontCandidates = []string{
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
	"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
	"/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf",
}

// reportFont is the font reports are drawn with: parsed for the PNG charts,
// and as a single TrueType file for the PDF, which cannot embed a collection.
type reportFont struct {
	path string
	face *opentype.Font
	ttf  []byte
}

type fontCache struct {
	once sync.Once
	f    *reportFont
	err  error
}

// font loads the configured font, or the first candidate found, once.
func (c *fontCache) load(path string) (*reportFont, error) {
	c.once.Do(func() {
		paths := FontCandidates
		if path != "" {
			paths = []string{path}
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			c.f, c.err = parseFont(p, b)
			return
		}
		c.err = fmt.Errorf("bi: no font with Chinese glyphs found (tried %v); install fonts-droid-fallback or fonts-wqy-microhei, or configure its path", paths)
	})
	return c.f, c.err
}

func parseFont(path string, b []byte) (*reportFont, error) {
	ttf := b
	if len(b) >= 4 && string(b[:4]) == "ttcf" {
		var err error
		if ttf, err = firstOfCollection(b); err != nil {
			return nil, fmt.Errorf("bi: font %s: %w", path, err)
		}
	}
	f, err := opentype.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("bi: font %s: %w", path, err)
	}
	return &reportFont{path: path, face: f, ttf: ttf}, nil
}

// firstOfCollection copies the first font of a TrueType collection into a
// file of its own: the same tables, their offsets moved to the new file.
func firstOfCollection(b []byte) ([]byte, error) {
	bad := errors.New("malformed font collection")
	if len(b) < 16 || binary.BigEndian.Uint32(b[8:]) == 0 {
		return nil, bad
	}
	off := int(binary.BigEndian.Uint32(b[12:]))
	if off+12 > len(b) {
		return nil, bad
	}
	n := int(binary.BigEndian.Uint16(b[off+4:]))
	dir := off + 12
	if dir+16*n > len(b) {
		return nil, bad
	}
	head := 12 + 16*n
	out := make([]byte, head, len(b)/2)
	copy(out[:12], b[off:off+12])
	for i := 0; i < n; i++ {
		rec := b[dir+16*i : dir+16*i+16]
		start, length := int(binary.BigEndian.Uint32(rec[8:])), int(binary.BigEndian.Uint32(rec[12:]))
		if start < 0 || length < 0 || start+length > len(b) {
			return nil, bad
		}
		copy(out[12+16*i:], rec[:8])
		binary.BigEndian.PutUint32(out[12+16*i+8:], uint32(len(out)))
		binary.BigEndian.PutUint32(out[12+16*i+12:], uint32(length))
		out = append(out, b[start:start+length]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out, nil
}
