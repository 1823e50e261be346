package blob

import (
	"context"
	"path/filepath"
	"testing"
)

func TestLocalDirectoryBucketRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := Open(ctx, "file://"+filepath.ToSlash(dir)+"?create_dir=true")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	key := TenantKey("t1", "exports", "customers.csv")
	if err := b.WriteAll(ctx, key, []byte("name\n张三\n"), nil); err != nil {
		t.Fatal(err)
	}
	got, err := b.ReadAll(ctx, key)
	if err != nil || string(got) != "name\n张三\n" {
		t.Fatalf("read %q %v", got, err)
	}
	if _, err := Open(ctx, "nosuch://bucket"); err == nil {
		t.Fatal("unknown scheme accepted")
	}
}
