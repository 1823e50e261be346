package funnel

import (
	"math/big"
	"strings"
)

// Positions order deals within a column. They are exact decimals (numeric in
// the database, strings here): a deal placed between two others takes their
// midpoint, one placed at an end takes the next whole number past it. So a
// move writes only the moved deal and a column is never renumbered; appending
// keeps the numbers short, and only repeated insertion into the very same gap
// lengthens them, by about one digit every three times.

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return new(big.Rat)
	}
	return r
}

// scale is the number of digits after the point of a decimal string.
func scale(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// trimDecimal drops trailing zeros after the point, and the point itself.
func trimDecimal(s string) string {
	if strings.IndexByte(s, '.') < 0 {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// floorInt is the largest whole number not above r.
func floorInt(r *big.Rat) *big.Int {
	q, m := new(big.Int), new(big.Int)
	q.DivMod(r.Num(), r.Denom(), m) // Euclidean: floor for a positive denominator
	return q
}

// posAfter is a position past a ("" for an empty column: 1).
func posAfter(a string) string {
	if a == "" {
		return "1"
	}
	return new(big.Int).Add(floorInt(rat(a)), big.NewInt(1)).String()
}

// posBefore is a position before b.
func posBefore(b string) string {
	r := rat(b)
	f := floorInt(r)
	if new(big.Rat).SetInt(f).Cmp(r) == 0 {
		return new(big.Int).Sub(f, big.NewInt(1)).String()
	}
	return f.String()
}

// posBetween is the exact midpoint of a < b; "" stands for an open end.
func posBetween(a, b string) string {
	switch {
	case a == "" && b == "":
		return "1"
	case b == "":
		return posAfter(a)
	case a == "":
		return posBefore(b)
	}
	sc := scale(a)
	if s := scale(b); s > sc {
		sc = s
	}
	mid := new(big.Rat).Add(rat(a), rat(b))
	mid.Quo(mid, big.NewRat(2, 1))
	return trimDecimal(mid.FloatString(sc + 1))
}
