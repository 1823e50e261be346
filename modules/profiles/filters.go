package profiles

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
)

// FieldFilter is one `field[op]=value` condition from the query string.
type FieldFilter struct {
	Field string
	Op    string
	Value string
}

var filterKey = regexp.MustCompile(`^([a-z_]+(?:\.[a-z0-9_]+)?)(?:\[([a-z]+)\])?$`)

// reserved query parameters that are not field filters.
var reserved = map[string]bool{"q": true, "sort": true, "cursor": true, "limit": true, "tag": true, "lifecycle": true, "owner": true, "kind": true, "allow_duplicate": true, "segment_id": true, "view_id": true}

// ops each standard field allows.
var fieldOps = map[string]map[string]bool{
	"name":      set("eq", "ne", "in", "prefix"),
	"lifecycle": set("eq", "ne", "in"),
	"kind":      set("eq", "ne"),
	"source":    set("eq", "ne", "in", "prefix", "empty"),
	"owner_id":  set("eq", "ne", "in", "empty"),
	// The owner's team: customers whose owner is a member of the team, or
	// (empty=true) whose owner is in no team or who have no owner, as the
	// metrics count customers by team.
	"owner_team": set("eq", "empty"),
	"company_id": set("eq", "in", "empty"),
	"created_at": set("eq", "gt", "gte", "lt", "lte", "between"),
	"updated_at": set("eq", "gt", "gte", "lt", "lte", "between"),
	"tags":       set("contains", "in", "empty"),
	"email":      set("eq", "prefix"),
	"phone":      set("eq", "prefix"),
	// Scores of the nightly scoring run (customer_scores); a customer not
	// scored yet, or who never bought, has no RFM values and risk 0.
	"rfm.segment":   set("eq", "ne", "in", "empty"),
	"rfm.recency":   set("eq", "in", "gt", "gte", "lt", "lte"),
	"rfm.frequency": set("eq", "in", "gt", "gte", "lt", "lte"),
	"rfm.monetary":  set("eq", "in", "gt", "gte", "lt", "lte"),
	"churn_risk":    set("eq", "gt", "gte", "lt", "lte"),
	"revenue":       set("gt", "gte", "lt", "lte"),
	// Moments of a customer's history (momentGroups): a purchase in a
	// range, in a currency, through a channel; a move to churned in a range.
	"purchased_at":      set("gte", "lt"),
	"purchase_currency": set("eq"),
	"purchase_channel":  set("eq", "empty"),
	"churned_at":        set("gte", "lt"),
	// The customers active at an instant: their lifecycle stage then
	// (by their history) was customer or at risk, as active customers
	// counts them at the end of a period.
	"active_at": set("eq"),
	// The address's province and city as the metrics' dimensions read them
	// (addressFields): empty=true for none, an empty string counting as none.
	"province": set("eq", "in", "empty"),
	"city":     set("eq", "in", "empty"),
}

// momentGroups are the filters on moments of a customer's history, the
// times the purchase metrics and churned customers count customers by, so
// a metric's point opens its customers: each names the condition it is
// part of. The filters of one group given in one query string are read as
// one condition (ParseFilters): a customer has one purchase that meets them
// all, in the range, in the currency and through the channel, as the
// metrics count purchases (a purchase in the range and another in the
// currency are not one the revenue counts).
var momentGroups = map[string]string{
	"purchased_at": groupPurchase, "purchase_currency": groupPurchase, "purchase_channel": groupPurchase,
	"churned_at": groupChurned,
}

// The fields of the conditions the groups are read into; no query string
// names them.
const (
	groupPurchase = "purchase"
	groupChurned  = "churned"
)

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Caps on one query string. Every condition is a subquery the planner must
// place, and a few hundred of them took half a minute to plan: the number of
// conditions is bounded, and a value repeated, or written twice in different
// case for tags, counts (and runs) once.
const (
	MaxFilterTerms = 20  // conditions in one query string: tags, field filters, owner, kind, lifecycle
	MaxTermValues  = 100 // values in one list (an in filter, the lifecycles)
)

