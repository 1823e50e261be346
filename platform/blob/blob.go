// Package blob opens the file store for uploads, exports and reports through
// gocloud.dev/blob. The default is a local directory (file:///...); a cloud bucket
// is configuration plus one driver import here (s3blob, gcsblob, azureblob).
package blob

import (
	"context"
	"fmt"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/memblob"  // mem:// buckets, for tests
)

// Bucket is the store every module writes files to.
type Bucket = blob.Bucket

// Open opens the bucket at url, e.g. file:///var/lib/clientele/blobs?create_dir=true.
func Open(ctx context.Context, url string) (*Bucket, error) {
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", redact(url), err)
	}
	return b, nil
}

// TenantKey namespaces a key by tenant so one tenant's files never sit under
// another's prefix: tenants/<tenant>/<area>/<name>.
func TenantKey(tenant, area, name string) string {
	return "tenants/" + tenant + "/" + area + "/" + name
}

func redact(u string) string {
	if i := len(u); i > 80 {
		return u[:80] + "…"
	}
	return u
}
