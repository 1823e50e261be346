package main

import (
	"testing"
	"time"
)

// The soak keeps the latencies and statement totals of the windows it will
// judge, and of no others, whenever it ends.
func TestSoakKeepsOnlyTheWindowsItJudges(t *testing.T) {
	const warmup = 60 * time.Second
	for _, count := range []int{3, 8, 12, 13, 19, 40, 180} {
		var ws []soakWindow
		for i := range count {
			ws = append(ws, soakWindow{at: time.Duration(i+1) * 10 * time.Second, lat: make([]soakLatency, 1), requests: 1,
				stmts: map[int64]statementStat{1: {}}})
			releaseUnjudged(ws, warmup)
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
		n := min(soakJudged, len(judged)/2)
		last := len(ws) - 1
		for i := range ws {
			inFirst, inLast := i >= first && i < first+n, i > last-n
			if (inFirst || inLast) && ws[i].lat == nil {
				t.Errorf("%d windows: window %d is judged but its latencies were dropped", count, i)
			}
			if !inFirst && !inLast && i >= first+soakJudged && i <= last-soakJudged && ws[i].lat != nil {
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
		if kept > 2*soakJudged+first+1 {
			t.Errorf("%d windows: %d keep their latencies", count, kept)
		}
	}
}
