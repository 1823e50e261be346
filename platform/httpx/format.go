package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

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
