package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/danielgtaylor/huma/v2"
)

// The formats a response may be asked for besides JSON.
var (
	// csvFormat renders list responses ({"items": [...]}) as CSV for Accept: text/csv:
	// one row per item, columns from the items' keys, nested values as JSON and
	// arrays joined with "; ". Any other body becomes key,value rows. Cells that a
	// spreadsheet would run as a formula are neutralised.
	csvFormat = responseFormat("CSV", writeCSV)

	// xmlFormat renders any response as XML by way of its JSON form, so maps (custom
	// fields) and slices render without per-type XML tags. Objects become elements
	// named by their keys; array items become <item>. Requests stay JSON.
	xmlFormat = responseFormat("XML", writeXML)
)

// JSONAppender is a response body that writes its own JSON: the bytes
// encoding/json writes for it with HTML escaping off, as the API writes every
// body. A hot list's page skips reflection this way (tickets' list). It
// should implement json.Marshaler with the same bytes, for the formats that
// start from the JSON form (XML, CSV).
type JSONAppender interface{ AppendJSON(b []byte) []byte }

// jsonBufs are the buffers AppendJSON bodies are written into.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// jsonFormat is Huma's JSON format, except for a JSONAppender body.
var jsonFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		a, ok := v.(JSONAppender)
		if !ok {
			return huma.DefaultJSONFormat.Marshal(w, v)
		}
		bp := jsonBufs.Get().(*[]byte)
		b := append(a.AppendJSON((*bp)[:0]), '\n')
		_, err := w.Write(b)
		if cap(b) <= 1<<20 {
			*bp = b[:0]
			jsonBufs.Put(bp)
		}
		return err
	},
	Unmarshal: huma.DefaultJSONFormat.Unmarshal,
}

// responseFormat is a format for responses only (CSV, XML): it renders the
// JSON form of a response (see jsonTree) with render, and refuses request
// bodies, which stay JSON.
func responseFormat(name string, render func(w io.Writer, tree any) error) huma.Format {
	return huma.Format{
		Marshal: func(w io.Writer, v any) error {
			var tree any
			if err := jsonTree(v, &tree); err != nil {
				return err
			}
			return render(w, tree)
		},
		Unmarshal: func([]byte, any) error {
			return fmt.Errorf("%w: %s request bodies are not accepted; send JSON", huma.ErrUnknownContentType, name)
		},
	}
}

// jsonTree decodes v's JSON form into tree (maps, slices and json.Number for
// numbers, so big integers and decimals stay exact): the generic shape the
// CSV and XML formats render.
func jsonTree(v, tree any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(tree)
}
