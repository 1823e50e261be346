package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func parkedInSoakTest(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	<-stop
}

// The soak names the goroutines that grew by the function that started
// them, and prints the runtime's memory beside RSS.
func TestSoakCountsGoroutinesByTheirStart(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	before := goroutineGroups()["github.com/clientele-crm/clientele/cmd/clientele.parkedInSoakTest"]
	for range 7 {
		wg.Add(1)
		go parkedInSoakTest(stop, &wg)
	}
	during := readSoakMemory()
	close(stop)
	wg.Wait()
	if got := during.groups["github.com/clientele-crm/clientele/cmd/clientele.parkedInSoakTest"] - before; got != 7 {
		t.Fatalf("counted %d goroutines started in parkedInSoakTest, want 7 (groups: %v)", got, during.groups)
	}
	if during.heapInuse <= 0 || during.stacks <= 0 {
		t.Errorf("memory not read: %+v", during)
	}
	var out bytes.Buffer
	a := []soakWindow{{mem: soakMemory{heapInuse: 10e6, groups: map[string]int{"x": 2}}}}
	b := []soakWindow{{mem: soakMemory{heapInuse: 12e6, groups: map[string]int{"x": 2, "y": 5}}}}
	printMemoryDrift(&out, a, b)
	if s := out.String(); !strings.Contains(s, "heap in use 10.0 → 12.0 MB") || !strings.Contains(s, "goroutines in y: 0.0 → 5.0") {
		t.Errorf("the report reads:\n%s", s)
	}
}
