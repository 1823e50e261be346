package page

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
)

func TestCursorRoundTripsAndRefusesForgeries(t *testing.T) {
	at := After{At: time.Date(2026, 12, 3, 10, 0, 0, 123, time.UTC), ID: uuid.New()}
	var back After
	if err := Decode(Encode(at), &back); err != nil || !back.At.Equal(at.At) || back.ID != at.ID {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	for _, bad := range []string{"not base64!", "bm90IGpzb24", "%%"} {
		if err := Decode(bad, &back); !errs.Is(err, errs.Invalid) {
			t.Errorf("cursor %q: %v, want invalid", bad, err)
		}
	}
}

func TestCutKeepsTheLimitAndPointsPastTheLastRow(t *testing.T) {
	rows := []int{1, 2, 3, 4}
	got, next := Cut(rows, 3, func(last int) any { return last })
	if len(got) != 3 || next != Encode(3) {
		t.Fatalf("cut of 4 at 3: %v %q", got, next)
	}
	got, next = Cut(rows[:3], 3, func(last int) any { return last })
	if len(got) != 3 || next != "" {
		t.Fatalf("a last page: %v %q", got, next)
	}
}
