package db_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/db"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// TextRow reads every value as pgx's own decoder reads it: the fast paths for
// arrays and timestamps, and the fallback for shapes they do not take.
func TestTextRowReadsWhatPgxReads(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	arrays := []string{
		`'{}'::text[]`,
		`NULL::text[]`,
		`ARRAY['a', 'b c', 'd,e', '"q"', 'back\slash', '{br}', 'NULL', '', ' pad ', 'ü中文']`,
		`ARRAY['only']`,
		`'[0:1]={x,y}'::text[]`, // explicit bounds: the fallback
	}
	times := []string{
		`'2026-12-04 16:18:43.123456+00'::timestamptz`,
		`'2026-01-01 00:00:00+00'::timestamptz`,
		`'2026-01-01 00:00:00.1+00'::timestamptz`,
		`'2026-01-01 00:00:00.000001+00'::timestamptz`,
		`'0099-03-01 01:02:03+00'::timestamptz`,
		`'2000-01-01 00:00:00+00'::timestamptz - interval '2100 years'`, // BC: the fallback
	}
	read := func(zone string) {
		err := db.InTenant(context.Background(), env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
			if zone != "" {
				if _, err := tx.ExecContext(ctx, "SET LOCAL timezone = '"+zone+"'"); err != nil {
					return err
				}
			}
			q := tx.NewSelect()
			for _, e := range arrays {
				q = q.ColumnExpr(e)
			}
			for _, e := range times {
				q = q.ColumnExpr(e)
			}
			id := uuid.New()
			q = q.ColumnExpr("?::uuid, NULL::uuid, '{\"k\": [1, \"二\"]}'::jsonb, NULL::jsonb, 'text'", id)
			return db.ReadRows(ctx, q, func(rows pgx.Rows) error {
				want := make([]any, 0, len(rows.RawValues()))
				for range arrays {
					want = append(want, new([]string))
				}
				for range times {
					want = append(want, new(time.Time))
				}
				want = append(want, new(uuid.UUID), new(*uuid.UUID), new([]byte), new([]byte), new(string))
				// pgx's own decoding of the same raw values is the oracle.
				for i, raw := range rows.RawValues() {
					fd := rows.FieldDescriptions()[i]
					if err := rows.Conn().TypeMap().Scan(fd.DataTypeOID, fd.Format, raw, want[i]); err != nil {
						t.Fatalf("column %d: pgx: %v", i, err)
					}
				}
				r := db.NewTextRow(rows)
				for i := range arrays {
					var got []string
					r.StringArray(&got)
					if w := *want[i].(*[]string); !reflect.DeepEqual(got, w) || (got == nil) != (w == nil) {
						t.Errorf("zone %q: array %s: got %#v, pgx %#v", zone, arrays[i], got, w)
					}
				}
				for i := range times {
					var got time.Time
					r.Time(&got)
					w := *want[len(arrays)+i].(*time.Time)
					if !got.Equal(w) || got.Location() != time.UTC {
						t.Errorf("zone %q: time %s: got %v, pgx %v", zone, times[i], got, w)
					}
				}
				var gotID uuid.UUID
				var gotNull *uuid.UUID
				var doc, null []byte
				var s string
				r.UUID(&gotID)
				r.NullUUID(&gotNull)
				r.JSON(&doc)
				r.JSON(&null)
				r.String(&s)
				if err := r.Err(); err != nil {
					t.Fatal(err)
				}
				if gotID != id || gotNull != nil || string(doc) != `{"k": [1, "二"]}` || null != nil || s != "text" {
					t.Errorf("got %v %v %q %q %q", gotID, gotNull, doc, null, s)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	read("")
	read("Asia/Shanghai") // "+08" offsets: the fallback, still in UTC
}

// Reading more or fewer columns than the row has is an error, not a silent
// shift of every value after it.
func TestTextRowCountsColumns(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	err := db.InTenant(context.Background(), env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		return db.ReadRows(ctx, tx.NewSelect().ColumnExpr("'a', 'b'"), func(rows pgx.Rows) error {
			var s string
			r := db.NewTextRow(rows)
			r.String(&s)
			if r.Err() == nil {
				t.Error("one column of two read: no error")
			}
			r.String(&s)
			r.String(&s)
			if r.Err() == nil {
				t.Error("three columns of two read: no error")
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ReadRows needs the tenant transaction it reads in.
func TestReadRowsOutsideATenantTransaction(t *testing.T) {
	env := testkit.Get(t)
	err := db.ReadRows(context.Background(), env.App.NewSelect().ColumnExpr("1"), func(pgx.Rows) error { return nil })
	if err == nil {
		t.Fatal("ReadRows outside a transaction: no error")
	}
}

// The nullable and integer readers read what they are given, NULL included.
func TestTextRowReadsNullsAndIntegers(t *testing.T) {
	env := testkit.Get(t)
	a := env.NewTenant(t)
	err := db.InTenant(context.Background(), env.App, a.ID, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().ColumnExpr(`'2026-12-04 16:18:43.5+00'::timestamptz, NULL::timestamptz, 'x'::text, NULL::text,
			9000000000::bigint, -7::integer, 3::smallint, NULL::integer, NULL::bigint`)
		return db.ReadRows(ctx, q, func(rows pgx.Rows) error {
			r := db.NewTextRow(rows)
			var (
				at, none    *time.Time
				s, nulls    *string
				big         int64
				neg         int
				small, nil1 *int
				zero        int64
			)
			r.NullTime(&at)
			r.NullTime(&none)
			r.NullString(&s)
			r.NullString(&nulls)
			r.Int64(&big)
			r.Int(&neg)
			r.NullInt(&small)
			r.NullInt(&nil1)
			r.Int64(&zero)
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			want := time.Date(2026, 12, 4, 16, 18, 43, 500_000_000, time.UTC)
			if at == nil || !at.Equal(want) || at.Location() != time.UTC || none != nil || s == nil || *s != "x" || nulls != nil ||
				big != 9_000_000_000 || neg != -7 || small == nil || *small != 3 || nil1 != nil || zero != 0 {
				t.Errorf("got %v %v %v %v %d %d %v %v %d", at, none, s, nulls, big, neg, small, nil1, zero)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
