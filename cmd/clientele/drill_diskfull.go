package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/clientele-crm/clientele/platform/config"
)

// The disk-full drill (issue 23, drill 3): the blob store's volume fills up
// while people upload attachments and imports and run exports. The store is
// a small tmpfs of its own, so the disk really is full (ENOSPC from the
// kernel, not a fake). While it is full every upload must be refused with a
// clear 503 naming the file store, nothing half-written may stay (no record
// without its file, no file without its record, no temporary file), an export
// must wait and say why, and once space returns the same requests must work
// and the waiting export finish by itself.

// diskFullStoreBytes is the size of the drill's blob volume.
const diskFullStoreBytes = 8 << 20

func runDiskFullDrill(ctx context.Context, cfg config.Config, out io.Writer, keep bool) (err error) {
	dir, err := os.MkdirTemp("", "clientele-drill-")
	if err != nil {
		return err
	}
	blobs := filepath.Join(dir, "data", "blobs")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return err
	}
	opts := fmt.Sprintf("size=%d,mode=0700", diskFullStoreBytes)
	if msg, err := exec.CommandContext(ctx, "mount", "-t", "tmpfs", "-o", opts, "clientele-drill", blobs).CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("drill disk-full: the drill mounts an 8 MB tmpfs as the blob store, which needs root (or a user and mount namespace: unshare -rm): %v: %s", err, bytes.TrimSpace(msg))
	}
	dr := &drill{fault: "disk-full", out: out, dir: dir, acked: map[string]bool{}, readyz: map[string]int{},
		hc: &http.Client{Timeout: 60 * time.Second}}
	defer func() {
		dr.stop()
		_ = exec.Command("umount", blobs).Run()
		if keep || err != nil {
			fmt.Fprintf(out, "drill disk-full: logs kept in %s\n", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	}()
	t0 := time.Now()
	if err := dr.start(ctx, cfg); err != nil {
		return fmt.Errorf("drill disk-full: setting up the private stack: %w", err)
	}
	fmt.Fprintf(out, "drill disk-full: private stack up in %.1f s, blob store on an %d MB tmpfs\n", time.Since(t0).Seconds(), diskFullStoreBytes>>20)
	w := buildWorker(dr.d)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Shutdown()
	return dr.diskFull(ctx, blobs)
}

func (dr *drill) diskFull(ctx context.Context, blobs string) error {
	t := "/api/v1/t/" + dr.slug
	var failures []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}

	// A company with customers to export and a ticket to answer.
	var batch strings.Builder
	batch.WriteString(`{"records":[`)
	for i := 0; i < 500; i++ {
		if i > 0 {
			batch.WriteByte(',')
		}
		fmt.Fprintf(&batch, `{"name":"Disk Full %d 磁盘","emails":["full%d@example.com"],"tags":["drill"]}`, i, i)
	}
	batch.WriteString(`]}`)
	for i := 0; i < 4; i++ {
		body := strings.ReplaceAll(batch.String(), "@example.com", fmt.Sprintf("@b%d.example.com", i))
		if st, b := dr.call(ctx, "POST", t+"/customers/batch", dr.token, body); st != 200 && st != 201 {
			return fmt.Errorf("seed customers: %d %.300s", st, b)
		}
	}
	var cust struct{ ID string }
	st, b := dr.call(ctx, "POST", t+"/customers", dr.token, `{"name":"Requester","emails":["requester@example.com"]}`)
	if st != 201 || json.Unmarshal(b, &cust) != nil {
		return fmt.Errorf("create customer: %d %s", st, b)
	}
	var ticket struct{ ID string }
	st, b = dr.call(ctx, "POST", t+"/tickets", dr.token, fmt.Sprintf(`{"subject":"Invoice attached","channel":"email","requester_id":%q}`, cust.ID))
	if st != 201 || json.Unmarshal(b, &ticket) != nil {
		return fmt.Errorf("create ticket: %d %s", st, b)
	}
	attachment := bytes.Repeat([]byte("line of an attached log file, 附件\n"), 16<<10) // ~600 KB
	importCSV := "name,emails\n"
	for i := 0; i < 8000; i++ {
		importCSV += fmt.Sprintf("Imported %d,imp%d@example.com\n", i, i)
	}

	// Before the fault: each path works.
	st, b = dr.upload(ctx, t+"/tickets/"+ticket.ID+"/messages/with-files", map[string]string{"kind": "note", "body": "before"}, "files", "before.txt", attachment)
	if st != 201 {
		return fmt.Errorf("an attachment before the fault: %d %s", st, b)
	}
	exp, err := dr.export(ctx, t)
	if err != nil {
		return err
	}
	if v, err := dr.waitExport(ctx, t, exp, "succeeded", 60*time.Second); err != nil {
		return fmt.Errorf("an export before the fault: %w (%+v)", err, v)
	}
	messagesBefore := dr.countItems(ctx, t+"/tickets/"+ticket.ID+"/messages")
	importsBefore := dr.countItems(ctx, t+"/imports")

	// The fault: something else fills the volume to the last byte.
	filler := filepath.Join(blobs, "filler")
	filled, err := fillDisk(filler)
	if err != nil {
		return err
	}
	filesAtFault, err := listFiles(blobs)
	if err != nil {
		return err
	}
	fmt.Fprintf(dr.out, "drill disk-full: the blob store is full (%d KB of filler written, then ENOSPC)\n", filled>>10)

	refused := func(what string, st int, body []byte, took time.Duration) {
		var p struct {
			Dependency string `json:"dependency"`
			Detail     string `json:"detail"`
		}
		_ = json.Unmarshal(body, &p)
		fmt.Fprintf(dr.out, "drill disk-full: %-34s %d dependency=%q in %4d ms: %s\n", what, st, p.Dependency, took.Milliseconds(), p.Detail)
		check(st == 503 && p.Dependency == "files" && strings.Contains(p.Detail, "file store is full"), "%s while full: %d %s, want 503 naming the file store", what, st, body)
	}
	start := time.Now()
	st, b = dr.upload(ctx, t+"/tickets/"+ticket.ID+"/messages/with-files", map[string]string{"kind": "reply", "body": "during"}, "files", "during.txt", attachment)
	refused("a reply with an attachment", st, b, time.Since(start))
	start = time.Now()
	st, b = dr.upload(ctx, t+"/imports", map[string]string{"entity": "customers"}, "file", "customers.csv", []byte(importCSV))
	refused("an import upload", st, b, time.Since(start))
	exp2, err := dr.export(ctx, t)
	if err != nil {
		return err
	}
	v, err := dr.waitExport(ctx, t, exp2, "retrying", 60*time.Second)
	fmt.Fprintf(dr.out, "drill disk-full: an export while full: %s: %s\n", v.Status, v.Error)
	check(err == nil && strings.Contains(v.Error, "file store is full"), "the export while full: %v %+v, want retrying and saying the file store is full", err, v)
	ok, bad := dr.ready(ctx)
	fmt.Fprintf(dr.out, "drill disk-full: /readyz while full: ready=%v %v (reads still work)\n", ok, bad)
	check(ok, "/readyz while the file store is full: %v", bad)

	// Nothing half-written: the same files as at the fault, the same records.
	filesNow, err := listFiles(blobs)
	if err != nil {
		return err
	}
	check(strings.Join(filesNow, "\n") == strings.Join(filesAtFault, "\n"), "files changed while the store was full:\nat the fault %v\nnow %v", filesAtFault, filesNow)
	check(dr.countItems(ctx, t+"/tickets/"+ticket.ID+"/messages") == messagesBefore, "a message was stored without its file")
	check(dr.countItems(ctx, t+"/imports") == importsBefore, "an import was recorded without its file")

	// Space returns: the same requests work, and the export finishes by itself.
	if err := os.Remove(filler); err != nil {
		return err
	}
	freed := time.Now()
	st, b = dr.upload(ctx, t+"/tickets/"+ticket.ID+"/messages/with-files", map[string]string{"kind": "reply", "body": "after"}, "files", "after.txt", attachment)
	check(st == 201, "the reply with an attachment after space returned: %d %s", st, b)
	st, b = dr.upload(ctx, t+"/imports", map[string]string{"entity": "customers"}, "file", "customers.csv", []byte(importCSV))
	check(st == 201, "the import upload after space returned: %d %.300s", st, b)
	v, err = dr.waitExport(ctx, t, exp2, "succeeded", 3*time.Minute)
	check(err == nil && v.Rows == 2001, "the waiting export after space returned: %v %+v, want succeeded with 2001 rows", err, v)
	fmt.Fprintf(dr.out, "drill disk-full: after space returned: uploads accepted at once; the waiting export finished %.1f s later (its retry) with %d rows\n", time.Since(freed).Seconds(), v.Rows)
	if v.DownloadURL != "" {
		st, body := dr.call(ctx, "GET", strings.TrimPrefix(v.DownloadURL, ""), dr.token, "")
		lines := bytes.Count(body, []byte("\n"))
		check(st == 200 && lines == 2002, "the export's file: %d, %d lines, want 200 and 2002", st, lines)
	}
	check(dr.countItems(ctx, t+"/tickets/"+ticket.ID+"/messages") == messagesBefore+1, "messages after recovery: want exactly one more")
	check(dr.countItems(ctx, t+"/imports") == importsBefore+1, "imports after recovery: want exactly one more")
	if leftovers, _ := listFiles(blobs); true {
		for _, f := range leftovers {
			check(!strings.HasSuffix(f, ".tmp"), "a temporary file stayed: %s", f)
		}
	}

	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintf(dr.out, "drill disk-full: FAIL %s\n", f)
		}
		return fmt.Errorf("drill disk-full: %d checks failed", len(failures))
	}
	fmt.Fprintln(dr.out, "drill disk-full: passed: uploads refused with 503 naming the file store, nothing half-written, exports waited and finished once space returned")
	return nil
}

