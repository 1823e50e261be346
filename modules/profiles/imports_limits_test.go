package profiles_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/platform/sheet/sheettest"
	"github.com/clientele-crm/clientele/platform/testkit"
)

// The worker reads the stored file again, so it applies the same limits: a file
// swapped in the store after the upload was checked (or read under lower limits
// than it was uploaded with) fails the import with the reason, and the worker's
// peak memory stays under 300 MB.
func TestImportWorkerRefusesAFileBeyondTheLimits(t *testing.T) {
	if !testkit.InChild(t, 300<<20) {
		return
	}
	ie := newImportEnv(t)
	ctx := importer()
	tn := ie.tenant()
	bombs := []struct {
		name, file string
		content    []byte
		want       string
	}{
		{"a sheet of 500 MB of spaces behind padding", "a.xlsx", sheettest.Bytes(append(append(sheettest.Workbook(false), sheettest.Padding(6)...),
			sheettest.Part{Name: "xl/worksheets/sheet1.xml", Head: sheettest.SheetHead, Chunk: sheettest.Fill(' ', 1<<20), Repeat: 500, Tail: sheettest.SheetTail})...), "longer than 256 KB"},
		{"a shared string of 500 MB", "b.xlsx", sheettest.HugeSharedString(500), "text table unpacks to 500 MB"},
		{"a CSV row of 4 MB", "c.csv", []byte("name,note\nann,ok\nbob,\"" + strings.Repeat("x", 4<<20) + "\"\n"), "Row 3 is longer than 1 MB"},
	}
	for _, b := range bombs {
		ext := b.file[strings.LastIndexByte(b.file, '.'):]
		content := []byte("name,email\nann,ann@example.com\n")
		if ext == ".xlsx" {
			content = ordinaryWorkbook()
		}
		up, err := ie.eng.Upload(ctx, tn, "customers", "ok"+ext, int64(len(content)), strings.NewReader(string(content)), "")
		if err != nil {
			t.Fatalf("%s: upload of the ordinary file: %v", b.name, err)
		}
		if err := ie.blobs.WriteAll(context.Background(), up.BlobKey, b.content, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ie.eng.StartImport(ctx, tn, up.ID, map[string]string{up.Columns[0]: "name"}, "create", ""); err != nil {
			t.Fatalf("%s: start: %v", b.name, err)
		}
		start := time.Now()
		for {
			v := ie.get(tn, up.ID)
			if v.Status == "failed" {
				t.Logf("%s: failed after %v: %s", b.name, time.Since(start).Round(time.Millisecond), deref(v.Error))
				if !strings.Contains(deref(v.Error), b.want) {
					t.Errorf("%s: the import says %q, want %q", b.name, deref(v.Error), b.want)
				}
				break
			}
			if v.Status == "completed" || time.Since(start) > 60*time.Second {
				t.Fatalf("%s: the import is %s after %v, want failed", b.name, v.Status, time.Since(start))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func ordinaryWorkbook() []byte {
	return sheettest.Bytes(append(sheettest.Workbook(false), sheettest.Part{Name: "xl/worksheets/sheet1.xml",
		Head: sheettest.SheetHead + `<row r="2"><c t="inlineStr"><is><t>ann</t></is></c><c t="inlineStr"><is><t>ann@example.com</t></is></c></row>` + sheettest.SheetTail})...)
}
