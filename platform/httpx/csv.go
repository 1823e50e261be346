package httpx

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
)

// writeCSV writes the CSV form of a response (see csvFormat).
func writeCSV(w io.Writer, v any) error {
	tree, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("csv: this response is not a table")
	}
	cw := csv.NewWriter(w)
	items, isList := tree["items"].([]any)
	if !isList {
		keys := sortedKeys(tree)
		_ = cw.Write([]string{"key", "value"})
		for _, k := range keys {
			_ = cw.Write([]string{k, SafeCell(cell(tree[k]))})
		}
		cw.Flush()
		return cw.Error()
	}
	cols := orderColumns(itemKeys(items))
	if err := cw.Write(cols); err != nil {
		return err
	}
	row := make([]string, len(cols))
	for _, it := range items {
		m, _ := it.(map[string]any)
		for i, c := range cols {
			row[i] = SafeCell(cell(m[c]))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// itemKeys lists every key of the object items, each once.
func itemKeys(items []any) []string {
	var cols []string
	seen := map[string]bool{}
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			for _, k := range sortedKeys(m) {
				if !seen[k] {
					seen[k] = true
					cols = append(cols, k)
				}
			}
		}
	}
	return cols
}

// orderColumns puts id and name first, the rest alphabetically.
func orderColumns(cols []string) []string {
	rank := map[string]int{"id": 0, "name": 1, "kind": 2}
	sort.SliceStable(cols, func(i, j int) bool {
		ri, iok := rank[cols[i]]
		rj, jok := rank[cols[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok:
			return true
		case jok:
			return false
		}
		return cols[i] < cols[j]
	})
	return cols
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func cell(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "true"
		}
		return "false"
	case []any:
		parts := make([]string, len(t))
		for i, x := range t {
			parts[i] = cell(x)
		}
		return strings.Join(parts, "; ")
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// SafeCell neutralises a value a spreadsheet would evaluate (=, +, -, @, and the
// tab and carriage return tricks) by prefixing an apostrophe; numbers stay numbers.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if isNumber(s) {
			return s
		}
		return "'" + s
	}
	return s
}

func isNumber(s string) bool {
	var n json.Number = json.Number(s)
	_, err := n.Float64()
	return err == nil && !strings.ContainsAny(s, "eE")
}
