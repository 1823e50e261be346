package tenants

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestKeyRoundTrip(t *testing.T) {
	// Many keys: base64url parts contain '_' now and then, which must not confuse parsing.
	for i := 0; i < 2000; i++ {
		tn := uuid.New()
		_, full, _, _ := newKey(tn)
		if got, _, _, ok := parseKey(full); !ok || got != tn {
			t.Fatalf("key %d did not parse: %q", i, full)
		}
	}
	tenant := uuid.New()
	id, full, prefix, hash := newKey(tenant)
	gotTenant, gotID, gotHash, ok := parseKey(full)
	if !ok || gotTenant != tenant || gotID != id || !bytes.Equal(gotHash, hash) {
		t.Fatalf("round trip: %v %v %v %v", ok, gotTenant == tenant, gotID == id, bytes.Equal(gotHash, hash))
	}
	if len(prefix) != len(keyPrefix)+shownHead || full[:len(prefix)] != prefix {
		t.Fatalf("prefix %q of %q", prefix, full)
	}
	zero := "ck_" + strings.Repeat("A", 43) + "_" + strings.Repeat("B", 43) // tenant and key id all zero
	for _, bad := range []string{"", "ck_", "ck_abc_def", full + "x", "xx" + full[2:], full[:len(full)-1], zero} {
		if _, _, _, ok := parseKey(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

// A company's keys show prefixes that tell them apart.
func TestKeyPrefixesDifferWithinACompany(t *testing.T) {
	tenant := uuid.New()
	seen := map[string]bool{}
	for i := 0; i < 5000; i++ {
		_, _, prefix, _ := newKey(tenant)
		if seen[prefix] {
			t.Fatalf("prefix %s repeated after %d keys", prefix, i)
		}
		seen[prefix] = true
	}
}

// Keys of the first format (company id first) still authenticate.
func TestOldKeysStillParse(t *testing.T) {
	tenant, id := uuid.New(), uuid.New()
	secret := bytes.Repeat([]byte{7}, 32)
	old := keyPrefix + base64.RawURLEncoding.EncodeToString(append(tenant[:], id[:]...)) + "_" + base64.RawURLEncoding.EncodeToString(secret)
	gotTenant, gotID, hash, ok := parseKey(old)
	want := sha256.Sum256(secret)
	if !ok || gotTenant != tenant || gotID != id || !bytes.Equal(hash, want[:]) {
		t.Fatalf("old key: ok %v tenant %v id %v", ok, gotTenant == tenant, gotID == id)
	}
	// A 44-character head must carry the version byte.
	bad := keyPrefix + base64.RawURLEncoding.EncodeToString(append(append(id[:], tenant[:]...), 9)) + "_" + base64.RawURLEncoding.EncodeToString(secret)
	if _, _, _, ok := parseKey(bad); ok {
		t.Fatalf("accepted a head with an unknown version")
	}
}
