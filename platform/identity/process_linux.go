package identity

import "syscall"

// sysProcAttr puts Kratos in its own process group, so a terminal's Ctrl+C reaches
// only us and we stop Kratos in order, and has Linux end it should we die without
// stopping it (a test binary killed at its timeout, say).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// signalPause and signalResume freeze and continue a process (fault drills).
var signalPause, signalResume = syscall.SIGSTOP, syscall.SIGCONT