// fillDisk writes path until the volume is full and reports how much it wrote.
func fillDisk(path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	var n int64
	for {
		k, err := f.Write(chunk)
		n += int64(k)
		if errors.Is(err, syscall.ENOSPC) {
			// Fill the tail too, byte by byte if need be.
			for len(chunk) > 1 {
				chunk = chunk[:len(chunk)/2]
				for {
					k, err = f.Write(chunk)
					n += int64(k)
					if err != nil {
						break
					}
				}
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// listFiles lists the files under root, relative and sorted.
func listFiles(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// upload posts a multipart form with one file.
func (dr *drill) upload(ctx context.Context, path string, fields map[string]string, fileField, name string, content []byte) (int, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(fileField, name)
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, err := http.NewRequestWithContext(ctx, "POST", dr.base+path, &buf)
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Session-Token", dr.token)
	resp, err := dr.hc.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b
}

type drillExport struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	Rows        int64  `json:"rows"`
	DownloadURL string `json:"download_url"`
}

func (dr *drill) export(ctx context.Context, t string) (string, error) {
	var v drillExport
	st, b := dr.call(ctx, "POST", t+"/exports", dr.token, `{"entity":"customers","fields":["name","emails"]}`)
	if st != 202 || json.Unmarshal(b, &v) != nil {
		return "", fmt.Errorf("start an export: %d %s", st, b)
	}
	return v.ID, nil
}

func (dr *drill) waitExport(ctx context.Context, t, id, want string, within time.Duration) (drillExport, error) {
	var v drillExport
	for deadline := time.Now().Add(within); ; time.Sleep(250 * time.Millisecond) {
		st, b := dr.call(ctx, "GET", t+"/exports/"+id, dr.token, "")
		v = drillExport{}
		if st == 200 && json.Unmarshal(b, &v) == nil && v.Status == want {
			return v, nil
		}
		if v.Status == "failed" || time.Now().After(deadline) {
			return v, fmt.Errorf("export %s is %q (%d), want %q", id, v.Status, st, want)
		}
	}
}

// countItems counts the first page of a list (the drill's lists are short).
func (dr *drill) countItems(ctx context.Context, path string) int {
	st, b := dr.call(ctx, "GET", path+"?limit=200", dr.token, "")
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	if st != 200 || json.Unmarshal(b, &page) != nil {
		return -1
	}
	return len(page.Items)
}
