package funnel

import (
	"database/sql/driver"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"golang.org/x/text/currency"

	"github.com/clientele-crm/clientele/platform/errs"
)

// Deal is one sales opportunity with a customer of the same company.
type Deal struct {
	bun.BaseModel  `bun:"table:deals,alias:d"`
	TenantID       uuid.UUID      `bun:"tenant_id,pk,type:uuid" json:"-" xml:"-"`
	ID             uuid.UUID      `bun:"id,pk,type:uuid" json:"id"`
	Title          string         `bun:"title" json:"title"`
	CustomerID     uuid.UUID      `bun:"customer_id,type:uuid" json:"customer_id"`
	Amount         string         `bun:"amount" json:"amount" doc:"exact decimal, as a string, e.g. 12500.00"`
	Currency       string         `bun:"currency" json:"currency" doc:"ISO 4217 code"`
	ExpectedClose  *Date          `bun:"expected_close,type:date" json:"expected_close,omitempty" doc:"YYYY-MM-DD"`
	OwnerID        *uuid.UUID     `bun:"owner_id,type:uuid" json:"owner_id,omitempty"`
	PipelineID     uuid.UUID      `bun:"pipeline_id,type:uuid" json:"pipeline_id"`
	StageID        uuid.UUID      `bun:"stage_id,type:uuid" json:"stage_id"`
	Position       string         `bun:"position" json:"position" doc:"the deal's place in its column, an exact decimal: smaller comes first"`
	Source         string         `bun:"source" json:"source"`
	LostReasonID   *uuid.UUID     `bun:"lost_reason_id,type:uuid" json:"lost_reason_id,omitempty"`
	LostNote       string         `bun:"lost_note" json:"lost_note,omitempty"`
	WonAt          *time.Time     `bun:"won_at" json:"won_at,omitempty"`
	LostAt         *time.Time     `bun:"lost_at" json:"lost_at,omitempty"`
	Tags           []string       `bun:"tags,array" json:"tags"`
	Custom         map[string]any `bun:"custom,type:jsonb" json:"custom"`
	Version        int            `bun:"version" json:"version" doc:"send it back with a change; a stale one gets 409"`
	StageEnteredAt time.Time      `bun:"stage_entered_at" json:"stage_entered_at"`
	CreatedBy      *uuid.UUID     `bun:"created_by,type:uuid" json:"created_by,omitempty"`
	CreatedAt      time.Time      `bun:"created_at" json:"created_at"`
	UpdatedAt      time.Time      `bun:"updated_at" json:"updated_at"`
	DeletedAt      *time.Time     `bun:"deleted_at" json:"-" xml:"-"`
}

// Date is a calendar day, YYYY-MM-DD in JSON and in the database.
type Date string

// Scan reads a date column, which the driver hands over as a time.
func (d *Date) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		*d = Date(x.Format("2006-01-02"))
	case string:
		*d = Date(x)
	case []byte:
		*d = Date(x)
	case nil:
		*d = ""
	default:
		return fmt.Errorf("funnel: scan date from %T", v)
	}
	return nil
}

// Value writes a date.
func (d Date) Value() (driver.Value, error) { return string(d), nil }