// checkQueryCaps applies the caps to a query string before any of it is used;
// the error names the parameter.
func checkQueryCaps(q url.Values) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	terms := 0
	for _, k := range keys {
		switch k {
		case "q", "sort", "cursor", "limit", "allow_duplicate", "segment_id", "view_id":
			continue // one value each, not conditions
		case "owner", "kind":
			terms++
			continue
		}
		vals := q[k]
		listed := k == "lifecycle" || strings.HasSuffix(k, "[in]") || strings.HasSuffix(k, "[between]")
		seen := map[string]bool{}
		for _, v := range vals {
			parts := []string{v}
			if k == "tag" || listed {
				parts = strings.Split(v, ",")
			}
			if listed && len(parts) > MaxTermValues {
				return errs.Field("query."+k, fmt.Sprintf("takes at most %d values; this one has %d", MaxTermValues, len(parts)))
			}
			for _, p := range parts {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				if k == "tag" || strings.HasPrefix(k, "tags[") {
					p = strings.ToLower(p)
				}
				if listed {
					p = v // the list as a whole is one condition
				}
				seen[p] = true
			}
		}
		if len(seen) > MaxFilterTerms {
			return errs.Field("query."+k, fmt.Sprintf("is given %d different values; a list filters on at most %d conditions", len(seen), MaxFilterTerms))
		}
		terms += len(seen)
	}
	if terms > MaxFilterTerms {
		return errs.Field("query", fmt.Sprintf("has %d filter conditions; a list takes at most %d", terms, MaxFilterTerms))
	}
	return nil
}

// ParseFilters reads every `field[op]=value` parameter; the error names each bad
// one. It applies the caps on conditions first, and drops repeated conditions.
func ParseFilters(q url.Values) ([]FieldFilter, error) {
	if err := checkQueryCaps(q); err != nil {
		return nil, err
	}
	var out []FieldFilter
	var fe []errs.FieldError
	moments := momentSet{}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if reserved[k] {
			continue
		}
		mm := filterKey.FindStringSubmatch(k)
		if mm == nil {
			fe = append(fe, errs.FieldError{Location: "query." + k, Message: "not a filter: write field[op]=value, e.g. created_at[gte]=2026-01-01"})
			continue
		}
		field, op := mm[1], mm[2]
		if op == "" {
			op = "eq"
		}
		if strings.HasPrefix(field, "custom.") {
			for _, v := range q[k] {
				out = append(out, FieldFilter{Field: field, Op: op, Value: v})
			}
			continue // checked against the definitions when applied
		}
		ops, ok := fieldOps[field]
		if !ok {
			fe = append(fe, errs.FieldError{Location: "query." + k, Message: "unknown field; filter on name, lifecycle, kind, source, owner_id, owner_team, company_id, created_at, updated_at, tags, email, phone, rfm.segment, rfm.recency, rfm.frequency, rfm.monetary, churn_risk, revenue, purchased_at, purchase_currency, purchase_channel, churned_at, active_at, province, city or custom.<key>"})
			continue
		}
		if !ops[op] {
			allowed := make([]string, 0, len(ops))
			for o := range ops {
				allowed = append(allowed, o)
			}
			sort.Strings(allowed)
			fe = append(fe, errs.FieldError{Location: "query." + k, Message: fmt.Sprintf("operator %s does not apply to %s; use %s", op, field, strings.Join(allowed, ", "))})
			continue
		}
		if g, ok := momentGroups[field]; ok {
			if e := moments.add(g, k, field, op, q[k]); e != nil {
				fe = append(fe, *e)
			}
			continue
		}
		if field == "active_at" {
			// One instant, checked here like the address's values.
			if len(q[k]) != 1 {
				fe = append(fe, errs.FieldError{Location: "query." + k, Message: "give it once: one instant"})
				continue
			}
			if _, err := parseInstant(q[k][0]); err != nil {
				fe = append(fe, errs.FieldError{Location: "query." + k, Message: err.Error(), Value: q[k][0]})
				continue
			}
		}
		if _, ok := addressFields[field]; ok {
			// Checked here, so a saved view naming a bad one is refused
			// when it is saved.
			bad := false
			for _, v := range q[k] {
				if msg := checkAddress(field, op, v); msg != "" {
					fe = append(fe, errs.FieldError{Location: "query." + k, Message: msg, Value: v})
					bad = true
					break
				}
			}
			if bad {
				continue
			}
		}
		for _, v := range q[k] {
			out = append(out, FieldFilter{Field: field, Op: op, Value: v})
		}
	}
	out = append(out, moments.filters()...)
	if len(fe) > 0 {
		return nil, errs.E(errs.Invalid, "Some filters are invalid: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
	}
	return dedupeFilters(out), nil
}

