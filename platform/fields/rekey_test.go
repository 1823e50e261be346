package fields

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// A company's data key and sealed values move to a new company id: the value
// opens for the new id and no longer for the old one; a wrong master key is
// refused, not turned into garbage.
func TestRekeyTenantMovesKeyAndValues(t *testing.T) {
	master, key := make([]byte, 32), make([]byte, 32)
	rand.Read(master)
	rand.Read(key)
	from, to := uuid.New(), uuid.New()
	m, _ := newGCM(master)
	nonce := make([]byte, m.NonceSize())
	rand.Read(nonce)
	wrapped := m.Seal(nonce, nonce, key, from[:])
	k, _ := newGCM(key)
	n := make([]byte, k.NonceSize())
	rand.Read(n)
	sealed := SealedPrefix + base64.RawStdEncoding.EncodeToString(k.Seal(n, n, []byte("SSN-123"), from[:]))

	rewrapped, reseal, err := RekeyTenant(master, wrapped, from, to)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Open(nil, rewrapped[:m.NonceSize()], rewrapped[m.NonceSize():], to[:])
	if err != nil || string(got) != string(key) {
		t.Fatalf("the rewrapped key does not open for the new company: %v", err)
	}
	moved, err := reseal(sealed)
	if err != nil || !strings.HasPrefix(moved, SealedPrefix) || moved == sealed {
		t.Fatalf("reseal: %q %v", moved, err)
	}
	raw, _ := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(moved, SealedPrefix))
	if pt, err := k.Open(nil, raw[:k.NonceSize()], raw[k.NonceSize():], to[:]); err != nil || string(pt) != "SSN-123" {
		t.Fatalf("the moved value does not open for the new company: %q %v", pt, err)
	}
	if _, err := k.Open(nil, raw[:k.NonceSize()], raw[k.NonceSize():], from[:]); err == nil {
		t.Fatal("the moved value still opens for the old company")
	}
	if _, err := reseal(moved); err == nil {
		t.Fatal("a value sealed for another company was re-sealed")
	}
	other := make([]byte, 32)
	rand.Read(other)
	if _, _, err := RekeyTenant(other, wrapped, from, to); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("a wrong master key: %v", err)
	}
}
