package db

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
)

// After is the position after a row of a list ordered by a time, then by id,
// both descending: the keyset cursor such lists hand out as next_cursor.
type After struct {
	At time.Time `json:"a"`
	ID uuid.UUID `json:"i"`
}

// EncodeCursor is a keyset position as lists hand it out: JSON in URL-safe
// base64.
func EncodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor EncodeCursor made; "" is the first page (nil).
// Any other text answers 422 on query.cursor.
func DecodeCursor[T any](s string) (*T, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	c := new(T)
	if err != nil || json.Unmarshal(raw, c) != nil {
		return nil, errs.Field("query.cursor", "is not a cursor this API returned; start again without it")
	}
	return c, nil
}

// NextPage cuts rows, read with limit+1, to one page and returns the cursor of
// its last row, or "" when there is no page after it.
func NextPage[T any](rows []T, limit int, pos func(T) After) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, EncodeCursor(pos(rows[len(rows)-1]))
}
