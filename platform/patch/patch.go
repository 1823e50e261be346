// Package patch applies the fields of a partial update (PATCH) body: a field
// is a pointer, nil when the client did not send it.
package patch

// Set copies the sent value into dst; a field that was not sent (nil) leaves
// dst as it is.
func Set[T any](dst *T, sent *T) {
	if sent != nil {
		*dst = *sent
	}
}
