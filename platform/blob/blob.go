// Package blob opens the file store for uploads, exports and reports through
// gocloud.dev/blob. The default is a local directory (file:///...); a cloud bucket
// is configuration plus one driver import here (s3blob, gcsblob, azureblob).
package blob

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/memblob"  // mem:// buckets, for tests
)

// Bucket is the store every module writes files to.
type Bucket = blob.Bucket

// Open opens the bucket at url, e.g. file:///var/lib/clientele/blobs?create_dir=true.
//
// A local directory writes each file to a temporary file next to its final
// path and renames it into place (no_tmp_dir is added unless the URL says
// otherwise). fileblob's default puts the temporary file in os.TempDir, and
// the rename then fails with "invalid cross-device link" whenever the bucket
// is a mounted volume of its own (a Kubernetes volume, a data disk), that is
// on every upload and export. It would also fill /tmp instead of the volume
// meant for files, so a full volume would show only at the rename.
func Open(ctx context.Context, rawURL string) (*Bucket, error) {
	b, err := blob.OpenBucket(ctx, localTempNextToFiles(rawURL))
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", redact(rawURL), err)
	}
	return b, nil
}

// localTempNextToFiles adds no_tmp_dir to a file:// URL that does not set it.
func localTempNextToFiles(rawURL string) string {
	if !strings.HasPrefix(rawURL, "file://") {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL // OpenBucket says what is wrong with it
	}
	q := u.Query()
	if _, set := q["no_tmp_dir"]; set {
		return rawURL
	}
	q.Set("no_tmp_dir", "true")
	u.RawQuery = q.Encode()
	return u.String()
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
