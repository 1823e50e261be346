//go:build !linux && !windows

package identity

import "syscall"

// sysProcAttr puts Kratos in its own process group, so a terminal's Ctrl+C reaches
// only us and we stop Kratos in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalPause and signalResume freeze and continue a process (fault drills).
var signalPause, signalResume = syscall.SIGSTOP, syscall.SIGCONT
