package tickets

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ticketPage is a page of the ticket list. It writes its own JSON
// (AppendJSON, which the API's JSON format uses instead of reflection): a page
// of fifty tickets of forty fields cost more to encode through encoding/json
// than its query cost PostgreSQL (docs/benchmarks.md, the tickets benchmark).
// The bytes are those encoding/json writes with HTML escaping off, as the API
// writes every body; TestTicketPageJSONIsEncodingJSON holds them equal.
type ticketPage struct {
	Items      []Ticket `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// SchemaName implements httpx.SchemaNamer.
func (ticketPage) SchemaName() string { return "TicketPage" }

// AppendJSON appends the page's JSON to b.
func (p ticketPage) AppendJSON(b []byte) []byte {
	b = append(b, `{"items":`...)
	if p.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.Items[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	if p.NextCursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = appendJSONString(b, p.NextCursor)
	}
	return append(b, '}')
}

// MarshalJSON writes the same bytes for the formats that start from the JSON
// form (XML, CSV) and for anything else that marshals a page.
func (p ticketPage) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

// appendJSON appends the ticket's JSON as encoding/json writes it: fields in
// the struct's order, omitempty ones left out when empty.
func (t *Ticket) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendUUID(b, t.ID)
	b = append(b, `,"number":`...)
	b = strconv.AppendInt(b, t.Number, 10)
	b = append(b, `,"subject":`...)
	b = appendJSONString(b, t.Subject)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, t.Description)
	b = append(b, `,"requester_id":`...)
	b = appendUUID(b, t.RequesterID)
	b = append(b, `,"channel":`...)
	b = appendJSONString(b, t.Channel)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, t.Type)
	b = append(b, `,"priority":`...)
	b = appendJSONString(b, t.Priority)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, t.Status)
	b = appendOptUUID(b, `,"assignee_id":`, t.AssigneeID)
	b = appendOptUUID(b, `,"team_id":`, t.TeamID)
	b = append(b, `,"tags":`...)
	if t.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, tag := range t.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, tag)
		}
		b = append(b, ']')
	}
	b = append(b, `,"custom":`...)
	b = appendAny(b, t.Custom)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(t.Version), 10)
	b = append(b, `,"message_count":`...)
	b = strconv.AppendInt(b, int64(t.MessageCount), 10)
	b = appendOptTime(b, `,"first_responded_at":`, t.FirstRespondedAt)
	b = appendOptTime(b, `,"solved_at":`, t.SolvedAt)
	b = appendOptTime(b, `,"closed_at":`, t.ClosedAt)
	b = appendOptUUID(b, `,"sla_policy_id":`, t.SLAPolicyID)
	b = appendOptTime(b, `,"first_response_warn_at":`, t.FirstResponseWarnAt)
	b = appendOptTime(b, `,"first_response_due_at":`, t.FirstResponseDueAt)
	b = appendOptTime(b, `,"next_response_started_at":`, t.NextResponseStartedAt)
	b = appendOptTime(b, `,"next_response_warn_at":`, t.NextResponseWarnAt)
	b = appendOptTime(b, `,"next_response_due_at":`, t.NextResponseDueAt)
	b = append(b, `,"next_response_cycle":`...)
	b = strconv.AppendInt(b, int64(t.NextResponseCycle), 10)
	b = appendOptTime(b, `,"resolution_warn_at":`, t.ResolutionWarnAt)
	b = appendOptTime(b, `,"resolution_due_at":`, t.ResolutionDueAt)
	b = appendOptTime(b, `,"sla_due_at":`, t.SLADueAt)
	b = append(b, `,"sla_paused_seconds":`...)
	b = strconv.AppendInt(b, t.SLAPausedSeconds, 10)
	b = append(b, `,"sla_paused_business_seconds":`...)
	b = strconv.AppendInt(b, t.SLAPausedBusinessSeconds, 10)
	b = appendOptTime(b, `,"sla_paused_at":`, t.SLAPausedAt)
	if t.CSATRating != nil {
		b = append(b, `,"csat_rating":`...)
		b = strconv.AppendInt(b, int64(*t.CSATRating), 10)
	}
	if t.CSATComment != nil {
		b = append(b, `,"csat_comment":`...)
		b = appendJSONString(b, *t.CSATComment)
	}
	b = appendOptTime(b, `,"csat_rated_at":`, t.CSATRatedAt)
	b = appendOptUUID(b, `,"merged_into_id":`, t.MergedIntoID)
	b = appendOptUUID(b, `,"created_by":`, t.CreatedBy)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, t.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, t.UpdatedAt)
	if t.RequesterCreated {
		b = append(b, `,"requester_created":true`...)
	}
	return append(b, '}')
}

func appendUUID(b []byte, id uuid.UUID) []byte {
	b = append(b, '"')
	for i, x := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&0xF])
	}
	return append(b, '"')
}

func appendOptUUID(b []byte, key string, id *uuid.UUID) []byte {
	if id == nil {
		return b
	}
	return appendUUID(append(b, key...), *id)
}

// appendTime writes a time as time.Time's MarshalJSON does (RFC 3339 with
// the fraction it has, trailing zeros cut). Times in UTC, which is how the
// list reads them, are written by hand; others go through AppendFormat.
func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		j, err := t.MarshalJSON()
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, j...)
	}
	b = append(b, '"')
	if t.Location() != time.UTC {
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	}
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+min/10), byte('0'+min%10), ':', byte('0'+sec/10), byte('0'+sec%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [9]byte
		for i := 8; i >= 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z', '"')
}

func appendOptTime(b []byte, key string, t *time.Time) []byte {
	if t == nil {
		return b
	}
	return appendTime(append(b, key...), *t)
}

// appendAny writes a custom-field value through encoding/json (HTML left
// unescaped, as the API writes it): custom values are few and of any shape.
func appendAny(b []byte, v any) []byte {
	if m, ok := v.(map[string]any); ok && m == nil {
		return append(b, "null"...)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return append(b, "null"...)
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as encoding/json does with HTML escaping off:
// quotes, backslashes and control characters escaped, invalid UTF-8 as
// U+FFFD, and U+2028 and U+2029 escaped for JavaScript.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
