package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func parkedInSoakTest(started *sync.WaitGroup, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	started.Done()
	<-stop
}

// The soak names the goroutines that grew by the function that started
// them, and prints the runtime's memory beside RSS.
func TestSoakCountsGoroutinesByTheirStart(t *testing.T) {
	stop := make(chan struct{})
	var wg, started sync.WaitGroup
	before := goroutineGroups()["github.com/clientele-crm/clientele/cmd/clientele.parkedInSoakTest"]
	for range 7 {
		wg.Add(1)
		started.Add(1)
		go parkedInSoakTest(&started, stop, &wg)
	}
	started.Wait()
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

// A window keeps its goroutine groups; their names must not hold the
// profile's text, or every window keeps a whole profile alive (the soak's
// heap grew by a third over 30 minutes that way).
func TestGoroutineGroupsDoNotKeepTheProfile(t *testing.T) {
	text := "goroutine profile: total 3\n2 @ 0x1 0x2\n#\t0x1\tnet/http.(*persistConn).writeLoop+0x10\t/x.go:1\n\n1 @ 0x3\n#\t0x3\tmain.run+0x5\t/y.go:2\n"
	lo := uintptr(unsafe.Pointer(unsafe.StringData(text)))
	hi := lo + uintptr(len(text))
	groups := parseGoroutineGroups(text)
	if groups["net/http.(*persistConn).writeLoop"] != 2 || groups["main.run"] != 1 || len(groups) != 2 {
		t.Fatalf("groups: %v", groups)
	}
	for name := range groups {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(name))); p >= lo && p < hi {
			t.Errorf("the name %q points into the profile's text", name)
		}
	}
}
