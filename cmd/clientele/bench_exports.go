package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// benchExports exports every customer of the bench tenant to CSV and to XLSX
// through the API, with the worker running in this process, and samples the
// process's resident memory while it works: the figure issue 5 asks for is that
// memory stays flat however many rows there are.
func benchExports(ctx context.Context, d *deps, c *http.Client, base, token string) error {
	w := buildWorker(d)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Shutdown()
	fmt.Printf("\nexports of every bench customer, worker in this process (RSS sampled every 250 ms)\n")
	fmt.Printf("%-6s %10s %9s %10s %12s %12s %12s  %s\n", "format", "rows", "seconds", "rows/s", "RSS before", "RSS peak", "growth", "RSS at 25/50/75/100%")
	for _, format := range []string{"csv", "xlsx"} {
		runtime.GC()
		debug.FreeOSMemory()
		before := rssBytes()
		id, err := postExport(c, base, token, format)
		if err != nil {
			return err
		}
		start := time.Now()
		peak := before
		marks := map[int]int64{}
		var rows int64
		for {
			time.Sleep(250 * time.Millisecond)
			r := rssBytes()
			peak = max(peak, r)
			v, err := getExport(c, base, token, id)
			if err != nil {
				return err
			}
			if v.Fraction != nil {
				q := int(*v.Fraction * 4)
				for k := 1; k <= q && k <= 4; k++ {
					if _, ok := marks[k]; !ok {
						marks[k] = r
					}
				}
			}
			if v.Status == "succeeded" {
				rows = v.Rows
				break
			}
			if v.Status == "failed" || v.Status == "canceled" {
				return fmt.Errorf("bench: %s export %s: %s", format, v.Status, v.Error)
			}
			if time.Since(start) > 2*time.Hour {
				return fmt.Errorf("bench: %s export did not finish in 2 h", format)
			}
		}
		secs := time.Since(start).Seconds()
		var at []string
		for k := 1; k <= 4; k++ {
			at = append(at, mb(marks[k]))
		}
		fmt.Printf("%-6s %10d %9.1f %10.0f %12s %12s %12s  %s\n", format, rows, secs, float64(rows)/secs, mb(before), mb(peak), mb(peak-before), strings.Join(at, " "))
	}
	return nil
}

type benchExportView struct {
	ID       string   `json:"id"`
	Status   string   `json:"status"`
	Fraction *float64 `json:"fraction"`
	Rows     int64    `json:"rows"`
	Error    string   `json:"error"`
}

func postExport(c *http.Client, base, token, format string) (string, error) {
	req, _ := http.NewRequest("POST", base+"/exports", bytes.NewBufferString(fmt.Sprintf(`{"format":%q}`, format)))
	req.Header.Set("X-Session-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v benchExportView
	if resp.StatusCode != 202 || json.Unmarshal(b, &v) != nil {
		return "", fmt.Errorf("bench: start export: %d %.300s", resp.StatusCode, b)
	}
	return v.ID, nil
}

func getExport(c *http.Client, base, token, id string) (*benchExportView, error) {
	var v benchExportView
	if err := getAuthInto(c, base+"/exports/"+id, token, &v); err != nil {
		return nil, fmt.Errorf("bench: export progress: %w", err)
	}
	return &v, nil
}

// rssBytes is this process's resident set size (Linux; 0 elsewhere).
func rssBytes() int64 { return procStatus(os.Getpid(), "VmRSS:") }

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }
