package profiles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
)

// Lifecycle stages of a customer.
var lifecycles = map[string]bool{"lead": true, "prospect": true, "customer": true, "at_risk": true, "churned": true}

// Customer is a person or a company the tenant deals with.
type Customer struct {
	bun.BaseModel `bun:"table:customers,alias:c"`
	TenantID      uuid.UUID       `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID       `bun:"id,pk,type:uuid" json:"id"`
	Kind          string          `bun:"kind" json:"kind" enum:"person,company"`
	Name          string          `bun:"name" json:"name"`
	CompanyID     *uuid.UUID      `bun:"company_id,type:uuid" json:"company_id,omitempty"`
	Emails        []string        `bun:"emails,array" json:"emails"`
	Phones        []string        `bun:"phones,array" json:"phones"`
	Address       json.RawMessage `bun:"address,type:jsonb" json:"address,omitempty"`
	OwnerID       *uuid.UUID      `bun:"owner_id,type:uuid" json:"owner_id,omitempty"`
	Tags          []string        `bun:"tags,array" json:"tags"`
	Lifecycle     string          `bun:"lifecycle" json:"lifecycle" enum:"lead,prospect,customer,at_risk,churned"`
	Source        string          `bun:"source" json:"source"`
	Custom        map[string]any  `bun:"custom,type:jsonb" json:"custom"`
	CreatedAt     time.Time       `bun:"created_at" json:"created_at"`
	UpdatedAt     time.Time       `bun:"updated_at" json:"updated_at"`
	DeletedAt     *time.Time      `bun:"deleted_at" json:"deleted_at,omitempty"`
}

// CustomerInput is what clients send to create a customer; an update sends the
// fields it changes (CustomerUpdate).
type CustomerInput struct {
	Kind      string          `json:"kind,omitempty" enum:"person,company" default:"person"`
	Name      string          `json:"name" minLength:"1" maxLength:"300"`
	CompanyID *uuid.UUID      `json:"company_id,omitempty"`
	Emails    []string        `json:"emails,omitempty" maxItems:"20"`
	Phones    []string        `json:"phones,omitempty" maxItems:"20"`
	Address   json.RawMessage `json:"address,omitempty" doc:"An object of at most 16 text parts, such as street, city, province, postcode and country; a part has at most 500 characters, a province or a city at most 200. A number (a postcode) or null is kept as given; nested objects and lists are refused."`
	OwnerID   *uuid.UUID      `json:"owner_id,omitempty"`
	Tags      []string        `json:"tags,omitempty" maxItems:"50"`
	Lifecycle string          `json:"lifecycle,omitempty" enum:"lead,prospect,customer,at_risk,churned"`
	Source    string          `json:"source,omitempty" maxLength:"100"`
	Custom    map[string]any  `json:"custom,omitempty"`
}

// CustomerUpdate changes some fields; absent fields stay as they are.
type CustomerUpdate struct {
	Kind      *string          `json:"kind,omitempty" enum:"person,company"`
	Name      *string          `json:"name,omitempty" minLength:"1" maxLength:"300"`
	CompanyID *uuid.UUID       `json:"company_id,omitempty"`
	Emails    *[]string        `json:"emails,omitempty" maxItems:"20"`
	Phones    *[]string        `json:"phones,omitempty" maxItems:"20"`
	Address   *json.RawMessage `json:"address,omitempty" doc:"An object of at most 16 text parts, such as street, city, province, postcode and country; a part has at most 500 characters, a province or a city at most 200. A number (a postcode) or null is kept as given; nested objects and lists are refused."`
	OwnerID   *uuid.UUID       `json:"owner_id,omitempty"`
	Tags      *[]string        `json:"tags,omitempty" maxItems:"50"`
	Lifecycle *string          `json:"lifecycle,omitempty" enum:"lead,prospect,customer,at_risk,churned"`
	Source    *string          `json:"source,omitempty" maxLength:"100"`
	Custom    map[string]any   `json:"custom,omitempty"`
}

// normalize validates the standard fields of c in place, collecting every
// problem so the client can fix them all at once. stored are the addresses
// already stored on the records c comes from (an edit's, a merge's): one of
// them kept as it is is not held to the address caps, which came after some
// were written, so a customer whose old address exceeds them can still be
// edited, merged or mass-edited; a new address is.
func (c *Customer) normalize(stored ...json.RawMessage) []errs.FieldError {
	var fe []errs.FieldError
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		fe = append(fe, errs.FieldError{Location: "body.name", Message: "is required"})
	}
	if c.Kind == "" {
		c.Kind = "person"
	}
	if c.Kind != "person" && c.Kind != "company" {
		fe = append(fe, errs.FieldError{Location: "body.kind", Message: "must be person or company", Value: c.Kind})
	}
	if c.Kind == "company" && c.CompanyID != nil {
		fe = append(fe, errs.FieldError{Location: "body.company_id", Message: "a company cannot belong to a company"})
	}
	if c.Lifecycle == "" {
		c.Lifecycle = "lead"
	}
	if !lifecycles[c.Lifecycle] {
		fe = append(fe, errs.FieldError{Location: "body.lifecycle", Message: "must be lead, prospect, customer, at_risk or churned", Value: c.Lifecycle})
	}
	seen := map[string]bool{}
	emails := []string{}
	for i, e := range c.Emails {
		n, ok := normalizeEmail(e)
		if !ok {
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.emails[%d]", i), Message: "not a valid email address, e.g. li.lei@example.com", Value: e})
			continue
		}
		if !seen[n] {
			seen[n] = true
			emails = append(emails, strings.TrimSpace(e))
		}
	}
	c.Emails = emails
	phones := []string{}
	for i, p := range c.Phones {
		if _, ok := phoneDigits(p); !ok {
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.phones[%d]", i), Message: "not a phone number: use 5 to 15 digits, optionally +country code, spaces and dashes", Value: p})
			continue
		}
		phones = append(phones, strings.TrimSpace(p))
	}
	c.Phones = phones
	tags := []string{}
	seenTag := map[string]bool{}
	for i, t := range c.Tags {
		t = strings.TrimSpace(t)
		if t == "" || len([]rune(t)) > 50 {
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.tags[%d]", i), Message: "tags are 1 to 50 characters", Value: t})
			continue
		}
		if !seenTag[strings.ToLower(t)] {
			seenTag[strings.ToLower(t)] = true
			tags = append(tags, t)
		}
	}
	c.Tags = tags
	if len(c.Address) > 0 && string(c.Address) != "null" {
		if kept := slices.ContainsFunc(stored, func(a json.RawMessage) bool { return bytes.Equal(a, c.Address) }); !kept {
			fe = append(fe, checkAddressInput(c.Address)...)
		}
	} else {
		c.Address = json.RawMessage("{}")
	}
	if c.Custom == nil {
		c.Custom = map[string]any{}
	}
	return fe
}

// Caps of a customer's address: its parts, a part's name, and a part's
// value. A province or a city is a BI dimension and a list filter, whose
// values have at most maxAddressValue characters, so those two parts are
// held to that.
const (
	maxAddressParts    = 16
	maxAddressPartName = 40
	maxAddressPart     = 500
)

// checkAddressInput says what is wrong with an address given as input: it
// is an object of at most maxAddressParts parts, each named by 1 to
// maxAddressPartName characters, whose values are text (or a number, such
// as a postcode, or null) of bounded length. Nested objects and lists are
// refused: nothing shows, filters or exports them.
func checkAddressInput(raw json.RawMessage) []errs.FieldError {
	example := "must be an object such as {\"street\": \"88 Century Ave\", \"city\": \"Shanghai\", \"country\": \"CN\"}"
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return []errs.FieldError{{Location: "body.address", Message: example}}
	}
	if len(obj) > maxAddressParts {
		return []errs.FieldError{{Location: "body.address", Message: fmt.Sprintf("has %d parts; an address has at most %d (street, city, province, postcode, country...)", len(obj), maxAddressParts)}}
	}
	var fe []errs.FieldError
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		n := utf8.RuneCountInString(k)
		if strings.TrimSpace(k) == "" || n > maxAddressPartName {
			fe = append(fe, errs.FieldError{Location: "body.address", Message: fmt.Sprintf("a part's name has 1 to %d characters", maxAddressPartName), Value: truncateRunes(k, maxAddressPartName)})
			continue
		}
		loc := "body.address." + k
		var v any
		if json.Unmarshal(obj[k], &v) != nil {
			fe = append(fe, errs.FieldError{Location: loc, Message: "is not valid JSON"})
			continue
		}
		limit := maxAddressPart
		if _, ok := addressFields[k]; ok {
			limit = maxAddressValue
		}
		switch x := v.(type) {
		case nil, float64:
		case string:
			if utf8.RuneCountInString(x) > limit {
				fe = append(fe, errs.FieldError{Location: loc, Message: fmt.Sprintf("has %d characters; at most %d", utf8.RuneCountInString(x), limit)})
			}
		default:
			fe = append(fe, errs.FieldError{Location: loc, Message: "must be text, such as \"Shanghai\"; nested objects and lists are not part of an address"})
		}
	}
	return fe
}

// truncateRunes is s cut to at most n characters, for echoing a bad value.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
