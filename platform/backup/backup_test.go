package backup

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestSafeKeyKeepsFilesUnderThePrefix(t *testing.T) {
	for k, want := range map[string]bool{
		"tickets/a/b.pdf": true, "imports/x.csv": true, "发票.pdf": true,
		"": false, "/etc/passwd": false, "../other/x": false, "a/../../x": false, "a/./b": false, `a\b`: false, "a//b": false, "a/": false,
	} {
		if got := safeKey(k); got != want {
			t.Errorf("safeKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestParentsFirst(t *testing.T) {
	tables := []tableInfo{{Name: "deal_tags"}, {Name: "deals"}, {Name: "customers"}, {Name: "pipelines"}, {Name: "tenant_keys"}, {Name: "stages"}}
	parents := map[string][]string{"deal_tags": {"deals"}, "deals": {"customers", "stages", "pipelines"}, "stages": {"pipelines"}}
	var order []string
	pos := map[string]int{}
	for i, t := range parentsFirst(tables, parents) {
		order = append(order, t.Name)
		pos[t.Name] = i
	}
	if len(order) != len(tables) || order[0] != "tenant_keys" {
		t.Fatalf("order %v: every table once, the data key first", order)
	}
	for child, ps := range parents {
		for _, p := range ps {
			if pos[p] > pos[child] {
				t.Errorf("%s comes after %s, which references it: %v", p, child, order)
			}
		}
	}
}

func TestNormaliseReadsWhatARestoreChangesAsEqual(t *testing.T) {
	a, b := uuid.NewString(), uuid.NewString()
	rowA := a + "\tc1\t{\"ssn\": \"sealed:v1:AAAA+/x\"}\tqueued\t\\\\x0102\n"
	rowB := b + "\tc1\t{\"ssn\": \"sealed:v1:BBBB\"}\tcanceled\t\\\\x0304\n"
	if x, y := normalise([]byte(rowA), a, 3, 4), normalise([]byte(rowB), b, 3, 4); !bytes.Equal(x, y) {
		t.Fatalf("%q vs %q", x, y)
	}
	// Anything else still differs: another row id, a value, a finished job.
	for _, other := range []string{
		b + "\tc2\t{\"ssn\": \"sealed:v1:BBBB\"}\tcanceled\t\\\\x0304\n",
		b + "\tc1\t{\"ssn\": \"plain\"}\tcanceled\t\\\\x0304\n",
		b + "\tc1\t{\"ssn\": \"sealed:v1:BBBB\"}\tsucceeded\t\\\\x0304\n",
	} {
		if bytes.Equal(normalise([]byte(rowA), a, 3, 4), normalise([]byte(other), b, 3, 4)) {
			t.Errorf("%q compares equal to %q", other, rowA)
		}
	}
}

func TestOpenRefusesWhatIsNotAnArchive(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(ManifestName)
	w.Write([]byte(`{"format":"something-else","version":1}`))
	zw.Close()
	for name, data := range map[string][]byte{"empty": nil, "text": []byte("PK not really"), "another format": buf.Bytes()} {
		_, _, err := Open(bytes.NewReader(data), int64(len(data)))
		if err == nil || !strings.Contains(err.Error(), "archive refused") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
