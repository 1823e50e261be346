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
// binary, so that the memory its work takes can be bounded without the rest of
// the package's tests counting: the parent fails when the child fails or when
// the child's peak resident set size passes maxRSS bytes. It returns true in the
// child, where the test does its work; false in the parent, which returns.
// Top-level tests only (the child runs -test.run ^Name$).
//
//	if !testkit.InChild(t, 300<<20) {
//		return
//	}
//	...the work...
func InChild(t *testing.T, maxRSS int64) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true
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
	peak := ru.Maxrss * 1024 // Linux reports kilobytes
	t.Logf("peak RSS of the child process: %d MB", peak>>20)
	if peak > maxRSS {
		t.Fatalf("peak RSS %d MB, want at most %d MB", peak>>20, maxRSS>>20)
	}
	return false
}
