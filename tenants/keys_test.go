package tenants

import (
	"bytes"
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
	if len(prefix) != 11 || full[:11] != prefix {
		t.Fatalf("prefix %q of %q", prefix, full)
	}
	zero := "ck_" + strings.Repeat("A", 43) + "_" + strings.Repeat("B", 43) // tenant and key id all zero
	for _, bad := range []string{"", "ck_", "ck_abc_def", full + "x", "xx" + full[2:], full[:len(full)-1], zero} {
		if _, _, _, ok := parseKey(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}
