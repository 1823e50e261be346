package testkit

import (
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
)

const childEnv = "CLIENTELE_TESTKIT_CHILD"

// InChild runs the calling test again, alone, in a child process of the test
// binary, and returns that process's peak resident set size in bytes, so a test
// can bound the memory a piece of work takes without the rest of the package's
// tests counting. In the child it returns child=true: the test does its work
// there and fails as usual; the parent fails when the child does.
//
//	child, peak := testkit.InChild(t)
//	if child { ...the work...; return }
//	if peak > 300<<20 { t.Fatalf(...) }
func InChild(t *testing.T) (child bool, peak int64) {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true, 0
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("child process:\n%s", out)
	if err != nil {
		t.Fatalf("the child process failed: %v", err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatal("testkit: no resource usage for the child process on this system")
	}
	return false, ru.Maxrss * 1024 // Linux reports kilobytes
}
