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

// A local bucket writes its temporary files beside the files, not in
// os.TempDir: a bucket on a volume of its own (as the Helm chart mounts one)
// would otherwise fail every write at the rename, across devices. Pointing
// TMPDIR at a directory that does not exist makes a write through the temp
// dir fail, as the cross-device rename does.
func TestLocalBucketKeepsTemporaryFilesBesideItsFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("TMPDIR", filepath.Join(dir, "no-such-tmp"))
	b, err := Open(ctx, "file://"+filepath.ToSlash(filepath.Join(dir, "blobs"))+"?create_dir=true")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WriteAll(ctx, TenantKey("t1", "uploads", "a.csv"), []byte("x"), nil); err != nil {
		t.Fatalf("write with os.TempDir elsewhere: %v", err)
	}
	if got := localTempNextToFiles("file:///data/blobs?create_dir=true&no_tmp_dir="); got != "file:///data/blobs?create_dir=true&no_tmp_dir=" {
		t.Errorf("an explicit no_tmp_dir was changed: %s", got)
	}
	if got := localTempNextToFiles("s3://bucket?region=x"); got != "s3://bucket?region=x" {
		t.Errorf("a cloud URL was changed: %s", got)
	}
}
