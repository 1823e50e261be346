//go:build !unix

package devstack

import "syscall"

// No signal freezes a process here; Pause reports it.
var sigstop, sigcont syscall.Signal = 0, 0