func dedupeFilters(ff []FieldFilter) []FieldFilter {
	seen := map[FieldFilter]bool{}
	out := ff[:0:0]
	for _, f := range ff {
		if f.Field == "tags" && f.Op == "contains" {
			f.Value = strings.ToLower(strings.TrimSpace(f.Value))
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// folded moves tags[contains] filters into Tags (both mean "has this tag"),
// lower-cases and de-duplicates the tags, the lifecycles and the field filters:
// what is asked twice is one condition.
func (f Filter) folded() Filter {
	tags := append([]string(nil), f.Tags...)
	var rest []FieldFilter
	for _, ff := range f.Fields {
		if ff.Field == "tags" && ff.Op == "contains" {
			tags = append(tags, ff.Value)
			continue
		}
		rest = append(rest, ff)
	}
	f.Tags = uniq(tags, true)
	f.Lifecycle = uniq(f.Lifecycle, false)
	f.Fields = dedupeFilters(rest)
	return f
}

func uniq(vs []string, lower bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range vs {
		v = strings.TrimSpace(v)
		if lower {
			v = strings.ToLower(v)
		}
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// apply adds one filter to q.
func (f FieldFilter) apply(q *bun.SelectQuery) (*bun.SelectQuery, error) {
	loc := "query." + f.Field + "[" + f.Op + "]"
	bad := func(msg string) error { return errs.Field(loc, msg) }
	list := func() []string {
		var out []string
		for _, p := range strings.Split(f.Value, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	if g, ok := momentGroups[f.Field]; ok {
		// One moment filter alone (a Filter built in code; ParseFilters
		// gathers them into their group's condition).
		op := f.Op
		if op == "" {
			op = "eq"
		}
		return FieldFilter{Field: g, Op: "exists", Value: url.Values{f.Field + "[" + op + "]": {f.Value}}.Encode()}.applyMoment(q)
	}
	switch f.Field {
	case groupPurchase, groupChurned:
		return f.applyMoment(q)
	case "province", "city":
		return f.applyAddress(q)
	case "active_at":
		t, err := parseInstant(f.Value)
		if err != nil {
			return nil, bad(err.Error())
		}
		// The stage of the customer's last change before t (in the order
		// the metric reads stays: time, then id), by the index led by
		// (tenant, customer, time).
		return q.Where(`(SELECT h.to_stage FROM customer_lifecycle_history AS h
			WHERE h.tenant_id = c.tenant_id AND h.customer_id = c.id AND h.changed_at < ?
			ORDER BY h.changed_at DESC, h.id DESC LIMIT 1) IN `+activeStages, t), nil
	case "name", "lifecycle", "kind", "source":
		col := "c." + f.Field
		if f.Field == "lifecycle" {
			for _, v := range list() {
				if !lifecycles[v] {
					return nil, bad("use lead, prospect, customer, at_risk or churned")
				}
			}
		}
		switch f.Op {
		case "eq":
			return q.Where(col+" = ?", f.Value), nil
		case "ne":
			return q.Where(col+" <> ?", f.Value), nil
		case "in":
			return q.Where(col+" IN (?)", bun.In(list())), nil
		case "prefix":
			return q.Where(col+" >= ? AND "+col+" < ?", f.Value, prefixEnd(f.Value)), nil
		case "empty":
			if f.Value == "false" {
				return q.Where(col + " <> ''"), nil
			}
			return q.Where(col + " = ''"), nil
		}
	case "owner_id", "company_id":
		col := "c." + f.Field
		if f.Op == "empty" {
			if f.Value == "false" {
				return q.Where(col + " IS NOT NULL"), nil
			}
			return q.Where(col + " IS NULL"), nil
		}
		var ids []uuid.UUID
		for _, v := range list() {
			id, err := uuid.Parse(v)
			if err != nil {
				return nil, bad("must be a UUID")
			}
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			return nil, bad("give a value")
		}
		switch f.Op {
		case "eq":
			return q.Where(col+" = ?", ids[0]), nil
		case "ne":
			return q.Where(col+" IS DISTINCT FROM ?", ids[0]), nil
		case "in":
			return q.Where(col+" IN (?)", bun.In(ids)), nil
		}
	case "created_at", "updated_at":
		col := "c." + f.Field
		parse := func(s string) (time.Time, error) {
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
				if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
					return t, nil
				}
			}
			return time.Time{}, bad("must be a date (2026-01-31) or an RFC 3339 time")
		}
		if f.Op == "between" {
			parts := strings.Split(f.Value, ",")
			if len(parts) != 2 {
				return nil, bad("between takes two values: from,to")
			}
			from, err := parse(parts[0])
			if err != nil {
				return nil, err
			}
			to, err := parse(parts[1])
			if err != nil {
				return nil, err
			}
			return q.Where(col+" >= ? AND "+col+" <= ?", from, to), nil
		}
		t, err := parse(f.Value)
		if err != nil {
			return nil, err
		}
		op := map[string]string{"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[f.Op]
		return q.Where(col+" "+op+" ?", t), nil
	case "owner_team":
		const member = "EXISTS (SELECT 1 FROM team_members AS tm WHERE tm.tenant_id = c.tenant_id AND tm.identity_id = c.owner_id"
		if f.Op == "empty" {
			if f.Value == "false" {
				return q.Where(member + ")"), nil
			}
			return q.Where("NOT " + member + ")"), nil
		}
		id, err := uuid.Parse(strings.TrimSpace(f.Value))
		if err != nil {
			return nil, bad("must be a team id (UUID)")
		}
		return q.Where(member+" AND tm.team_id = ?)", id), nil
	case "tags":
		switch f.Op {
		case "contains":
			return q.Where("EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.tag = ? AND ct.customer_id = c.id)", strings.ToLower(f.Value)), nil
		case "in":
			tags := list()
			for i := range tags {
				tags[i] = strings.ToLower(tags[i])
			}
			return q.Where("EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.tag IN (?) AND ct.customer_id = c.id)", bun.In(tags)), nil
		case "empty":
			if f.Value == "false" {
				return q.Where("cardinality(c.tags) > 0"), nil
			}
			return q.Where("cardinality(c.tags) = 0"), nil
		}
	case "email", "phone":
		kind := "e:"
		v := strings.ToLower(strings.TrimSpace(f.Value))
		if f.Field == "phone" {
			kind = "p:"
			v = strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, v)
			if v == "" {
				return nil, bad("give digits")
			}
		}
		if f.Op == "eq" {
			return q.Where("EXISTS (SELECT 1 FROM customer_terms t WHERE t.tenant_id = c.tenant_id AND t.customer_id = c.id AND t.term = ?)", kind+v), nil
		}
		return q.Where("EXISTS (SELECT 1 FROM customer_terms t WHERE t.tenant_id = c.tenant_id AND t.customer_id = c.id AND t.term >= ? AND t.term < ?)", kind+v, prefixEnd(kind+v)), nil
	}
	if strings.HasPrefix(f.Field, "rfm.") || f.Field == "churn_risk" || f.Field == "revenue" {
		return f.applyScore(q, list(), bad)
	}
	return nil, bad("unsupported filter")
}

// scoreColumns are the customer_scores columns the score filters read.
var scoreColumns = map[string]string{"rfm.segment": "segment", "rfm.recency": "recency", "rfm.frequency": "frequency",
	"rfm.monetary": "monetary", "churn_risk": "churn_risk", "revenue": "revenue"}

// applyScore filters on the customer's scores. A customer without a score
// row (not scored yet) has no segment, no RFM values, risk 0 and revenue 0:
// the conditions that such a customer meets say so with NOT EXISTS.
func (f FieldFilter) applyScore(q *bun.SelectQuery, vals []string, bad func(string) error) (*bun.SelectQuery, error) {
	col := "s." + scoreColumns[f.Field]
	exists := func(cond string, args ...any) *bun.SelectQuery {
		return q.Where("EXISTS (SELECT 1 FROM customer_scores s WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.id AND "+cond+")", args...)
	}
	notExists := func(cond string, args ...any) *bun.SelectQuery {
		return q.Where("NOT EXISTS (SELECT 1 FROM customer_scores s WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.id AND "+cond+")", args...)
	}
	if f.Field == "rfm.segment" {
		for _, v := range vals {
			if f.Op == "empty" {
				break
			}
			if en, _ := segmentLabels(v); en == "" {
				return nil, bad("use champions, loyal, potential, new, at_risk, hibernating or lost")
			}
		}
		switch f.Op {
		case "empty":
			if f.Value == "false" {
				return exists(col + " IS NOT NULL"), nil
			}
			return notExists(col + " IS NOT NULL"), nil
		case "eq":
			return exists(col+" = ?", f.Value), nil
		case "ne":
			return notExists(col+" = ?", f.Value), nil
		case "in":
			if len(vals) == 0 {
				return nil, bad("give a value")
			}
			return exists(col+" IN (?)", bun.In(vals)), nil
		}
		return nil, bad("unsupported filter")
	}
	nums := make([]float64, 0, len(vals))
	for _, v := range vals {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, bad("must be a number")
		}
		if strings.HasPrefix(f.Field, "rfm.") && (n < 1 || n > 5 || n != math.Trunc(n)) {
			return nil, bad("RFM scores are whole numbers from 1 to 5")
		}
		if f.Field == "churn_risk" && (n < 0 || n > 100) {
			return nil, bad("churn risk is from 0 to 100")
		}
		nums = append(nums, n)
	}
	if len(nums) == 0 {
		return nil, bad("give a value")
	}
	if f.Op == "in" {
		return exists(col+" IN (?)", bun.In(nums)), nil
	}
	op := map[string]string{"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[f.Op]
	// Unscored customers count as risk 0 and revenue 0; they have no RFM.
	if f.Field != "rfm.recency" && f.Field != "rfm.frequency" && f.Field != "rfm.monetary" {
		var zeroMatches bool
		switch op {
		case "=":
			zeroMatches = nums[0] == 0
		case ">":
			zeroMatches = 0 > nums[0]
		case ">=":
			zeroMatches = 0 >= nums[0]
		case "<":
			zeroMatches = 0 < nums[0]
		case "<=":
			zeroMatches = 0 <= nums[0]
		}
		if zeroMatches {
			return notExists("NOT ("+col+" "+op+" ?)", nums[0]), nil
		}
	}
	return exists(col+" "+op+" ?", nums[0]), nil
}

// parseInstant reads an RFC 3339 instant.
func parseInstant(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, errors.New("must be an RFC 3339 time such as 2026-01-31T16:00:00Z")
	}
	return t, nil
}
