package httpx

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"sort"

	"github.com/danielgtaylor/huma/v2"
)

// xmlFormat renders any response as XML by way of its JSON form, so maps (custom
// fields) and slices render without per-type XML tags. Objects become elements
// named by their keys; array items become <item>. Requests stay JSON.
var xmlFormat = huma.Format{
	Marshal: func(w io.Writer, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var tree any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber() // keep big integers and decimals exact
		if err := dec.Decode(&tree); err != nil {
			return err
		}
		if _, err := io.WriteString(w, xml.Header); err != nil {
			return err
		}
		enc := xml.NewEncoder(w)
		root := "response"
		if m, ok := tree.(map[string]any); ok {
			if _, isProblem := m["status"]; isProblem && m["code"] != nil && m["title"] != nil {
				root = "problem"
			}
		}
		if err := encodeXML(enc, root, tree); err != nil {
			return err
		}
		return enc.Flush()
	},
	Unmarshal: func(data []byte, v any) error {
		return fmt.Errorf("%w: XML request bodies are not accepted; send JSON", huma.ErrUnknownContentType)
	},
}

var xmlNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func xmlName(k string) string {
	n := xmlNameUnsafe.ReplaceAllString(k, "_")
	if n == "" || (n[0] >= '0' && n[0] <= '9') || n[0] == '-' || n[0] == '.' {
		n = "_" + n
	}
	return n
}

func encodeXML(enc *xml.Encoder, name string, v any) error {
	start := xml.StartElement{Name: xml.Name{Local: xmlName(name)}}
	switch t := v.(type) {
	case map[string]any:
		if err := enc.EncodeToken(start); err != nil {
			return err
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := encodeXML(enc, k, t[k]); err != nil {
				return err
			}
		}
		return enc.EncodeToken(start.End())
	case []any:
		if err := enc.EncodeToken(start); err != nil {
			return err
		}
		for _, item := range t {
			if err := encodeXML(enc, "item", item); err != nil {
				return err
			}
		}
		return enc.EncodeToken(start.End())
	case nil:
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "nil"}, Value: "true"}}
		if err := enc.EncodeToken(start); err != nil {
			return err
		}
		return enc.EncodeToken(start.End())
	default:
		return enc.EncodeElement(fmt.Sprint(t), start)
	}
}
