package db

import (
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TextRow decodes the current row of rows column by column, in the order the
// query selects them, from PostgreSQL's text form (the simple protocol, which
// every statement here uses, returns nothing else). The common shapes (uuids,
// timestamps in UTC, one-dimensional text arrays) are parsed directly; anything
// else falls back to pgx's own decoding, so an unusual value is slower, never
// wrong. The first error is kept and reported by Err.
type TextRow struct {
	rows pgx.Rows
	vals [][]byte
	i    int
	err  error
}

// NewTextRow starts reading the row rows is on.
func NewTextRow(rows pgx.Rows) TextRow {
	return TextRow{rows: rows, vals: rows.RawValues()}
}

// Err is the first error met, or nil.
func (r *TextRow) Err() error {
	if r.err == nil && r.i != len(r.vals) {
		return fmt.Errorf("db: the row has %d columns and %d were read", len(r.vals), r.i)
	}
	return r.err
}

// next returns the raw value of the next column; ok is false after an error.
func (r *TextRow) next() (v []byte, col int, ok bool) {
	if r.err != nil {
		return nil, 0, false
	}
	if r.i >= len(r.vals) {
		r.err = fmt.Errorf("db: read past the row's %d columns", len(r.vals))
		return nil, 0, false
	}
	col = r.i
	r.i++
	if v := r.vals[col]; v != nil && r.rows.FieldDescriptions()[col].Format != pgx.TextFormatCode {
		// Binary results are not parsed here; pgx decodes them.
		r.fallback(col, v, nil)
		return nil, col, false
	}
	return r.vals[col], col, true
}

// fallback decodes column col into dst with pgx's type map. With dst nil it
// records that the column could not be read.
func (r *TextRow) fallback(col int, v []byte, dst any) {
	fd := r.rows.FieldDescriptions()[col]
	if dst == nil {
		r.err = fmt.Errorf("db: column %s: binary format", fd.Name)
		return
	}
	if err := r.rows.Conn().TypeMap().Scan(fd.DataTypeOID, fd.Format, v, dst); err != nil {
		r.err = fmt.Errorf("db: column %s: %w", fd.Name, err)
	}
}

// String reads a text column; NULL reads as "".
func (r *TextRow) String(dst *string) {
	if v, _, ok := r.next(); ok {
		*dst = string(v)
	}
}

// UUID reads a uuid column; NULL reads as the zero uuid.
func (r *TextRow) UUID(dst *uuid.UUID) {
	if v, col, ok := r.next(); ok {
		*dst = r.uuid(v, col)
	}
}

// NullUUID reads a nullable uuid column.
func (r *TextRow) NullUUID(dst **uuid.UUID) {
	v, col, ok := r.next()
	if !ok {
		return
	}
	if v == nil {
		*dst = nil
		return
	}
	id := r.uuid(v, col)
	*dst = &id
}

func (r *TextRow) uuid(v []byte, col int) uuid.UUID {
	if v == nil {
		return uuid.Nil
	}
	id, err := uuid.ParseBytes(v)
	if err != nil {
		r.err = fmt.Errorf("db: column %s: %w", r.rows.FieldDescriptions()[col].Name, err)
	}
	return id
}

// JSON reads a json or jsonb column as its bytes (copied: pgx reuses its
// buffer); NULL reads as nil.
func (r *TextRow) JSON(dst *[]byte) {
	if v, _, ok := r.next(); ok {
		if v == nil {
			*dst = nil
			return
		}
		*dst = append([]byte(nil), v...)
	}
}

// Time reads a timestamptz column, in UTC; NULL reads as the zero time.
func (r *TextRow) Time(dst *time.Time) {
	decode(r, dst, parseUTCTimestamp)
	*dst = dst.UTC()
}

// NullTime reads a nullable timestamptz column, in UTC.
func (r *TextRow) NullTime(dst **time.Time) {
	v, col, ok := r.next()
	if !ok {
		return
	}
	if v == nil {
		*dst = nil
		return
	}
	t, fast := parseUTCTimestamp(v)
	if !fast {
		r.fallback(col, v, &t)
	}
	t = t.UTC()
	*dst = &t
}

// NullString reads a nullable text column.
func (r *TextRow) NullString(dst **string) {
	v, _, ok := r.next()
	if !ok {
		return
	}
	if v == nil {
		*dst = nil
		return
	}
	s := string(v)
	*dst = &s
}

// Int64 reads an integer column (smallint, integer or bigint); NULL reads as 0.
func (r *TextRow) Int64(dst *int64) {
	decode(r, dst, parseInt)
}

// Int reads an integer column into an int; NULL reads as 0.
func (r *TextRow) Int(dst *int) {
	var n int64
	r.Int64(&n)
	*dst = int(n)
}

// NullInt reads a nullable integer column.
func (r *TextRow) NullInt(dst **int) {
	v, col, ok := r.next()
	if !ok {
		return
	}
	if v == nil {
		*dst = nil
		return
	}
	n, fast := parseInt(v)
	if !fast {
		r.fallback(col, v, &n)
	}
	i := int(n)
	*dst = &i
}

// parseInt parses a decimal integer's text output.
func parseInt(b []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// StringArray reads a one-dimensional text array; NULL reads as nil, an empty
// array as an empty slice.
func (r *TextRow) StringArray(dst *[]string) {
	decode(r, dst, parseTextArray)
}

// decode reads the next column with fast, or with pgx's decoding when fast
// does not take the value; NULL reads as T's zero value.
func decode[T any](r *TextRow, dst *T, fast func([]byte) (T, bool)) {
	v, col, ok := r.next()
	if !ok {
		return
	}
	if v == nil {
		var zero T
		*dst = zero
		return
	}
	if x, ok := fast(v); ok {
		*dst = x
		return
	}
	r.fallback(col, v, dst)
}

// parseUTCTimestamp parses timestamptz output in the ISO date style of a session
// in UTC: "2006-01-02 15:04:05[.ffffff]+00". Anything else is not ok.
func parseUTCTimestamp(b []byte) (time.Time, bool) {
	n := len(b)
	if n < 22 || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' ||
		b[n-3] != '+' || b[n-2] != '0' || b[n-1] != '0' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		x := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			x = x*10 + int(c-'0')
		}
		return x, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : n-3]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		f, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac) - 1; i < 9; i++ {
			f *= 10
		}
		nsec = f
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// parseTextArray parses the text output of a one-dimensional text array:
// {a,b,"c d","e\"f"}. Anything it does not expect (dimensions, nesting, NULL
// elements) is not ok.
func parseTextArray(b []byte) ([]string, bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, false
	}
	body := b[1 : len(b)-1]
	if len(body) == 0 {
		return []string{}, true
	}
	n := 1
	for _, c := range body {
		if c == ',' {
			n++
		}
	}
	out := make([]string, 0, n)
	for i := 0; ; {
		if i < len(body) && body[i] == '"' {
			var el []byte
			i++
			for ; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
					if i == len(body) {
						return nil, false
					}
				}
				el = append(el, body[i])
			}
			if i == len(body) {
				return nil, false
			}
			i++ // the closing quote
			out = append(out, string(el))
		} else {
			start := i
			for ; i < len(body) && body[i] != ','; i++ {
				if c := body[i]; c == '{' || c == '}' || c == '"' || c == '\\' {
					return nil, false
				}
			}
			el := body[start:i]
			if len(el) == 0 || string(el) == "NULL" {
				return nil, false
			}
			out = append(out, string(el))
		}
		if i == len(body) {
			return out, true
		}
		if body[i] != ',' {
			return nil, false
		}
		i++
	}
}
