// Package page is keyset pagination: the opaque cursor a list hands out and
// takes back, and the cut of a page fetched with one row more than its limit.
package page

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
)

// After is the position of a row in a list ordered by time then id, the
// cursor of most newest-first lists.
type After struct {
	At time.Time `json:"a"`
	ID uuid.UUID `json:"i"`
}

// Encode is the opaque cursor of a position.
func Encode(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads a cursor Encode made into v. Anything else is refused as
// invalid input at query.cursor.
func Decode(cursor string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || json.Unmarshal(raw, v) != nil {
		return errs.Field("query.cursor", "is not a cursor this API returned; start again without it")
	}
	return nil
}

// Cut trims a page fetched with limit+1 rows to limit and returns the cursor of
// the next page, made by at from the page's last row; "" on the last page.
func Cut[T any](rows []T, limit int, at func(last T) any) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, Encode(at(rows[len(rows)-1]))
}