var (
	amountPattern = regexp.MustCompile(`^[0-9]{1,16}(\.[0-9]{1,4})?$`)
	datePattern   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// checkAmount refuses anything but a non-negative exact decimal with at most
// 16 digits before the point and 4 after.
func checkAmount(a, loc string) error {
	if !amountPattern.MatchString(a) {
		if strings.HasPrefix(strings.TrimSpace(a), "-") {
			return errs.Field(loc, "must not be negative")
		}
		return errs.Field(loc, "must be a decimal number such as 12500 or 12500.50 (up to 4 decimals), sent as a string")
	}
	return nil
}

// checkCurrency upper-cases an ISO 4217 code and refuses an unknown one.
func checkCurrency(c, loc string) (string, error) {
	c = strings.ToUpper(strings.TrimSpace(c))
	if len(c) != 3 {
		return "", errs.Field(loc, "must be an ISO 4217 currency code such as CNY, USD or EUR")
	}
	if _, err := currency.ParseISO(c); err != nil {
		return "", errs.Field(loc, "unknown currency; use an ISO 4217 code such as CNY, USD or EUR")
	}
	return c, nil
}

// checkDate refuses a date that is not a real YYYY-MM-DD day.
func checkDate(d, loc string) error {
	if !datePattern.MatchString(d) {
		return errs.Field(loc, "must be a date written YYYY-MM-DD")
	}
	if _, err := time.Parse("2006-01-02", d); err != nil {
		return errs.Field(loc, "is not a calendar day")
	}
	return nil
}

// cleanTags trims, lower-cases and de-duplicates tags, refusing empty or
// over-long ones.
func cleanTags(tags []string, loc string) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if len([]rune(t)) > 50 {
			return nil, errs.Field(loc, "a tag has at most 50 characters")
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// DealInput creates a deal.
type DealInput struct {
	Title         string         `json:"title" minLength:"1" maxLength:"300"`
	CustomerID    uuid.UUID      `json:"customer_id" doc:"a customer of this company"`
	Amount        string         `json:"amount,omitempty" maxLength:"30" doc:"exact decimal as a string, e.g. 12500.50; default 0"`
	Currency      string         `json:"currency,omitempty" maxLength:"3" doc:"ISO 4217 code; default the company's currency"`
	ExpectedClose *Date          `json:"expected_close,omitempty" maxLength:"10" doc:"YYYY-MM-DD"`
	OwnerID       *uuid.UUID     `json:"owner_id,omitempty" doc:"default: the caller"`
	PipelineID    *uuid.UUID     `json:"pipeline_id,omitempty" doc:"default: the company's default pipeline"`
	StageID       *uuid.UUID     `json:"stage_id,omitempty" doc:"a stage of the pipeline; default its first open stage"`
	Source        string         `json:"source,omitempty" maxLength:"100"`
	Tags          []string       `json:"tags,omitempty" maxItems:"50"`
	Custom        map[string]any `json:"custom,omitempty"`
}

// DealUpdate changes a deal's fields; absent ones stay. Stage and position
// change through a move, which records the history. Version must be the
// deal's current version.
type DealUpdate struct {
	Version       int            `json:"version" minimum:"1" doc:"the version you read; a stale one gets 409 with the deal as it is"`
	Title         *string        `json:"title,omitempty" minLength:"1" maxLength:"300"`
	CustomerID    *uuid.UUID     `json:"customer_id,omitempty"`
	Amount        *string        `json:"amount,omitempty" maxLength:"30"`
	Currency      *string        `json:"currency,omitempty" maxLength:"3"`
	ExpectedClose *Date          `json:"expected_close,omitempty" maxLength:"10" doc:"YYYY-MM-DD; an empty string clears it"`
	OwnerID       *uuid.UUID     `json:"owner_id,omitempty"`
	Source        *string        `json:"source,omitempty" maxLength:"100"`
	Tags          *[]string      `json:"tags,omitempty" maxItems:"50"`
	Custom        map[string]any `json:"custom,omitempty" doc:"only the keys sent change; null clears one"`
}

// MoveInput moves a deal to a stage and a place in its column: before the
// deal before_id, after the deal after_id, or (neither) at the end.
type MoveInput struct {
	StageID  uuid.UUID  `json:"stage_id"`
	BeforeID *uuid.UUID `json:"before_id,omitempty" doc:"put the deal just before this deal of the target stage"`
	AfterID  *uuid.UUID `json:"after_id,omitempty" doc:"put the deal just after this deal of the target stage"`
	Version  int        `json:"version" minimum:"1" doc:"the version you read; a stale one gets 409 with the deal as it is"`
	// PipelineID must name the other pipeline when the stage is in one, so a
	// deal never changes pipeline by a mistaken stage id.
	PipelineID   *uuid.UUID `json:"pipeline_id,omitempty" doc:"required when the stage is in another pipeline than the deal's"`
	LostReasonID *uuid.UUID `json:"lost_reason_id,omitempty" doc:"required when the stage is a lost one"`
	LostNote     string     `json:"lost_note,omitempty" maxLength:"2000"`
}
