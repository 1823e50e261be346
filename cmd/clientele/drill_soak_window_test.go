package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The soak keeps the latencies and statement totals of the windows it will
// judge, and of no others, whenever it ends; a judged block spans an import
// period (at least a minute).
func TestSoakKeepsOnlyTheWindowsItJudges(t *testing.T) {
	const warmup = 60 * time.Second
	for _, c := range []struct {
		count int
		every time.Duration
	}{{3, time.Minute}, {8, time.Minute}, {12, time.Minute}, {13, time.Minute}, {19, time.Minute}, {40, time.Minute}, {180, time.Minute},
		{30, 2 * time.Minute}, {180, 2 * time.Minute}, {181, 95 * time.Second}} {
		count, block := c.count, soakBlock(c.every)
		var ws []soakWindow
		for i := range count {
			ws = append(ws, soakWindow{at: time.Duration(i+1) * 10 * time.Second, lat: make([]soakLatency, 1), requests: 1,
				stmts: map[int64]statementStat{1: {}}})
			releaseUnjudged(ws, warmup, block)
		}
		first := -1
		for i, w := range ws {
			if w.at > warmup {
				first = i
				break
			}
		}
		if first < 0 {
			continue
		}
		judged := ws[first:]
		n := min(block, len(judged)/2)
		last := len(ws) - 1
		for i := range ws {
			inFirst, inLast := i >= first && i < first+n, i > last-n
			if (inFirst || inLast) && ws[i].lat == nil {
				t.Errorf("%d windows: window %d is judged but its latencies were dropped", count, i)
			}
			if !inFirst && !inLast && i >= first+block && i <= last-block && ws[i].lat != nil {
				t.Errorf("%d windows: window %d is not judged but keeps its latencies", count, i)
			}
			needStmts := i == first-1 || i == first+n-1 || i == last-n || i == last
			if needStmts && ws[i].stmts == nil {
				t.Errorf("%d windows: window %d's statements are read but were dropped", count, i)
			}
		}
		kept := 0
		for _, w := range ws {
			if w.lat != nil {
				kept++
			}
		}
		if kept > 2*block+first+1 {
			t.Errorf("%d windows: %d keep their latencies", count, kept)
		}
	}
	if soakBlock(time.Minute) != 6 || soakBlock(2*time.Minute) != 12 || soakBlock(95*time.Second) != 10 || soakBlock(20*time.Second) != 6 {
		t.Errorf("blocks of %d, %d, %d, %d windows", soakBlock(time.Minute), soakBlock(2*time.Minute), soakBlock(95*time.Second), soakBlock(20*time.Second))
	}
}

// The timeline prints a line a minute, from the windows' kept figures.
func TestSoakTimelinePrintsEachMinute(t *testing.T) {
	var ws []soakWindow
	for i := range 13 {
		ws = append(ws, soakWindow{at: time.Duration(i+1) * 10 * time.Second, requests: 1000, p50: time.Duration(i+1) * time.Millisecond,
			p99: time.Duration(10*(i+1)) * time.Millisecond, queued: int64(i), procs: []soakProcSample{{rss: 100e6}}})
	}
	var out bytes.Buffer
	printSoakTimeline(&out, ws, 60*time.Second)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "minute  1 (warm-up): 100/s") || !strings.Contains(lines[1], "minute  2: 100/s") ||
		!strings.Contains(lines[1], "p99 120 ms") || !strings.Contains(lines[1], "at most 11 waiting") || !strings.Contains(lines[2], "minute  3: 100/s, p50 13 ms") {
		t.Errorf("the timeline reads:\n%s", out.String())
	}
}
