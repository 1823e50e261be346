package profiles

import (
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
)

// addressFields are the parts of a customer's address the list filters on,
// each the expression the metrics' dimension of the same name reads
// (customerFacts, customerDims): the text of the address's key, an empty
// string counting as none (the dimension's nullif), so a point by province
// or city opens its customers.
var addressFields = map[string]string{
	"province": "(c.address ->> 'province')",
	"city":     "(c.address ->> 'city')",
}

// maxAddressValue bounds one value of an address filter, in characters.
const maxAddressValue = 200

// checkAddress says what is wrong with a value of an address filter, or
// nothing. An eq value is taken as given (a point's value, spaces and all);
// the values of an in list are comma-separated and trimmed.
func checkAddress(field, op, v string) string {
	switch op {
	case "empty":
		if v != "true" && v != "false" {
			return "true: customers without a " + field + "; false: customers with one"
		}
		return ""
	case "in":
		n := 0
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if utf8.RuneCountInString(p) > maxAddressValue {
				return "each value has at most 200 characters"
			}
			n++
		}
		if n == 0 {
			return "give one or more values, comma-separated; " + field + "[empty]=true keeps the customers without one"
		}
		return ""
	}
	if strings.TrimSpace(v) == "" || utf8.RuneCountInString(v) > maxAddressValue {
		return "a " + field + " has 1 to 200 characters; " + field + "[empty]=true keeps the customers without one"
	}
	return ""
}

// applyAddress adds an address filter: the value equal to (or one of) the
// given, or (empty) absent or an empty string, exactly as the dimension
// tells customers apart.
func (f FieldFilter) applyAddress(q *bun.SelectQuery) (*bun.SelectQuery, error) {
	col := addressFields[f.Field]
	if msg := checkAddress(f.Field, f.Op, f.Value); msg != "" {
		return nil, errs.Field("query."+f.Field+"["+f.Op+"]", msg)
	}
	switch f.Op {
	case "eq":
		return q.Where(col+" = ?", f.Value), nil
	case "in":
		var vals []string
		for _, p := range strings.Split(f.Value, ",") {
			if p = strings.TrimSpace(p); p != "" {
				vals = append(vals, p)
			}
		}
		return q.Where(col+" IN (?)", bun.In(vals)), nil
	case "empty":
		if f.Value == "false" {
			return q.Where(col + " <> ''"), nil
		}
		return q.Where("coalesce(" + col + ", '') = ''"), nil
	}
	return nil, errs.Field("query."+f.Field+"["+f.Op+"]", "unsupported filter")
}
