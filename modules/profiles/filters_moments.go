package profiles

import (
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"golang.org/x/text/currency"

	"github.com/clientele-crm/clientele/platform/errs"
)

// momentSet gathers the moment filters of one query string by group
// (momentGroups), each under its field[op], for ParseFilters.
type momentSet map[string]url.Values

// add records the values of parameter k (field[op]); a filter is given
// once (one value, however often repeated), and its value is checked here,
// so a saved view naming a bad one is refused when it is saved.
func (s momentSet) add(group, k, field, op string, vals []string) *errs.FieldError {
	key := field + "[" + op + "]"
	for _, v := range vals {
		canon, msg := checkMoment(field, op, v)
		if msg != "" {
			return &errs.FieldError{Location: "query." + k, Message: msg, Value: v}
		}
		if s[group] == nil {
			s[group] = url.Values{}
		}
		if had := s[group].Get(key); had != "" && had != canon {
			return &errs.FieldError{Location: "query." + k, Message: "give it once: the " + group + " filters are one condition, met by one " + groupNoun[group]}
		}
		s[group].Set(key, canon)
	}
	return nil
}

// groupNoun is what one condition of a group is met by.
var groupNoun = map[string]string{groupPurchase: "purchase", groupChurned: "move to churned"}

// filters are the conditions of the set, one per group.
func (s momentSet) filters() []FieldFilter {
	groups := make([]string, 0, len(s))
	for g := range s {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	out := make([]FieldFilter, 0, len(groups))
	for _, g := range groups {
		out = append(out, FieldFilter{Field: g, Op: "exists", Value: s[g].Encode()})
	}
	return out
}

// checkMoment reads the value of a moment filter: its canonical form, or
// what is wrong with it.
func checkMoment(field, op, v string) (string, string) {
	v = strings.TrimSpace(v)
	switch field {
	case "purchased_at", "churned_at":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return "", "must be an RFC 3339 time such as 2026-01-31T16:00:00Z"
		}
		return t.UTC().Format(time.RFC3339Nano), ""
	case "purchase_currency":
		cur := strings.ToUpper(v)
		if _, err := currency.ParseISO(cur); err != nil || len(cur) != 3 {
			return "", "must be an ISO 4217 currency such as CNY"
		}
		return cur, ""
	case "purchase_channel":
		if op == "empty" {
			if v != "true" && v != "false" {
				return "", "true: purchases without a channel; false: purchases with one"
			}
			return v, ""
		}
		if v == "" || utf8.RuneCountInString(v) > 50 {
			return "", "a channel has 1 to 50 characters; purchase_channel[empty]=true keeps the purchases without one"
		}
		return v, ""
	}
	return "", "unsupported filter"
}

// applyMoment adds a group's condition: the customers with one purchase, or
// one move to churned (as the churned customers metric counts it:
// movedToChurned), that meets every filter of the group. Each is an EXISTS
// on the customer's rows, which the index led by (tenant, customer, time)
// bounds to the range.
func (f FieldFilter) applyMoment(q *bun.SelectQuery) (*bun.SelectQuery, error) {
	vals, err := url.ParseQuery(f.Value)
	if err != nil {
		return nil, errs.Field("query", "unreadable "+f.Field+" filter")
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var conds []string
	var args []any
	at := "i.occurred_at"
	if f.Field == groupChurned {
		at = "h.changed_at"
	}
	for _, k := range keys {
		mm := filterKey.FindStringSubmatch(k)
		if mm == nil || momentGroups[mm[1]] != f.Field || !fieldOps[mm[1]][mm[2]] || len(vals[k]) != 1 {
			return nil, errs.Field("query."+k, "not a "+f.Field+" filter")
		}
		field, op := mm[1], mm[2]
		v, msg := checkMoment(field, op, vals[k][0])
		if msg != "" {
			return nil, errs.Field("query."+k, msg)
		}
		switch {
		case field == "purchase_currency":
			conds, args = append(conds, "i.currency = ?"), append(args, v)
		case field == "purchase_channel" && op == "empty":
			if v == "true" {
				conds = append(conds, "i.channel = ''")
			} else {
				conds = append(conds, "i.channel <> ''")
			}
		case field == "purchase_channel":
			conds, args = append(conds, "i.channel = ?"), append(args, v)
		case op == "gte":
			t, _ := time.Parse(time.RFC3339Nano, v)
			conds, args = append(conds, at+" >= ?"), append(args, t)
		case op == "lt":
			t, _ := time.Parse(time.RFC3339Nano, v)
			conds, args = append(conds, at+" < ?"), append(args, t)
		}
	}
	var sql string
	switch f.Field {
	case groupPurchase:
		sql = "EXISTS (SELECT 1 FROM interactions AS i WHERE i.tenant_id = c.tenant_id AND i.customer_id = c.id AND i.kind = 'purchase'"
	case groupChurned:
		sql = "EXISTS (SELECT 1 FROM customer_lifecycle_history AS h WHERE h.tenant_id = c.tenant_id AND h.customer_id = c.id AND " + movedToChurned
	}
	for _, c := range conds {
		sql += " AND " + c
	}
	return q.Where(sql+")", args...), nil
}
