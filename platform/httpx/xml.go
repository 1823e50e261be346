package httpx

import (
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
)

// writeXML writes the XML form of a response (see xmlFormat).
func writeXML(w io.Writer, tree any) error {
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
		for _, k := range sortedKeys(t) {
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
