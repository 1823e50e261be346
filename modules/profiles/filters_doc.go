package profiles

import (
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// filterGrammar explains the field[op]=value filters of the customer list, which
// Huma's fixed parameters cannot express (Resolve reads them).
const filterGrammar = "\n\n**Filters.** Any field can be filtered with `field[op]=value` (`field=value` means `eq`), " +
	"and every condition must hold. Standard fields are listed as parameters below, each with the operators it takes; " +
	"custom fields marked filterable are `custom.<key>[op]=value`, e.g. `custom.tier[in]=gold,silver` or `custom.score[between]=10,20`. " +
	"Operators: `eq`, `ne` (one value); `in` (a comma-separated list); `gt`, `gte`, `lt`, `lte` (one value: a number, a date " +
	"such as 2026-01-31, or an RFC 3339 time); `between` (two values, `from,to`, inclusive); `prefix` (starts with); " +
	"`contains` (a tag, or an option of a multi-select field); `empty` (`true` for no value, `false` for any value). " +
	"`lifecycle` and `kind` also take `lifecycle[ne]`, `lifecycle[in]` and `kind[ne]`. " +
	"`owner_team=<team id>` keeps the customers whose owner is a member of the team; `owner_team[empty]=true` those whose " +
	"owner is in no team, or who have none (the metrics' points by team). " +
	"The nightly scores filter too: `rfm.segment` (champions, loyal, potential, new, at_risk, hibernating, lost), `rfm.recency`, " +
	"`rfm.frequency`, `rfm.monetary` (1 to 5), `churn_risk` (0 to 100) and `revenue` (lifetime, the company's currency), " +
	"e.g. `rfm.segment[in]=champions,loyal&churn_risk[gte]=70`. " +
	"Moments of a customer's history filter as the metrics count customers by them: " +
	"`purchased_at[gte]` and `purchased_at[lt]` (RFC 3339 instants), `purchase_currency` (ISO 4217) and `purchase_channel` " +
	"(`purchase_channel[empty]=true`: no channel) keep the customers with one purchase that meets them all, e.g. " +
	"`purchased_at[gte]=2026-01-31T16:00:00Z&purchased_at[lt]=2026-02-28T16:00:00Z&purchase_currency=CNY`; " +
	"`churned_at[gte]` and `churned_at[lt]` the customers with a move from another stage to churned in the range. " +
	"Each is given once. " +
	"`active_at=<RFC 3339 instant>` keeps the customers whose lifecycle stage at that instant was customer or at_risk, " +
	"as active customers counts them at the end of a period. " +
	"`province` and `city` filter on the address as the metrics' dimensions read it: `province=广东`, `city[in]=广州,深圳`, " +
	"`province[empty]=true` for no province (none given, or an empty one). " +
	"Values are URL-encoded; " +
	"a filter on an unknown field, or an operator the field does not take, answers 422 naming it, e.g. " +
	"`tags[contains]=vip&created_at[gte]=2026-01-01&name[prefix]=张`."

// filterValue says what each operator's value is.
var filterValue = map[string]string{
	"eq": "equal to", "ne": "not equal to", "in": "one of, comma-separated", "prefix": "starts with",
	"gt": "after", "gte": "at or after", "lt": "before", "lte": "at or before",
	"between": "from,to (inclusive)", "contains": "has this tag", "empty": "true: has none; false: has some",
}

// momentDocs describe the filters on moments of a customer's history
// (momentGroups).
var momentDocs = map[string]string{
	"purchased_at": "Customers with a purchase at or after [gte] and before [lt] these instants (RFC 3339), as the purchase metrics count " +
		"them; with purchase_currency and purchase_channel, one purchase meets them all. Given once.",
	"purchase_currency": "Customers with a purchase in this currency (ISO 4217; the money metrics count the company's only); " +
		"with purchased_at and purchase_channel, one purchase meets them all. Given once.",
	"purchase_channel": "Customers with a purchase through this channel ([empty]=true: with none); with purchased_at and " +
		"purchase_currency, one purchase meets them all. Given once.",
	"churned_at": "Customers who moved from another stage to churned at or after [gte] and before [lt] these instants (RFC 3339), " +
		"as churned customers counts them. Given once.",
}

// instantDocs describe the filters whose value is one instant.
var instantDocs = map[string]string{
	"active_at": "Customers whose lifecycle stage at this instant (RFC 3339), by their lifecycle history, was customer or at_risk, " +
		"as active customers counts them at the end of a period. Given once.",
}

// addressDocs describe the filters on the address (addressFields).
var addressDocs = map[string]string{
	"province": "Customers whose address has this province ([in]: one of these, comma-separated; [empty]=true: none, or an empty one), " +
		"as the metrics' province dimension reads it. A value has at most 200 characters.",
	"city": "Customers whose address has this city ([in]: one of these, comma-separated; [empty]=true: none, or an empty one), " +
		"as the metrics' city dimension reads it. A value has at most 200 characters.",
}

// filterParams documents the standard fields' filters as deepObject parameters,
// which serialise as field[op]=value, so generated clients can send them. The
// fields plain parameters already name (lifecycle, kind) are described in the
// operation's text instead.
func filterParams() []*huma.Param {
	var names []string
	for f := range fieldOps {
		if f != "lifecycle" && f != "kind" {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	explode := true
	out := make([]*huma.Param, 0, len(names))
	for _, f := range names {
		s := &huma.Schema{Type: huma.TypeObject, Properties: map[string]*huma.Schema{}, AdditionalProperties: false}
		var ops []string
		for op := range fieldOps[f] {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		for _, op := range ops {
			s.Properties[op] = &huma.Schema{Type: huma.TypeString, Description: filterValue[op]}
			if (op == "eq" || op == "ne") && strings.HasSuffix(f, "_id") {
				s.Properties[op].Format = "uuid"
			}
		}
		desc := "Filter on " + f + ": " + f + "[op]=value with op one of the properties."
		if d, ok := addressDocs[f]; ok {
			desc = d
		}
		if d, ok := instantDocs[f]; ok {
			desc = d
			for _, p := range s.Properties {
				p.Format = "date-time"
			}
		}
		if d, ok := momentDocs[f]; ok {
			desc = d
			if f == "purchased_at" || f == "churned_at" {
				for _, p := range s.Properties {
					p.Format = "date-time"
				}
			}
		}
		out = append(out, &huma.Param{Name: f, In: "query", Style: "deepObject", Explode: &explode, Schema: s, Description: desc})
	}
	return out
}
