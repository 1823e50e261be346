package backup

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Compare tells how two archives differ beyond what a restore changes by
// design, and returns nothing when they hold the same company. It reads both
// entry by entry, a line (row) at a time. The documented rule
// (docs/operations.md, "Comparing two archives"):
//
//   - the company's id, its address (slug) and the time the archive was
//     made may differ; its name and settings must not;
//   - each table of a holds the same rows as b's, line for line in primary
//     key order, with the same columns, after each archive's own company id
//     is read as the same placeholder wherever it occurs (row ids, times and
//     every other value are kept by a restore and compared as they are);
//   - sealed (sensitive) values compare as equal when both are sealed, and
//     the company's data key when both have one: a restore re-wraps the key
//     and re-seals the values for the new company, with new nonces;
//   - jobs that had not finished compare equal to canceled ones: a restore
//     does not run the old company's queue again;
//   - tables in NotRestored are left out;
//   - both hold the same files, by key below the company's prefix, size and
//     SHA-256.
//
// Both archives must have passed Open.
func Compare(az *zip.Reader, a *Manifest, bz *zip.Reader, b *Manifest) ([]string, error) {
	var diffs []string
	add := func(format string, args ...any) {
		if len(diffs) < 50 {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		}
	}
	if a.SchemaVersion != b.SchemaVersion {
		add("schema version %s vs %s", a.SchemaVersion, b.SchemaVersion)
	}
	ta, tb := a.Tenant, b.Tenant
	ta.ID, tb.ID, ta.Slug, tb.Slug = b.Tenant.ID, b.Tenant.ID, "", ""
	if ta != tb {
		add("company settings %+v vs %+v", a.Tenant, b.Tenant)
	}
	ea, eb := entryMap(az), entryMap(bz)
	bt := map[string]Table{}
	for _, t := range b.Tables {
		bt[t.Name] = t
	}
	for _, t := range a.Tables {
		if NotRestored[t.Name] != "" {
			continue
		}
		u, ok := bt[t.Name]
		delete(bt, t.Name)
		if !ok {
			add("table %s only in the first archive", t.Name)
			continue
		}
		if columnList(t.Columns) != columnList(u.Columns) {
			add("table %s: columns differ", t.Name)
			continue
		}
		if t.Rows != u.Rows {
			add("table %s: %d rows vs %d", t.Name, t.Rows, u.Rows)
		}
		status, key := -1, -1
		for i, c := range t.Columns {
			switch {
			case t.Name == "jobs" && c.Name == "status":
				status = i
			case t.Name == "tenant_keys" && c.Name == "wrapped_key":
				key = i
			}
		}
		d, err := compareRows(ea[t.Entry], eb[u.Entry], a.Tenant.ID.String(), b.Tenant.ID.String(), status, key)
		if err != nil {
			return nil, err
		}
		if d != "" {
			add("table %s: %s", t.Name, d)
		}
	}
	for name := range bt {
		if NotRestored[name] == "" {
			add("table %s only in the second archive", name)
		}
	}
	bf := map[string]File{}
	for _, f := range b.Files {
		bf[f.Key] = f
	}
	for _, f := range a.Files {
		g, ok := bf[f.Key]
		delete(bf, f.Key)
		switch {
		case !ok:
			add("file %s only in the first archive", f.Key)
		case f.Bytes != g.Bytes || f.SHA256 != g.SHA256:
			add("file %s differs", f.Key)
		}
	}
	for k := range bf {
		add("file %s only in the second archive", k)
	}
	return diffs, nil
}

func entryMap(z *zip.Reader) map[string]*zip.File {
	m := map[string]*zip.File{}
	for _, f := range z.File {
		m[f.Name] = f
	}
	return m
}

// compareRows compares two COPY entries line by line, each normalised; it
// returns the first difference, or "".
func compareRows(fa, fb *zip.File, ida, idb string, status, key int) (string, error) {
	ra, err := fa.Open()
	if err != nil {
		return "", err
	}
	defer ra.Close()
	rb, err := fb.Open()
	if err != nil {
		return "", err
	}
	defer rb.Close()
	la, lb := bufio.NewReaderSize(ra, 64<<10), bufio.NewReaderSize(rb, 64<<10)
	for line := 1; ; line++ {
		x, errA := la.ReadBytes('\n')
		y, errB := lb.ReadBytes('\n')
		if errA != nil && errA != io.EOF {
			return "", errA
		}
		if errB != nil && errB != io.EOF {
			return "", errB
		}
		nx, ny := normalise(x, ida, status, key), normalise(y, idb, status, key)
		if !bytes.Equal(nx, ny) {
			return fmt.Sprintf("row %d differs: %.300q vs %.300q", line, nx, ny), nil
		}
		if errA == io.EOF || errB == io.EOF {
			if errA != errB {
				return fmt.Sprintf("row %d: one archive ends first", line), nil
			}
			return "", nil
		}
	}
}

var unfinished = map[string]bool{"queued": true, "running": true, "retrying": true}

func normalise(line []byte, tenant string, status, key int) []byte {
	out := bytes.ReplaceAll(line, []byte(tenant), []byte("<company>"))
	out = sealedRe.ReplaceAll(out, []byte("sealed:v1:<sealed>"))
	if status >= 0 || key >= 0 {
		cells := strings.Split(string(out), "\t")
		if status >= 0 && status < len(cells) && unfinished[cells[status]] {
			cells[status] = "canceled"
		}
		if key >= 0 && key < len(cells) && cells[key] != `\N` {
			cells[key] = "<wrapped key>"
		}
		out = []byte(strings.Join(cells, "\t"))
	}
	return out
}
